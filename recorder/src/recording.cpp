#include "yardwatch/recorder/recording.h"

#include <algorithm>
#include <cstdio>

#include "yardwatch/hal/clock.h"
#include "yardwatch/recorder/data_dir.h"

namespace yardwatch::recorder {

namespace {

void log_line(const Camera& camera, const std::string& text) {
  // The daemon's stderr goes to the journal on real boards.
  std::fprintf(stderr, "yardwatchd: camera %s: %s\n", camera.spec.name.c_str(), text.c_str());
}

constexpr int64_t kProgressIntervalUs = 10'000'000;
constexpr int64_t kSpaceCheckIntervalUs = 1'000'000;

}  // namespace

CameraRecorder::CameraRecorder(Camera camera, Catalog& catalog, const hal::Storage& storage,
                               const hal::Clock& clock, const hal::KeyStore& keys,
                               RecordingConfig config)
    : camera_(std::move(camera)),
      catalog_(catalog),
      storage_(storage),
      clock_(clock),
      keys_(keys),
      config_(config) {}

CameraRecorder::~CameraRecorder() { stop(); }

void CameraRecorder::start() {
  heartbeat();
  thread_ = std::thread([this] {
    try {
      run();
    } catch (const std::exception& exception) {
      // Exceptions never escape a thread (STYLE); the camera shows the error instead.
      publish("error", std::string("internal error: ") + exception.what());
    }
  });
}

void CameraRecorder::request_stop() {
  stopping_ = true;
  {
    std::lock_guard lock(capture_mutex_);
    if (capture_ != nullptr) capture_->stop();
  }
  wake_.notify_all();
}

void CameraRecorder::stop() {
  request_stop();
  if (thread_.joinable()) thread_.join();
}

bool CameraRecorder::alive(int64_t now_monotonic_us) const {
  return now_monotonic_us < alive_until_monotonic_us_.load(std::memory_order_relaxed);
}

void CameraRecorder::heartbeat(int64_t extra_us) {
  alive_until_monotonic_us_.store(
      clock_.monotonic_us() + static_cast<int64_t>(config_.stuck_after_ms) * 1000 + extra_us,
      std::memory_order_relaxed);
}

RecorderStats CameraRecorder::stats() const {
  std::lock_guard lock(stats_mutex_);
  return stats_;
}

void CameraRecorder::sleep_interruptibly(uint32_t ms) {
  heartbeat(static_cast<int64_t>(ms) * 1000);  // a bounded wait is not being stuck
  std::unique_lock lock(wake_mutex_);
  wake_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping_.load(); });
}

void CameraRecorder::publish(const std::string& state, const std::string& reason) {
  const int64_t now = clock_.now_utc_us();
  if (state != published_state_) published_since_us_ = now;
  published_state_ = state;
  auto status =
      catalog_.set_camera_status(CameraStatus{camera_.id, state, reason, published_since_us_, now});
  if (!status.ok()) log_line(camera_, "could not publish status: " + status.error().to_string());
}

