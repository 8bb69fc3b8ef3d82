#include "yardwatch/firmware/viewing.h"

#include <sodium.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace yardwatch::firmware {

namespace {

std::string random_id() {
  uint8_t bytes[16];
  randombytes_buf(bytes, sizeof(bytes));
  char hex[sizeof(bytes) * 2 + 1];
  sodium_bin2hex(hex, sizeof(hex), bytes, sizeof(bytes));
  return hex;
}

bool valid_purpose(const std::string& purpose) {
  return purpose.size() >= kMinPurposeLength && purpose.size() <= kMaxPurposeLength;
}

Error not_found_viewing() {
  return make_error(ErrorKind::kNotFound, "no such viewing (it may have expired; open it again)");
}

}  // namespace

std::string_view viewing_kind_name(ViewingKind kind) {
  return kind == ViewingKind::kLive ? "live" : "recorded";
}

ViewingService::ViewingService(recorder::Catalog& catalog, const hal::Clock& clock,
                               AuditJournal& audit, FootageService& footage)
    : catalog_(catalog), clock_(clock), audit_(audit), footage_(footage) {}

Result<Timeline> ViewingService::timeline(const Principal& principal, int64_t camera_id,
                                          int64_t from_utc_us, int64_t to_utc_us) {
  AuditEvent event;
  event.action = "timeline_read";
  event.object_type = "camera";
  event.object_id = std::to_string(camera_id);
  event.range_from_utc_us = from_utc_us;
  event.range_to_utc_us = to_utc_us;
  auto camera = catalog_.camera_by_id(camera_id);
  if (camera.ok()) event.camera = camera.value().spec.name;
  YW_TRY(authorize(audit_, principal, Permission::kViewRecorded, camera_id, event));
  if (!camera.ok()) return std::move(camera).error();
  if (to_utc_us <= from_utc_us || to_utc_us - from_utc_us > kMaxTimelineRangeUs) {
    return make_error(ErrorKind::kInvalidArgument,
                      "a timeline covers a range of at most 8 days with its end after its start");
  }
  YW_ASSIGN_OR_RETURN(auto rows, catalog_.segments_for_camera(camera_id, from_utc_us, to_utc_us));
  Timeline timeline;
  timeline.camera = std::move(camera).value();
  timeline.camera.spec.url.clear();
  timeline.from_utc_us = from_utc_us;
  timeline.to_utc_us = to_utc_us;
  const int64_t now = clock_.now_utc_us();
  const int64_t limit = std::min(to_utc_us, now);
  int64_t covered_until = from_utc_us;
  for (const auto& row : rows) {
    if (row.state == recorder::SegmentState::kGarbage) continue;
    const bool recording = row.state == recorder::SegmentState::kRecording;
    timeline.segments.push_back({row.id, row.start_utc_us, row.end_utc_us, recording});
    if (row.start_utc_us - covered_until > kGapToleranceUs && covered_until < limit) {
      timeline.gaps.push_back({covered_until, std::min(row.start_utc_us, limit)});
    }
    // A segment being written covers up to now (its end in the catalog lags up to 10 s).
    covered_until = std::max(covered_until, recording ? now : row.end_utc_us);
  }
  if (limit - covered_until > kGapToleranceUs) timeline.gaps.push_back({covered_until, limit});
  return timeline;
}

