#include "private_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "yardwatch/hal/unique_fd.h"

namespace yardwatch::firmware {

namespace fs = std::filesystem;

Status write_private_file(const fs::path& path, const std::string& text,
                          std::optional<FileOwner> owner) {
  const fs::path temporary = path.string() + ".tmp";
  ::unlink(temporary.c_str());
  hal::UniqueFd fd(
      ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return errno_error(errno, "create " + temporary.string());
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd.get(), text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error(errno, "write " + temporary.string());
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return errno_error(errno, "fsync " + temporary.string());
  if (owner && ::fchown(fd.get(), owner->uid, owner->gid) != 0) {
    return errno_error(errno, "chown " + temporary.string());
  }
  fd.reset();
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    return errno_error(errno, "rename to " + path.string());
  }
  return {};
}

}  // namespace yardwatch::firmware
