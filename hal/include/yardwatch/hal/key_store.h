#pragma once

// hal::KeyStore holds the device master key (the KEK that wraps every segment key) and the
// device's Ed25519 signing key. On host-sim they are files in a root-only directory outside the
// data directory; on boards with a TPM the master key is sealed there (issue 7).

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include "yardwatch/hal/result.h"
#include "yardwatch/hal/secret.h"

namespace yardwatch::hal {

constexpr size_t kMasterKeyBytes = 32;
constexpr size_t kSigningSecretKeyBytes = 64;  // crypto_sign_SECRETKEYBYTES
constexpr size_t kSigningPublicKeyBytes = 32;  // crypto_sign_PUBLICKEYBYTES

class KeyStore {
 public:
  virtual ~KeyStore() = default;
  [[nodiscard]] virtual const SecretBytes& master_key() const = 0;
  [[nodiscard]] virtual const SecretBytes& signing_secret_key() const = 0;
  [[nodiscard]] virtual std::array<uint8_t, kSigningPublicKeyBytes> signing_public_key() const = 0;
};

// Key files in a directory of their own: master.key (32 bytes), signing.key (64 bytes).
class FileKeyStore final : public KeyStore {
 public:
  // Creates the directory (0700) and fresh keys (0600). Refuses if keys already exist.
  static Result<std::unique_ptr<FileKeyStore>> create(const std::filesystem::path& directory);
  // Loads existing keys. Refuses if the directory or a key file can be read or written by
  // anyone but the owner, or if a file has the wrong size.
  static Result<std::unique_ptr<FileKeyStore>> open(const std::filesystem::path& directory);

  [[nodiscard]] const SecretBytes& master_key() const override { return master_key_; }
  [[nodiscard]] const SecretBytes& signing_secret_key() const override { return signing_key_; }
  [[nodiscard]] std::array<uint8_t, kSigningPublicKeyBytes> signing_public_key() const override;

 private:
  FileKeyStore(SecretBytes master_key, SecretBytes signing_key)
      : master_key_(std::move(master_key)), signing_key_(std::move(signing_key)) {}
  SecretBytes master_key_;
  SecretBytes signing_key_;
};

// The key directory that belongs to a data directory when none is given: a sibling named
// "<data-dir>.keys", so the keys never sit inside the data volume.
std::filesystem::path default_key_dir(const std::filesystem::path& data_dir);

// The device key's fingerprint as people compare it (handover form, `yardwatch status`, the
// verifiers): the first 16 bytes of SHA-256 of the public key, lower-case hex in groups of four
// ("3f2a 9c01 …", 8 groups). Shared by the audit journal and the police bundle formats.
std::string key_fingerprint(std::span<const uint8_t> public_key);

}  // namespace yardwatch::hal
