// yardwatchd's /metrics text (Prometheus exposition format): every family announces itself with
// HELP and TYPE, samples carry ids and kinds only, and optional values leave no sample.

#include "yardwatch/firmware/daemon_metrics.h"

#include <catch2/catch.hpp>
#include <sstream>
#include <string>
#include <vector>

using namespace yardwatch;
using namespace yardwatch::firmware;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool has_line(const std::string& text, const std::string& line) {
  for (const auto& l : lines_of(text)) {
    if (l == line) return true;
  }
  return false;
}

DaemonMetrics two_cameras() {
  DaemonMetrics m;
  m.now_utc_us = 1'900'000'000'000'000;
  CameraMetrics yard;
  yard.camera_id = 3;
  yard.state = "recording";
  yard.stats.bytes_written = 12345;
  yard.retention_days = 28;
  yard.effective_retention_days = 21;
  yard.oldest_utc_us = m.now_utc_us - 5'500'000;
  CameraMetrics gate;
  gate.camera_id = 9;
  gate.state = "error";
  gate.alive = false;
  gate.retention_days = 7;
  m.cameras = {yard, gate};
  m.alarms_by_kind = {{"disk_full", 1}, {"login_lockout", 2}};
  m.retention.sweeps_completed = 5;
  m.retention.sweeps_refused = 1;
  m.retention.space_bytes_deleted = 300;
  m.retention.holds_active = 4;
  m.clock = hal::SyncState::kSynchronised;
  return m;
}

}  // namespace

TEST_CASE("daemon metrics: each family has HELP and TYPE, samples by camera id, kind and reason",
          "[firmware][metrics]") {
  const std::string text = render_daemon_metrics(two_cameras());
  const auto lines = lines_of(text);
  // Every sample's family was announced just before its samples.
  std::string announced;
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto& line = lines[i];
    if (line.starts_with("# HELP ")) {
      announced = line.substr(7, line.find(' ', 7) - 7);
      REQUIRE(i + 1 < lines.size());
      CHECK(lines[i + 1].starts_with("# TYPE " + announced + " "));
      continue;
    }
    if (line.starts_with("# TYPE ")) continue;
    INFO(line);
    CHECK(line.starts_with(announced));
  }
  CHECK(has_line(text, "yardwatch_camera_recording{camera_id=\"3\"} 1"));
  CHECK(has_line(text, "yardwatch_camera_recording{camera_id=\"9\"} 0"));
  CHECK(has_line(text, "yardwatch_camera_state{camera_id=\"9\",state=\"error\"} 1"));
  CHECK(has_line(text, "yardwatch_camera_recorded_bytes_total{camera_id=\"3\"} 12345"));
  CHECK(has_line(text, "yardwatch_camera_effective_retention_days{camera_id=\"3\"} 21"));
  CHECK(has_line(text, "yardwatch_camera_oldest_footage_age_seconds{camera_id=\"3\"} 5.5"));
  CHECK(has_line(text, "yardwatch_retention_sweeps_total{outcome=\"completed\"} 5"));
  CHECK(has_line(text, "yardwatch_retention_sweeps_total{outcome=\"refused\"} 1"));
  CHECK(has_line(text, "yardwatch_retention_sweeps_total{outcome=\"failed\"} 0"));
  CHECK(has_line(text, "yardwatch_retention_deleted_bytes_total{reason=\"disk_space\"} 300"));
  CHECK(has_line(text, "yardwatch_holds_active 4"));
  CHECK(has_line(text, "yardwatch_alarms_open_by_kind{kind=\"login_lockout\"} 2"));
  CHECK(has_line(text, "yardwatch_storage_volume_state{state=\"healthy\"} 1"));
  CHECK(has_line(text, "yardwatch_clock_synchronised 1"));
  // Values the daemon does not know leave no sample (the family is still announced).
  CHECK(text.find("yardwatch_camera_effective_retention_days{camera_id=\"9\"}") ==
        std::string::npos);
  CHECK(text.find("yardwatch_camera_oldest_footage_age_seconds{camera_id=\"9\"}") ==
        std::string::npos);
  CHECK(text.find("# TYPE yardwatch_camera_oldest_footage_age_seconds gauge") != std::string::npos);
  CHECK(text.find("yardwatch_holds_overdue") == std::string::npos);
  CHECK(text.find("yardwatch_retention_last_sweep_timestamp_seconds") == std::string::npos);
}
