#pragma once

// What yardwatchd adds to the web admin's /metrics (Prometheus text format): recording per
// camera, the data volume, alarms by kind, the clock and supervision. Cameras are named by their
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
  std::string state;                     // recording | connecting | disconnected | error | stopped
  bool alive = true;                     // the pipeline makes progress (supervision)
  recorder::RecorderStats stats;         // since yardwatchd started
  int retention_days = 0;                // configured
  std::optional<int64_t> oldest_utc_us;  // the oldest footage kept
};

struct DaemonMetrics {
  int64_t now_utc_us = 0;
  std::vector<CameraMetrics> cameras;
  hal::VolumeHealth volume;
  std::map<std::string, int> alarms_by_kind;
  hal::SyncState clock = hal::SyncState::kUnknown;
  bool healthy = true;  // the watchdog is being fed
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
