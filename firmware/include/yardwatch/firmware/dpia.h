#pragma once

// The DPIA reminder (R10): the date of the last data protection impact assessment is the
// setting `policy.dpia_date` (YYYY-MM-DD). A DPIA is due three years after it; from 30 days
// before that date the dashboard warns (directors and privacy officers), and past it says the
// review is overdue. The daemon's daily housekeeping records in the audit journal when a warning
// starts — once per DPIA date and state, not every day. Without a date the appliance warns too:
// it cannot show that a DPIA was ever done.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "yardwatch/firmware/accounts.h"
#include "yardwatch/firmware/audit.h"
#include "yardwatch/hal/clock.h"
#include "yardwatch/recorder/catalog.h"

namespace yardwatch::firmware {

constexpr const char* kDpiaDateSetting = "policy.dpia_date";
constexpr int kDpiaReviewYears = 3;
constexpr int kDpiaWarningDays = 30;

// YYYY-MM-DD, a real calendar date in the years 2000–2999.
std::optional<std::chrono::year_month_day> parse_civil_date(std::string_view text);
std::string format_civil_date(std::chrono::year_month_day date);
// 00:00:00 UTC of the date.
int64_t civil_date_utc_us(std::chrono::year_month_day date);

enum class DpiaState {
  kUnknown,  // no DPIA date recorded
  kCurrent,  // more than 30 days before the three-year mark
  kDueSoon,  // from 30 days before the mark
  kOverdue,  // on or after the mark
};
std::string_view dpia_state_name(DpiaState state);  // "unknown", "current", "due_soon", "overdue"

struct DpiaStatus {
  DpiaState state = DpiaState::kUnknown;
  std::optional<std::string> date;      // the last DPIA, YYYY-MM-DD
  std::optional<std::string> due_date;  // three years later (29 February: 1 March)
  std::optional<int64_t> due_utc_us;    // 00:00 UTC of the due date
  std::optional<int64_t> days_left;     // whole days until due; negative once overdue
  [[nodiscard]] bool warning() const { return state != DpiaState::kCurrent; }
};

// The state at `now_utc_us` for a DPIA done on `date` (nullopt: none recorded).
DpiaStatus dpia_status_at(std::optional<std::chrono::year_month_day> date, int64_t now_utc_us);

class DpiaService {
 public:
  DpiaService(recorder::Catalog& catalog, const hal::Clock& clock, AuditJournal& audit);

  // The state now (read from the setting). Not audited: it holds no personal data.
  Result<DpiaStatus> status();
  // A director records the date of a new DPIA (kManageComplianceRecords); not in the future.
  // Audited as a `setting_change` of policy.dpia_date.
  Result<DpiaStatus> set_date(const Principal& by, const std::string& date);
  // The daemon's daily housekeeping: while a warning is due, one `dpia_review_due` entry by
  // `system` per DPIA date and state (it starts the warning on record). true if it wrote one.
  Result<bool> audit_warning();

 private:
  recorder::Catalog& catalog_;
  const hal::Clock& clock_;
  AuditJournal& audit_;
};

}  // namespace yardwatch::firmware
