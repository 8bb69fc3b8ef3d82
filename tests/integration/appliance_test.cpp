// The appliance end to end on real filesystems: yardwatchd with a configuration file that names
// its data volume by UUID, the volume unmounted, swapped for another disk and failed read-only
// under it; and the systemd watchdog protocol (a fake NOTIFY_SOCKET) while a camera reconnects
// and while the data disk hangs (fsfreeze).

#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "appliance_fixture.h"
#include "notify_socket.h"
#include "volume_fixture.h"
#include "yardwatch/firmware/config.h"

using namespace yardwatch::testing;
using nlohmann::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kUuidA = "5f1c2f5e-0000-4a4a-8a8a-00000000000a";
constexpr const char* kUuidB = "5f1c2f5e-0000-4a4a-8a8a-00000000000b";

size_t entries_below(const fs::path& directory) {
  size_t count = 0;
  std::error_code error;
  for (auto it = fs::recursive_directory_iterator(directory, error);
       it != fs::recursive_directory_iterator(); it.increment(error)) {
    ++count;
  }
  return count;
}

// Lets a frozen filesystem go again whatever happens in the test (a frozen filesystem left
// behind would hang the next unmount).
struct Freeze {
  fs::path mount_point;
  bool frozen = false;
  void freeze() {
    auto result = run_command({"/usr/sbin/fsfreeze", "--freeze", mount_point.string()});
    INFO(result.err);
    REQUIRE(result.exit_code == 0);
    frozen = true;
  }
  void thaw() {
    if (!frozen) return;
    run_command({"/usr/sbin/fsfreeze", "--unfreeze", mount_point.string()});
    frozen = false;
  }
  ~Freeze() { thaw(); }
};

bool volume_released(const fs::path& image) {
  return run_command({"/usr/sbin/losetup", "-j", image.string()}).out.empty();
}

}  // namespace

