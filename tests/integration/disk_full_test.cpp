// A full data volume: recording stops cleanly with a clear state and an alarm, nothing already
// written is damaged, and recording resumes when space returns. Uses a real (small) tmpfs.

#include <sys/mount.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "appliance_fixture.h"

using namespace yardwatch::testing;
using nlohmann::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

struct TmpfsMount {
  fs::path path;
  explicit TmpfsMount(fs::path where, const std::string& size) : path(std::move(where)) {
    fs::create_directories(path);
    auto result = run_command(
        {"/bin/mount", "-t", "tmpfs", "-o", "size=" + size + ",mode=0700", "tmpfs", path.string()});
    INFO("mounting a tmpfs needs root (CI runs as root): " << result.err);
    REQUIRE(result.exit_code == 0);
  }
  ~TmpfsMount() { ::umount2(path.c_str(), MNT_DETACH); }
};

uint64_t free_bytes(const fs::path& path) { return fs::space(path).available; }

bool has_alarm(const json& status, const std::string& kind) {
  for (const auto& alarm : status["alarms"]) {
    if (alarm["kind"] == kind) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("disk full: clean stop, alarm, nothing damaged, resume when space returns",
          "[integration][diskfull]") {
  TempDir work("yw-full");
  TmpfsMount volume(work / "volume", "32m");
  CamSimOptions sim;
  sim.cameras = 2;
  sim.width = 1280;
  sim.height = 720;
  sim.bitrate_kbit = 4000;
  sim.gop = 25;
  CamSim cameras(sim, work.path());
  ApplianceFixture appliance(work.path(), volume.path / "data");
  appliance.add_camera("yard", cameras.url(1));
  appliance.add_camera("gate", cameras.url(2));
  appliance.create_test_viewer();

  // Leave about 6 MiB: a few seconds of two 4 Mbit/s cameras.
  const fs::path filler = volume.path / "filler";
  {
    const uint64_t fill = free_bytes(volume.path) - (6u << 20);
    std::ofstream out(filler, std::ios::binary);
    std::string block(1 << 20, 'x');
    for (uint64_t written = 0; written + block.size() <= fill; written += block.size())
      out << block;
  }
  // This test is about the hard floor (--min-free-mb): with early deletion for space (the
  // reserve, tests/integration/retention_test.cpp) off, nothing makes room and recording stops.
  appliance.start_daemon({"--segment-seconds", "3", "--min-free-mb", "1", "--space-reserve-mb", "0",
                          "--space-reserve-seconds", "0"});

  json status;
  const bool stopped = wait_until(
      [&] {
        status = appliance.status();
        return has_alarm(status, "disk_full");
      },
      60s);
  INFO(status.dump(2) << "\n" << appliance.daemon_log());
  REQUIRE(stopped);
  REQUIRE(appliance.daemon()->running());
  bool some_camera_says_full = false;
  for (const auto& camera : status["cameras"]) {
    if (camera["state"] == "error" &&
        camera["reason"].get<std::string>().find("disk full") != std::string::npos) {
      some_camera_says_full = true;
    }
  }
  CHECK(some_camera_says_full);

  // Nothing written before the disk filled is damaged: the rules hold while it is full.
  std::this_thread::sleep_for(2s);
  auto check = appliance.cli({"catalog", "check"});
  INFO(check.out);
  CHECK(check.exit_code == 0);
  const size_t segments_before =
      appliance.segments("yard").size() + appliance.segments("gate").size();

  // Space returns: recording resumes and the alarm clears.
  fs::remove(filler);
  CHECK(appliance.wait_for_state("yard", "recording", 15s));
  CHECK(appliance.wait_for_state("gate", "recording", 15s));
  std::this_thread::sleep_for(5s);
  CHECK_FALSE(has_alarm(appliance.status(), "disk_full"));
  REQUIRE(appliance.stop_daemon() == 0);
  const size_t segments_after =
      appliance.segments("yard").size() + appliance.segments("gate").size();
  CHECK(segments_after > segments_before);
  auto final_check = appliance.cli({"catalog", "check"});
  INFO(final_check.out);
  CHECK(final_check.exit_code == 0);
  // Every segment, including those closed when the disk filled, decrypts and authenticates.
  // (Viewing is audited, and an audit entry needs room, so this waits until space is back.)
  size_t readable = 0;
  for (const std::string camera : {"yard", "gate"}) {
    for (const auto& segment : appliance.segments(camera)) {
      auto cat = appliance.view_segment(segment["id"].get<int64_t>());
      INFO(cat.err);
      CHECK(cat.exit_code == 0);
      ++readable;
    }
  }
  CHECK(readable >= 2);
}
