#include "yardwatch/firmware/footage.h"

#include <algorithm>

#include "yardwatch/firmware/subject_footage.h"
#include "yardwatch/recorder/sqlite.h"

namespace yardwatch::firmware {

FootageService::FootageService(recorder::Catalog& catalog, const hal::Storage& storage,
                               const hal::KeyStore& keys, AuditJournal& audit)
    : catalog_(catalog), storage_(storage), keys_(keys), audit_(audit) {}

Result<recorder::DecryptedSegment> FootageService::view_segment(const Principal& principal,
                                                                int64_t segment_id,
                                                                const std::string& purpose,
                                                                const FourEyesApproval* approval) {
  AuditEvent event;
  event.action = "view_recorded";
  event.object_type = "segment";
  event.object_id = std::to_string(segment_id);
  event.purpose = purpose;

  YW_ASSIGN_OR_RETURN(auto row, catalog_.segment(segment_id));
  std::optional<int64_t> camera_id;
  if (row) {
    camera_id = row->camera_id;
    event.range_from_utc_us = row->start_utc_us;
    event.range_to_utc_us = row->end_utc_us;
    if (auto camera = catalog_.camera_by_id(row->camera_id); camera.ok()) {
      event.camera = camera.value().spec.name;
    }
  }
  // The role check comes first, so an unauthorised person learns nothing about the segment.
  YW_TRY(authorize(audit_, principal, Permission::kViewRecorded, camera_id.value_or(-1), event));
  if (!row) {
    event.allowed = false;
    event.reason = "no such segment";
    (void)audit_.append(principal.actor(), event);
    return make_error(ErrorKind::kNotFound, "no segment with id " + std::to_string(segment_id));
  }
  if (purpose.size() < kMinPurposeLength || purpose.size() > kMaxPurposeLength) {
    event.allowed = false;
    event.reason = "no valid purpose given";
    (void)audit_.append(principal.actor(), event);
    return make_error(ErrorKind::kInvalidArgument,
                      "viewing recorded footage needs a purpose (5–500 characters), e.g. "
                      "\"incident at the bicycle shed on Monday\"");
  }
  // R7: restricted footage is not shown to anyone until the restriction is lifted.
  YW_ASSIGN_OR_RETURN(auto restricted,
                      restrictions_in_force(catalog_, row->camera_id, row->start_utc_us,
                                            std::max(row->end_utc_us, row->start_utc_us + 1)));
  if (!restricted.empty()) {
    event.allowed = false;
    event.reason = "the footage is restricted on a data subject's request (restriction " +
                   std::to_string(restricted.front().id) + ", request " +
                   restricted.front().request_reference + ")";
    (void)audit_.append(principal.actor(), event);
    return make_error(ErrorKind::kPermissionDenied,
                      "permission denied: " + event.reason +
                          "; it cannot be viewed or exported until the restriction is lifted");
  }
  // Four-eyes (policy switch): a second authorised person approved, or nothing is shown.
  YW_TRY(check_four_eyes(catalog_, audit_, principal, approval, {row->camera_id}, event));
  // Decrypt (and authenticate) first; the viewing is recorded before any byte leaves.
  auto segment = recorder::decrypt_segment(catalog_, storage_, keys_, segment_id);
  if (!segment.ok()) {
    event.allowed = false;
    event.reason = segment.error().message;
    (void)audit_.append(principal.actor(), event);
    return std::move(segment).error();
  }
  YW_TRY(audit_.append(principal.actor(), event));
  return segment;
}

}  // namespace yardwatch::firmware