Result<Viewing> ViewingService::open(const Principal& principal, Viewing viewing,
                                     Permission permission, const FourEyesApproval* approval) {
  AuditEvent event;
  event.action = "viewing_open";
  event.object_type = "camera";
  event.object_id = std::to_string(viewing.camera_id);
  event.purpose = viewing.purpose;
  if (viewing.kind == ViewingKind::kRecorded) {
    event.range_from_utc_us = viewing.from_utc_us;
    event.range_to_utc_us = viewing.to_utc_us;
  }
  event.details = nlohmann::json{{"kind", viewing_kind_name(viewing.kind)}}.dump();
  auto camera = catalog_.camera_by_id(viewing.camera_id);
  if (camera.ok()) event.camera = camera.value().spec.name;
  // The role check first, so an unauthorised person learns nothing about the camera.
  YW_TRY(authorize(audit_, principal, permission, viewing.camera_id, event));
  auto refuse = [&](ErrorKind kind, const std::string& why, const std::string& message) {
    event.allowed = false;
    event.reason = why;
    (void)audit_.append(principal.actor(), event);
    return make_error(kind, message);
  };
  if (!camera.ok() || camera.value().removed_utc_us) {
    return refuse(ErrorKind::kNotFound, "no such camera",
                  "no camera with id " + std::to_string(viewing.camera_id));
  }
  if (!valid_purpose(viewing.purpose)) {
    return refuse(ErrorKind::kInvalidArgument, "no valid purpose given",
                  "looking at footage needs a purpose (5–500 characters), e.g. \"incident at the "
                  "bicycle shed on Monday\"");
  }
  viewing.camera_name = camera.value().spec.name;
  if (viewing.kind == ViewingKind::kRecorded) {
    if (viewing.to_utc_us <= viewing.from_utc_us ||
        viewing.to_utc_us - viewing.from_utc_us > kMaxViewingRangeUs) {
      return refuse(ErrorKind::kInvalidArgument, "invalid range",
                    "a viewing covers at most 24 hours, with its end after its start");
    }
    YW_ASSIGN_OR_RETURN(auto rows, catalog_.segments_for_camera(
                                       viewing.camera_id, viewing.from_utc_us, viewing.to_utc_us));
    for (const auto& row : rows) {
      if (row.state != recorder::SegmentState::kComplete) continue;
      viewing.segments.push_back({row.id, row.start_utc_us, row.end_utc_us, false});
    }
    // Four-eyes (policy switch): recorded footage opens only with a second person's approval.
    YW_TRY(check_four_eyes(catalog_, audit_, principal, approval, {viewing.camera_id}, event));
    if (approval != nullptr) viewing.approval = *approval;
  } else if (live_ == nullptr) {
    return refuse(ErrorKind::kUnavailable, "live view not available",
                  "live view needs the recorder (yardwatchd) to be running");
  }
  viewing.id = random_id();
  viewing.account_id = principal.account_id;
  viewing.opened_utc_us = clock_.now_utc_us();
  viewing.last_used_monotonic_us = clock_.monotonic_us();
  {
    std::lock_guard lock(mutex_);
    expire_locked(viewing.last_used_monotonic_us);
    if (viewings_.size() >= kMaxOpenViewings) {
      return refuse(ErrorKind::kResourceExhausted, "too many open viewings",
                    "too many viewings are open; close one or try again in a few minutes");
    }
    // The viewing exists only once its opening is on record.
    YW_TRY(audit_.append(principal.actor(), event));
    viewings_[viewing.id] = viewing;
  }
  return viewing;
}

Result<Viewing> ViewingService::open_recorded(const Principal& principal, int64_t camera_id,
                                              int64_t from_utc_us, int64_t to_utc_us,
                                              const std::string& purpose,
                                              const FourEyesApproval* approval) {
  Viewing viewing;
  viewing.kind = ViewingKind::kRecorded;
  viewing.camera_id = camera_id;
  viewing.from_utc_us = from_utc_us;
  viewing.to_utc_us = to_utc_us;
  viewing.purpose = purpose;
  return open(principal, std::move(viewing), Permission::kViewRecorded, approval);
}

Result<Viewing> ViewingService::open_live(const Principal& principal, int64_t camera_id,
                                          const std::string& purpose) {
  Viewing viewing;
  viewing.kind = ViewingKind::kLive;
  viewing.camera_id = camera_id;
  viewing.purpose = purpose;
  return open(principal, std::move(viewing), Permission::kLiveView, nullptr);
}

void ViewingService::expire_locked(int64_t monotonic_now_us) {
  for (auto it = viewings_.begin(); it != viewings_.end();) {
    if (monotonic_now_us - it->second.last_used_monotonic_us > kViewingIdleUs) {
      it = viewings_.erase(it);
    } else {
      ++it;
    }
  }
}

Result<Viewing> ViewingService::touch(const Principal& principal, const std::string& viewing_id) {
  std::lock_guard lock(mutex_);
  const int64_t now = clock_.monotonic_us();
  expire_locked(now);
  auto found = viewings_.find(viewing_id);
  if (found == viewings_.end()) return not_found_viewing();
  if (found->second.account_id != principal.account_id) {
    AuditEvent event;
    event.action = "viewing_use";
    event.object_type = "viewing";
    event.object_id = viewing_id;
    event.camera = found->second.camera_name;
    event.allowed = false;
    event.reason = "the viewing belongs to another account";
    (void)audit_.append(principal.actor(), event);
    return not_found_viewing();
  }
  found->second.last_used_monotonic_us = now;
  return found->second;
}

Result<Viewing> ViewingService::get(const Principal& principal, const std::string& viewing_id) {
  return touch(principal, viewing_id);
}

Status ViewingService::close(const Principal& principal, const std::string& viewing_id) {
  YW_TRY(touch(principal, viewing_id));
  std::lock_guard lock(mutex_);
  viewings_.erase(viewing_id);
  return {};
}