void CameraRecorder::run() {
  uint32_t backoff_ms = 250;
  bool has_recorded = false;  // in this run of the recorder
  while (!stopping_) {
    heartbeat();
    // A camera that failed keeps its failure state (and the time it began) through the
    // reconnect attempts, until it records again: the status shows "disconnected since 08:12",
    // not a state that flickers and a time that restarts with every attempt.
    if (published_state_ != "disconnected" && published_state_ != "error") {
      publish("connecting", "");
    }
    published_recording_ = false;
    segmenter_ = std::make_unique<Segmenter>(
        clock_, config_.segmenter,
        [this](Fragment&& fragment) { on_fragment(std::move(fragment)); });
    auto last_end = catalog_.last_end_for_camera(camera_.id);
    if (last_end.ok() && last_end.value()) segmenter_->set_not_before(*last_end.value());

    CaptureConfig capture_config;
    capture_config.url = camera_.spec.url;
    capture_config.use_tcp = camera_.spec.transport != "udp";
    capture_config.latency_ms = config_.latency_ms;
    capture_config.connect_timeout_s = config_.connect_timeout_s;
    auto capture = Capture::create(capture_config, *this);
    if (!capture.ok()) {
      // A configuration error (bad URL): retrying does not help until the camera is edited.
      publish("error", capture.error().message);
      log_line(camera_, capture.error().to_string());
      sleep_interruptibly(30'000);
      continue;
    }
    {
      std::lock_guard lock(capture_mutex_);
      capture_ = capture.value().get();
    }
    if (stopping_) {
      std::lock_guard lock(capture_mutex_);
      capture_ = nullptr;
      break;
    }
    const int64_t connected_at = clock_.monotonic_us();
    Status ended = capture.value()->run_until_stopped_or_failed(config_.stall_timeout_ms);
    {
      std::lock_guard lock(capture_mutex_);
      capture_ = nullptr;
    }
    capture.value().reset();  // pipeline is NULL now: no streaming thread touches us any more
    has_recorded = has_recorded || published_recording_;
    if (stopping_) segmenter_->flush();
    finish_segment();
    (void)close_unfinished_segment();
    if (stopping_) break;

    {
      std::lock_guard lock(stats_mutex_);
      ++stats_.reconnects;
    }
    const Error& error = ended.error();
    // A stream that is not found (404) is a wrong path when the camera never worked; once it
    // has recorded, the camera is rebooting or went away: disconnected, and it comes back.
    const bool configuration_problem = error.kind == ErrorKind::kPermissionDenied ||
                                       error.kind == ErrorKind::kInvalidArgument ||
                                       (error.kind == ErrorKind::kNotFound && !has_recorded);
    publish(configuration_problem ? "error" : "disconnected", error.message);
    log_line(camera_, error.to_string());
    // A long good run resets the back-off; a flapping camera backs off up to the cap.
    if (clock_.monotonic_us() - connected_at > 10'000'000) backoff_ms = 250;
    sleep_interruptibly(configuration_problem ? std::max<uint32_t>(backoff_ms, 2000) : backoff_ms);
    backoff_ms = std::min(backoff_ms * 2, config_.max_backoff_ms);
  }
  publish("stopped", "");
}

void CameraRecorder::on_track(const TrackInfo& track) {
  // A new or changed stream description needs a new segment with a new init section.
  finish_segment();
  segmenter_->on_track(track);
  if (live_) live_->publish_track(track);
}

void CameraRecorder::on_access_unit(AccessUnit&& unit) {
  heartbeat();
  segmenter_->on_access_unit(std::move(unit));
}

Status CameraRecorder::begin_segment(const Fragment& fragment) {
  const TrackInfo& track = *segmenter_->track();
  const int64_t now_mono = clock_.monotonic_us();
  if (disk_full_ && now_mono - last_space_check_monotonic_us_ < kSpaceCheckIntervalUs) {
    return make_error(ErrorKind::kResourceExhausted, "data volume is full");
  }
  last_space_check_monotonic_us_ = now_mono;
  // Never a byte onto a volume that is missing, swapped or read-only (hal::Storage).
  if (const hal::VolumeHealth volume = storage_.check_volume(); !volume.writable()) {
    return make_error(ErrorKind::kUnavailable, "data volume: " + volume.message);
  }
  auto free = storage_.free_bytes();
  if (free.ok() && free.value() < config_.min_free_bytes + fragment.bytes().size()) {
    return make_error(ErrorKind::kResourceExhausted,
                      "data volume is full (" + std::to_string(free.value() >> 20) + " MiB free, " +
                          std::to_string(config_.min_free_bytes >> 20) + " MiB needed)");
  }
  if (!close_unfinished_segment()) {
    return make_error(ErrorKind::kResourceExhausted,
                      "data volume is full (the previous segment cannot be closed yet)");
  }
  hal::SecretBytes key = generate_segment_key();
  NewSegment segment{camera_.id, fragment.info.utc_start_us, std::string(codec_name(track.codec)),
                     track.width, track.height};
  YW_ASSIGN_OR_RETURN(SegmentRow row, catalog_.begin_segment(segment, [&](int64_t segment_id) {
    return wrap_segment_key(keys_.master_key(), key,
                            {segment_id, camera_.id, segment.start_utc_us});
  }));
  // The row is committed before the file exists (crash-safety rule 1): recovery removes a row
  // whose file never appeared.
  const SegmentIdentity identity{row.id, camera_.id, row.start_utc_us};
  auto path = segment_path(storage_.data_dir(), camera_.id, row.id);
  std::error_code ignored;
  if (!std::filesystem::exists(path.parent_path())) {
    std::filesystem::create_directories(path.parent_path(), ignored);
    (void)storage_.sync_directory(path.parent_path().parent_path());
  }
  auto init = build_init_segment(track);
  auto writer = SegmentWriter::create(storage_, path, identity, key, init);
  if (!writer.ok()) {
    (void)catalog_.delete_segment(row.id);
    std::filesystem::remove(path, ignored);
    return std::move(writer).error();
  }
  writer_ = std::move(writer).value();
  current_row_ = std::move(row);
  last_progress_monotonic_us_ = now_mono;
  return {};
}

void CameraRecorder::finish_segment() {
  if (!writer_) return;
  auto summary = writer_->finish();
  writer_.reset();
  if (!summary.ok()) {
    // The FINAL message could not be written (full disk, or the writer stopped after a failed
    // append). Everything before it is intact; close it the way start-up recovery would, now or
    // as soon as there is room again.
    log_line(camera_, "could not close segment " + std::to_string(current_row_.id) + ": " +
                          summary.error().to_string());
    unfinished_row_ = current_row_;
    (void)close_unfinished_segment();
    return;
  }
  const SegmentSummary& s = summary.value();
  SegmentCompletion completion{s.end_utc_us,
                               s.file_bytes,
                               s.fragment_count,
                               {s.plaintext_sha256.begin(), s.plaintext_sha256.end()}};
  auto status = catalog_.complete_segment(current_row_.id, completion);
  if (!status.ok()) {
    // A full disk refuses the catalog's write too. The file is finished, so the row is closed
    // like an unfinished one: as soon as the catalog has room again (at the next segment or at
    // stop), at the latest by recovery at the next start. Without this a clean stop could leave
    // a `recording` row behind (crash-safety rule 3).
    log_line(camera_, "could not complete segment: " + status.error().to_string());
    unfinished_row_ = current_row_;
    return;
  }
  std::lock_guard lock(stats_mutex_);
  ++stats_.segments_written;
}

bool CameraRecorder::close_unfinished_segment() {
  if (!unfinished_row_) return true;
  const SegmentRow& row = *unfinished_row_;
  const SegmentIdentity identity{row.id, row.camera_id, row.start_utc_us};
  const auto path = segment_path(storage_.data_dir(), row.camera_id, row.id);
  auto key = unwrap_segment_key(keys_.master_key(), row.wrapped_key, identity);
  Result<RecoveredSegment> recovered =
      key.ok() ? recover_segment_file(storage_, path, identity, key.value())
               : Result<RecoveredSegment>(key.error());
  if (!recovered.ok() && recovered.error().kind == ErrorKind::kResourceExhausted) return false;
  if (!recovered.ok() || recovered.value().summary.fragment_count == 0) {
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
    (void)catalog_.delete_segment(row.id);
  } else {
    const SegmentSummary& s = recovered.value().summary;
    auto status = catalog_.complete_segment(
        row.id, SegmentCompletion{s.end_utc_us,
                                  s.file_bytes,
                                  s.fragment_count,
                                  {s.plaintext_sha256.begin(), s.plaintext_sha256.end()}});
    if (!status.ok()) return false;
    std::lock_guard lock(stats_mutex_);
    ++stats_.segments_written;
  }
  unfinished_row_.reset();
  return true;
}

void CameraRecorder::handle_write_error(const Error& error) {
  const bool full = error.kind == ErrorKind::kResourceExhausted;
  const bool first_time = !(full && disk_full_);
  if (full && !disk_full_) {
    disk_full_ = true;
    (void)catalog_.raise_alarm("disk_full", camera_.id,
                               "recording stopped: the data volume is full", clock_.now_utc_us());
  }
  // While the disk stays full every keyframe retries; say so once, not every second.
  if (first_time) {
    publish("error", full ? "disk full: " + error.message : "write error: " + error.message);
    log_line(camera_, error.to_string());
  }
  published_recording_ = false;
  segmenter_->request_new_segment();
}

void CameraRecorder::on_fragment(Fragment&& fragment) {
  // Live view gets a copy only while someone watches; it never waits for a viewer. The copy is
  // taken here, before the vault encrypts the fragment in place.
  if (live_ && live_->wanted(clock_.monotonic_us())) {
    live_->publish_fragment(fragment.info.utc_start_us, fragment.bytes());
  }
  if (fragment.starts_segment || !writer_) {
    if (!fragment.starts_segment) {
      // Not decodable on its own: wait for the next keyframe to open a segment.
      std::lock_guard lock(stats_mutex_);
      ++stats_.fragments_dropped;
      return;
    }
    finish_segment();
    auto begun = begin_segment(fragment);
    if (!begun.ok()) {
      handle_write_error(begun.error());
      std::lock_guard lock(stats_mutex_);
      ++stats_.fragments_dropped;
      return;
    }
    if (disk_full_) {
      disk_full_ = false;
      (void)catalog_.clear_alarm("disk_full", camera_.id, clock_.now_utc_us());
      log_line(camera_, "space is back; recording resumed");
    }
  }
  // Keep room for the catalog: appending until the volume is completely full would leave none
  // for the segment's completion, the camera's status or the disk_full alarm, all SQLite writes
  // that need space too. Half the floor stays free; the segment ends here as at a full disk.
  if (auto free = storage_.free_bytes();
      free.ok() && free.value() < fragment.bytes().size() + config_.min_free_bytes / 2) {
    finish_segment();
    handle_write_error(make_error(ErrorKind::kResourceExhausted,
                                  "data volume is full (" + std::to_string(free.value() >> 10) +
                                      " KiB free; the rest is kept for the catalog)"));
    std::lock_guard lock(stats_mutex_);
    ++stats_.fragments_dropped;
    return;
  }
  // Sealed where the segmenter collected it: no copy of the fragment is made (segmenter.h); its
  // plaintext size is taken first, for the bitrate in /metrics.
  const uint64_t fragment_bytes = fragment.bytes().size();
  auto appended = writer_->append_fragment_in_place(fragment.info, fragment.buffer, fragment.begin);
  if (appended.ok()) appended = writer_->sync();
  if (!appended.ok()) {
    finish_segment();  // keeps what was written; the writer cut back to its last good message
    handle_write_error(appended.error());
    std::lock_guard lock(stats_mutex_);
    ++stats_.fragments_dropped;
    return;
  }
  {
    std::lock_guard lock(stats_mutex_);
    ++stats_.fragments_written;
    stats_.bytes_written += fragment_bytes;
  }
  if (!published_recording_) {
    publish("recording", "");
    published_recording_ = true;
  }
  const int64_t now_mono = clock_.monotonic_us();
  if (now_mono - last_progress_monotonic_us_ >= kProgressIntervalUs) {
    last_progress_monotonic_us_ = now_mono;
    auto summary = writer_->summary_so_far();
    (void)catalog_.update_recording_progress(current_row_.id, summary.end_utc_us,
                                             summary.file_bytes);
    publish("recording", "");
  }
}

Recorder::Recorder(Catalog& catalog, const hal::Storage& storage, const hal::Clock& clock,
                   const hal::KeyStore& keys, RecordingConfig config)
    : catalog_(catalog), storage_(storage), clock_(clock), keys_(keys), config_(config) {}

Recorder::~Recorder() { stop_all(); }

Status Recorder::sync_cameras() {
  YW_ASSIGN_OR_RETURN(auto cameras, catalog_.cameras(false));
  std::map<int64_t, const Camera*> wanted;
  for (const auto& camera : cameras) wanted[camera.id] = &camera;
  for (auto it = recorders_.begin(); it != recorders_.end();) {
    auto found = wanted.find(it->first);
    const bool changed = found == wanted.end() ||
                         found->second->spec.url != it->second->camera().spec.url ||
                         found->second->spec.transport != it->second->camera().spec.transport;
    if (changed) {
      it->second->stop();
      it = recorders_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& camera : cameras) {
    if (recorders_.count(camera.id) != 0 || paused_.count(camera.id) != 0) continue;
    auto recorder =
        std::make_unique<CameraRecorder>(camera, catalog_, storage_, clock_, keys_, config_);
    if (live_hub_ != nullptr) recorder->set_live_feed(live_hub_->feed(camera.id));
    recorder->start();
    recorders_.emplace(camera.id, std::move(recorder));
  }
  return {};
}

std::vector<CameraHealth> Recorder::health() const {
  const int64_t now = clock_.monotonic_us();
  std::vector<CameraHealth> result;
  result.reserve(recorders_.size());
  for (const auto& [id, recorder] : recorders_) {
    result.push_back(
        CameraHealth{id, recorder->camera().spec.name, recorder->alive(now), recorder->stats()});
  }
  return result;
}

void Recorder::pause(int64_t camera_id, const std::string& reason) {
  paused_[camera_id] = reason;
  auto found = recorders_.find(camera_id);
  if (found != recorders_.end()) {
    found->second->stop();  // closes the open segment cleanly
    recorders_.erase(found);
  }
  const int64_t now = clock_.now_utc_us();
  (void)catalog_.set_camera_status(CameraStatus{camera_id, "stopped", reason, now, now});
}

void Recorder::resume(int64_t camera_id) {
  if (paused_.erase(camera_id) != 0) (void)sync_cameras();
}

void Recorder::stop_all() {
  // Every camera is told first and then waited for, so the cameras close their segments in
  // parallel: one after the other took 0.4-0.5 s at 32 cameras.
  for (auto& [id, recorder] : recorders_) recorder->request_stop();
  for (auto& [id, recorder] : recorders_) recorder->stop();
  recorders_.clear();
}

}  // namespace yardwatch::recorder
