#pragma once

// Incident holds (R2, DESIGN §5; firmware/design/holds.md). A hold keeps the footage of one or
// more cameras in a time range past the cameras' retention, with a reason, a case reference and
// a review-by date (required, at most six months ahead). Directors place, extend and release
// holds and decide on requests; viewers may only request one for their assigned cameras: a
// pending hold that keeps the footage for 72 hours until a director confirms or rejects it.
// Overdue holds are flagged (status, a daily audit entry) but never released automatically.
//
// What a hold keeps is stored as the recorder's protected ranges (one per camera), which the
// retention sweep reads; this service keeps who decided what. Every change checks the role
// (`authorize`) and writes its audit entry in the same transaction as its effect; denials are
// audited too.
//
// Every call may run inside a caller's sql::Transaction (the caller holding catalog.mutex()):
// the service's own transaction then nests as a SAVEPOINT and everything, the audit entries
// included, commits or rolls back with the caller. The police export (issue #5) uses exactly
// that: inside its transaction it calls `restrictions_in_force` (subject_footage.h) and then
// `place(director, {cameras, range, "police export", case reference, review-by})`.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "yardwatch/firmware/accounts.h"
#include "yardwatch/firmware/audit.h"
#include "yardwatch/hal/clock.h"
#include "yardwatch/recorder/catalog.h"

namespace yardwatch::firmware {

constexpr int64_t kHoldRequestLifetimeUs = 72LL * 3600 * 1'000'000;
// "At most six months ahead": 183 days.
constexpr int64_t kMaxReviewAheadUs = 183LL * 24 * 3600 * 1'000'000;
constexpr size_t kMinHoldReasonLength = 5;
constexpr size_t kMaxHoldReasonLength = 500;
// Case and request references; as long as an export's case reference may be, since an export
// holds its range under that reference.
constexpr size_t kMaxReferenceLength = 500;

enum class HoldState {
  kPending,   // a request: keeps the footage until pending_until, awaiting a director
  kActive,    // placed or confirmed by a director
  kReleased,  // released by a director: the footage ages out at the next sweep
  kRejected,  // a request a director turned down
  kExpired,   // a request nobody decided on within 72 hours
};
std::string_view hold_state_name(HoldState state);  // "pending", "active", …
std::optional<HoldState> parse_hold_state(std::string_view name);

struct HoldSpec {
  std::vector<std::string> cameras;  // camera names, at least one
  int64_t from_utc_us = 0;           // the footage range [from, to)
  int64_t to_utc_us = 0;
  std::string reason;            // 5–500 characters
  std::string case_reference;    // 1–500 characters, no control characters
  int64_t review_by_utc_us = 0;  // after now, at most kMaxReviewAheadUs ahead
};

struct Hold {
  int64_t id = 0;
  HoldState state = HoldState::kPending;
  std::vector<std::string> cameras;  // names, in the order of camera_ids
  std::vector<int64_t> camera_ids;
  int64_t from_utc_us = 0;
  int64_t to_utc_us = 0;
  std::string reason;
  std::string case_reference;
  int64_t review_by_utc_us = 0;
  std::string created_by;  // who placed or requested it
  int64_t created_utc_us = 0;
  std::optional<int64_t> pending_until_utc_us;  // requests only
  std::string decided_by;                       // who confirmed or rejected a request
  std::optional<int64_t> decided_utc_us;
  std::string decision_note;
  std::string released_by;
  std::optional<int64_t> released_utc_us;
  bool overdue = false;  // active and past its review-by date (at the service clock's now)

