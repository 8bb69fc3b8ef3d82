#pragma once

// Recording: per camera, capture → segmenter → vault + catalog, with reconnects, status and
// disk-full handling. One CameraRecorder per camera, each with its own thread and pipeline, so
// one camera's failure never touches another (DESIGN §4).

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "yardwatch/hal/clock.h"
#include "yardwatch/hal/key_store.h"
#include "yardwatch/hal/storage.h"
#include "yardwatch/recorder/catalog.h"
#include "yardwatch/recorder/live.h"
#include "yardwatch/recorder/segmenter.h"

namespace yardwatch::recorder {

struct RecordingConfig {
  SegmenterConfig segmenter;
  uint32_t stall_timeout_ms = 4000;  // no video this long: the camera is gone
  uint32_t connect_timeout_s = 4;
  uint32_t max_backoff_ms = 2000;       // reconnect quickly: a camera back must record in ≤ 5 s
  uint64_t min_free_bytes = 16u << 20;  // below this no new segment is started
  uint32_t latency_ms = 200;
  // A camera whose thread neither made progress nor waited in a bounded back-off for this long
  // is stuck (a wedged pipeline, a hung disk): the supervisor stops feeding the watchdog. Longer
  // than connect_timeout_s + stall_timeout_ms + max_backoff_ms, the longest normal silence.
  uint32_t stuck_after_ms = 20000;
};

struct RecorderStats {
  uint64_t fragments_written = 0;
  uint64_t bytes_written = 0;      // media bytes of the fragments written (bitrate = its rate)
  uint64_t fragments_dropped = 0;  // lost to a full disk or a write error
  uint64_t reconnects = 0;
  uint64_t segments_written = 0;
};

// What the supervisor sees of one camera: whether its recorder is alive (recording, or
// reconnecting with back-off, both count) — nothing of its internals.
struct CameraHealth {
  int64_t camera_id = 0;
  std::string name;
  bool alive = true;
  RecorderStats stats;
};

class CameraRecorder : private CaptureListener {
 public:
  CameraRecorder(Camera camera, Catalog& catalog, const hal::Storage& storage,
                 const hal::Clock& clock, const hal::KeyStore& keys, RecordingConfig config);
  ~CameraRecorder() override;
  CameraRecorder(const CameraRecorder&) = delete;
  CameraRecorder& operator=(const CameraRecorder&) = delete;

  // Live view: the feed this camera's fragments are also published to (before start()).
  void set_live_feed(std::shared_ptr<LiveFeed> feed) { live_ = std::move(feed); }
  void start();
  // Asks the camera's thread to stop (its capture ends, it closes the open segment) and
  // returns at once; thread-safe.
  void request_stop();
  // request_stop(), then waits until the segment is closed and the thread has ended.
  void stop();
  [[nodiscard]] const Camera& camera() const { return camera_; }
  [[nodiscard]] RecorderStats stats() const;
  // See CameraHealth. Thread-safe.
  [[nodiscard]] bool alive(int64_t now_monotonic_us) const;

 private:
  void run();
  // This thread is fine for `extra_us` more than the stuck threshold from now.
  void heartbeat(int64_t extra_us = 0);
  void on_track(const TrackInfo& track) override;
  void on_access_unit(AccessUnit&& unit) override;
  void on_fragment(Fragment&& fragment);
  Status begin_segment(const Fragment& fragment);
  void finish_segment();
  // Closes a segment whose FINAL message could not be written (full disk). false: still no room.
  bool close_unfinished_segment();
  void handle_write_error(const Error& error);
  void publish(const std::string& state, const std::string& reason);
  void sleep_interruptibly(uint32_t ms);

  Camera camera_;
  Catalog& catalog_;
  const hal::Storage& storage_;
  const hal::Clock& clock_;
  const hal::KeyStore& keys_;
  RecordingConfig config_;
  std::shared_ptr<LiveFeed> live_;

  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::mutex wake_mutex_;
  std::condition_variable wake_;
  std::mutex capture_mutex_;
  Capture* capture_ = nullptr;  // the live connection, for stop()

  // Streaming-thread state (touched only by the capture thread, and by run() after it ended).
  std::unique_ptr<Segmenter> segmenter_;
  std::unique_ptr<SegmentWriter> writer_;
  SegmentRow current_row_;
  std::optional<SegmentRow> unfinished_row_;
  int64_t last_progress_monotonic_us_ = 0;
  int64_t last_space_check_monotonic_us_ = 0;
  bool disk_full_ = false;
  bool published_recording_ = false;
  std::string published_state_;
  int64_t published_since_us_ = 0;

  mutable std::mutex stats_mutex_;
  RecorderStats stats_;
  std::atomic<int64_t> alive_until_monotonic_us_{INT64_MAX};
};

// All cameras of a catalog; `sync_cameras` starts recorders for new cameras and stops those of
// removed ones.
class Recorder {
 public:
  Recorder(Catalog& catalog, const hal::Storage& storage, const hal::Clock& clock,
           const hal::KeyStore& keys, RecordingConfig config);
  ~Recorder();
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  // Live view: every camera's fragments are also published to its feed in `hub` (which must
  // outlive the recorder). Call before sync_cameras().
  void set_live_hub(LiveHub* hub) { live_hub_ = hub; }
  Status sync_cameras();
  void stop_all();
  [[nodiscard]] size_t camera_count() const { return recorders_.size(); }
  // One entry per camera being recorded.
  [[nodiscard]] std::vector<CameraHealth> health() const;

  // Stops recording a camera until resume(): disk pressure, when the disk holds nothing but
  // protected footage (recorder/design/retention.md). Its status shows `stopped` with `reason`.
  void pause(int64_t camera_id, const std::string& reason);
  void resume(int64_t camera_id);
  [[nodiscard]] const std::map<int64_t, std::string>& paused() const { return paused_; }

 private:
  Catalog& catalog_;
  const hal::Storage& storage_;
  const hal::Clock& clock_;
  const hal::KeyStore& keys_;
  RecordingConfig config_;
  LiveHub* live_hub_ = nullptr;
  std::map<int64_t, std::unique_ptr<CameraRecorder>> recorders_;
  std::map<int64_t, std::string> paused_;  // camera id → why
};

}  // namespace yardwatch::recorder
