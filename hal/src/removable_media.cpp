#include "yardwatch/hal/removable_media.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

#include "yardwatch/hal/unique_fd.h"

namespace yardwatch::hal {

namespace {

constexpr size_t kReadBackChunk = size_t{1} << 20;

// What a failing system call on a medium means to the person holding it.
Error media_error(int errno_value, const std::filesystem::path& where, std::string_view what) {
  const std::string detail =
      std::string(what) + " " + where.string() + ": " + std::strerror(errno_value);
  switch (errno_value) {
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
      return make_error(ErrorKind::kResourceExhausted,
                        "the export medium is full (" + detail + ")");
    case ENOENT:
    case ENODEV:
    case ENXIO:
    case EIO:
    case ESTALE:
    case ENOTDIR:
    case EROFS:
      return make_error(ErrorKind::kUnavailable,
                        "the export medium was removed, became read-only or its export directory "
                        "disappeared (" +
                            detail + ")");
    default:
      return errno_error(errno_value, detail);
  }
}

class DirectoryFile final : public MediaFile {
 public:
  DirectoryFile(UniqueFd fd, std::filesystem::path path)
      : fd_(std::move(fd)), path_(std::move(path)) {}

  Status write(std::span<const uint8_t> bytes) override {
    if (!fd_.valid()) return make_error(ErrorKind::kFailedPrecondition, "file already finished");
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t written = ::write(fd_.get(), bytes.data() + done, bytes.size() - done);
      if (written < 0) {
        if (errno == EINTR) continue;
        return media_error(errno, path_, "write");
      }
      if (written == 0) return media_error(EIO, path_, "write");
      done += static_cast<size_t>(written);
    }
    bytes_written_ += bytes.size();
    return {};
  }

  Status finish() override {
    if (!fd_.valid()) return make_error(ErrorKind::kFailedPrecondition, "file already finished");
    // fsync, not fdatasync: on FAT the file size lives in the directory entry's metadata.
    if (::fsync(fd_.get()) != 0) return media_error(errno, path_, "fsync");
    const int fd = fd_.release();
    if (::close(fd) != 0) return media_error(errno, path_, "close");
    return {};
  }

  [[nodiscard]] uint64_t bytes_written() const override { return bytes_written_; }

 private:
  UniqueFd fd_;
  std::filesystem::path path_;
  uint64_t bytes_written_ = 0;
};

class DirectoryTarget final : public MediaTarget {
 public:
  DirectoryTarget(std::filesystem::path path, UniqueFd dir_fd, dev_t device, ino_t inode)
      : path_(std::move(path)), dir_fd_(std::move(dir_fd)), device_(device), inode_(inode) {}

  [[nodiscard]] const std::filesystem::path& path() const override { return path_; }