  // Pending or active: it keeps footage.
  [[nodiscard]] bool open() const {
    return state == HoldState::kPending || state == HoldState::kActive;
  }
};

struct HoldFilter {
  bool include_closed = false;  // released, rejected and expired too
  std::optional<std::string> camera;
};

// One protected span on a camera's time line (the web admin's day view).
struct TimelineSpan {
  std::string kind;  // "hold", "hold_request" or "restriction"
  int64_t id = 0;    // the hold's or the restriction's id
  int64_t from_utc_us = 0;
  int64_t to_utc_us = 0;
  std::string reference;  // case reference (holds) or request reference (restrictions)
  std::string reason;     // the hold's or the restriction's reason
};

// `--review-by`: a date (2027-03-01, meaning the end of that day, 23:59:59Z) or a full ISO-8601
// UTC timestamp.
Result<int64_t> parse_review_by(std::string_view text);

class HoldService {
 public:
  HoldService(recorder::Catalog& catalog, const hal::Clock& clock, AuditJournal& audit);

  // An active hold, at once (Permission::kPlaceHold: directors). Audited `hold_place`.
  Result<Hold> place(const Principal& by, const HoldSpec& spec);
  // A pending hold (Permission::kRequestHold: directors, and viewers for their assigned
  // cameras) that keeps the footage for 72 hours. Audited `hold_request`.
  Result<Hold> request(const Principal& by, const HoldSpec& spec);
  // A director decides on a pending request (kPlaceHold): confirm makes it active (optionally
  // with a new review-by date), reject ends it (the footage ages out). `hold_confirm`,
  // `hold_reject`.
  Result<Hold> confirm(const Principal& by, int64_t id,
                       std::optional<int64_t> review_by_utc_us = std::nullopt);
  Result<Hold> reject(const Principal& by, int64_t id, const std::string& why);
  // A new review-by date for an active hold (kPlaceHold), at most six months from now.
  // `hold_extend`.
  Result<Hold> extend(const Principal& by, int64_t id, int64_t review_by_utc_us);
  // Ends an active hold (kReleaseHold); its footage goes at the next sweep if past retention.
  // `hold_release`.
  Result<Hold> release(const Principal& by, int64_t id, const std::string& note = "");

  // Reading holds: directors and privacy officers see all; viewers those that touch one of
  // their assigned cameras; admins none (kPermissionDenied, audited). Newest first.
  Result<std::vector<Hold>> list(const Principal& by, const HoldFilter& filter = {});
  Result<Hold> get(const Principal& by, int64_t id);
  // Held, requested and restricted spans of one camera overlapping [from, to), ordered by
  // start: the time line of a day in the web admin. Same readers as list().
  Result<std::vector<TimelineSpan>> timeline(const Principal& by, const std::string& camera,
                                             int64_t from_utc_us, int64_t to_utc_us);

  // --- for the appliance itself (yardwatchd, the sweep); no person involved ---
  // Requests pending past their 72 hours become `expired` and stop keeping footage; each is
  // audited `hold_request_expired` by `system`. The sweep calls this only when the clock guard
  // trusts the clock.
  Result<std::vector<Hold>> expire_requests();
  // Active holds past their review-by date (never released automatically).
  Result<std::vector<Hold>> overdue();
  // The overdue holds a person may see (the dashboard): all for directors and privacy
  // officers, those of their cameras for viewers, none for admins. Not audited: no case
  // information is shown to anyone who may not read holds.
  Result<std::vector<Hold>> overdue_visible_to(const Principal& by);
  // While any hold is overdue, one `holds_overdue` entry by `system` per UTC day. true if it
  // wrote one now.
  Result<bool> audit_overdue_daily();
  // The start of the footage range of the oldest open (pending or active) hold: the
  // `keep_from` bound of AuditJournal::prune.
  Result<std::optional<int64_t>> oldest_open_start();
  // Counts of open holds, for status.
  Result<std::pair<int64_t, int64_t>> open_counts();  // (active, pending)

 private:
  Result<Hold> create(const Principal& by, const HoldSpec& spec, bool pending);
  Result<Hold> decide(const Principal& by, int64_t id, const std::string& action);
  Result<std::optional<Hold>> load(int64_t id);
  Status authorize_reading(const Principal& by, const std::string& object_id);
  static bool visible_to(const Principal& by, const Hold& hold);

  recorder::Catalog& catalog_;
  const hal::Clock& clock_;
  AuditJournal& audit_;
};

}  // namespace yardwatch::firmware
