#pragma once

// Real filesystems for storage fault tests: an ext4 image on a loop device, mounted, unmounted,
// swapped and failed the way a disk in a network cupboard would be. Mounting needs root (CI runs
// as root); without it the fixture fails the test with a clear message, it never skips.

#include <filesystem>
#include <string>

#include "test_support.h"

namespace yardwatch::testing {

class LoopVolume {
 public:
  // Creates `image` (size in MiB) with a fresh ext4 whose UUID is `uuid` (mkfs.ext4 -U).
  LoopVolume(std::filesystem::path image, std::string uuid, int size_mib = 64);
  ~LoopVolume();
  LoopVolume(const LoopVolume&) = delete;
  LoopVolume& operator=(const LoopVolume&) = delete;

  // Attaches the image to a loop device without mounting it (a stick plugged in) and returns the
  // device; detach() pulls it out again.
  std::string attach();
  void detach();
  // mount -o loop,errors=remount-ro IMAGE AT (creates AT).
  void mount(const std::filesystem::path& at);
  // Detaches it from the namespace (umount -l): open files keep the filesystem alive, as when
  // an administrator pulls the volume from under a running daemon.
  void unmount();
  // An ext4 error (sysfs trigger_fs_error): with errors=remount-ro the kernel stops writing.
  void fail_filesystem();
  // e2fsck -fy on the (unmounted) image: clears the recorded errors.
  void repair();
  [[nodiscard]] bool mounted() const { return !mount_point_.empty(); }
  [[nodiscard]] const std::string& uuid() const { return uuid_; }
  [[nodiscard]] const std::filesystem::path& mount_point() const { return mount_point_; }
  // The loop device while mounted (e.g. /dev/loop3).
  [[nodiscard]] std::string device() const;

 private:
  std::filesystem::path image_;
  std::string uuid_;
  std::filesystem::path mount_point_;
  std::string attached_;
};

// Whether this process may mount filesystems (root); the message says what to do if not.
void require_mount_privilege();

}  // namespace yardwatch::testing
