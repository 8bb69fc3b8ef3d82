#pragma once

// The register of data subjects' requests (R7, DESIGN §2 and §6; firmware/design/requests.md).
// Directors register what a person filmed asked for — access ('inzage'), objection ('bezwaar'),
// erasure or restriction — with the requester's name and one way to reach them, the footage
// concerned, and the date the request was received. The answer is due 4 weeks after receipt;
// once, with a recorded reason and before that deadline, a director may extend it to at most
// 12 weeks after receipt. Privacy officers read the register; nobody else sees it.
//
// Every action taken for a request (an erasure, a restriction or its lifting, a subject export,
// a hold) names the request's reference, and the service doing it records the link here in the
// same transaction as its effect (`request_for_action`, `record_request_action`). A reference
// that is not in the register is refused: an erasure nobody can trace to a request would be an
// unexplained deletion.
//
// Minimal storage: the requester's name, contact and the description are dropped when the
// request is closed; the register keeps the reference, kind, footage concerned, dates, outcome
// and the actions. Closed requests are removed 2 years after closing (yardwatchd's daily
// housekeeping, `purge_closed`). Audit entries carry the reference, never the requester's
// details, so the journal holds no more about the requester than the register does.

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

constexpr int64_t kRequestDayUs = 24LL * 3600 * 1'000'000;
constexpr int64_t kRequestTermUs = 28 * kRequestDayUs;     // 4 weeks from receipt
constexpr int64_t kRequestMaxTermUs = 84 * kRequestDayUs;  // at most 12 weeks, once extended
constexpr int64_t kRequestDueSoonUs = 7 * kRequestDayUs;   // "due" on the dashboard
constexpr int64_t kClosedRequestRetentionUs = 730 * kRequestDayUs;  // 2 years after closing
constexpr size_t kMaxRequestReferenceLength = 100;
constexpr size_t kMaxRequesterTextLength = 200;
constexpr size_t kMaxRequestNoteLength = 500;
constexpr size_t kMinExtensionReasonLength = 5;

enum class RequestKind { kAccess, kObjection, kErasure, kRestriction };
std::string_view request_kind_name(RequestKind kind);  // "access", "objection", …
// The English names, and the Dutch ones a school uses ('inzage', 'bezwaar', 'verwijdering',
// 'beperking').
std::optional<RequestKind> parse_request_kind(std::string_view name);

enum class RequestOutcome { kGranted, kPartiallyGranted, kRefused, kWithdrawn };
std::string_view request_outcome_name(RequestOutcome outcome);  // "granted", …
std::optional<RequestOutcome> parse_request_outcome(std::string_view name);

// What was done for a request.
enum class RequestActionKind { kErasure, kRestriction, kRestrictionLifted, kSubjectExport, kHold };
std::string_view request_action_name(RequestActionKind kind);  // "erasure", …
std::optional<RequestActionKind> parse_request_action(std::string_view name);

struct FootageConcernedSpec {
  std::string camera;
  int64_t from_utc_us = 0;  // [from, to)
  int64_t to_utc_us = 0;
};

struct FootageConcerned {
  int64_t camera_id = 0;
  std::string camera;
  int64_t from_utc_us = 0;
  int64_t to_utc_us = 0;
};

struct RequestAction {
  int64_t id = 0;
  RequestActionKind kind = RequestActionKind::kErasure;
  std::string object_id;  // the restriction's or hold's id, the export's id; "" for erasures
  std::string summary;    // camera and range, segments deleted, …
  std::string linked_by;
  int64_t linked_utc_us = 0;
};

struct NewSubjectRequest {
  std::string reference;  // the school's reference, unique; 1–100 characters on one line
  RequestKind kind = RequestKind::kAccess;
  std::string requester_name;     // 1–200 characters
  std::string requester_contact;  // one way to reach them (e-mail, phone); 0–200 characters
  std::string description;        // what was asked, in a line; 0–500 characters
  std::vector<FootageConcernedSpec> footage;  // may be empty (e.g. an objection to a camera)
  int64_t received_utc_us = 0;                // not in the future, at most 2 years ago
};

