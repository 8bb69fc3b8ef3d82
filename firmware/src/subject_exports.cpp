#include "yardwatch/firmware/subject_exports.h"

#include <sodium.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "bundle_export.h"
#include "register_checks.h"
#include "yardwatch/firmware/exports.h"
#include "yardwatch/firmware/requests.h"
#include "yardwatch/firmware/subject_footage.h"
#include "yardwatch/recorder/export_bundle.h"
#include "yardwatch/recorder/playback.h"
#include "yardwatch/recorder/sqlite.h"

// Design: firmware/design/subject_export.md.

namespace yardwatch::firmware {

namespace {

namespace format = recorder::bundle_format;
using nlohmann::json;

constexpr std::string_view kLegalBasis =
    "AVG art. 15: inzageverzoek van de betrokkene / GDPR Art. 15: data subject access request";

// Text from a request as it may go into the audit journal: one line, bounded, valid UTF-8.
std::string printable(const std::string& text) {
  std::string out = text.substr(0, kMaxRequestReferenceLength);
  out = json::parse(json(out).dump(-1, ' ', false, json::error_handler_t::replace))
            .get<std::string>();
  std::replace_if(
      out.begin(), out.end(), [](char c) { return c >= 0 && c < 0x20; }, ' ');
  return out;
}

std::string purpose_of(const std::string& reference) {
  return "inzageverzoek " + printable(reference);
}

// Wipes plaintext footage when it goes.
void wipe(std::vector<uint8_t>& bytes) {
  if (!bytes.empty()) sodium_memzero(bytes.data(), bytes.size());
  bytes.clear();
}

struct WipeAll {
  std::vector<recorder::DecryptedSegment>& segments;
  ~WipeAll() {
    for (auto& segment : segments) wipe(segment.mp4);
  }
};

constexpr const char* kRecordColumns =
    "e.id, r.reference, c.name, e.from_utc_us, e.to_utc_us, e.blur_outside_selection, "
    "e.created_utc_us, e.created_by, e.reviewed_by, e.reviewed_utc_us, e.target, e.state, "
    "e.finished_utc_us, COALESCE(e.manifest, ''), COALESCE(e.manifest_sha256, ''), e.error "
    "FROM subject_exports e JOIN subject_requests r ON r.id = e.request_id "
    "JOIN cameras c ON c.id = e.camera_id";

SubjectExportRecord read_record(const recorder::sql::Statement& row) {
  SubjectExportRecord r;
  r.id = row.column_text(0);
  r.request_reference = row.column_text(1);
  r.camera = row.column_text(2);
  r.from_utc_us = row.column_int(3);
  r.to_utc_us = row.column_int(4);
  r.blur_outside_selection = row.column_int(5) != 0;
  r.created_utc_us = row.column_int(6);
  r.created_by = row.column_text(7);
  r.reviewed_by = row.column_text(8);
  if (!row.column_is_null(9)) r.reviewed_utc_us = row.column_int(9);
  r.target = row.column_text(10);
  r.state = row.column_text(11);
  if (!row.column_is_null(12)) r.finished_utc_us = row.column_int(12);
  r.manifest = row.column_text(13);
  r.manifest_sha256 = row.column_text(14);
  r.error = row.column_text(15);
  return r;
}

}  // namespace

SubjectExportService::SubjectExportService(recorder::Catalog& catalog, const hal::Storage& storage,
                                           const hal::KeyStore& keys, const hal::Clock& clock,
                                           AuditJournal& audit)
    : catalog_(catalog), storage_(storage), keys_(keys), clock_(clock), audit_(audit) {}

void SubjectExportService::expire_drafts() {
  const int64_t now = clock_.now_utc_us();
  for (auto it = drafts_.begin(); it != drafts_.end();) {
    const int64_t age = now - it->second.draft.prepared_utc_us;
    if (age > kSubjectDraftLifetimeUs || age < -kSubjectDraftLifetimeUs) {
      wipe(it->second.mp4);
      it = drafts_.erase(it);
    } else {
      ++it;
    }
  }
}

Result<recorder::StillFrame> SubjectExportService::frame(const Principal& principal,
                                                         const std::string& reference,
                                                         const std::string& camera,
                                                         int64_t at_utc_us) {
  AuditEvent event;
  event.action = "subject_export_frame";
  event.object_type = "camera";
  event.object_id = printable(camera);
  event.camera = printable(camera);
  event.range_from_utc_us = at_utc_us;
  event.range_to_utc_us = at_utc_us;
  event.purpose = purpose_of(reference);
  event.details = json{{"request", printable(reference)}}.dump();
  YW_TRY(authorize(audit_, principal, Permission::kManageSubjectRequests, std::nullopt, event));
  auto refuse = [&](const Error& error) -> Error { return deny(audit_, principal, event, error); };
  if (auto request = request_for_action(catalog_, reference, RequestActionKind::kSubjectExport);
      !request.ok()) {
    return refuse(request.error());
  }
  auto found = catalog_.camera_by_name(camera);
  if (!found.ok()) return refuse(found.error());
  if (auto in_force = restrictions_in_force(catalog_, found.value().id, at_utc_us, at_utc_us + 1);
      !in_force.ok() || !in_force.value().empty()) {
    return refuse(make_error(
        ErrorKind::kFailedPrecondition,
        "footage of " + camera + " at this time is restricted on a data subject's request"));
  }
  auto rows = catalog_.segments_for_camera(found.value().id, at_utc_us, at_utc_us + 1);
  if (!rows.ok()) return refuse(rows.error());
  std::optional<recorder::SegmentRow> row;
  for (const auto& candidate : rows.value()) {
    if (candidate.state == recorder::SegmentState::kComplete) row = candidate;
  }
  if (!row) {
    return refuse(make_error(ErrorKind::kNotFound,
                             "camera " + camera + " has no closed recording at this time"));
  }
  auto segment = recorder::decrypt_segment(catalog_, storage_, keys_, row->id);
  if (!segment.ok()) return refuse(segment.error());
  struct Wipe {
    std::vector<uint8_t>& bytes;
    ~Wipe() { wipe(bytes); }
  } wipe_segment{segment.value().mp4};
  const recorder::RedactionSegment source{segment.value().mp4, row->start_utc_us};
  auto still = recorder::still_frame(source, at_utc_us);
  if (!still.ok()) return refuse(still.error());
  YW_TRY(audit_.append(principal.actor(), event));
  return still;
}

Result<SubjectDraft> SubjectExportService::prepare(const Principal& principal,
                                                   const SubjectDraftSpec& spec) {
  const std::string draft_id = format::export_id_text(format::new_export_id());
  AuditEvent event;
  event.action = "subject_export_prepare";
  event.object_type = "subject_export";
  event.object_id = draft_id;
  event.camera = printable(spec.camera);
  event.range_from_utc_us = spec.from_utc_us;
  event.range_to_utc_us = spec.to_utc_us;
  event.purpose = purpose_of(spec.request_reference);
  event.details = json{{"request", printable(spec.request_reference)},
                       {"blur_outside_selection", spec.blur_outside_selection},
                       {"selected", spec.selection.has_value()}}
                      .dump();
  YW_TRY(authorize(audit_, principal, Permission::kManageSubjectRequests, std::nullopt, event));
  auto refuse = [&](const Error& error) -> Error { return deny(audit_, principal, event, error); };
  if (spec.to_utc_us <= spec.from_utc_us) {
    return refuse(make_error(ErrorKind::kInvalidArgument, "the range must end after it starts"));
  }
  if (spec.to_utc_us - spec.from_utc_us > kMaxSubjectExportRangeUs) {
    return refuse(make_error(ErrorKind::kInvalidArgument,
                             "a subject export covers at most 15 minutes: the director reviews "
                             "every frame; make several exports for a longer range"));
  }
  if (spec.selection &&
      (spec.selection->utc_us < spec.from_utc_us || spec.selection->utc_us >= spec.to_utc_us)) {
    return refuse(make_error(ErrorKind::kInvalidArgument,
                             "the requester's box must be drawn on a frame inside the range"));
  }
  if (auto request =
          request_for_action(catalog_, spec.request_reference, RequestActionKind::kSubjectExport);
      !request.ok()) {
    return refuse(request.error());
  }
  auto camera = catalog_.camera_by_name(spec.camera);
  if (!camera.ok()) return refuse(camera.error());
  auto in_force =
      restrictions_in_force(catalog_, camera.value().id, spec.from_utc_us, spec.to_utc_us);
  if (!in_force.ok()) return refuse(in_force.error());
  if (!in_force.value().empty()) {
    return refuse(make_error(ErrorKind::kFailedPrecondition,
                             "footage of " + spec.camera +
                                 " in this range is restricted on a data subject's request "
                                 "(request " +
                                 in_force.value().front().request_reference +
                                 "); it cannot be processed until a director lifts the "
                                 "restriction"));
  }
  auto planned =
      recorder::plan_export_sources(catalog_, {spec.camera}, spec.from_utc_us, spec.to_utc_us);
  if (!planned.ok()) return refuse(planned.error());
  std::vector<recorder::SegmentRow> rows = planned.value().front().segments;
  if (rows.empty()) {
    return refuse(make_error(ErrorKind::kInvalidArgument,
                             "there is no recorded footage of " + spec.camera + " in this range"));
  }
  for (size_t i = 1; i < rows.size(); ++i) {
    if (rows[i].start_utc_us - rows[i - 1].end_utc_us > recorder::kExportJoinToleranceUs) {
      return refuse(
          make_error(ErrorKind::kFailedPrecondition,
                     "the footage has a gap at " + hal::format_iso8601_utc(rows[i - 1].end_utc_us) +
                         "; choose a range without a gap (one export per continuous part)"));
    }
  }
  // Decrypted in memory only, wiped when this function returns.
  std::vector<recorder::DecryptedSegment> decrypted;
  WipeAll wipe_decrypted{decrypted};
  std::vector<recorder::RedactionSegment> sources;
  for (const auto& row : rows) {
    auto segment = recorder::decrypt_segment(catalog_, storage_, keys_, row.id);
    if (!segment.ok()) return refuse(segment.error());
    decrypted.push_back(std::move(segment).value());
  }
  for (size_t i = 0; i < decrypted.size(); ++i) {
    sources.push_back({decrypted[i].mp4, rows[i].start_utc_us});
  }
  recorder::RedactionOptions options;
  if (spec.selection) options.selections = {*spec.selection};
  options.blur_outside_selection = spec.blur_outside_selection;
  options.title = spec.camera + " " + hal::format_iso8601_utc(spec.from_utc_us);
  options.comment = "Yardwatch subject access export, request " + printable(spec.request_reference);
  auto clip = recorder::redact(sources, spec.from_utc_us, spec.to_utc_us, options);
  if (!clip.ok()) return refuse(clip.error());

  Held held;
  held.camera_id = camera.value().id;
  held.sources = rows;
  SubjectDraft& draft = held.draft;
  draft.id = draft_id;
  draft.request_reference = spec.request_reference;
  draft.camera = spec.camera;
  draft.from_utc_us = spec.from_utc_us;
  draft.to_utc_us = spec.to_utc_us;
  draft.blur_outside_selection = spec.blur_outside_selection;
  draft.frames = clip.value().frames;
  draft.width = clip.value().width;
  draft.height = clip.value().height;
  draft.start_utc_us = clip.value().start_utc_us;
  draft.duration_us = clip.value().duration_us;
  draft.mp4_bytes = clip.value().mp4.size();
  draft.frames_with_requester = clip.value().frames_with_requester;
  draft.frames_requester_lost = clip.value().frames_requester_lost;
  draft.prepared_by = principal.name;
  draft.prepared_utc_us = clock_.now_utc_us();
  held.mp4 = std::move(clip.value().mp4);

  json details = json::parse(event.details);
  details["frames"] = draft.frames;
  event.details = details.dump();
  YW_TRY(audit_.append(principal.actor(), event));
  std::lock_guard lock(drafts_mutex_);
  expire_drafts();
  while (drafts_.size() >= kMaxSubjectDrafts) {
    auto oldest =
        std::min_element(drafts_.begin(), drafts_.end(), [](const auto& a, const auto& b) {
          return a.second.draft.prepared_utc_us < b.second.draft.prepared_utc_us;
        });
    wipe(oldest->second.mp4);
    drafts_.erase(oldest);
  }
  const SubjectDraft result = draft;
  drafts_.emplace(draft_id, std::move(held));
  return result;
}

Result<SubjectDraft> SubjectExportService::draft(const Principal& principal,
                                                 const std::string& draft_id) {
  if (!role_allows(principal.role, Permission::kManageSubjectRequests)) {
    return make_error(ErrorKind::kPermissionDenied, "only a director handles subject exports");
  }
  std::lock_guard lock(drafts_mutex_);
  expire_drafts();
  auto it = drafts_.find(draft_id);
  if (it == drafts_.end()) {
    return make_error(ErrorKind::kNotFound,
                      "no draft " + printable(draft_id) + " (expired, released or discarded)");
  }
  return it->second.draft;
}

Result<std::vector<uint8_t>> SubjectExportService::draft_video(const Principal& principal,
                                                               const std::string& draft_id) {
  AuditEvent event;
  event.action = "subject_export_review_view";
  event.object_type = "subject_export";
  event.object_id = printable(draft_id);
  YW_TRY(authorize(audit_, principal, Permission::kManageSubjectRequests, std::nullopt, event));
  std::lock_guard lock(drafts_mutex_);
  expire_drafts();
  auto it = drafts_.find(draft_id);
  if (it == drafts_.end()) {
    event.allowed = false;
    event.reason = "no such draft";
    (void)audit_.append(principal.actor(), event);
    return make_error(ErrorKind::kNotFound, "no draft " + printable(draft_id));
  }
  const SubjectDraft& d = it->second.draft;
  event.camera = d.camera;
  event.range_from_utc_us = d.from_utc_us;
  event.range_to_utc_us = d.to_utc_us;
  event.purpose = purpose_of(d.request_reference);
  event.details = json{{"request", d.request_reference}, {"frames", d.frames}}.dump();
  YW_TRY(audit_.append(principal.actor(), event));
  it->second.draft.fetched = true;
  return it->second.mp4;
}

Result<SubjectDraft> SubjectExportService::confirm_review(const Principal& principal,
                                                          const std::string& draft_id,
                                                          std::span<const uint64_t> frames_shown) {
  AuditEvent event;
  event.action = "subject_export_review";
  event.object_type = "subject_export";
  event.object_id = printable(draft_id);
  YW_TRY(authorize(audit_, principal, Permission::kManageSubjectRequests, std::nullopt, event));
  std::lock_guard lock(drafts_mutex_);
  expire_drafts();
  auto refuse = [&](ErrorKind kind, const std::string& why) -> Error {
    return deny(audit_, principal, event, make_error(kind, why));
  };
  auto it = drafts_.find(draft_id);
  if (it == drafts_.end()) return refuse(ErrorKind::kNotFound, "no such draft");
  SubjectDraft& d = it->second.draft;
  event.camera = d.camera;
  event.range_from_utc_us = d.from_utc_us;
  event.range_to_utc_us = d.to_utc_us;
  event.purpose = purpose_of(d.request_reference);
  std::set<uint64_t> seen;
  for (uint64_t frame : frames_shown) {
    if (frame < d.frames) seen.insert(frame);
  }
  event.details =
      json{{"request", d.request_reference}, {"frames", d.frames}, {"frames_shown", seen.size()}}
          .dump();
  if (!d.fetched) {
    return refuse(ErrorKind::kFailedPrecondition,
                  "the redacted video was not fetched for review: look at it first");
  }
  if (seen.size() != d.frames) {
    return refuse(ErrorKind::kFailedPrecondition,
                  "the review covers " + std::to_string(seen.size()) + " of " +
                      std::to_string(d.frames) +
                      " frames: step through every frame before confirming");
  }
  d.reviewed_by = principal.name;
  d.reviewed_utc_us = clock_.now_utc_us();
  YW_TRY(audit_.append(principal.actor(), event));
  return d;
}

Status SubjectExportService::discard(const Principal& principal, const std::string& draft_id) {
  AuditEvent event;
  event.action = "subject_export_discard";
  event.object_type = "subject_export";
  event.object_id = printable(draft_id);
  YW_TRY(authorize(audit_, principal, Permission::kManageSubjectRequests, std::nullopt, event));
  std::lock_guard lock(drafts_mutex_);
  auto it = drafts_.find(draft_id);
  if (it == drafts_.end()) return make_error(ErrorKind::kNotFound, "no such draft");
  event.purpose = purpose_of(it->second.draft.request_reference);
  event.details = json{{"request", it->second.draft.request_reference}}.dump();
  wipe(it->second.mp4);
  drafts_.erase(it);
  YW_TRY(audit_.append(principal.actor(), event));
  return {};
}

Result<SubjectExportRecord> SubjectExportService::release(const Principal& principal,
                                                          SubjectReleaseSpec spec,
                                                          hal::RemovableMedia& media) {
  struct WipeSecret {
    std::string& secret;
    ~WipeSecret() { sodium_memzero(secret.data(), secret.size()); }
  } wipe_passphrase{spec.passphrase};
  const std::string target_text = spec.media_id + "/" + spec.directory_name;
  AuditEvent event;
  event.action = "subject_export";
  event.object_type = "subject_export";
  event.object_id = printable(spec.draft_id);
  event.details = json{{"target", printable(target_text)}}.dump();
  YW_TRY(authorize(audit_, principal, Permission::kManageSubjectRequests, std::nullopt, event));
  auto refuse = [&](ErrorKind kind, const std::string& why) -> Error {
    return deny(audit_, principal, event, make_error(kind, why));
  };

  // A copy of the draft: the redaction's output stays in the map until the bundle is complete.
  Held held;
  {
    std::lock_guard lock(drafts_mutex_);
    expire_drafts();
    auto it = drafts_.find(spec.draft_id);
    if (it == drafts_.end()) {
      return refuse(ErrorKind::kNotFound,
                    "no draft " + printable(spec.draft_id) + " (expired, released or discarded)");
    }
    held = it->second;
  }
  struct WipeHeld {
    std::vector<uint8_t>& bytes;
    ~WipeHeld() { wipe(bytes); }
  } wipe_held{held.mp4};
  const SubjectDraft& d = held.draft;
  event.camera = d.camera;
  event.range_from_utc_us = d.from_utc_us;
  event.range_to_utc_us = d.to_utc_us;
  event.purpose = purpose_of(d.request_reference);
  event.details = json{
      {"request", d.request_reference},
      {"target", printable(target_text)},
      {"frames", d.frames},
      {"blur_outside_selection", d.blur_outside_selection},
      {"reviewed_by",
       d.reviewed_by}}.dump();
  if (!d.reviewed_utc_us) {
    return refuse(ErrorKind::kFailedPrecondition,
                  "refused: the redacted footage was not reviewed frame by frame; review every "
                  "frame and confirm before release");
  }
  if (auto weak = format::check_passphrase(spec.passphrase); !weak.ok()) {
    return refuse(ErrorKind::kInvalidArgument, weak.error().message);
  }
  if (verify_page_.empty()) {
    return refuse(ErrorKind::kFailedPrecondition,
                  "this build has no verify.html to put into the bundle");
  }
  YW_TRY(
      check_four_eyes(catalog_, audit_, principal, spec.second_approval, {held.camera_id}, event));

  const int64_t now = clock_.now_utc_us();
  std::optional<Error> refused;
  {
    std::lock_guard lock(catalog_.mutex());
    auto& db = catalog_.database();
    YW_ASSIGN_OR_RETURN(auto transaction, recorder::sql::Transaction::begin(db));
    // The request must still be open and an access request, and the footage not restricted —
    // checked in the transaction that records the export, so nothing slips in between.
    auto request_id =
        request_for_action(catalog_, d.request_reference, RequestActionKind::kSubjectExport);
    if (!request_id.ok()) {
      refused = request_id.error();
    } else {
      YW_ASSIGN_OR_RETURN(auto in_force, restrictions_in_force(catalog_, held.camera_id,
                                                               d.from_utc_us, d.to_utc_us));
      if (!in_force.empty()) {
        refused = make_error(ErrorKind::kFailedPrecondition,
                             "refused: footage of " + d.camera +
                                 " in this range is restricted on a data subject's request "
                                 "(request " +
                                 in_force.front().request_reference +
                                 "); restricted footage cannot be exported");
      }
    }
    if (!refused) {
      YW_ASSIGN_OR_RETURN(
          auto insert,
          db.prepare("INSERT INTO subject_exports(id, request_id, camera_id, from_utc_us, "
                     "to_utc_us, blur_outside_selection, created_utc_us, account_id, created_by, "
                     "reviewed_by, reviewed_utc_us, target, state) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 'writing')"));
      insert.bind(1, d.id).bind(2, request_id.value()).bind(3, held.camera_id);
      insert.bind(4, d.from_utc_us).bind(5, d.to_utc_us);
      insert.bind(6, int64_t{d.blur_outside_selection ? 1 : 0}).bind(7, now);
      insert.bind(8, principal.account_id).bind(9, principal.name).bind(10, d.reviewed_by);
      insert.bind(11, *d.reviewed_utc_us).bind(12, target_text);
      YW_TRY(insert.run());
      YW_TRY(record_request_action(catalog_, request_id.value(), RequestActionKind::kSubjectExport,
                                   d.id,
                                   d.camera + " " + hal::format_iso8601_utc(d.from_utc_us) + " – " +
                                       hal::format_iso8601_utc(d.to_utc_us) + ", " +
                                       std::to_string(d.frames) + " frames, others blurred",
                                   principal, now));
      YW_TRY(audit_.append(principal.actor(), event));
      YW_TRY(transaction.commit());
    }
  }
  if (refused) return refuse(refused->kind, refused->message);

  // R8: a bundle that did not complete may be half on a stick (as for police exports).
  auto finish_failed = [&](const Error& error) -> Error {
    AuditEvent failed = event;
    failed.action = "subject_export_failed";
    failed.reason = error.message;
    record_export_failure(catalog_, clock_, audit_, principal, ExportTable::kSubject, d.id, error,
                          failed,
                          "subject export " + d.id + " (request " + d.request_reference + ") to " +
                              printable(target_text) + ": " + error.message);
    return error;
  };

  auto target = media.create_target(spec.media_id, spec.directory_name);
  if (!target.ok()) return finish_failed(target.error());
  auto camera = catalog_.camera_by_name(d.camera);
  if (!camera.ok()) return finish_failed(camera.error());

  recorder::SubjectBundleRequest bundle;
  fill_bundle_header(bundle, catalog_, clock_, principal, now, verify_page_);
  bundle.export_id = *format::parse_export_id(d.id);
  bundle.request_reference = d.request_reference;
  bundle.legal_basis = std::string(kLegalBasis);
  bundle.recipient = "de betrokkene van verzoek " + d.request_reference +
                     " / the data subject of request " + d.request_reference;
  bundle.requested_by = {"de betrokkene / the data subject", "data subject"};
  bundle.camera = camera.value();
  bundle.from_utc_us = d.from_utc_us;
  bundle.to_utc_us = d.to_utc_us;
  bundle.mp4 = held.mp4;
  bundle.start_utc_us = d.start_utc_us;
  bundle.end_utc_us = d.start_utc_us + d.duration_us;
  bundle.duration_us = d.duration_us;
  bundle.width = d.width;
  bundle.height = d.height;
  bundle.frames = d.frames;
  bundle.source_segments = held.sources;
  bundle.passphrase = spec.passphrase;
  bundle.kdf_opslimit = spec.kdf_opslimit;
  bundle.kdf_memlimit = spec.kdf_memlimit;
  auto written = recorder::write_subject_bundle(keys_, bundle, *target.value());
  sodium_memzero(bundle.passphrase.data(), bundle.passphrase.size());
  if (!written.ok()) return finish_failed(written.error());

  const std::string manifest_sha256 = format::to_hex(written.value().manifest_sha256);
  {
    AuditEvent completed = event;
    completed.action = "subject_export_complete";
    completed.details = json{
        {"request", d.request_reference},
        {"manifest_sha256", manifest_sha256},
        {"device_fingerprint", written.value().manifest.device_fingerprint},
        {"mp4_sha256", written.value().manifest.files.front().mp4_sha256},
        {"bytes", written.value().bytes_written},
        {"target",
         target_text}}.dump();
    if (spec.second_approval != nullptr) add_four_eyes_details(completed, *spec.second_approval);
    YW_TRY(record_export_complete(catalog_, clock_, audit_, principal, ExportTable::kSubject, d.id,
                                  written.value(), manifest_sha256, completed));
  }
  {
    std::lock_guard lock(drafts_mutex_);
    if (auto it = drafts_.find(d.id); it != drafts_.end()) {
      wipe(it->second.mp4);
      drafts_.erase(it);
    }
  }
  return find(d.id);
}

Result<std::vector<SubjectExportRecord>> SubjectExportService::list(const Principal& principal,
                                                                    const std::string& reference) {
  AuditEvent event;
  event.action = "subject_export_list";
  event.object_type = "request";
  event.object_id = printable(reference);
  event.details = json{{"request", printable(reference)}}.dump();
  YW_TRY(authorize(audit_, principal, Permission::kReadSubjectRequests, std::nullopt, event));
  std::vector<SubjectExportRecord> records;
  {
    std::lock_guard lock(catalog_.mutex());
    YW_ASSIGN_OR_RETURN(auto query, catalog_.database().prepare(
                                        std::string("SELECT ") + kRecordColumns +
                                        " WHERE r.reference = ?1 ORDER BY e.created_utc_us, e.id"));
    query.bind(1, reference);
    while (true) {
      YW_ASSIGN_OR_RETURN(bool has_row, query.step());
      if (!has_row) break;
      records.push_back(read_record(query));
    }
  }
  YW_TRY(audit_.append(principal.actor(), event));
  return records;
}

Result<SubjectExportRecord> SubjectExportService::find(const std::string& id) {
  std::lock_guard lock(catalog_.mutex());
  YW_ASSIGN_OR_RETURN(auto query, catalog_.database().prepare(std::string("SELECT ") +
                                                              kRecordColumns + " WHERE e.id = ?1"));
  query.bind(1, id);
  YW_ASSIGN_OR_RETURN(bool found, query.step());
  if (!found) return make_error(ErrorKind::kNotFound, "no subject export " + printable(id));
  return read_record(query);
}

}  // namespace yardwatch::firmware
