#pragma once

// The monthly access review (issue #8 item 7; firmware/design/kwaliteitskaart.md §Access review):
// for one calendar month (UTC), who looked at which camera how often and with which purposes,
// the exports made (police and subject), the holds that had been open longer than 4 weeks at the
// end of the month, and the accounts nobody used for 90 days (suggested for disabling). Read
// from the audit journal and the registers every time it is asked for; nothing is stored.
//
// For privacy officers and directors (kReadComplianceReports) and the console; every download
// is audited (`report_access_review`). yardwatchd notes once a month in the audit journal that
// the review of the month just ended is ready (`access_review_ready`, by `system`).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "yardwatch/firmware/accounts.h"
#include "yardwatch/firmware/audit.h"
#include "yardwatch/firmware/document.h"
#include "yardwatch/firmware/kwaliteitskaart.h"
#include "yardwatch/hal/clock.h"
#include "yardwatch/recorder/catalog.h"

namespace yardwatch::firmware {

constexpr int kLongHoldDays = 28;       // "holds open longer than 4 weeks"
constexpr int kUnusedAccountDays = 90;  // "accounts unused for 90 days"

struct ReviewMonth {
  std::string name;  // YYYY-MM
  int64_t from_utc_us = 0;
  int64_t to_utc_us = 0;  // the first instant of the next month
};
// YYYY-MM, 2000-01 … 2999-12.
Result<ReviewMonth> parse_review_month(std::string_view text);
// The month that contains `utc_us`, and the one before it.
ReviewMonth month_of(int64_t utc_us);
ReviewMonth previous_month(int64_t utc_us);

struct ViewingCount {
  std::string account;
  std::string role;
  std::string camera;
  int64_t viewings = 0;  // allowed openings (live and recorded)
  int64_t live = 0;
  int64_t recorded = 0;
  int64_t denied = 0;                       // refused attempts to view this camera
  std::map<std::string, int64_t> purposes;  // purpose → allowed viewings with it
};

struct ReviewExport {
  std::string kind;  // police | subject
  std::string id;
  int64_t created_utc_us = 0;
  std::string by;
  std::vector<std::string> cameras;
  std::string legal_basis;  // police: the official demand; subject: the request's reference
  std::string reference;    // police: the case reference; subject: the request's reference
  std::string state;        // writing | complete | failed
};

struct LongHold {
  int64_t id = 0;
  std::string state;
  std::vector<std::string> cameras;
  int64_t created_utc_us = 0;
  int64_t open_days = 0;  // at the review's reference time
  int64_t review_by_utc_us = 0;
  std::string created_by;
  std::string case_reference;
};

struct UnusedAccount {
  std::string name;
  std::string role;
  std::optional<int64_t> last_login_utc_us;  // nullopt: never signed in (counted from creation)
  int64_t unused_days = 0;
};

struct AccessReview {
  ReviewMonth month;
  int64_t generated_utc_us = 0;
  // The end of the month, or now for the month still running: "open longer than 4 weeks" and
  // "unused for 90 days" are measured at this time.
  int64_t reference_utc_us = 0;
  std::vector<ViewingCount> viewings;          // by account, then camera
  std::vector<ReviewExport> exports;           // oldest first
  std::vector<LongHold> long_holds;            // oldest first
  std::vector<UnusedAccount> unused_accounts;  // longest unused first
};

// Reads the month from the live database (no check, no audit). kInvalidArgument for a month
// that has not begun.
Result<AccessReview> build_access_review(recorder::Catalog& catalog, const ReviewMonth& month,
                                         int64_t now_utc_us);

// tools/cli/README.md documents this shape (`yardwatch report access-review --json`).
std::string access_review_json(const AccessReview& review);
std::string access_review_html(const AccessReview& review, std::string_view language);
Document access_review_document(const AccessReview& review, std::string_view language);

class AccessReviewService {
 public:
  AccessReviewService(recorder::Catalog& catalog, const hal::Clock& clock, AuditJournal& audit);

  // kReadComplianceReports; `person` nullptr: the console. format html | pdf | json, language
  // nl | en. Audited `report_access_review` with the month and format; denials too.
  Result<RenderedReport> download(const Principal* person, const std::string& month,
                                  const std::string& format, const std::string& language);
  // Unaudited, for tests.
  Result<AccessReview> review(const std::string& month);

  // yardwatchd's monthly note: once the month has changed, one `access_review_ready` entry by
  // `system` for the month just ended (latched in the catalog meta). true if it wrote one.
  Result<bool> note_previous_month_ready();

 private:
  recorder::Catalog& catalog_;
  const hal::Clock& clock_;
  AuditJournal& audit_;
};

}  // namespace yardwatch::firmware
