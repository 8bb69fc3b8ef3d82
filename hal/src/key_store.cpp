#include "yardwatch/hal/key_store.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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
  if (fs::exists(directory / kMasterKeyFile) || fs::exists(directory / kSigningKeyFile) ||
      fs::exists(directory / "device-keys.tpm")) {
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

}  // namespace yardwatch::hal

namespace yardwatch::hal {

namespace {

constexpr const char* kSealedBlobFile = "device-keys.tpm";

// Overwrites a regular file with zeros, fsyncs and unlinks it.
Status shred_file(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return errno_error(errno, "open " + path.string());
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) return errno_error(errno, "stat " + path.string());
  std::array<uint8_t, 4096> zeros{};
  auto remaining = static_cast<uint64_t>(info.st_size);
  while (remaining > 0) {
    const size_t chunk = static_cast<size_t>(std::min<uint64_t>(remaining, zeros.size()));
    const ssize_t n = ::write(fd.get(), zeros.data(), chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return errno_error(n < 0 ? errno : EIO, "overwrite " + path.string());
    remaining -= static_cast<uint64_t>(n);
  }
  if (::fsync(fd.get()) != 0) return errno_error(errno, "fsync " + path.string());
  fd.reset();
  if (::unlink(path.c_str()) != 0) return errno_error(errno, "unlink " + path.string());
  return {};
}

}  // namespace

SimulatedKeyStore::SimulatedKeyStore()
    : master_key_(kMasterKeyBytes), signing_key_(kSigningSecretKeyBytes) {
  if (sodium_init() < 0) std::abort();  // no crypto at all: nothing sensible to do in a test
  crypto_secretbox_keygen(master_key_.data());
  std::array<uint8_t, kSigningPublicKeyBytes> public_key{};
  crypto_sign_keypair(public_key.data(), signing_key_.data());
}

std::array<uint8_t, kSigningPublicKeyBytes> SimulatedKeyStore::signing_public_key() const {
  std::array<uint8_t, kSigningPublicKeyBytes> public_key{};
  crypto_sign_ed25519_sk_to_pk(public_key.data(), signing_key_.data());
  return public_key;
}

Result<std::unique_ptr<KeyStore>> create_key_store(const KeyStoreOptions& options) {
  KeyStoreKind kind = options.kind;
  if (kind == KeyStoreKind::kAuto) {
    // A TPM that is present but does not answer is a fault to report, not a reason to fall back
    // to files silently; only its absence is.
    const std::string device_prefix = "device:";
    const bool device_tcti = options.tpm_tcti.rfind(device_prefix, 0) == 0;
    const std::string device = device_tcti ? options.tpm_tcti.substr(device_prefix.size()) : "";
    kind = (!device_tcti || fs::exists(device)) ? KeyStoreKind::kTpm : KeyStoreKind::kFile;
  }
  if (kind == KeyStoreKind::kTpm) {
    YW_ASSIGN_OR_RETURN(auto store, TpmKeyStore::create(options.directory, options.tpm_tcti));
    return std::unique_ptr<KeyStore>(std::move(store));
  }
  YW_ASSIGN_OR_RETURN(auto store, FileKeyStore::create(options.directory));
  return std::unique_ptr<KeyStore>(std::move(store));
}

Result<std::unique_ptr<KeyStore>> open_key_store(const KeyStoreOptions& options) {
  if (fs::exists(options.directory / kSealedBlobFile)) {
    YW_ASSIGN_OR_RETURN(auto store, TpmKeyStore::open(options.directory, options.tpm_tcti));
    return std::unique_ptr<KeyStore>(std::move(store));
  }
  if (options.kind == KeyStoreKind::kTpm && !fs::exists(options.directory / kMasterKeyFile)) {
    return make_error(
        ErrorKind::kNotFound,
        "no TPM-sealed device keys in " + options.directory.string() + " (run `yardwatch init`)");
  }
  YW_ASSIGN_OR_RETURN(auto store, FileKeyStore::open(options.directory));
  return std::unique_ptr<KeyStore>(std::move(store));
}

Result<DestroyedKeys> destroy_key_store(const KeyStoreOptions& options) {
  DestroyedKeys destroyed;
  std::error_code error;
  if (!fs::exists(options.directory, error)) {
    return make_error(ErrorKind::kNotFound,
                      "there is no key directory " + options.directory.string());
  }
  if (fs::exists(options.directory / kSealedBlobFile, error)) {
    YW_TRY(TpmKeyStore::clear_tpm(options.tpm_tcti));
    destroyed.tpm_cleared = true;
  }
  for (const auto& entry : fs::directory_iterator(options.directory, error)) {
    if (!entry.is_regular_file(error) || entry.is_symlink(error)) continue;
    YW_TRY(shred_file(entry.path()));
    destroyed.files.push_back(entry.path().filename().string());
  }
  if (error)
    return make_error(ErrorKind::kInternal,
                      "list " + options.directory.string() + ": " + error.message());
  UniqueFd dir_fd(::open(options.directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.valid()) ::fsync(dir_fd.get());
  std::sort(destroyed.files.begin(), destroyed.files.end());
  return destroyed;
}

}  // namespace yardwatch::hal