Result<recorder::DecryptedSegment> ViewingService::read_segment(const Principal& principal,
                                                                const std::string& viewing_id,
                                                                int64_t segment_id) {
  YW_ASSIGN_OR_RETURN(Viewing viewing, touch(principal, viewing_id));
  if (viewing.kind != ViewingKind::kRecorded) {
    return make_error(ErrorKind::kInvalidArgument, "a live viewing has no recorded segments");
  }
  YW_ASSIGN_OR_RETURN(auto row, catalog_.segment(segment_id));
  if (row && (row->camera_id != viewing.camera_id || row->start_utc_us >= viewing.to_utc_us ||
              row->end_utc_us <= viewing.from_utc_us)) {
    AuditEvent event;
    event.action = "view_recorded";
    event.object_type = "segment";
    event.object_id = std::to_string(segment_id);
    event.purpose = viewing.purpose;
    event.range_from_utc_us = row->start_utc_us;
    event.range_to_utc_us = row->end_utc_us;
    if (auto camera = catalog_.camera_by_id(row->camera_id); camera.ok()) {
      event.camera = camera.value().spec.name;
    }
    // Another camera's segment: the role check speaks first (and audits the denial).
    YW_TRY(authorize(audit_, principal, Permission::kViewRecorded, row->camera_id, event));
    event.allowed = false;
    event.reason = "the segment is not part of viewing " + viewing_id;
    (void)audit_.append(principal.actor(), event);
    return make_error(ErrorKind::kPermissionDenied,
                      "permission denied: the segment is not part of this viewing");
  }
  return footage_.view_segment(principal, segment_id, viewing.purpose,
                               viewing.approval ? &*viewing.approval : nullptr);
}

Result<recorder::LiveInit> ViewingService::live_init(const Principal& principal,
                                                     const std::string& viewing_id) {
  YW_ASSIGN_OR_RETURN(Viewing viewing, touch(principal, viewing_id));
  if (viewing.kind != ViewingKind::kLive || live_ == nullptr) {
    return make_error(ErrorKind::kInvalidArgument, "not a live viewing");
  }
  auto init = live_->feed(viewing.camera_id)->init(clock_.monotonic_us());
  if (!init) {
    return make_error(ErrorKind::kUnavailable,
                      "the camera is not sending a picture right now; try again shortly");
  }
  return *init;
}

Result<std::optional<recorder::LiveFragment>> ViewingService::live_next(
    const Principal& principal, const std::string& viewing_id, uint64_t after,
    std::chrono::milliseconds wait) {
  YW_ASSIGN_OR_RETURN(Viewing viewing, touch(principal, viewing_id));
  if (viewing.kind != ViewingKind::kLive || live_ == nullptr) {
    return make_error(ErrorKind::kInvalidArgument, "not a live viewing");
  }
  return live_->feed(viewing.camera_id)->next_after(after, clock_.monotonic_us(), wait);
}

Result<std::vector<uint8_t>> ViewingService::preview(const Principal& principal, int64_t camera_id,
                                                     std::chrono::milliseconds wait) {
  AuditEvent event;
  event.action = "camera_preview";
  event.object_type = "camera";
  event.object_id = std::to_string(camera_id);
  event.purpose = "setup preview";
  auto camera = catalog_.camera_by_id(camera_id);
  if (camera.ok()) event.camera = camera.value().spec.name;
  YW_TRY(authorize(audit_, principal, Permission::kManageCameras, camera_id, event));
  if (!camera.ok() || camera.value().removed_utc_us) {
    return make_error(ErrorKind::kNotFound, "no camera with id " + std::to_string(camera_id));
  }
  if (live_ == nullptr) {
    return make_error(ErrorKind::kUnavailable, "previews need the recorder (yardwatchd)");
  }
  auto feed = live_->feed(camera_id);
  const int64_t now = clock_.monotonic_us();
  auto init = feed->init(now);
  auto fragment = feed->next_after(0, now, wait);
  if (!init || !fragment || fragment->track_generation != init->track_generation) {
    return make_error(ErrorKind::kUnavailable,
                      "no picture from this camera yet; it is connecting or off-line");
  }
  std::vector<uint8_t> mp4(init->bytes->begin(), init->bytes->end());
  mp4.insert(mp4.end(), fragment->bytes->begin(), fragment->bytes->end());
  YW_TRY(audit_.append(principal.actor(), event));
  return mp4;
}

size_t ViewingService::open_count() {
  std::lock_guard lock(mutex_);
  return viewings_.size();
}

}  // namespace yardwatch::firmware
