#include "yardwatch/firmware/appliance.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <cerrno>

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

}  // namespace

Result<std::unique_ptr<Appliance>> Appliance::init(const ApplianceOptions& options) {
  if (options.data_dir.empty())
    return make_error(ErrorKind::kInvalidArgument, "--data is required");
  const fs::path key_dir = resolve_key_dir(options);
  YW_TRY(check_key_dir_outside_data(key_dir, options.data_dir));
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
  YW_TRY(hal::FileKeyStore::create(key_dir));
  YW_TRY(recorder::Catalog::open(recorder::catalog_path(options.data_dir), true,
                                 firmware_migrations()));
  return open(options);
}

Result<std::unique_ptr<Appliance>> Appliance::open(const ApplianceOptions& options) {
  if (options.data_dir.empty())
    return make_error(ErrorKind::kInvalidArgument, "--data is required");
  std::unique_ptr<Appliance> appliance(new Appliance());
  YW_ASSIGN_OR_RETURN(appliance->clock_, hal::make_board_clock(options.board));
  appliance->storage_ = std::make_unique<hal::DirectoryStorage>(options.data_dir);
  appliance->key_dir_ = resolve_key_dir(options);
  YW_TRY(check_key_dir_outside_data(appliance->key_dir_, options.data_dir));
  YW_ASSIGN_OR_RETURN(auto keys, hal::FileKeyStore::open(appliance->key_dir_));
  appliance->keys_ = std::move(keys);
  YW_ASSIGN_OR_RETURN(appliance->catalog_,
                      recorder::Catalog::open(recorder::catalog_path(options.data_dir), false,
                                              firmware_migrations()));
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
