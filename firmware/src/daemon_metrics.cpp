#include "yardwatch/firmware/daemon_metrics.h"

#include <cstdio>
#include <functional>

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
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string camera_label(int64_t id) { return "camera_id=\"" + std::to_string(id) + "\""; }

}  // namespace

std::string render_daemon_metrics(const DaemonMetrics& metrics) {
  Writer w;
  auto per_camera = [&](const std::string& name, const std::string& help, const std::string& type,
                        const std::function<double(const CameraMetrics&)>& value) {
    w.family(name, help, type);
    for (const auto& camera : metrics.cameras) {
      w.sample(name, camera_label(camera.camera_id), value(camera));
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
  w.family("yardwatch_camera_effective_retention_days",
           "retention the camera keeps: below the configured one while footage deleted early "
           "for disk space is missing",
           "gauge");
  for (const auto& camera : metrics.cameras) {
    if (!camera.effective_retention_days) continue;
    w.sample("yardwatch_camera_effective_retention_days", camera_label(camera.camera_id),
             *camera.effective_retention_days);
  }
  w.family("yardwatch_camera_oldest_footage_age_seconds", "age of the oldest footage kept",
           "gauge");
  for (const auto& camera : metrics.cameras) {
    if (!camera.oldest_utc_us) continue;
    w.sample("yardwatch_camera_oldest_footage_age_seconds", camera_label(camera.camera_id),
             static_cast<double>(metrics.now_utc_us - *camera.oldest_utc_us) / 1e6);
  }

  const RetentionMetrics& r = metrics.retention;
  w.family("yardwatch_retention_sweeps_total",
           "retention sweeps by outcome (refused: the clock was not trusted, nothing deleted)",
           "counter");
  w.sample("yardwatch_retention_sweeps_total", "outcome=\"completed\"",
           static_cast<double>(r.sweeps_completed));
  w.sample("yardwatch_retention_sweeps_total", "outcome=\"refused\"",
           static_cast<double>(r.sweeps_refused));
  w.sample("yardwatch_retention_sweeps_total", "outcome=\"failed\"",
           static_cast<double>(r.sweeps_failed));
  if (r.last_completed_utc_us) {
    w.family("yardwatch_retention_last_sweep_timestamp_seconds",
             "when the last retention sweep completed (Unix time)", "gauge");
    w.sample("yardwatch_retention_last_sweep_timestamp_seconds", "",
             static_cast<double>(*r.last_completed_utc_us) / 1e6);
  }
  w.family("yardwatch_retention_deleted_segments_total",
           "segments deleted (cryptographically) by reason: expired by the sweep, or early for "
           "disk space",
           "counter");
  w.sample("yardwatch_retention_deleted_segments_total", "reason=\"expired\"",
           static_cast<double>(r.expired_segments_deleted));
  w.sample("yardwatch_retention_deleted_segments_total", "reason=\"disk_space\"",
           static_cast<double>(r.space_segments_deleted));
  w.family("yardwatch_retention_deleted_bytes_total", "bytes of footage deleted, by reason",
           "counter");
  w.sample("yardwatch_retention_deleted_bytes_total", "reason=\"expired\"",
           static_cast<double>(r.expired_bytes_deleted));
  w.sample("yardwatch_retention_deleted_bytes_total", "reason=\"disk_space\"",
           static_cast<double>(r.space_bytes_deleted));
  if (r.clock_trusted) {
    w.family("yardwatch_retention_clock_trusted",
             "1 while retention trusts the clock (0: nothing is deleted until it does)", "gauge");
    w.sample("yardwatch_retention_clock_trusted", "", *r.clock_trusted ? 1 : 0);
  }
  if (r.holds_active) {
    w.family("yardwatch_holds_active", "incident holds in force", "gauge");
    w.sample("yardwatch_holds_active", "", static_cast<double>(*r.holds_active));
  }
  if (r.holds_overdue) {
    w.family("yardwatch_holds_overdue", "incident holds past their review-by date", "gauge");
    w.sample("yardwatch_holds_overdue", "", static_cast<double>(*r.holds_overdue));
  }

  w.family("yardwatch_storage_volume_writable",
           "1 while the data volume is present, the right one and writable", "gauge");
  w.sample("yardwatch_storage_volume_writable", "", metrics.volume.writable() ? 1 : 0);
  w.family("yardwatch_storage_volume_state", "the data volume's state (1 for the current one)",
           "gauge");
  w.sample("yardwatch_storage_volume_state",
           "state=\"" + std::string(hal::volume_state_name(metrics.volume.state)) + "\"", 1);
  w.family("yardwatch_storage_filesystem_errors",
           "errors the data volume's filesystem recorded (e2fsck clears them)", "gauge");
  w.sample("yardwatch_storage_filesystem_errors", "",
           static_cast<double>(metrics.volume.filesystem_errors));
  if (metrics.volume.smart && metrics.volume.smart->supported) {
    w.family("yardwatch_storage_smart_passed", "1 when SMART says the data disk is healthy",
             "gauge");
    w.sample("yardwatch_storage_smart_passed", "", metrics.volume.smart->passed ? 1 : 0);
  }
  w.family("yardwatch_alarms_open_by_kind", "open alarms by kind", "gauge");
  for (const auto& [kind, count] : metrics.alarms_by_kind) {
    w.sample("yardwatch_alarms_open_by_kind", "kind=\"" + kind + "\"", count);
  }
  w.family("yardwatch_clock_synchronised", "1 while NTP keeps the clock synchronised", "gauge");
  w.sample("yardwatch_clock_synchronised", "",
           metrics.clock == hal::SyncState::kSynchronised ? 1 : 0);
  w.family("yardwatch_supervision_healthy",
           "1 while every camera pipeline is alive (the systemd watchdog is fed)", "gauge");
  w.sample("yardwatch_supervision_healthy", "", metrics.healthy ? 1 : 0);
  return w.take();
}

}  // namespace yardwatch::firmware
