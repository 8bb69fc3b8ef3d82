#pragma once

// hal::Storage: the data volume. Everything that must survive a power cut is made durable
// through it (fsync of the file, then of the directory that names it), and nothing is written
// unless check_volume() says the volume is the right one and writable: a swapped, unmounted or
// read-only disk is refused, never silently replaced by the root filesystem.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

#include "yardwatch/hal/result.h"
#include "yardwatch/hal/smart.h"

namespace yardwatch::hal {

enum class VolumeState {
  kHealthy,
  kMissing,      // the data directory is gone, or nothing (or the root filesystem) is mounted
  kWrongVolume,  // a filesystem with another UUID is mounted where the data volume belongs
  kReadOnly,     // remounted read-only (ext4 does so on errors with errors=remount-ro)
  kUnreadable,   // the directory or the mount table cannot be read (I/O errors)
};

std::string_view volume_state_name(VolumeState state);  // "healthy", "missing", …

struct VolumeHealth {
  VolumeState state = VolumeState::kHealthy;
  std::string message;  // what is wrong, for the administrator (empty when healthy)
  // Errors the filesystem itself recorded (ext4's errors_count; e2fsck clears it). The volume
  // may still be writable (errors=continue): an alarm, not a refusal.
  uint64_t filesystem_errors = 0;
  std::string filesystem_error_detail;
  // The last SMART report of the disk, when the board has one configured and it was read.
  std::optional<SmartReport> smart;

  [[nodiscard]] bool writable() const { return state == VolumeState::kHealthy; }
};

class Storage {
 public:
  virtual ~Storage() = default;
  [[nodiscard]] virtual const std::filesystem::path& data_dir() const = 0;
  [[nodiscard]] virtual Result<uint64_t> free_bytes() const = 0;
  [[nodiscard]] virtual Result<uint64_t> total_bytes() const = 0;
  [[nodiscard]] virtual Status sync_file(int fd) const = 0;
  [[nodiscard]] virtual Status sync_directory(const std::filesystem::path& directory) const = 0;
  // Whether the data volume is present, the right one and writable. Cheap enough to call before
  // every new segment and every supervision tick (no I/O on the volume itself: a frozen or hung
  // disk does not block it).
  [[nodiscard]] virtual VolumeHealth check_volume() const = 0;
};

// What identifies the data volume on a real board (from the board description and
// /etc/yardwatch/yardwatch.toml). Empty fields are not checked (host-sim and development).
struct VolumeOptions {
  std::string filesystem_uuid;         // e.g. "b10f39ff-859a-4208-8818-e64c4ac2ea49"
  std::filesystem::path mount_point;   // where it is mounted; the data directory lies inside
  std::filesystem::path smart_report;  // written by `yardwatch smart-check` (root timer)
};

// The data directory on a mounted filesystem. With VolumeOptions it also proves, from the
// kernel's mount table (/proc/self/mountinfo via libmount) and the filesystem UUID (udev's
// database via libudev, else libblkid), that the directory lies on the data volume.
class DirectoryStorage final : public Storage {
 public:
  explicit DirectoryStorage(std::filesystem::path data_dir, VolumeOptions volume = {});
  [[nodiscard]] const std::filesystem::path& data_dir() const override { return data_dir_; }
  [[nodiscard]] Result<uint64_t> free_bytes() const override;
  [[nodiscard]] Result<uint64_t> total_bytes() const override;
  [[nodiscard]] Status sync_file(int fd) const override;
  [[nodiscard]] Status sync_directory(const std::filesystem::path& directory) const override;
  [[nodiscard]] VolumeHealth check_volume() const override;

  [[nodiscard]] const VolumeOptions& volume() const { return volume_; }

 private:
  std::filesystem::path data_dir_;
  VolumeOptions volume_;
  // The mount (kernel mount id, device, filesystem id) whose UUID was last proven right: probed
  // again only when any of them changes.
  using MountKey = std::tuple<int, uint64_t, uint64_t>;
  mutable std::mutex cache_mutex_;
  mutable std::optional<MountKey> verified_mount_;
};

// The simulated twin: a real directory for the bytes, with a volume state, free space and
// filesystem error count a test sets.
class SimulatedStorage final : public Storage {
 public:
  explicit SimulatedStorage(std::filesystem::path data_dir) : data_dir_(std::move(data_dir)) {}
  [[nodiscard]] const std::filesystem::path& data_dir() const override { return data_dir_; }
  [[nodiscard]] Result<uint64_t> free_bytes() const override;
  [[nodiscard]] Result<uint64_t> total_bytes() const override;
  [[nodiscard]] Status sync_file(int fd) const override;
  [[nodiscard]] Status sync_directory(const std::filesystem::path& directory) const override;
  [[nodiscard]] VolumeHealth check_volume() const override;

  void set_health(VolumeHealth health);
  void set_free_bytes(uint64_t free, uint64_t total);

 private:
  std::filesystem::path data_dir_;
  mutable std::mutex mutex_;
  VolumeHealth health_;
  uint64_t free_bytes_ = 1ull << 40;
  uint64_t total_bytes_ = 2ull << 40;
};

// The filesystem UUID of a block device, from udev's database (works unprivileged) or by
// probing the device with libblkid (needs read access). kNotFound when it has none.
Result<std::string> filesystem_uuid(uint64_t device_number, const std::string& device_path);

}  // namespace yardwatch::hal
