#include "volume_fixture.h"

#include <sys/mount.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <string>
#include <vector>

namespace yardwatch::testing {

namespace fs = std::filesystem;

void require_mount_privilege() {
  INFO(
      "this test mounts real filesystems (loop devices) and needs root, as CI has; run it as "
      "root or with sudo (it is never skipped, so a pass always means it ran)");
  REQUIRE(::geteuid() == 0);
}

LoopVolume::LoopVolume(fs::path image, std::string uuid, int size_mib)
    : image_(std::move(image)), uuid_(std::move(uuid)) {
  require_mount_privilege();
  auto created =
      run_command({"/usr/bin/truncate", "-s", std::to_string(size_mib) + "M", image_.string()});
  REQUIRE(created.exit_code == 0);
  auto made = run_command({"/usr/sbin/mkfs.ext4", "-q", "-F", "-U", uuid_, "-E",
                           "lazy_itable_init=0,lazy_journal_init=0", image_.string()});
  INFO(made.err);
  REQUIRE(made.exit_code == 0);
}

LoopVolume::~LoopVolume() {
  if (!mount_point_.empty()) ::umount2(mount_point_.c_str(), MNT_DETACH);
  if (!attached_.empty()) {
    // A stick the appliance mounted itself (a test that failed before `media eject`): unmount
    // it too, or the loop device and its mount outlive the test and confuse the next run.
    std::ifstream mounts("/proc/self/mounts");
    std::string device, where, rest;
    std::vector<std::string> targets;
    while (mounts >> device >> where && std::getline(mounts, rest)) {
      if (device == attached_) targets.push_back(where);
    }
    for (const auto& target : targets) ::umount2(target.c_str(), MNT_DETACH);
    run_command({"/usr/sbin/losetup", "-d", attached_});
  }
  std::error_code ignored;
  fs::remove(image_, ignored);
}

std::string LoopVolume::attach() {
  auto attached = run_command({"/usr/sbin/losetup", "--find", "--show", image_.string()});
  INFO(attached.err);
  REQUIRE(attached.exit_code == 0);
  attached_ = attached.out;
  while (!attached_.empty() && (attached_.back() == '\n' || attached_.back() == ' ')) {
    attached_.pop_back();
  }
  return attached_;
}

void LoopVolume::detach() {
  REQUIRE_FALSE(attached_.empty());
  auto detached = run_command({"/usr/sbin/losetup", "-d", attached_});
  INFO(detached.err);
  REQUIRE(detached.exit_code == 0);
  attached_.clear();
}

void LoopVolume::mount(const fs::path& at) {
  fs::create_directories(at);
  auto mounted =
      run_command({"/bin/mount", "-o", "loop,errors=remount-ro", image_.string(), at.string()});
  INFO("mount " << image_ << " at " << at << ": " << mounted.err);
  REQUIRE(mounted.exit_code == 0);
  mount_point_ = at;
}

void LoopVolume::unmount() {
  REQUIRE_FALSE(mount_point_.empty());
  INFO("umount -l " << mount_point_);
  REQUIRE(::umount2(mount_point_.c_str(), MNT_DETACH) == 0);
  mount_point_.clear();
}

std::string LoopVolume::device() const {
  auto source = run_command({"/usr/bin/findmnt", "-n", "-o", "SOURCE", mount_point_.string()});
  std::string device = source.out;
  while (!device.empty() && (device.back() == '\n' || device.back() == ' ')) device.pop_back();
  return device;
}

void LoopVolume::fail_filesystem() {
  const std::string device_name = fs::path(device()).filename().string();
  const fs::path trigger = fs::path("/sys/fs/ext4") / device_name / "trigger_fs_error";
  INFO("ext4 error injection through " << trigger);
  std::ofstream out(trigger);
  out << "yardwatch test: simulated disk error\n";
  out.close();
  REQUIRE_FALSE(out.fail());
}

void LoopVolume::repair() {
  REQUIRE(mount_point_.empty());
  // A lazily detached filesystem lives on until its last file is closed; checking it while the
  // kernel still has it would be checking a live filesystem.
  const bool detached = wait_until(
      [&] {
        return run_command({"/usr/sbin/losetup", "-j", image_.string()}).out.empty();
      },
      std::chrono::seconds(20));
  INFO("the loop device of " << image_ << " is still attached (a process keeps a file open)");
  REQUIRE(detached);
  CommandResult checked;
  wait_until(
      [&] {
        checked = run_command({"/usr/sbin/e2fsck", "-f", "-y", image_.string()});
        return checked.exit_code == 0 || checked.exit_code == 1;  // 1: errors corrected
      },
      std::chrono::seconds(20));
  INFO(checked.out << checked.err);
  REQUIRE((checked.exit_code == 0 || checked.exit_code == 1));
}

}  // namespace yardwatch::testing
