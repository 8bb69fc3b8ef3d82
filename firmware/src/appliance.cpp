#include "yardwatch/firmware/appliance.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <cerrno>

#include "yardwatch/firmware/reset_marker.h"
#include "yardwatch/firmware/schema.h"
#include "yardwatch/recorder/data_dir.h"

namespace yardwatch::firmware {

namespace fs = std::filesystem;

namespace {

fs::path resolve_key_dir(const ApplianceOptions& options) {
  return options.key_dir.empty() ? hal::default_key_dir(options.data_dir) : options.key_dir;
}

Status check_key_dir_outside_data(const fs::path& key_dir, const fs::path& data_dir) {
  auto key = fs::weakly_canonical(key_dir);
  auto data = fs::weakly_canonical(data_dir);
  auto relative = key.lexically_relative(data);
  if (!relative.empty() && *relative.begin() != "..") {
    return make_error(ErrorKind::kInvalidArgument,
                      "the key directory must be outside the data directory: a copy of the "
                      "data volume must never carry its own keys");
  }
  return {};
}

Status check_volume(const hal::Storage& storage) {
  const hal::VolumeHealth health = storage.check_volume();
  if (health.writable()) return {};
  return make_error(ErrorKind::kUnavailable, health.message);
}

hal::KeyStoreOptions key_store_options(const ApplianceOptions& options) {
  return hal::KeyStoreOptions{resolve_key_dir(options), options.key_store, options.tpm_tcti};
}

}  // namespace

hal::UsbMediaOptions usb_media_options(const ResolvedAppliance& resolved) {
  hal::UsbMediaOptions options;
  if (!resolved.board.media_mount_root.empty()) {
    options.mount_root = resolved.board.media_mount_root;
  } else {
    fs::path data = fs::absolute(resolved.options.data_dir).lexically_normal();
    if (!data.has_filename()) data = data.parent_path();
    options.mount_root = data.parent_path() / (data.filename().string() + ".media");
  }
  if (resolved.board.media_loop_devices) {
    options.eligible = [](const hal::BlockDeviceInfo& device) {
      return hal::is_usb_stick(device) || (device.loop_file && !device.filesystem.empty());
    };
  }
  if (const passwd* user = ::getpwnam("yardwatch"); user != nullptr) {
    options.owner_uid = user->pw_uid;
    options.owner_gid = user->pw_gid;
  }
  return options;
}

Result<ResolvedAppliance> resolve_appliance(const ApplianceArguments& arguments) {
  ResolvedAppliance resolved;
  fs::path config_file = arguments.config_file;
  if (config_file.empty() && arguments.data_dir.empty() && fs::exists(kDefaultConfigPath)) {
    config_file = kDefaultConfigPath;
  }
  if (!config_file.empty()) {
    YW_ASSIGN_OR_RETURN(resolved.config, load_config(config_file));
  }
  const std::string board_name = !arguments.board.empty() ? arguments.board
                                 : !config_file.empty()   ? resolved.config.board
                                                          : std::string("host-sim");
  YW_ASSIGN_OR_RETURN(resolved.board, board_description(board_name));
  const BoardDescription& board = resolved.board;
  const Config& config = resolved.config;
  auto pick = [](const fs::path& first, const fs::path& second, const fs::path& third) {
    return !first.empty() ? first : !second.empty() ? second : third;
  };
  ApplianceOptions& options = resolved.options;
  options.board = board.name;
  options.config_file = config_file;
  options.data_dir = pick(arguments.data_dir, config.data_dir, board.data_dir);
  if (options.data_dir.empty()) {
    return make_error(ErrorKind::kInvalidArgument,
                      "no data directory: give --data DIR or --config FILE");
  }
  options.key_dir = pick(arguments.key_dir, config.key_dir, board.key_dir);
  options.key_store = board.key_store;
  options.tpm_tcti = board.tpm_tcti;
  options.volume.mount_point = pick({}, config.mount_point, board.mount_point);
  options.volume.filesystem_uuid = config.volume_uuid;
  options.volume.smart_report = board.smart_report;
  if (board.require_volume_uuid && options.volume.filesystem_uuid.empty()) {
    return make_error(ErrorKind::kInvalidArgument,
                      "board " + board.name +
                          " identifies its data volume by UUID: give --config with "
                          "storage.volume_uuid (see board/README.md)");
  }
  return resolved;
}

Result<std::unique_ptr<Appliance>> Appliance::init(const ApplianceOptions& options) {
  if (options.data_dir.empty())
    return make_error(ErrorKind::kInvalidArgument, "--data is required");
  const fs::path key_dir = resolve_key_dir(options);
  YW_TRY(check_key_dir_outside_data(key_dir, options.data_dir));
  if (!options.volume.mount_point.empty()) {
    // The data directory does not exist yet: prove the volume it will be made on.
    YW_TRY(check_volume(hal::DirectoryStorage(options.volume.mount_point, options.volume)));
  }
  if (fs::exists(recorder::catalog_path(options.data_dir))) {
    return make_error(ErrorKind::kAlreadyExists,
                      options.data_dir.string() + " is already initialised");
  }
  std::error_code parent_error;
  if (options.data_dir.has_parent_path()) {
    fs::create_directories(options.data_dir.parent_path(), parent_error);
  }
  if (::mkdir(options.data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return errno_error(errno, "create data directory " + options.data_dir.string());
  }
  ::chmod(options.data_dir.c_str(), 0700);
  std::error_code error;
  fs::create_directories(recorder::segments_root(options.data_dir), error);
  if (error)
    return make_error(ErrorKind::kPermissionDenied,
                      "create segments directory: " + error.message());
  YW_TRY(hal::create_key_store(key_store_options(options)));
  YW_TRY(recorder::Catalog::open(recorder::catalog_path(options.data_dir), true,
                                 firmware_migrations()));
  return open(options);
}

Result<std::unique_ptr<Appliance>> Appliance::open(const ApplianceOptions& options) {
  if (options.data_dir.empty())
    return make_error(ErrorKind::kInvalidArgument, "--data is required");
  std::unique_ptr<Appliance> appliance(new Appliance());
  YW_ASSIGN_OR_RETURN(appliance->clock_, hal::make_board_clock(options.board));
  appliance->storage_ = std::make_unique<hal::DirectoryStorage>(options.data_dir, options.volume);
  YW_TRY(check_volume(*appliance->storage_));
  appliance->key_dir_ = resolve_key_dir(options);
  YW_TRY(check_key_dir_outside_data(appliance->key_dir_, options.data_dir));
  YW_ASSIGN_OR_RETURN(auto keys, hal::open_key_store(key_store_options(options)));
  appliance->keys_ = std::move(keys);
  YW_ASSIGN_OR_RETURN(appliance->catalog_,
                      recorder::Catalog::open(recorder::catalog_path(options.data_dir), false,
                                              firmware_migrations()));
  // The first open after a factory reset registers it (R8). Not fatal: the marker stays for the
  // next open, and an appliance that cannot open helps nobody.
  (void)register_reset_marker(*appliance->catalog_, options.data_dir,
                              appliance->clock_->now_utc_us());
  return appliance;
}

Result<RecorderLock> RecorderLock::acquire(const fs::path& data_dir) {
  const fs::path path = data_dir / "yardwatchd.lock";
  hal::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid()) return errno_error(errno, "open " + path.string());
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    return make_error(ErrorKind::kUnavailable,
                      "another yardwatchd is already recording into " + data_dir.string());
  }
  return RecorderLock(std::move(fd));
}

bool RecorderLock::held_by_other(const fs::path& data_dir) {
  const fs::path path = data_dir / "yardwatchd.lock";
  hal::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return false;
  if (::flock(fd.get(), LOCK_SH | LOCK_NB) != 0) return errno == EWOULDBLOCK;
  ::flock(fd.get(), LOCK_UN);
  return false;
}

}  // namespace yardwatch::firmware
