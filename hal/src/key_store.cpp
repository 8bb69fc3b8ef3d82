#include "yardwatch/hal/key_store.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>

#include "yardwatch/hal/unique_fd.h"

namespace yardwatch::hal {

namespace fs = std::filesystem;

namespace {

constexpr const char* kMasterKeyFile = "master.key";
constexpr const char* kSigningKeyFile = "signing.key";

Status write_key_file(const fs::path& path, const SecretBytes& key) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return errno_error(errno, "create key file " + path.string());
  size_t written = 0;
  while (written < key.size()) {
    ssize_t n = ::write(fd.get(), key.data() + written, key.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(errno, "write key file " + path.string());
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return errno_error(errno, "fsync key file " + path.string());
  return {};
}

// Key material must be private to its owner: refuse group/other access of any kind.
Status check_private(const fs::path& path, const struct stat& info) {
  if ((info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%03o", info.st_mode & 0777);
    return make_error(ErrorKind::kPermissionDenied,
                      path.string() + " is accessible to other users (mode " + mode +
                          "); refusing to use it. Restrict it with chmod go-rwx.");
  }
  if (info.st_uid != ::geteuid()) {
    return make_error(ErrorKind::kPermissionDenied,
                      path.string() + " is not owned by the user running Yardwatch");
  }
  return {};
}

Result<SecretBytes> read_key_file(const fs::path& path, size_t expected_size) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return errno_error(errno, "open key file " + path.string());
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) return errno_error(errno, "stat " + path.string());
  YW_TRY(check_private(path, info));
  if (static_cast<size_t>(info.st_size) != expected_size) {
    return make_error(ErrorKind::kDataLoss, path.string() + " has " + std::to_string(info.st_size) +
                                                " bytes, expected " +
                                                std::to_string(expected_size));
  }
  SecretBytes key(expected_size);
  size_t done = 0;
  while (done < expected_size) {
    ssize_t n = ::read(fd.get(), key.data() + done, expected_size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return errno_error(n < 0 ? errno : EIO, "read key file " + path.string());
    done += static_cast<size_t>(n);
  }
  return key;
}

}  // namespace

fs::path default_key_dir(const fs::path& data_dir) {
  fs::path absolute = fs::absolute(data_dir).lexically_normal();
  if (absolute.has_filename() == false) absolute = absolute.parent_path();
  return absolute.parent_path() / (absolute.filename().string() + ".keys");
}

Result<std::unique_ptr<FileKeyStore>> FileKeyStore::create(const fs::path& directory) {
  if (sodium_init() < 0) return make_error(ErrorKind::kInternal, "libsodium failed to initialise");
  if (::mkdir(directory.c_str(), 0700) != 0 && errno != EEXIST) {
    return errno_error(errno, "create key directory " + directory.string());
  }
  ::chmod(directory.c_str(), 0700);
  if (fs::exists(directory / kMasterKeyFile) || fs::exists(directory / kSigningKeyFile)) {
    return make_error(ErrorKind::kAlreadyExists,
                      "keys already exist in " + directory.string() + "; refusing to replace them");
  }
  SecretBytes master(kMasterKeyBytes);
  crypto_secretbox_keygen(master.data());
  SecretBytes signing(kSigningSecretKeyBytes);
  std::array<uint8_t, kSigningPublicKeyBytes> public_key{};
  crypto_sign_keypair(public_key.data(), signing.data());
  YW_TRY(write_key_file(directory / kMasterKeyFile, master));
  YW_TRY(write_key_file(directory / kSigningKeyFile, signing));
  UniqueFd dir_fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.valid()) ::fsync(dir_fd.get());
  return std::unique_ptr<FileKeyStore>(new FileKeyStore(std::move(master), std::move(signing)));
}

Result<std::unique_ptr<FileKeyStore>> FileKeyStore::open(const fs::path& directory) {
  if (sodium_init() < 0) return make_error(ErrorKind::kInternal, "libsodium failed to initialise");
  struct stat info {};
  if (::stat(directory.c_str(), &info) != 0) {
    return errno_error(errno, "key directory " + directory.string() + " (run `yardwatch init`)");
  }
  YW_TRY(check_private(directory, info));
  YW_ASSIGN_OR_RETURN(SecretBytes master,
                      read_key_file(directory / kMasterKeyFile, kMasterKeyBytes));
  YW_ASSIGN_OR_RETURN(SecretBytes signing,
                      read_key_file(directory / kSigningKeyFile, kSigningSecretKeyBytes));
  return std::unique_ptr<FileKeyStore>(new FileKeyStore(std::move(master), std::move(signing)));
}

std::array<uint8_t, kSigningPublicKeyBytes> FileKeyStore::signing_public_key() const {
  std::array<uint8_t, kSigningPublicKeyBytes> public_key{};
  crypto_sign_ed25519_sk_to_pk(public_key.data(), signing_key_.data());
  return public_key;
}

std::string key_fingerprint(std::span<const uint8_t> public_key) {
  constexpr size_t kFingerprintBytes = 16;
  if (sodium_init() < 0) std::abort();
  std::array<uint8_t, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256(digest.data(), public_key.data(), public_key.size());
  std::array<char, kFingerprintBytes * 2 + 1> hex{};
  sodium_bin2hex(hex.data(), hex.size(), digest.data(), kFingerprintBytes);
  std::string grouped;
  for (size_t i = 0; i < kFingerprintBytes * 2; i += 4) {
    if (i != 0) grouped += ' ';
    grouped.append(hex.data() + i, 4);
  }
  return grouped;
}

}  // namespace yardwatch::hal
