#include "yardwatch/hal/storage.h"

#include <blkid/blkid.h>
#include <fcntl.h>
#include <libmount/libmount.h>
#include <libudev.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "yardwatch/hal/unique_fd.h"

namespace yardwatch::hal {

namespace fs = std::filesystem;

namespace {

// RAII for the util-linux and udev handles used here.
struct MountTable {
  libmnt_table* table = nullptr;
  MountTable() : table(mnt_new_table_from_file("/proc/self/mountinfo")) {}
  ~MountTable() { mnt_unref_table(table); }
  MountTable(const MountTable&) = delete;
  MountTable& operator=(const MountTable&) = delete;
};

struct BlkidProbe {
  blkid_probe probe = nullptr;
  explicit BlkidProbe(const char* path) : probe(blkid_new_probe_from_filename(path)) {}
  ~BlkidProbe() {
    if (probe != nullptr) blkid_free_probe(probe);
  }
  BlkidProbe(const BlkidProbe&) = delete;
  BlkidProbe& operator=(const BlkidProbe&) = delete;
};

struct UdevDevice {
  udev* context = udev_new();
  udev_device* device = nullptr;
  ~UdevDevice() {
    if (device != nullptr) udev_device_unref(device);
    if (context != nullptr) udev_unref(context);
  }
};

bool has_option(const char* options, const char* name) {
  if (options == nullptr) return false;
  char* value = nullptr;
  size_t size = 0;
  return mnt_optstr_get_option(options, name, &value, &size) == 0;
}

std::string read_first_line(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

struct MountFacts {
  int id = -1;
  uint64_t device = 0;
  std::string target;
  std::string source;
  std::string type;
  bool read_only = false;
};

// The topmost mount at `target` (an overmount hides what is below it), or nothing.
std::optional<MountFacts> mount_at(const fs::path& target) {
  MountTable mounts;
  if (mounts.table == nullptr) return std::nullopt;
  libmnt_fs* entry = mnt_table_find_target(mounts.table, target.c_str(), MNT_ITER_BACKWARD);
  if (entry == nullptr) return std::nullopt;
  MountFacts facts;
  facts.id = mnt_fs_get_id(entry);
  facts.device = static_cast<uint64_t>(mnt_fs_get_devno(entry));
  facts.target = mnt_fs_get_target(entry) != nullptr ? mnt_fs_get_target(entry) : "";
  facts.source = mnt_fs_get_source(entry) != nullptr ? mnt_fs_get_source(entry) : "";
  facts.type = mnt_fs_get_fstype(entry) != nullptr ? mnt_fs_get_fstype(entry) : "";
  // "ro" on the mount or on the superblock; "emergency_ro" is how newer kernels show an ext4
  // that stopped writing after an error (the mount itself still says rw).
  facts.read_only = has_option(mnt_fs_get_vfs_options(entry), "ro") ||
                    has_option(mnt_fs_get_fs_options(entry), "ro") ||
                    has_option(mnt_fs_get_fs_options(entry), "emergency_ro");
  return facts;
}

// ext4 counts the errors it met in the superblock (kept across mounts until e2fsck clears it)
// and shows them in sysfs under the block device's kernel name.
void read_filesystem_errors(const MountFacts& mount, VolumeHealth& health) {
  if (mount.type != "ext4" && mount.type != "ext3" && mount.type != "ext2") return;
  std::error_code error;
  const fs::path device = fs::canonical(mount.source, error);
  if (error) return;
  const fs::path sysfs = fs::path("/sys/fs/ext4") / device.filename();
  const std::string count = read_first_line(sysfs / "errors_count");
  if (count.empty()) return;
  health.filesystem_errors = std::strtoull(count.c_str(), nullptr, 10);
  if (health.filesystem_errors > 0) {
    const std::string function = read_first_line(sysfs / "last_error_func");
    const std::string code = read_first_line(sysfs / "last_error_errcode");
    health.filesystem_error_detail =
        std::to_string(health.filesystem_errors) + " filesystem error(s) recorded on " +
        device.string() + (function.empty() ? "" : " (last in " + function + ")") +
        (code.empty() || code == "0" ? "" : ", error code " + code) + "; unmount it and run e2fsck";
  }
}

VolumeHealth refuse(VolumeState state, std::string message) {
  VolumeHealth health;
  health.state = state;
  health.message = std::move(message);
  return health;
}

}  // namespace

std::string_view volume_state_name(VolumeState state) {
  switch (state) {
    case VolumeState::kHealthy:
      return "healthy";
    case VolumeState::kMissing:
      return "missing";
    case VolumeState::kWrongVolume:
      return "wrong_volume";
    case VolumeState::kReadOnly:
      return "read_only";
    case VolumeState::kUnreadable:
      return "unreadable";
  }
  return "unreadable";
}

Result<std::string> filesystem_uuid(uint64_t device_number, const std::string& device_path) {
  // udev's database: readable by everyone, so it works for the unprivileged daemon.
  {
    UdevDevice device;
    if (device.context != nullptr) {
      device.device =
          udev_device_new_from_devnum(device.context, 'b', static_cast<dev_t>(device_number));
      if (device.device != nullptr) {
        const char* uuid = udev_device_get_property_value(device.device, "ID_FS_UUID");
        if (uuid != nullptr && *uuid != '\0') return std::string(uuid);
      }
    }
  }
  // No udev (a container, a minimal system): read the superblock ourselves.
  if (device_path.empty() || device_path.front() != '/') {
    return make_error(ErrorKind::kNotFound, "'" + device_path + "' is not a block device");
  }
  BlkidProbe probe(device_path.c_str());
  if (probe.probe == nullptr) {
    return errno_error(errno != 0 ? errno : EIO, "probe " + device_path + " for its UUID");
  }
  blkid_probe_enable_superblocks(probe.probe, 1);
  blkid_probe_set_superblocks_flags(probe.probe, BLKID_SUBLKS_UUID);
  if (blkid_do_safeprobe(probe.probe) != 0) {
    return make_error(ErrorKind::kNotFound, device_path + " has no recognisable filesystem");
  }
  const char* uuid = nullptr;
  if (blkid_probe_lookup_value(probe.probe, "UUID", &uuid, nullptr) != 0 || uuid == nullptr) {
    return make_error(ErrorKind::kNotFound, "the filesystem on " + device_path + " has no UUID");
  }
  return std::string(uuid);
}

DirectoryStorage::DirectoryStorage(fs::path data_dir, VolumeOptions volume)
    : data_dir_(std::move(data_dir)), volume_(std::move(volume)) {}

Result<uint64_t> DirectoryStorage::free_bytes() const {
  struct statvfs info {};
  if (::statvfs(data_dir_.c_str(), &info) != 0)
    return errno_error(errno, "statvfs " + data_dir_.string());
  return static_cast<uint64_t>(info.f_bavail) * info.f_frsize;
}

Result<uint64_t> DirectoryStorage::total_bytes() const {
  struct statvfs info {};
  if (::statvfs(data_dir_.c_str(), &info) != 0)
    return errno_error(errno, "statvfs " + data_dir_.string());
  return static_cast<uint64_t>(info.f_blocks) * info.f_frsize;
}

Status DirectoryStorage::sync_file(int fd) const {
  if (::fdatasync(fd) != 0) return errno_error(errno, "fdatasync");
  return {};
}

Status DirectoryStorage::sync_directory(const std::filesystem::path& directory) const {
  UniqueFd fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return errno_error(errno, "open directory " + directory.string());
  if (::fsync(fd.get()) != 0) return errno_error(errno, "fsync directory " + directory.string());
  return {};
}

VolumeHealth DirectoryStorage::check_volume() const {
  const std::string where = data_dir_.string();
  const bool identity_required = !volume_.filesystem_uuid.empty() || !volume_.mount_point.empty();
  std::optional<MountFacts> mount;
  fs::path target = volume_.mount_point;
  if (!target.empty()) {
    // The volume first: with it missing, the data directory's absence says nothing new.
    mount = mount_at(target);
    if (!mount) {
      return refuse(VolumeState::kMissing, "nothing is mounted at " + target.string() +
                                               ": the data volume is missing; refusing to record "
                                               "onto the filesystem below it");
    }
  }
  struct stat data_info {};
  if (::stat(data_dir_.c_str(), &data_info) != 0) {
    const int error = errno;
    if (error == ENOENT || error == ENOTDIR) {
      return refuse(VolumeState::kMissing,
                    "the data directory " + where + " does not exist" +
                        (mount ? " on the volume mounted at " + target.string() +
                                     " (is it the right disk? was `yardwatch init` run?)"
                               : ": is the data volume mounted?"));
    }
    return refuse(VolumeState::kUnreadable, errno_error(error, "stat " + where).message);
  }
  if (!S_ISDIR(data_info.st_mode)) {
    return refuse(VolumeState::kMissing, where + " is not a directory");
  }
  if (!mount) {
    // No mount point configured: whatever filesystem the directory is on.
    char* mount_point = mnt_get_mountpoint(data_dir_.c_str());
    if (mount_point == nullptr) {
      return refuse(VolumeState::kUnreadable, "cannot find the mount point of " + where);
    }
    target = mount_point;
    std::free(mount_point);
    mount = mount_at(target);
    if (!mount) {
      if (identity_required) {
        return refuse(VolumeState::kUnreadable, "cannot read the mount table for " + where);
      }
      // No identity to prove (host-sim) and a mount table that does not show the directory's
      // filesystem (a chroot that is not itself a mount point): only writability is left.
      struct statvfs info {};
      if (::statvfs(data_dir_.c_str(), &info) == 0 && (info.f_flag & ST_RDONLY) != 0) {
        return refuse(VolumeState::kReadOnly, "the data directory " + where + " is read-only");
      }
      return VolumeHealth{};
    }
  }
  if (identity_required && mount->target == "/") {
    return refuse(VolumeState::kMissing,
                  "the data volume is not mounted: " + where +
                      " lies on the root filesystem; refusing to record there");
  }
  if (!volume_.filesystem_uuid.empty()) {
    std::lock_guard lock(cache_mutex_);
    // Mount ids and device numbers are reused (a swapped disk can come back as the same
    // /dev/sdb1 with the same id); the filesystem id (for ext4 a hash of its UUID) is not.
    struct statfs filesystem {};
    if (::statfs(target.c_str(), &filesystem) != 0) {
      return refuse(VolumeState::kUnreadable,
                    errno_error(errno, "statfs " + target.string()).message);
    }
    uint64_t fsid = 0;
    std::memcpy(&fsid, &filesystem.f_fsid, sizeof(fsid));
    const MountKey key{mount->id, mount->device, fsid};
    if (!verified_mount_ || *verified_mount_ != key) {
      verified_mount_.reset();
      auto uuid = filesystem_uuid(mount->device, mount->source);
      if (!uuid.ok()) {
        return refuse(VolumeState::kWrongVolume,
                      "the filesystem at " + target.string() + " (" + mount->source + ", " +
                          mount->type + ") is not the data volume " + volume_.filesystem_uuid +
                          ": " + uuid.error().message + "; refusing to write to it");
      }
      if (uuid.value() != volume_.filesystem_uuid) {
        return refuse(VolumeState::kWrongVolume,
                      "the filesystem at " + target.string() + " (" + mount->source + ", UUID " +
                          uuid.value() + ") is not the data volume " + volume_.filesystem_uuid +
                          ": a swapped disk? refusing to write to it");
      }
      verified_mount_ = key;
    }
  }
  if (mount->device != static_cast<uint64_t>(data_info.st_dev)) {
    return refuse(VolumeState::kMissing,
                  where + " is not on the filesystem mounted at " + target.string() +
                      " (is something else mounted over the data directory?)");
  }

  VolumeHealth health;
  read_filesystem_errors(*mount, health);
  struct statvfs info {};
  const bool statvfs_read_only =
      ::statvfs(data_dir_.c_str(), &info) == 0 && (info.f_flag & ST_RDONLY) != 0;
  if (mount->read_only || statvfs_read_only) {
    health.state = VolumeState::kReadOnly;
    health.message = "the data volume at " + target.string() + " is read-only" +
                     (health.filesystem_errors > 0
                          ? " after filesystem errors: " + health.filesystem_error_detail
                          : "");
  }
  if (!volume_.smart_report.empty()) {
    auto smart = read_smart_report(volume_.smart_report);
    if (smart.ok()) health.smart = std::move(smart).value();
  }
  return health;
}

Result<uint64_t> SimulatedStorage::free_bytes() const {
  std::lock_guard lock(mutex_);
  return free_bytes_;
}

Result<uint64_t> SimulatedStorage::total_bytes() const {
  std::lock_guard lock(mutex_);
  return total_bytes_;
}

Status SimulatedStorage::sync_file(int fd) const {
  if (::fdatasync(fd) != 0) return errno_error(errno, "fdatasync");
  return {};
}

Status SimulatedStorage::sync_directory(const std::filesystem::path& directory) const {
  UniqueFd fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return errno_error(errno, "open directory " + directory.string());
  if (::fsync(fd.get()) != 0) return errno_error(errno, "fsync directory " + directory.string());
  return {};
}

VolumeHealth SimulatedStorage::check_volume() const {
  std::lock_guard lock(mutex_);
  return health_;
}

void SimulatedStorage::set_health(VolumeHealth health) {
  std::lock_guard lock(mutex_);
  health_ = std::move(health);
}

void SimulatedStorage::set_free_bytes(uint64_t free, uint64_t total) {
  std::lock_guard lock(mutex_);
  free_bytes_ = free;
  total_bytes_ = total;
}

}  // namespace yardwatch::hal
