// hal::Storage against real filesystems: the data volume identified by its UUID on a loop device,
// then unmounted, swapped for another disk and failed read-only — each refused with a clear
// state, and healthy again when the right volume returns.

#include "yardwatch/hal/storage.h"

#include <unistd.h>

#include <catch2/catch.hpp>

#include "test_support.h"
#include "volume_fixture.h"
#include "yardwatch/hal/smart.h"

using namespace yardwatch;
using namespace yardwatch::hal;
using namespace yardwatch::testing;
namespace fs = std::filesystem;

namespace {
constexpr const char* kUuidA = "0d8a5a52-6b0e-4c1e-9a43-000000000a0a";
constexpr const char* kUuidB = "0d8a5a52-6b0e-4c1e-9a43-000000000b0b";
}  // namespace

TEST_CASE("Storage proves the data volume by UUID and refuses a missing, swapped or read-only disk",
          "[hal][storage][root]") {
  TempDir work("yw-volume");
  LoopVolume volume_a(work / "a.img", kUuidA);
  LoopVolume volume_b(work / "b.img", kUuidB);
  const fs::path mount_point = work / "volume";
  const fs::path data_dir = mount_point / "data";
  DirectoryStorage storage(data_dir, VolumeOptions{kUuidA, mount_point, {}});

  volume_a.mount(mount_point);
  fs::create_directories(data_dir);
  ::sync();  // a filesystem error aborts the journal: make the directory durable first
  auto health = storage.check_volume();
  INFO(health.message);
  CHECK(health.state == VolumeState::kHealthy);
  CHECK(health.writable());
  CHECK(health.filesystem_errors == 0);
  REQUIRE(storage.free_bytes().ok());
  // The disk smart-check asks: a loop device is not partitioned, so it is its own disk.
  auto disk = disk_of_filesystem(kUuidA);
  INFO((disk.ok() ? disk.value().string() : disk.error().message));
  REQUIRE(disk.ok());
  CHECK(disk.value() == volume_a.device());
  CHECK(disk_of_filesystem("0d8a5a52-6b0e-4c1e-9a43-00000000ffff").error().kind ==
        ErrorKind::kNotFound);

  SECTION("unmounted: missing, even when someone recreates the directory on the disk below") {
    volume_a.unmount();
    health = storage.check_volume();
    CHECK(health.state == VolumeState::kMissing);
    CHECK_FALSE(health.writable());
    fs::create_directories(data_dir);  // now on the filesystem under the mount point
    health = storage.check_volume();
    INFO(health.message);
    CHECK(health.state == VolumeState::kMissing);
    CHECK_THAT(health.message, Catch::Contains("nothing is mounted at"));
    fs::remove(data_dir);
    volume_a.mount(mount_point);
    CHECK(storage.check_volume().state == VolumeState::kHealthy);
  }

  SECTION("swapped for another disk: wrong volume, naming both UUIDs") {
    volume_a.unmount();
    volume_b.mount(mount_point);
    fs::create_directories(data_dir);
    health = storage.check_volume();
    INFO(health.message);
    CHECK(health.state == VolumeState::kWrongVolume);
    CHECK_THAT(health.message, Catch::Contains(kUuidA) && Catch::Contains(kUuidB));
    volume_b.unmount();
    volume_a.mount(mount_point);
    CHECK(storage.check_volume().state == VolumeState::kHealthy);
  }

  SECTION("a filesystem error remounts it read-only: refused until it is repaired") {
    volume_a.fail_filesystem();
    health = storage.check_volume();
    INFO(health.message);
    CHECK(health.state == VolumeState::kReadOnly);
    CHECK(health.filesystem_errors >= 1);
    CHECK_THAT(health.filesystem_error_detail, Catch::Contains("e2fsck"));
    volume_a.unmount();
    volume_a.repair();
    volume_a.mount(mount_point);
    health = storage.check_volume();
    INFO(health.message);
    CHECK(health.state == VolumeState::kHealthy);
    CHECK(health.filesystem_errors == 0);
  }
}

TEST_CASE("Storage refuses a data volume that is a tmpfs without a UUID", "[hal][storage][root]") {
  require_mount_privilege();
  TempDir work("yw-volume");
  const fs::path mount_point = work / "volume";
  fs::create_directories(mount_point);
  REQUIRE(run_command({"/bin/mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", mount_point.string()})
              .exit_code == 0);
  fs::create_directories(mount_point / "data");
  DirectoryStorage storage(mount_point / "data", VolumeOptions{kUuidA, mount_point, {}});
  auto health = storage.check_volume();
  INFO(health.message);
  CHECK(health.state == VolumeState::kWrongVolume);
  REQUIRE(run_command({"/bin/umount", "-l", mount_point.string()}).exit_code == 0);
}

TEST_CASE("Storage without a volume identity (host-sim) checks only that the directory is there",
          "[hal][storage]") {
  TempDir work("yw-storage");
  const fs::path data_dir = work / "data";
  DirectoryStorage storage(data_dir);
  auto health = storage.check_volume();
  CHECK(health.state == VolumeState::kMissing);
  CHECK_THAT(health.message, Catch::Contains(data_dir.string()));
  fs::create_directories(data_dir);
  health = storage.check_volume();
  INFO(health.message);
  CHECK(health.state == VolumeState::kHealthy);
}

TEST_CASE("SimulatedStorage reports whatever volume state and space the test sets",
          "[hal][storage]") {
  TempDir work("yw-storage");
  SimulatedStorage storage(work.path());
  CHECK(storage.check_volume().writable());
  storage.set_health(
      VolumeHealth{VolumeState::kReadOnly, "remounted read-only", 3, "3 errors", {}});
  auto health = storage.check_volume();
  CHECK(health.state == VolumeState::kReadOnly);
  CHECK_FALSE(health.writable());
  CHECK(health.filesystem_errors == 3);
  storage.set_free_bytes(1000, 5000);
  CHECK(storage.free_bytes().value() == 1000);
  CHECK(storage.total_bytes().value() == 5000);
  CHECK(volume_state_name(VolumeState::kWrongVolume) == "wrong_volume");
}
