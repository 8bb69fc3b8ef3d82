#pragma once

// What yardwatchd adds to the web admin's /metrics (Prometheus text format): recording per
// camera, retention (sweeps, deletions, effective retention, holds), the data volume, alarms by
// kind, the clock and supervision. Cameras are named by their
// id, alarms by their kind: no names, accounts or addresses — nothing personal leaves the box,
// and footage never does (a school board watches its fleet with its own Prometheus; examples in
// board/prometheus/).

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "yardwatch/hal/clock.h"
#include "yardwatch/hal/storage.h"
#include "yardwatch/recorder/recording.h"

namespace yardwatch::firmware {

struct CameraMetrics {
  int64_t camera_id = 0;
  std::string state;              // recording | connecting | disconnected | error | stopped
  bool alive = true;              // the pipeline makes progress (supervision)
  bool paused_for_space = false;  // stopped by disk pressure (firmware/retention.h)
  recorder::RecorderStats stats;  // since yardwatchd started (zero while it has no pipeline)
  int retention_days = 0;         // configured
  // What RetentionService::status() says the camera keeps: lower than retention_days while
  // footage deleted early for space is missing. Absent when the service could not say.
  std::optional<int> effective_retention_days;
  std::optional<int64_t> oldest_utc_us;  // the oldest footage kept
};

// What retention did since yardwatchd started (sweeps every minute, disk pressure every tick).
struct RetentionMetrics {
  uint64_t sweeps_completed = 0;
  uint64_t sweeps_refused = 0;  // the clock guard did not trust the clock: nothing deleted
  uint64_t sweeps_failed = 0;   // an error (catalog, data volume): nothing more deleted
  std::optional<int64_t> last_completed_utc_us;
  uint64_t expired_segments_deleted = 0;  // by the sweep (older than their retention term)
  uint64_t expired_bytes_deleted = 0;
  uint64_t space_segments_deleted = 0;  // early, for disk pressure
  uint64_t space_bytes_deleted = 0;
  // From RetentionService::status(): whether the clock guard trusts the clock now, and holds.
  std::optional<bool> clock_trusted;
  std::optional<int64_t> holds_active;
  std::optional<int64_t> holds_overdue;
};

struct DaemonMetrics {
  int64_t now_utc_us = 0;
  std::vector<CameraMetrics> cameras;
  hal::VolumeHealth volume;
  std::map<std::string, int> alarms_by_kind;
  hal::SyncState clock = hal::SyncState::kUnknown;
  bool healthy = true;  // the watchdog is being fed
  RetentionMetrics retention;
};

std::string render_daemon_metrics(const DaemonMetrics& metrics);

// The latest rendering, handed from the supervision loop to the web server's threads.
class MetricsBoard {
 public:
  void publish(std::string text) {
    std::lock_guard lock(mutex_);
    text_ = std::move(text);
  }
  [[nodiscard]] std::string snapshot() const {
    std::lock_guard lock(mutex_);
    return text_;
  }

 private:
  mutable std::mutex mutex_;
  std::string text_;
};

}  // namespace yardwatch::firmware
