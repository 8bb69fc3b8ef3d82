#include "yardwatch/hal/usb_media.h"

#include <blkid/blkid.h>
#include <fcntl.h>
#include <libmount/libmount.h>
#include <libudev.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>

#include "yardwatch/hal/unique_fd.h"

namespace yardwatch::hal {

namespace fs = std::filesystem;

namespace {

std::string read_attribute(const fs::path& path) {
  std::ifstream in(path);
  std::string text;
  std::getline(in, text);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\n')) text.pop_back();
  return text;
}

std::string property(udev_device* device, const char* name) {
  const char* value = udev_device_get_property_value(device, name);
  return value != nullptr ? value : "";
}

// The filesystem on a device: udev's database, else a probe of the device (root only).
void identify_filesystem(udev_device* device, BlockDeviceInfo& info) {
  info.filesystem = property(device, "ID_FS_TYPE");
  info.uuid = property(device, "ID_FS_UUID");
  info.label = property(device, "ID_FS_LABEL");
  if (!info.filesystem.empty()) {
    if (property(device, "ID_FS_USAGE") != "filesystem") info.filesystem.clear();
    return;
  }
  blkid_probe probe = blkid_new_probe_from_filename(info.node.c_str());
  if (probe == nullptr) return;  // not readable by us: not a medium we could use anyway
  blkid_probe_enable_superblocks(probe, 1);
  blkid_probe_set_superblocks_flags(
      probe, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_UUID | BLKID_SUBLKS_LABEL | BLKID_SUBLKS_USAGE);
  if (blkid_do_safeprobe(probe) == 0) {
    auto lookup = [probe](const char* name) {
      const char* value = nullptr;
      return blkid_probe_lookup_value(probe, name, &value, nullptr) == 0 && value != nullptr
                 ? std::string(value)
                 : std::string();
    };
    if (lookup("USAGE") == "filesystem") {
      info.filesystem = lookup("TYPE");
      info.uuid = lookup("UUID");
      info.label = lookup("LABEL");
    }
  }
  blkid_free_probe(probe);
}

struct MountEntry {
  uint64_t device = 0;
  bool found = false;
};

// The topmost mount at `target`.
MountEntry mount_at(const fs::path& target) {
  MountEntry entry;
  libmnt_table* table = mnt_new_table_from_file("/proc/self/mountinfo");
  if (table == nullptr) return entry;
  libmnt_fs* mounted = mnt_table_find_target(table, target.c_str(), MNT_ITER_BACKWARD);
  if (mounted != nullptr) {
    entry.found = true;
    entry.device = static_cast<uint64_t>(mnt_fs_get_devno(mounted));
  }
  mnt_unref_table(table);
  return entry;
}

bool device_present(uint64_t device_number) {
  const auto dev = static_cast<dev_t>(device_number);
  const fs::path sysfs =
      "/sys/dev/block/" + std::to_string(major(dev)) + ":" + std::to_string(minor(dev));
  std::error_code error;
  return fs::exists(sysfs, error);
}

std::string describe(const BlockDeviceInfo& device) {
  std::string text = device.label.empty() ? device.name : "'" + device.label + "'";
  if (!device.model.empty()) text += " (" + device.model + ")";
  return "the USB stick " + text;
}

// A target on a mounted stick: the directory target, plus what only the stick can tell — that
// it was pulled out, or its mount went away, while the bundle was written.
class StickTarget final : public MediaTarget {
 public:
  StickTarget(std::unique_ptr<MediaTarget> inner, BlockDeviceInfo device, fs::path mount_point)
      : inner_(std::move(inner)),
        device_(std::move(device)),
        mount_point_(std::move(mount_point)) {}

  class File final : public MediaFile {
   public:
    File(std::unique_ptr<MediaFile> inner, StickTarget& target)
        : inner_(std::move(inner)), target_(target) {}
    Status write(std::span<const uint8_t> bytes) override {
      return target_.explain(inner_->write(bytes));
    }
    Status finish() override { return target_.explain(inner_->finish()); }
    [[nodiscard]] uint64_t bytes_written() const override { return inner_->bytes_written(); }

   private:
    std::unique_ptr<MediaFile> inner_;
    StickTarget& target_;
  };

  [[nodiscard]] const fs::path& path() const override { return inner_->path(); }
  Result<std::unique_ptr<MediaFile>> create_file(std::string_view name) override {
    YW_TRY(stick_present());
    auto file = inner_->create_file(name);
    if (!file.ok()) return explain(std::move(file).error()).error();
    return std::unique_ptr<MediaFile>(std::make_unique<File>(std::move(file).value(), *this));
  }
  Status rename_file(std::string_view from, std::string_view to) override {
    return explain(inner_->rename_file(from, to));
  }
  Status sync() override { return explain(inner_->sync()); }
  Status read_back(std::string_view name,
                   const std::function<Status(std::span<const uint8_t>)>& sink) override {
    YW_TRY(stick_present());
    return explain(inner_->read_back(name, sink));
  }
  Result<std::vector<std::string>> list_files() override {
    YW_TRY(stick_present());
    return inner_->list_files();
  }
  Status check_present() override {
    YW_TRY(stick_present());
    return explain(inner_->check_present());
  }
  Status remove_all() override { return inner_->remove_all(); }
  Result<uint64_t> free_bytes() override { return inner_->free_bytes(); }