  Result<std::unique_ptr<MediaFile>> create_file(std::string_view name) override {
    YW_TRY(check_name(name));
    YW_TRY(check_present());
    const auto file_path = path_ / std::string(name);
    UniqueFd fd(::openat(dir_fd_.get(), std::string(name).c_str(),
                         O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd.valid()) {
      if (errno == EEXIST) {
        return make_error(ErrorKind::kAlreadyExists, file_path.string() + " already exists");
      }
      return media_error(errno, file_path, "create");
    }
    {
      std::lock_guard lock(mutex_);
      created_.emplace_back(name);
    }
    return std::unique_ptr<MediaFile>(std::make_unique<DirectoryFile>(std::move(fd), file_path));
  }

  Status rename_file(std::string_view from, std::string_view to) override {
    YW_TRY(check_name(from));
    YW_TRY(check_name(to));
    YW_TRY(check_present());
    if (::renameat(dir_fd_.get(), std::string(from).c_str(), dir_fd_.get(),
                   std::string(to).c_str()) != 0) {
      return media_error(errno, path_ / std::string(to), "rename to");
    }
    {
      std::lock_guard lock(mutex_);
      created_.emplace_back(to);
    }
    return sync();
  }

  Status sync() override {
    if (::fsync(dir_fd_.get()) != 0) return media_error(errno, path_, "fsync directory");
    return check_present();
  }

  Status read_back(std::string_view name,
                   const std::function<Status(std::span<const uint8_t>)>& sink) override {
    YW_TRY(check_name(name));
    YW_TRY(check_present());
    // By path, not through the directory descriptor: a directory that was removed and
    // recreated must not pass for the one we wrote.
    const auto file_path = path_ / std::string(name);
    UniqueFd fd(::open(file_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return media_error(errno, file_path, "open for read-back");
    // The pages were written and fsynced; dropping them makes the read come from the medium
    // (a no-op on tmpfs, where the page cache is the medium).
    (void)::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED);
    std::vector<uint8_t> buffer(kReadBackChunk);
    while (true) {
      const ssize_t got = ::read(fd.get(), buffer.data(), buffer.size());
      if (got < 0) {
        if (errno == EINTR) continue;
        return media_error(errno, file_path, "read back");
      }
      if (got == 0) break;
      YW_TRY(sink({buffer.data(), static_cast<size_t>(got)}));
    }
    return {};
  }

  Result<std::vector<std::string>> list_files() override {
    YW_TRY(check_present());
    std::vector<std::string> names;
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(path_, error)) {
      names.push_back(entry.path().filename().string());
    }
    if (error) return media_error(error.value(), path_, "list");
    std::sort(names.begin(), names.end());
    return names;
  }

  Status check_present() override {
    struct stat opened {};
    if (::fstat(dir_fd_.get(), &opened) != 0) return media_error(errno, path_, "fstat");
    if (opened.st_nlink == 0) {
      return make_error(ErrorKind::kUnavailable, "the export directory " + path_.string() +
                                                     " was removed while the bundle was written "
                                                     "(stick pulled or directory deleted)");
    }
    struct stat named {};
    if (::stat(path_.c_str(), &named) != 0) return media_error(errno, path_, "stat");
    if (named.st_dev != device_ || named.st_ino != inode_) {
      return make_error(ErrorKind::kUnavailable,
                        "the export directory " + path_.string() +
                            " is no longer the one the export created (medium replaced?)");
    }
    return {};
  }

  Status remove_all() override {
    std::lock_guard lock(mutex_);
    Status first_error;
    for (const auto& name : created_) {
      if (::unlinkat(dir_fd_.get(), name.c_str(), 0) != 0 && errno != ENOENT && first_error.ok()) {
        first_error = media_error(errno, path_ / name, "remove");
      }
    }
    if (check_present().ok()) {
      if (::rmdir(path_.c_str()) != 0 && errno != ENOENT && first_error.ok()) {
        first_error = media_error(errno, path_, "remove directory");
      }
    }
    return first_error;
  }

  Result<uint64_t> free_bytes() override {
    struct statvfs info {};
    if (::fstatvfs(dir_fd_.get(), &info) != 0) return media_error(errno, path_, "statvfs");
    return static_cast<uint64_t>(info.f_bavail) * info.f_frsize;
  }

 private:
  static Status check_name(std::string_view name) {
    if (!valid_media_file_name(name)) {
      return make_error(ErrorKind::kInvalidArgument,
                        "not a plain file name for an export medium: '" + std::string(name) + "'");
    }
    return {};
  }

  std::filesystem::path path_;
  UniqueFd dir_fd_;
  dev_t device_;
  ino_t inode_;
  // Files of one bundle are written from several threads (one per footage file).
  std::mutex mutex_;
  std::vector<std::string> created_;
};

Result<uint64_t> statvfs_bytes(const std::filesystem::path& path, bool free) {
  struct statvfs info {};
  if (::statvfs(path.c_str(), &info) != 0) return media_error(errno, path, "statvfs");
  return static_cast<uint64_t>(free ? info.f_bavail : info.f_blocks) * info.f_frsize;
}

}  // namespace

bool valid_media_file_name(std::string_view name) {
  if (name.empty() || name.size() > 128 || name.front() == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

Result<std::unique_ptr<MediaTarget>> open_directory_target(const std::filesystem::path& directory) {
  if (directory.empty() || !directory.has_filename()) {
    return make_error(ErrorKind::kInvalidArgument,
                      "the export directory needs a name: '" + directory.string() + "'");
  }
  if (::mkdir(directory.c_str(), 0700) != 0) {
    if (errno == EEXIST) {
      return make_error(
          ErrorKind::kAlreadyExists,
          directory.string() + " already exists; an export always goes into a new directory");
    }
    return media_error(errno, directory, "create directory");
  }
  UniqueFd fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  struct stat info {};
  if (!fd.valid() || ::fstat(fd.get(), &info) != 0) {
    const int error = errno;
    ::rmdir(directory.c_str());
    return media_error(error, directory, "open directory");
  }
  // The new entry must survive a power cut like the files in it.
  if (auto parent = directory.parent_path(); !parent.empty()) {
    UniqueFd parent_fd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (parent_fd.valid()) (void)::fsync(parent_fd.get());
  }
  return std::unique_ptr<MediaTarget>(
      std::make_unique<DirectoryTarget>(directory, std::move(fd), info.st_dev, info.st_ino));
}

DirectoryMedia::DirectoryMedia(std::filesystem::path root, std::string label)
    : root_(std::move(root)), label_(std::move(label)) {}

std::string DirectoryMedia::id() const { return "dir:" + root_.string(); }

Result<std::vector<MediaInfo>> DirectoryMedia::list() {
  std::error_code error;
  if (!std::filesystem::is_directory(root_, error)) return std::vector<MediaInfo>{};
  MediaInfo info;
  info.id = id();
  info.label = label_;
  info.root = root_;
  YW_ASSIGN_OR_RETURN(info.free_bytes, statvfs_bytes(root_, true));
  YW_ASSIGN_OR_RETURN(info.total_bytes, statvfs_bytes(root_, false));
  return std::vector<MediaInfo>{info};
}

Result<std::unique_ptr<MediaTarget>> DirectoryMedia::create_target(
    const std::string& media_id, const std::string& directory_name) {
  if (media_id != id()) {
    return make_error(ErrorKind::kNotFound, "no export medium '" + media_id + "'");
  }
  if (!valid_media_file_name(directory_name)) {
    return make_error(ErrorKind::kInvalidArgument,
                      "not a plain directory name: '" + directory_name + "'");
  }
  return open_directory_target(root_ / directory_name);
}

}  // namespace yardwatch::hal
