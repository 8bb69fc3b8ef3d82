#pragma once

// Subject access exports (R7, R11; firmware/design/subject_export.md): a person filmed asked to
// see the footage in which they appear ('inzage'). A director prepares a draft for one camera
// and a range of at most 15 minutes, under the reference of an open access request in the
// register: the segments are decrypted in memory, every other person is blurred by the
// redaction pipeline (recorder/redaction.h) except the box the director drew on a frame (tracked
// from there), and the redacted MP4 is kept in memory only — never in plaintext on disk. The
// director then fetches the draft (audited) and steps through it frame by frame; the review is
// recorded only when the frames the client reports having shown cover every frame of the draft.
// Only a reviewed draft is released: an encrypted, signed bundle of kind subject_access with the
// request's reference (recorder::write_subject_bundle), recorded in `subject_exports`
// (writing → complete | failed) and linked to the request in the same transaction as its audit
// entry. Restricted footage, a closed request and a request of another kind are refused.
//
// R11: the detector's boxes never leave the redaction module. A draft keeps the redacted video
// and counts; the database, the bundle and the audit journal keep the request, the camera, the
// range, the selection's time and who did what — no detection results, nothing that identifies.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "yardwatch/firmware/accounts.h"
#include "yardwatch/firmware/audit.h"
#include "yardwatch/firmware/four_eyes.h"
#include "yardwatch/hal/clock.h"
#include "yardwatch/hal/key_store.h"
#include "yardwatch/hal/removable_media.h"
#include "yardwatch/hal/storage.h"
#include "yardwatch/recorder/bundle_format.h"
#include "yardwatch/recorder/catalog.h"
#include "yardwatch/recorder/redaction.h"

namespace yardwatch::firmware {

// The longest range of one draft: redaction decodes and re-encodes every frame (about real time
// on the appliance's CPU), and the director must look at every frame.
constexpr int64_t kMaxSubjectExportRangeUs = 15LL * 60 * 1'000'000;
// Drafts held in memory at once (each is a few MB of redacted H.264); the oldest goes first.
constexpr size_t kMaxSubjectDrafts = 4;
// A draft not released within this is dropped.
constexpr int64_t kSubjectDraftLifetimeUs = 4LL * 3600 * 1'000'000;

struct SubjectDraftSpec {
  std::string request_reference;
  std::string camera;
  int64_t from_utc_us = 0;  // [from, to)
  int64_t to_utc_us = 0;
  // The requester's box, drawn on the frame shown at selection_utc_us (in fractions of the
  // picture). Without a selection everybody is blurred.
  std::optional<recorder::RequesterSelection> selection;
  bool blur_outside_selection = false;
};

struct SubjectDraft {
  std::string id;  // a UUID; also the export's id once released
  std::string request_reference;
  std::string camera;
  int64_t from_utc_us = 0;
  int64_t to_utc_us = 0;
  bool blur_outside_selection = false;
  uint64_t frames = 0;
  uint32_t width = 0;
  uint32_t height = 0;
  int64_t start_utc_us = 0;  // of the first frame
  int64_t duration_us = 0;
  uint64_t mp4_bytes = 0;
  // Counts for the reviewer (not detection results): frames with the requester's box tracked,
  // and frames after the selection in which the tracker lost it (blurred).
  uint64_t frames_with_requester = 0;
  uint64_t frames_requester_lost = 0;
  std::string prepared_by;
  int64_t prepared_utc_us = 0;
  bool fetched = false;  // the redacted video was fetched for review
  std::string reviewed_by;
  std::optional<int64_t> reviewed_utc_us;
};

struct SubjectReleaseSpec {
  std::string draft_id;
  std::string passphrase;  // wiped by the service after use
  std::string media_id;
  std::string directory_name;
  const FourEyesApproval* second_approval = nullptr;  // with policy.four_eyes on
  uint64_t kdf_opslimit = recorder::bundle_format::kDefaultOpsLimit;
  uint64_t kdf_memlimit = recorder::bundle_format::kDefaultMemLimit;
};

struct SubjectExportRecord {
  std::string id;
  std::string request_reference;
  std::string camera;
  int64_t from_utc_us = 0;
  int64_t to_utc_us = 0;
  bool blur_outside_selection = false;
  int64_t created_utc_us = 0;
  std::string created_by;
  std::string reviewed_by;
  std::optional<int64_t> reviewed_utc_us;
  std::string target;
  std::string state;  // writing | complete | failed
  std::optional<int64_t> finished_utc_us;
  std::string manifest;
  std::string manifest_sha256;
  std::string error;
};

class SubjectExportService {
 public:
  SubjectExportService(recorder::Catalog& catalog, const hal::Storage& storage,
                       const hal::KeyStore& keys, const hal::Clock& clock, AuditJournal& audit);