  // A failure while the stick is gone is the stick being gone, said so.
  Status explain(Status status) {
    if (status.ok()) return status;
    if (auto present = stick_present(); !present.ok()) {
      return make_error(ErrorKind::kUnavailable,
                        present.error().message + " (" + status.error().message + ")");
    }
    return status;
  }

 private:
  Status stick_present() {
    if (!device_present(device_.device_number)) {
      return make_error(ErrorKind::kUnavailable,
                        describe(device_) +
                            " was pulled out while the bundle was written; the bundle on it is "
                            "incomplete");
    }
    const MountEntry mounted = mount_at(mount_point_);
    if (!mounted.found || mounted.device != device_.device_number) {
      return make_error(ErrorKind::kUnavailable,
                        describe(device_) + " is no longer mounted at " + mount_point_.string() +
                            " (pulled out or unmounted while the bundle was written); the "
                            "bundle on it is incomplete");
    }
    return {};
  }

  std::unique_ptr<MediaTarget> inner_;
  BlockDeviceInfo device_;
  fs::path mount_point_;
};

std::string media_id_of(const BlockDeviceInfo& device) {
  return "usb:" + (device.uuid.empty() ? device.name : device.uuid);
}

}  // namespace

Result<std::vector<BlockDeviceInfo>> scan_block_devices() {
  udev* context = udev_new();
  if (context == nullptr) return make_error(ErrorKind::kInternal, "libudev failed to start");
  udev_enumerate* enumerate = udev_enumerate_new(context);
  udev_enumerate_add_match_subsystem(enumerate, "block");
  udev_enumerate_scan_devices(enumerate);
  std::vector<BlockDeviceInfo> devices;
  udev_list_entry* entry = nullptr;
  udev_list_entry_foreach(entry, udev_enumerate_get_list_entry(enumerate)) {
    udev_device* device = udev_device_new_from_syspath(context, udev_list_entry_get_name(entry));
    if (device == nullptr) continue;
    BlockDeviceInfo info;
    info.name = udev_device_get_sysname(device);
    const char* node = udev_device_get_devnode(device);
    info.node = node != nullptr ? node : "/dev/" + info.name;
    info.device_number = static_cast<uint64_t>(udev_device_get_devnum(device));
    info.syspath = udev_device_get_syspath(device);
    const char* size = udev_device_get_sysattr_value(device, "size");
    info.size_bytes = size != nullptr ? std::strtoull(size, nullptr, 10) * 512 : 0;
    info.usb = info.syspath.string().find("/usb") != std::string::npos ||
               property(device, "ID_BUS") == "usb";
    std::error_code error;
    info.loop_file =
        info.name.rfind("loop", 0) == 0 && fs::exists(info.syspath / "loop/backing_file", error);
    // The disk a partition belongs to carries vendor and model.
    const fs::path disk =
        fs::exists(info.syspath / "partition", error) ? info.syspath.parent_path() : info.syspath;
    const std::string vendor = read_attribute(disk / "device/vendor");
    const std::string model = read_attribute(disk / "device/model");
    info.model = vendor + (vendor.empty() || model.empty() ? "" : " ") + model;
    if (info.size_bytes > 0) identify_filesystem(device, info);
    udev_device_unref(device);
    if (!info.filesystem.empty()) devices.push_back(std::move(info));
  }
  udev_enumerate_unref(enumerate);
  udev_unref(context);
  return devices;
}

bool is_usb_stick(const BlockDeviceInfo& device) {
  static const char* const kWritable[] = {"vfat", "exfat", "ext2", "ext3", "ext4"};
  return device.usb && std::any_of(std::begin(kWritable), std::end(kWritable),
                                   [&](const char* type) { return device.filesystem == type; });
}

UsbMedia::UsbMedia(UsbMediaOptions options) : options_(std::move(options)) {}

fs::path UsbMedia::mount_point_for(const std::string& media_id) const {
  // "usb:<uuid>" → "usb-<uuid>": UUIDs and kernel names are [A-Za-z0-9-], a single component.
  std::string name = media_id;
  std::replace(name.begin(), name.end(), ':', '-');
  return options_.mount_root / name;
}

Result<BlockDeviceInfo> UsbMedia::find(const std::string& media_id) {
  YW_ASSIGN_OR_RETURN(auto devices, scan_block_devices());
  for (auto& device : devices) {
    if (options_.eligible(device) && media_id_of(device) == media_id) return device;
  }
  return make_error(ErrorKind::kNotFound, "no USB stick '" + media_id +
                                              "' (was it pulled out? see `yardwatch media list`)");
}

Result<std::vector<MediaInfo>> UsbMedia::list() {
  YW_ASSIGN_OR_RETURN(auto devices, scan_block_devices());
  std::vector<MediaInfo> media;
  for (const auto& device : devices) {
    if (!options_.eligible(device)) continue;
    MediaInfo info;
    info.id = media_id_of(device);
    info.label = (device.label.empty() ? device.name : device.label) +
                 (device.model.empty() ? "" : " (" + device.model + ")") + ", " + device.filesystem;
    info.total_bytes = device.size_bytes;
    const fs::path point = mount_point_for(info.id);
    const MountEntry mounted = mount_at(point);
    if (mounted.found && mounted.device == device.device_number) {
      info.root = point;
      struct statvfs stats {};
      if (::statvfs(point.c_str(), &stats) == 0) {
        info.free_bytes = static_cast<uint64_t>(stats.f_bavail) * stats.f_frsize;
        info.total_bytes = static_cast<uint64_t>(stats.f_blocks) * stats.f_frsize;
      }
    }
    media.push_back(std::move(info));
  }
  return media;
}

Result<fs::path> UsbMedia::mount(const std::string& media_id) {
  YW_ASSIGN_OR_RETURN(BlockDeviceInfo device, find(media_id));
  const fs::path point = mount_point_for(media_id);
  const MountEntry mounted = mount_at(point);
  if (mounted.found && mounted.device == device.device_number) return point;
  if (mounted.found) {
    return make_error(ErrorKind::kFailedPrecondition,
                      "something else is mounted at " + point.string() + "; eject it first");
  }
  std::error_code error;
  fs::create_directories(options_.mount_root, error);
  if (::mkdir(point.c_str(), 0700) != 0 && errno != EEXIST) {
    return errno_error(errno, "create the mount point " + point.string());
  }
  std::string data;
  if (device.filesystem == "vfat" || device.filesystem == "exfat") {
    // FAT has no owners: the files belong to whom the mount says, private to them.
    const uid_t uid = options_.owner_uid.value_or(::getuid());
    const gid_t gid = options_.owner_gid.value_or(::getgid());
    data = "uid=" + std::to_string(uid) + ",gid=" + std::to_string(gid) + ",fmask=0177,dmask=0077";
    if (device.filesystem == "vfat") data += ",flush";
  }
  // Never run, open device nodes or honour set-uid bits from a stick that came from outside.
  const unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  if (::mount(device.node.c_str(), point.c_str(), device.filesystem.c_str(), flags,
              data.empty() ? nullptr : data.c_str()) != 0) {
    const int mount_errno = errno;
    ::rmdir(point.c_str());
    if (mount_errno == EPERM || mount_errno == EACCES) {
      return make_error(ErrorKind::kPermissionDenied,
                        "mounting " + describe(device) +
                            " needs root: run `yardwatch media mount --media " + media_id +
                            "` as root");
    }
    return errno_error(mount_errno, "mount " + device.node.string() + " (" + device.filesystem +
                                        ") at " + point.string());
  }
  return point;
}

Result<std::unique_ptr<MediaTarget>> UsbMedia::create_target(const std::string& media_id,
                                                             const std::string& directory_name) {
  if (!valid_media_file_name(directory_name)) {
    return make_error(ErrorKind::kInvalidArgument,
                      "not a plain directory name: '" + directory_name + "'");
  }
  YW_ASSIGN_OR_RETURN(BlockDeviceInfo device, find(media_id));
  const fs::path point = mount_point_for(media_id);
  const MountEntry mounted = mount_at(point);
  if (!mounted.found || mounted.device != device.device_number) {
    auto made = mount(media_id);
    if (!made.ok()) {
      return make_error(ErrorKind::kFailedPrecondition,
                        describe(device) + " is not mounted: " + made.error().message);
    }
  }
  YW_ASSIGN_OR_RETURN(auto inner, open_directory_target(point / directory_name));
  return std::unique_ptr<MediaTarget>(
      std::make_unique<StickTarget>(std::move(inner), std::move(device), point));
}

Result<EjectReport> UsbMedia::eject(const std::string& media_id) {
  EjectReport report;
  const fs::path point = mount_point_for(media_id);
  const MountEntry mounted = mount_at(point);
  if (!mounted.found) {
    std::error_code ignored;
    fs::remove(point, ignored);
    return report;
  }
  report.was_mounted = true;
  report.device_present = device_present(mounted.device);
  if (report.device_present) {
    // Everything written reaches the stick before it may be pulled.
    UniqueFd fd(::open(point.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid() || ::syncfs(fd.get()) != 0) {
      return errno_error(errno, "sync the stick mounted at " + point.string());
    }
    fd.reset();
    if (::umount2(point.c_str(), 0) != 0) {
      if (errno == EBUSY) {
        return make_error(ErrorKind::kUnavailable,
                          "the stick at " + point.string() +
                              " is still in use (an export running?); try again when it ends");
      }
      return errno_error(errno, "unmount " + point.string());
    }
  } else if (::umount2(point.c_str(), MNT_DETACH) != 0) {
    return errno_error(errno, "detach the pulled stick's mount " + point.string());
  }
  ::rmdir(point.c_str());
  return report;
}

}  // namespace yardwatch::hal
