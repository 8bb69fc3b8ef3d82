#include "yardwatch/hal/storage.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>

#include "yardwatch/hal/unique_fd.h"

namespace yardwatch::hal {

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

}  // namespace yardwatch::hal
