// /metrics scraped by a real Prometheus (Debian's `prometheus`): yardwatchd with two cameras that
// record and one that cannot (nothing answers at its address); the query for recording cameras
// returns 2, and the board's alert rules load. The scraped text carries no names.

#include <httplib.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>

#include "appliance_fixture.h"
#include "test_support.h"

using namespace yardwatch::testing;
using nlohmann::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// The value of an instant-vector query with one result, or nullopt.
std::optional<double> query(uint16_t port, const std::string& promql) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(2);
  auto response = client.Get("/api/v1/query?query=" + httplib::detail::encode_query_param(promql));
  if (!response || response->status != 200) return std::nullopt;
  const json body = json::parse(response->body, nullptr, false);
  if (body.is_discarded() || body["status"] != "success") return std::nullopt;
  const auto& result = body["data"]["result"];
  if (!result.is_array() || result.size() != 1) return std::nullopt;
  return std::stod(result[0]["value"][1].get<std::string>());
}

}  // namespace

TEST_CASE("a real Prometheus scrapes /metrics: the recording cameras are counted right",
          "[integration][metrics]") {
  TempDir work("yw-metrics");
  CamSimOptions sim;
  sim.cameras = 2;
  sim.width = 320;
  sim.height = 180;
  sim.bitrate_kbit = 300;
  CamSim cameras(sim, work.path());
  ApplianceFixture appliance(work.path());
  appliance.add_camera("schoolplein", cameras.url(1));
  appliance.add_camera("poort", cameras.url(2));
  appliance.add_camera("fietsenstalling", "rtsp://127.0.0.1:1/nobody-home", "bicycle_shed");
  const uint16_t web_port = free_tcp_port();
  const uint16_t metrics_port = free_tcp_port();
  appliance.start_daemon({"--segment-seconds", "2", "--listen",
                          "127.0.0.1:" + std::to_string(web_port), "--metrics-listen",
                          "127.0.0.1:" + std::to_string(metrics_port)});
  INFO(appliance.daemon_log());
  REQUIRE(appliance.wait_for_state("schoolplein", "recording", 30s));
  REQUIRE(appliance.wait_for_state("poort", "recording", 30s));

  // What the appliance serves: the daemon's metrics, numbers and ids only.
  httplib::Client scrape("127.0.0.1", metrics_port);
  std::string text;
  REQUIRE(wait_until(
      [&] {
        auto response = scrape.Get("/metrics");
        if (!response || response->status != 200) return false;
        text = response->body;
        return text.find("yardwatch_camera_recording{camera_id=\"1\"} 1") != std::string::npos &&
               text.find("yardwatch_camera_recording{camera_id=\"2\"} 1") != std::string::npos;
      },
      30s));
  INFO(text);
  for (const char* metric :
       {"yardwatch_camera_recorded_bytes_total", "yardwatch_camera_fragments_lost_total",
        "yardwatch_camera_reconnects_total", "yardwatch_camera_oldest_footage_age_seconds",
        "yardwatch_camera_effective_retention_days", "yardwatch_retention_sweeps_total",
        "yardwatch_storage_free_bytes", "yardwatch_storage_volume_writable 1",
        "yardwatch_alarms_open", "yardwatch_sign_ins_failed_total",
        "yardwatch_supervision_healthy 1"}) {
    CHECK_THAT(text, Catch::Contains(metric));
  }
  for (const char* personal : {"schoolplein", "poort", "fietsenstalling", "nobody-home"}) {
    CHECK(text.find(personal) == std::string::npos);
  }

  // The school board's Prometheus, with the board's alert rules.
  const fs::path rules = work / "yardwatch-alerts.yml";
  fs::copy_file(source_dir() / "board/prometheus/yardwatch-alerts.yml", rules);
  const uint16_t prometheus_port = free_tcp_port();
  {
    std::ofstream config(work / "prometheus.yml");
    config << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
           << "rule_files:\n  - " << rules.string() << "\n"
           << "scrape_configs:\n  - job_name: yardwatch\n    static_configs:\n"
           << "      - targets: ['127.0.0.1:" << metrics_port << "']\n";
  }
  Process prometheus({"/usr/bin/prometheus", "--config.file=" + (work / "prometheus.yml").string(),
                      "--storage.tsdb.path=" + (work / "tsdb").string(),
                      "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port)},
                     {}, work.path());
  std::optional<double> recording;
  const bool counted = wait_until(
      [&] {
        recording = query(prometheus_port, "count(yardwatch_camera_recording == 1)");
        return recording && *recording == 2;
      },
      60s);
  INFO("prometheus: " << prometheus.stderr_text().substr(0, 4000));
  REQUIRE(counted);
  CHECK(query(prometheus_port, "count(yardwatch_camera_recording)") == 3.0);
  CHECK(query(prometheus_port, "yardwatch_camera_recording{camera_id=\"3\"}") == 0.0);
  CHECK(query(prometheus_port, "up{job=\"yardwatch\"}") == 1.0);
  // The board's rules were loaded by this Prometheus.
  httplib::Client api("127.0.0.1", prometheus_port);
  auto loaded = api.Get("/api/v1/rules");
  REQUIRE(loaded);
  const json groups = json::parse(loaded->body)["data"]["groups"];
  CHECK(groups.size() == 3);
  prometheus.stop();
  REQUIRE(appliance.stop_daemon() == 0);
}
