#pragma once

// A data subject's rights over recorded footage (R7, DESIGN §5; firmware/design/holds.md):
// erasure of a range, and restriction (the footage can be neither viewed nor exported, and is
// not deleted, until the restriction is lifted). Directors handle subject requests
// (Permission::kManageSubjectRequests); every action carries the reference of the request and
// is audited in the same transaction as its effect, denials included. The reference must be a
// request in the register (requests.h) that the action answers — open, and of a fitting kind;
// the action is linked to the request in the same transaction. Anything else is refused
// (kFailedPrecondition, audited): an erasure or restriction nobody can trace to a request would
// be unexplained.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "yardwatch/firmware/accounts.h"
#include "yardwatch/firmware/audit.h"
#include "yardwatch/firmware/holds.h"
#include "yardwatch/hal/clock.h"
#include "yardwatch/hal/storage.h"
#include "yardwatch/recorder/catalog.h"

namespace yardwatch::firmware {

struct Restriction {
  int64_t id = 0;
  int64_t camera_id = 0;
  std::string camera;
  int64_t from_utc_us = 0;  // [from, to)
  int64_t to_utc_us = 0;
  std::string request_reference;
  std::string reason;
  std::string placed_by;
  int64_t placed_utc_us = 0;
  std::string lifted_by;
  std::optional<int64_t> lifted_utc_us;
  std::string lift_request_reference;

  [[nodiscard]] bool in_force() const { return !lifted_utc_us.has_value(); }
};

struct ErasureReceipt {
  std::string camera;
  int64_t camera_id = 0;
  int64_t requested_from_utc_us = 0;
  int64_t requested_to_utc_us = 0;
  std::string request_reference;
  int64_t segments = 0;  // whole segments overlapping the range
  uint64_t bytes = 0;
  // What was actually deleted (whole segments, so it may reach past the requested range).
  std::optional<int64_t> deleted_from_utc_us;
  std::optional<int64_t> deleted_to_utc_us;
};

// Restrictions in force on the camera that overlap [from, to). No role check and no audit
// entry: a question other services ask before they act, inside their own transaction if they
// like (FootageService::view_segment refuses to show restricted footage; the police export
// refuses to export it).
Result<std::vector<Restriction>> restrictions_in_force(recorder::Catalog& catalog,
                                                       int64_t camera_id, int64_t from_utc_us,
                                                       int64_t to_utc_us);

class SubjectFootageService {
 public:
  SubjectFootageService(recorder::Catalog& catalog, const hal::Storage& storage,
                        const hal::Clock& clock, AuditJournal& audit);

  // Deletes every segment of the camera overlapping [from, to) now, cryptographically (the
  // keys first, recorder/retention.h). Refused (kFailedPrecondition, nothing deleted, the
  // denial audited) where an open hold or a restriction covers any of the range or of a segment
  // in it (segments go whole), or footage in it is still being recorded. Audited
  // `footage_erase` with the request reference.
  Result<ErasureReceipt> erase(const Principal& by, const std::string& camera, int64_t from_utc_us,
                               int64_t to_utc_us, const std::string& request_reference);
  // Restricts [from, to) of the camera: not viewable, not exportable, not deleted (neither by
  // the sweep nor for space) until lifted. `footage_restrict`.
  Result<Restriction> restrict_range(const Principal& by, const std::string& camera,
                                     int64_t from_utc_us, int64_t to_utc_us,
                                     const std::string& request_reference,
                                     const std::string& reason = "");
  // Lifts a restriction; its footage then ages out normally. `footage_unrestrict`.
  Result<Restriction> lift(const Principal& by, int64_t id, const std::string& request_reference);
  // Directors and privacy officers (kReadSubjectRequests). Newest first.
  Result<std::vector<Restriction>> list(const Principal& by, bool include_lifted = false);
  // Restrictions in force, for status (no person involved).
  Result<int64_t> count_in_force();

 private:
  recorder::Catalog& catalog_;
  const hal::Storage& storage_;
  const hal::Clock& clock_;
  AuditJournal& audit_;
};

}  // namespace yardwatch::firmware
