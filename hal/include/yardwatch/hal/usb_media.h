#pragma once

// hal::UsbMedia: the Linux side of RemovableMedia — USB sticks for police bundles. It lists the
// USB mass-storage filesystems the kernel knows (libudev; the filesystem from udev's database or
// libblkid), mounts the chosen one with nosuid,nodev,noexec under its own mount root, hands out
// export targets inside it that notice a pulled stick, and ejects it (sync, unmount).
//
// Mounting and unmounting need CAP_SYS_ADMIN: `yardwatch media mount|eject` run as root; the
// unprivileged writer (the export, as the service user) then finds the stick mounted. A vfat or
// exfat stick is mounted owned by the service user (uid=, gid=, private modes).

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "yardwatch/hal/removable_media.h"
#include "yardwatch/hal/result.h"

namespace yardwatch::hal {

// One block device with a filesystem on it.
struct BlockDeviceInfo {
  std::string name;            // kernel name, e.g. "sdb1", "loop3"
  std::filesystem::path node;  // "/dev/sdb1"
  uint64_t device_number = 0;
  std::filesystem::path syspath;  // "/sys/devices/…/usb2/…/block/sdb/sdb1"
  std::string filesystem;         // "vfat", "exfat", "ext4", …
  std::string uuid;
  std::string label;
  std::string model;  // vendor and model of the disk, when the kernel knows them
  uint64_t size_bytes = 0;
  bool usb = false;        // on a USB bus
  bool loop_file = false;  // a loop device backed by a file (a simulated stick on host-sim)
};

// Block devices with a filesystem (not swap, not a partition table), from sysfs and udev.
Result<std::vector<BlockDeviceInfo>> scan_block_devices();

// The default choice: a USB device with a filesystem a police bundle can go on.
bool is_usb_stick(const BlockDeviceInfo& device);

struct UsbMediaOptions {
  std::filesystem::path mount_root = "/run/yardwatch-media";
  std::function<bool(const BlockDeviceInfo&)> eligible = is_usb_stick;
  // Owner of a vfat/exfat stick's files (the service user); unset: the caller's.
  std::optional<uid_t> owner_uid;
  std::optional<gid_t> owner_gid;
};

struct EjectReport {
  bool was_mounted = false;
  bool device_present = true;  // false: the stick had been pulled before it was ejected
};

class UsbMedia final : public RemovableMedia {
 public:
  explicit UsbMedia(UsbMediaOptions options);

  // Every eligible stick: id "usb:<filesystem UUID>" (or "usb:<kernel name>" without one), a label
  // a person recognises, and — when mounted by us — its mount point and free space.
  [[nodiscard]] Result<std::vector<MediaInfo>> list() override;
  // A new directory on the (mounted) stick; writes, syncs and read-backs go to the stick, and
  // check_present / errors say plainly when it was pulled out. Mounts it first when this process
  // may (root); otherwise kFailedPrecondition naming `yardwatch media mount`.
  [[nodiscard]] Result<std::unique_ptr<MediaTarget>> create_target(
      const std::string& media_id, const std::string& directory_name) override;

  // Mounts the stick (nosuid,nodev,noexec) at <mount_root>/<id> and returns that path; a stick
  // already mounted there is left as it is.
  Result<std::filesystem::path> mount(const std::string& media_id);
  // syncfs, unmount, remove the mount point. A pulled stick is detached (lazily) and reported.
  Result<EjectReport> eject(const std::string& media_id);

 private:
  Result<BlockDeviceInfo> find(const std::string& media_id);
  [[nodiscard]] std::filesystem::path mount_point_for(const std::string& media_id) const;
  UsbMediaOptions options_;
};

}  // namespace yardwatch::hal