TEST_CASE(
    "storage faults: an unmounted, swapped or read-only data volume stops recording with an "
    "alarm and no write elsewhere, and recording resumes when the volume returns",
    "[integration][appliance][storage]") {
  TempDir work("yw-volume");
  const fs::path mount_point = work / "volume";
  const fs::path data_dir = mount_point / "data";
  LoopVolume volume_a(work / "a.img", kUuidA, 96);
  LoopVolume volume_b(work / "b.img", kUuidB, 32);
  volume_a.mount(mount_point);

  yardwatch::firmware::Config config;
  config.board = "host-sim";
  config.data_dir = data_dir;
  config.mount_point = mount_point;
  config.volume_uuid = kUuidA;
  config.key_dir = work / "keys";
  config.min_free_mb = 4;
  config.segment_seconds = 4;
  const fs::path config_file = work / "yardwatch.toml";
  REQUIRE(yardwatch::firmware::write_config_file(config_file, config).ok());

  CamSimOptions sim;
  sim.cameras = 2;
  sim.width = 320;
  sim.height = 180;
  sim.bitrate_kbit = 300;
  CamSim cameras(sim, work.path());
  ApplianceFixture appliance(work.path(), data_dir, config_file);
  appliance.add_camera("yard", cameras.url(1));
  appliance.add_camera("gate", cameras.url(2));
  appliance.create_test_viewer();
  CHECK(appliance.status()["storage"]["volume"] == "healthy");

  // Start with the volume gone: the daemon waits for it, alive and alarmed.
  volume_a.unmount();
  NotifySocket notify(work / "notify");
  // The test volumes hold tens of MB: the appliance's 1 GiB disk-pressure reserve would pause a
  // camera at once (disk pressure has its own test in retention_test.cpp).
  appliance.start_daemon({"--space-reserve-mb", "4", "--space-reserve-seconds", "0"},
                         {{"NOTIFY_SOCKET", notify.path().string()}});
  REQUIRE(wait_until(
      [&] { return notify.last_status().find("WAITING FOR THE DATA VOLUME") != std::string::npos; },
      20s));
  CHECK(notify.count("READY=1") == 1);
  auto refused = appliance.cli({"status"});
  CHECK(refused.exit_code != 0);
  CHECK_THAT(refused.err, Catch::Contains("nothing is mounted at"));
  CHECK(entries_below(mount_point) == 0);  // nothing on the filesystem below the mount point

  volume_a.mount(mount_point);
  INFO(appliance.daemon_log());
  REQUIRE(appliance.wait_for_state("yard", "recording", 30s));
  REQUIRE(appliance.wait_for_state("gate", "recording", 30s));
  const size_t first_segments = appliance.segments("yard").size();

  SECTION("unmounted under the running daemon, then swapped for another disk") {
    volume_a.unmount();
    REQUIRE(wait_until(
        [&] { return notify.last_status().find("nothing is mounted") != std::string::npos; }, 15s));
    // Every file on the volume is closed: the kernel lets the detached filesystem go.
    CHECK(wait_until([&] { return volume_released(work / "a.img"); }, 30s));
    std::this_thread::sleep_for(3s);
    CHECK(entries_below(mount_point) == 0);

    // Someone mounts another disk there, even with a data directory on it: refused.
    volume_b.mount(mount_point);
    fs::create_directories(data_dir);
    const size_t on_b = entries_below(mount_point);  // lost+found and the directory made by hand
    REQUIRE(
        wait_until([&] { return notify.last_status().find(kUuidB) != std::string::npos; }, 15s));
    CHECK_THAT(notify.last_status(), Catch::Contains("not the data volume"));
    std::this_thread::sleep_for(3s);
    CHECK(entries_below(mount_point) == on_b);  // nothing written to the wrong disk
    auto wrong = appliance.cli({"status"});
    CHECK(wrong.exit_code != 0);
    CHECK_THAT(wrong.err, Catch::Contains(kUuidB));
    volume_b.unmount();

    volume_a.mount(mount_point);
    REQUIRE(appliance.wait_for_state("yard", "recording", 30s));
    REQUIRE(appliance.wait_for_state("gate", "recording", 30s));
    auto outages = appliance.cli_json({"audit", "list", "--action", "storage_outage"});
    REQUIRE(outages["entries"].size() >= 2);  // at start, and this one
    const std::string details = outages["entries"].back()["details"].dump();
    CHECK_THAT(details, Catch::Contains("missing") && Catch::Contains("wrong_volume"));
  }

  SECTION("filesystem errors on a volume that stays writable: an alarm, and recording goes on") {
    // errors=continue: the kernel records the error and keeps writing.
    auto remounted =
        run_command({"/bin/mount", "-o", "remount,errors=continue", mount_point.string()});
    INFO(remounted.err);
    REQUIRE(remounted.exit_code == 0);
    volume_a.fail_filesystem();
    bool alarmed = false;
    json last;
    const bool raised = wait_until(
        [&] {
          last = appliance.status();
          for (const auto& alarm : last["alarms"]) {
            if (alarm["kind"] == "storage_errors") alarmed = true;
          }
          return alarmed;
        },
        15s);
    INFO(last.dump(2) << appliance.daemon_log());
    REQUIRE(raised);
    CHECK(appliance.status()["storage"]["filesystem_errors"].get<int>() >= 1);
    const size_t before = appliance.segments("yard").size();
    CHECK(wait_until([&] { return appliance.segments("yard").size() > before; }, 20s));
    // Checked and repaired (unmount, e2fsck, mount): the alarm clears.
    volume_a.unmount();
    CHECK(wait_until([&] { return volume_released(work / "a.img"); }, 30s));
    volume_a.repair();
    volume_a.mount(mount_point);
    REQUIRE(appliance.wait_for_state("yard", "recording", 30s));
    REQUIRE(appliance.wait_for_state("gate", "recording", 30s));
  }

  SECTION("a filesystem error remounts it read-only; repaired and mounted again, it resumes") {
    volume_a.fail_filesystem();
    REQUIRE(wait_until([&] { return notify.last_status().find("read-only") != std::string::npos; },
                       15s));
    volume_a.unmount();
    CHECK(wait_until([&] { return volume_released(work / "a.img"); }, 30s));
    volume_a.repair();
    volume_a.mount(mount_point);
    REQUIRE(appliance.wait_for_state("yard", "recording", 30s));
    REQUIRE(appliance.wait_for_state("gate", "recording", 30s));
    auto outages = appliance.cli_json({"audit", "list", "--action", "storage_outage"});
    CHECK_THAT(outages["entries"].back()["details"].dump(), Catch::Contains("read_only"));
  }

  // After the fault the rules hold and new footage was recorded on the right volume.
  std::this_thread::sleep_for(6s);
  REQUIRE(appliance.stop_daemon() == 0);
  CHECK(appliance.segments("yard").size() > first_segments);
  auto check = appliance.cli({"catalog", "check"});
  INFO(check.out << check.err);
  CHECK(check.exit_code == 0);
  CHECK(appliance.status()["alarms"].empty());  // the outage alarms were raised and cleared
  for (const auto& segment : appliance.segments("yard")) {
    auto view = appliance.view_segment(segment["id"].get<int64_t>());
    INFO(view.err);
    CHECK(view.exit_code == 0);
  }
}

