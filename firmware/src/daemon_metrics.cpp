#include "yardwatch/firmware/daemon_metrics.h"

#include <cstdio>
#include <functional>
#include <utility>
#include <vector>

namespace yardwatch::firmware {

namespace {

class Writer {
 public:
  // One metric family: HELP, TYPE, then its samples.
  void family(const std::string& name, const std::string& help, const std::string& type) {
    out_ += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  }
  void sample(const std::string& name, const std::string& labels, double value) {
    char number[64];
    std::snprintf(number, sizeof(number), "%.17g", value);
    out_ += name + (labels.empty() ? "" : "{" + labels + "}") + " " + number + "\n";
  }
  // A family of one unlabelled sample.
  void single(const std::string& name, const std::string& help, const std::string& type,
              double value) {
    family(name, help, type);
    sample(name, "", value);
  }
  // A family with one sample per value of `label`, in the order given.
  void by_label(const std::string& name, const std::string& help, const std::string& type,
                const std::string& label,
                const std::vector<std::pair<std::string, double>>& values) {
    family(name, help, type);
    for (const auto& [label_value, value] : values) {
      sample(name, label + "=\"" + label_value + "\"", value);
    }
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string camera_label(int64_t id) { return "camera_id=\"" + std::to_string(id) + "\""; }

}  // namespace

std::string render_daemon_metrics(const DaemonMetrics& metrics) {
  Writer w;
  // One sample per camera; a camera without a value (nullopt) has none.
  auto per_camera = [&](const std::string& name, const std::string& help, const std::string& type,
                        const std::function<std::optional<double>(const CameraMetrics&)>& value) {
    w.family(name, help, type);
    for (const auto& camera : metrics.cameras) {
      if (auto v = value(camera)) w.sample(name, camera_label(camera.camera_id), *v);
    }
  };
  per_camera("yardwatch_camera_recording", "1 while the camera records, else 0", "gauge",
             [](const CameraMetrics& c) { return c.state == "recording" ? 1.0 : 0.0; });
  w.family("yardwatch_camera_state", "the camera's recording state (1 for the current one)",
           "gauge");
  for (const auto& camera : metrics.cameras) {
    w.sample("yardwatch_camera_state",
             camera_label(camera.camera_id) + ",state=\"" + camera.state + "\"", 1);
  }
  per_camera("yardwatch_camera_pipeline_alive",
             "1 while the camera's pipeline makes progress or waits to reconnect", "gauge",
             [](const CameraMetrics& c) { return c.alive ? 1.0 : 0.0; });
  per_camera("yardwatch_camera_recorded_bytes_total",
             "media bytes recorded since yardwatchd started (bitrate: rate() * 8)", "counter",
             [](const CameraMetrics& c) { return static_cast<double>(c.stats.bytes_written); });
  per_camera("yardwatch_camera_fragments_recorded_total", "fragments written", "counter",
             [](const CameraMetrics& c) { return static_cast<double>(c.stats.fragments_written); });
  per_camera("yardwatch_camera_fragments_lost_total",
             "fragments lost (full disk, write error, no keyframe to start on)", "counter",
             [](const CameraMetrics& c) { return static_cast<double>(c.stats.fragments_dropped); });
  per_camera("yardwatch_camera_reconnects_total", "connections to the camera lost and retried",
             "counter",
             [](const CameraMetrics& c) { return static_cast<double>(c.stats.reconnects); });
  per_camera("yardwatch_camera_segments_total", "segments closed", "counter",
             [](const CameraMetrics& c) { return static_cast<double>(c.stats.segments_written); });
  per_camera("yardwatch_camera_paused_for_space",
             "1 while the camera is stopped because the disk holds only held or restricted "
             "footage",
             "gauge", [](const CameraMetrics& c) { return c.paused_for_space ? 1.0 : 0.0; });
  per_camera("yardwatch_camera_retention_days", "configured retention (R2: at most 28)", "gauge",
             [](const CameraMetrics& c) { return static_cast<double>(c.retention_days); });
  per_camera("yardwatch_camera_effective_retention_days",
             "retention the camera keeps: below the configured one while footage deleted early "
             "for disk space is missing",
             "gauge", [](const CameraMetrics& c) -> std::optional<double> {
               if (!c.effective_retention_days) return std::nullopt;
               return *c.effective_retention_days;
             });
  per_camera("yardwatch_camera_oldest_footage_age_seconds", "age of the oldest footage kept",
             "gauge", [&metrics](const CameraMetrics& c) -> std::optional<double> {
               if (!c.oldest_utc_us) return std::nullopt;
               return static_cast<double>(metrics.now_utc_us - *c.oldest_utc_us) / 1e6;
             });

  const RetentionMetrics& r = metrics.retention;
  w.by_label("yardwatch_retention_sweeps_total",
             "retention sweeps by outcome (refused: the clock was not trusted, nothing deleted)",
             "counter", "outcome",
             {{"completed", static_cast<double>(r.sweeps_completed)},
              {"refused", static_cast<double>(r.sweeps_refused)},
              {"failed", static_cast<double>(r.sweeps_failed)}});
  if (r.last_completed_utc_us) {
    w.single("yardwatch_retention_last_sweep_timestamp_seconds",
             "when the last retention sweep completed (Unix time)", "gauge",
             static_cast<double>(*r.last_completed_utc_us) / 1e6);
  }
  w.by_label("yardwatch_retention_deleted_segments_total",
             "segments deleted (cryptographically) by reason: expired by the sweep, or early for "
             "disk space",
             "counter", "reason",
             {{"expired", static_cast<double>(r.expired_segments_deleted)},
              {"disk_space", static_cast<double>(r.space_segments_deleted)}});
  w.by_label("yardwatch_retention_deleted_bytes_total", "bytes of footage deleted, by reason",
             "counter", "reason",
             {{"expired", static_cast<double>(r.expired_bytes_deleted)},
              {"disk_space", static_cast<double>(r.space_bytes_deleted)}});
  if (r.clock_trusted) {
    w.single("yardwatch_retention_clock_trusted",
             "1 while retention trusts the clock (0: nothing is deleted until it does)", "gauge",
             *r.clock_trusted ? 1 : 0);
  }
  if (r.holds_active) {
    w.single("yardwatch_holds_active", "incident holds in force", "gauge",
             static_cast<double>(*r.holds_active));
  }
  if (r.holds_overdue) {
    w.single("yardwatch_holds_overdue", "incident holds past their review-by date", "gauge",
             static_cast<double>(*r.holds_overdue));
  }

  w.single("yardwatch_storage_volume_writable",
           "1 while the data volume is present, the right one and writable", "gauge",
           metrics.volume.writable() ? 1 : 0);
  w.by_label("yardwatch_storage_volume_state", "the data volume's state (1 for the current one)",
             "gauge", "state", {{std::string(hal::volume_state_name(metrics.volume.state)), 1}});
  w.single("yardwatch_storage_filesystem_errors",
           "errors the data volume's filesystem recorded (e2fsck clears them)", "gauge",
           static_cast<double>(metrics.volume.filesystem_errors));
  if (metrics.volume.smart && metrics.volume.smart->supported) {
    w.single("yardwatch_storage_smart_passed", "1 when SMART says the data disk is healthy",
             "gauge", metrics.volume.smart->passed ? 1 : 0);
  }
  std::vector<std::pair<std::string, double>> alarms;
  for (const auto& [kind, count] : metrics.alarms_by_kind) alarms.emplace_back(kind, count);
  w.by_label("yardwatch_alarms_open_by_kind", "open alarms by kind", "gauge", "kind", alarms);
  w.single("yardwatch_clock_synchronised", "1 while NTP keeps the clock synchronised", "gauge",
           metrics.clock == hal::SyncState::kSynchronised ? 1 : 0);
  w.single("yardwatch_supervision_healthy",
           "1 while every camera pipeline is alive (the systemd watchdog is fed)", "gauge",
           metrics.healthy ? 1 : 0);
  return w.take();
}

}  // namespace yardwatch::firmware