  // verify.html for the bundle (as ExportService::set_verify_page).
  void set_verify_page(std::span<const uint8_t> page) { verify_page_ = page; }

  // One unredacted frame (JPEG) of the camera at `at_utc_us`, for the director to draw the
  // requester's box on. kManageSubjectRequests, an open access request; audited
  // `subject_export_frame` with the request's reference.
  Result<recorder::StillFrame> frame(const Principal& principal, const std::string& reference,
                                     const std::string& camera, int64_t at_utc_us);

  // Runs the redaction into a draft held in memory. kInvalidArgument (range, box), kNotFound
  // (camera), kFailedPrecondition (request not open / not access, restricted footage, a gap or a
  // segment still recording), kPermissionDenied. Audited `subject_export_prepare`.
  Result<SubjectDraft> prepare(const Principal& principal, const SubjectDraftSpec& spec);

  // The draft's metadata (kManageSubjectRequests; not audited: no footage).
  Result<SubjectDraft> draft(const Principal& principal, const std::string& draft_id);

  // The redacted MP4, for review. Audited `subject_export_review_view`.
  Result<std::vector<uint8_t>> draft_video(const Principal& principal, const std::string& draft_id);

  // Records the review when `frames_shown` (0-based frame numbers the client showed) covers
  // every frame of the draft and the video was fetched; kFailedPrecondition otherwise (audited
  // `subject_export_review`).
  Result<SubjectDraft> confirm_review(const Principal& principal, const std::string& draft_id,
                                      std::span<const uint64_t> frames_shown);

  // Writes the bundle of a reviewed draft (see the top of this file). kFailedPrecondition for an
  // unreviewed draft, a request that is no longer open, restricted footage; kPermissionDenied
  // (role, four-eyes); kResourceExhausted / kUnavailable (medium). Every attempt is audited;
  // the draft is dropped once the bundle is complete.
  Result<SubjectExportRecord> release(const Principal& principal, SubjectReleaseSpec spec,
                                      hal::RemovableMedia& media);

  // Drops a draft (kManageSubjectRequests); audited `subject_export_discard`.
  Status discard(const Principal& principal, const std::string& draft_id);

  // The subject exports of a request, oldest first (kReadSubjectRequests; audited
  // `subject_export_list`).
  Result<std::vector<SubjectExportRecord>> list(const Principal& principal,
                                                const std::string& reference);

  // Unchecked read for the service itself and its tests.
  Result<SubjectExportRecord> find(const std::string& id);

 private:
  struct Held {
    SubjectDraft draft;
    std::vector<uint8_t> mp4;  // plaintext: memory only
    int64_t camera_id = 0;
    std::vector<recorder::SegmentRow> sources;
  };
  void expire_drafts();

  recorder::Catalog& catalog_;
  const hal::Storage& storage_;
  const hal::KeyStore& keys_;
  const hal::Clock& clock_;
  AuditJournal& audit_;
  std::span<const uint8_t> verify_page_;
  std::mutex drafts_mutex_;
  std::map<std::string, Held> drafts_;
};

}  // namespace yardwatch::firmware