TEST_CASE(
    "watchdog: READY, then WATCHDOG only while every camera pipeline is alive (a reconnecting "
    "camera is, a hung data disk is not), through a fake NOTIFY_SOCKET",
    "[integration][appliance][watchdog]") {
  TempDir work("yw-watchdog");
  LoopVolume volume(work / "data.img", kUuidA, 96);
  const fs::path mount_point = work / "volume";
  volume.mount(mount_point);
  CamSimOptions sim;
  sim.cameras = 2;
  sim.width = 320;
  sim.height = 180;
  sim.bitrate_kbit = 300;
  CamSim cameras(sim, work.path());
  ApplianceFixture appliance(work.path(), mount_point / "data");
  appliance.add_camera("yard", cameras.url(1));
  appliance.add_camera("gate", cameras.url(2));
  NotifySocket notify(work / "notify");
  appliance.start_daemon(
      {"--segment-seconds", "4", "--space-reserve-mb", "4", "--space-reserve-seconds", "0"},
      {{"NOTIFY_SOCKET", notify.path().string()}, {"WATCHDOG_USEC", "30000000"}});
  INFO(appliance.daemon_log());
  REQUIRE(appliance.wait_for_state("yard", "recording", 30s));
  REQUIRE(appliance.wait_for_state("gate", "recording", 30s));
  REQUIRE(wait_until([&] { return notify.count("WATCHDOG=1") >= 3; }, 10s));
  CHECK(notify.count("READY=1") == 1);
  CHECK_THAT(notify.last_status(), Catch::Contains("recording 2 of 2"));

  // A camera that drops off is being reconnected: still healthy, still fed.
  REQUIRE(cameras.control("offline cam2") == "ok");
  REQUIRE(appliance.wait_for_state("gate", "disconnected", 20s));
  const auto while_reconnecting = Clock::now();
  std::this_thread::sleep_for(5s);
  CHECK(notify.count_since("WATCHDOG=1", while_reconnecting) >= 3);
  CHECK_THAT(notify.last_status(), Catch::Contains("recording 1 of 2"));
  REQUIRE(cameras.control("online cam2") == "ok");
  REQUIRE(appliance.wait_for_state("gate", "recording", 30s));

  // The data disk hangs: the pipelines stop making progress, and after the stuck threshold
  // (20 s) the watchdog is no longer fed — systemd would restart the daemon.
  Freeze freeze{mount_point};
  freeze.freeze();
  const auto frozen_at = Clock::now();
  std::this_thread::sleep_for(24s);
  const auto judged_from = Clock::now();
  std::this_thread::sleep_for(6s);
  CHECK(notify.count_since("WATCHDOG=1", judged_from) == 0);
  CHECK(notify.count_since("WATCHDOG=1", frozen_at) > 0);  // fed until the threshold
  INFO("status while frozen: " << notify.last_status());
  CHECK_THAT(notify.last_status(), Catch::Contains("STUCK"));

  // The disk comes back: fed again.
  freeze.thaw();
  const auto thawed_at = Clock::now();
  CHECK(wait_until([&] { return notify.count_since("WATCHDOG=1", thawed_at) >= 2; }, 20s));
  CHECK(appliance.wait_for_state("yard", "recording", 30s));
  REQUIRE(appliance.stop_daemon() == 0);
  CHECK(notify.count("STOPPING=1") == 1);
}