struct SubjectRequest {
  int64_t id = 0;
  std::string reference;
  RequestKind kind = RequestKind::kAccess;
  std::string requester_name;  // "" once closed (minimised)
  std::string requester_contact;
  std::string description;
  std::vector<FootageConcerned> footage;
  int64_t received_utc_us = 0;
  int64_t deadline_utc_us = 0;  // received + 4 weeks, or the extended date
  std::optional<int64_t> extended_utc_us;
  std::string extension_reason;
  std::string extended_by;
  std::optional<RequestOutcome> outcome;  // set once closed
  std::string closing_note;
  std::optional<int64_t> closed_utc_us;
  std::string closed_by;
  std::string registered_by;
  int64_t registered_utc_us = 0;
  std::optional<int64_t> minimised_utc_us;  // when the requester's details were dropped
  std::vector<RequestAction> actions;       // oldest first
  // At the service clock's now, for open requests.
  bool overdue = false;   // past its deadline
  bool due_soon = false;  // deadline within kRequestDueSoonUs (and not overdue)

  [[nodiscard]] bool open() const { return !closed_utc_us.has_value(); }
};

struct RequestFilter {
  bool include_closed = false;
  // Only open requests that are overdue or due within `due_within_us`, earliest deadline first.
  bool due_only = false;
  int64_t due_within_us = kRequestDueSoonUs;
};

struct RequestPurge {
  int64_t requests = 0;
  std::vector<std::string> references;
};

class RequestService {
 public:
  RequestService(recorder::Catalog& catalog, const hal::Clock& clock, AuditJournal& audit);

  // Registers a request (kManageSubjectRequests: directors). kInvalidArgument for a bad field,
  // kAlreadyExists for a reference already in the register. Audited `request_register`.
  Result<SubjectRequest> add(const Principal& by, const NewSubjectRequest& request);
  // Extends the deadline once (kManageSubjectRequests) to `deadline_utc_us`: later than the
  // current deadline, at most 12 weeks after receipt, decided before the first deadline passed
  // (the requester must hear of it within the first term), with a reason. `request_extend`.
  Result<SubjectRequest> extend(const Principal& by, const std::string& reference,
                                int64_t deadline_utc_us, const std::string& reason);
  // Closes an open request with its outcome and drops the requester's name, contact and the
  // description (minimal storage). `request_close`.
  Result<SubjectRequest> close(const Principal& by, const std::string& reference,
                               RequestOutcome outcome, const std::string& note = "");
  // Links an existing hold or restriction to a request by hand (kManageSubjectRequests); the
  // erasures, restrictions and subject exports done with the request's reference link
  // themselves. The object must exist. `request_link`.
  Result<SubjectRequest> link(const Principal& by, const std::string& reference,
                              RequestActionKind kind, int64_t object_id);

  // Reading the register: directors and privacy officers (kReadSubjectRequests); everyone else
  // is refused (audited). Audited `request_read`. Earliest deadline first for open requests,
  // then the closed ones, newest first.
  Result<std::vector<SubjectRequest>> list(const Principal& by, const RequestFilter& filter = {});
  Result<SubjectRequest> get(const Principal& by, const std::string& reference);
  Result<SubjectRequest> get(const Principal& by, int64_t id);

  // --- for the appliance itself; no person involved ---
  // What the dashboard shows as due (overdue, or due within 7 days), for people who may read
  // the register; an empty list for everyone else. Not audited: references and dates only.
  Result<std::vector<SubjectRequest>> due_visible_to(const Principal& by);
  // Deletes requests closed more than 2 years ago, with their footage and action rows and
  // subject-export records; one `requests_purged` entry by `system` listing the references.
  // kUnavailable while the clock reports itself unsynchronised (a clock that jumped ahead would
  // delete the register early). Nothing due: no change and no entry.
  Result<RequestPurge> purge_closed();

 private:
  Result<std::optional<SubjectRequest>> load(int64_t id);
  Result<std::optional<int64_t>> id_of(const std::string& reference);
  void annotate(SubjectRequest& request) const;

  recorder::Catalog& catalog_;
  const hal::Clock& clock_;
  AuditJournal& audit_;
};

// --- for the services that act on a request (erasure, restriction, subject export, holds) ---
// Call inside the caller's transaction (holding catalog.mutex()). The request with this
// reference if the action fits it: the reference must be in the register, the request open
// (lifting a restriction may also answer a closed one), and the action must answer its kind — a
// subject export an access request; an erasure an erasure request or an objection; a
// restriction a restriction request, an objection or an erasure request (kept out of use while
// the erasure is assessed). kFailedPrecondition with a sentence a person can act on otherwise.
Result<int64_t> request_for_action(recorder::Catalog& catalog, const std::string& reference,
                                   RequestActionKind action);
// Records an action taken for a request (same transaction as the action's effect).
Status record_request_action(recorder::Catalog& catalog, int64_t request_id, RequestActionKind kind,
                             const std::string& object_id, const std::string& summary,
                             const Principal& by, int64_t now_utc_us);

}  // namespace yardwatch::firmware
