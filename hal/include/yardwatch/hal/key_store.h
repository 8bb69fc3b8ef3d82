#pragma once

// hal::KeyStore holds the device master key (the KEK that wraps every segment key) and the
// device's Ed25519 signing key. On host-sim they are files in an owner-only directory outside the
// data directory; on boards with a TPM 2.0 both are sealed by the TPM and the directory holds
// only the sealed blob, which no other TPM can open (firmware/design/appliance.md §Keys).

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "yardwatch/hal/result.h"
#include "yardwatch/hal/secret.h"

namespace yardwatch::hal {

constexpr size_t kMasterKeyBytes = 32;
constexpr size_t kSigningSecretKeyBytes = 64;  // crypto_sign_SECRETKEYBYTES
constexpr size_t kSigningPublicKeyBytes = 32;  // crypto_sign_PUBLICKEYBYTES

class KeyStore {
 public:
  virtual ~KeyStore() = default;
  // "file", "tpm" or "simulated": shown by `yardwatch status`.
  [[nodiscard]] virtual std::string_view kind() const { return "file"; }
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
  [[nodiscard]] std::string_view kind() const override { return "file"; }

 private:
  FileKeyStore(SecretBytes master_key, SecretBytes signing_key)
      : master_key_(std::move(master_key)), signing_key_(std::move(signing_key)) {}
  SecretBytes master_key_;
  SecretBytes signing_key_;
};

// Both keys sealed by a TPM 2.0 (tpm2-tss ESAPI): a keyed-hash object holding the master key
// and the signing key's 32-byte seed, created under the owner hierarchy's storage root key (the
// TCG's ECC P-256 template, re-derived at every start and never stored). The directory holds
// only `device-keys.tpm` (the object's public and TPM-encrypted private part); it is useless
// without this TPM, and useless with it after a TPM2_Clear (factory reset).
class TpmKeyStore final : public KeyStore {
 public:
  // `tcti`: how to reach the TPM, e.g. "device:/dev/tpmrm0", or "swtpm:host=127.0.0.1,port=N"
  // for a software TPM in tests.
  static Result<std::unique_ptr<TpmKeyStore>> create(const std::filesystem::path& directory,
                                                     const std::string& tcti);
  static Result<std::unique_ptr<TpmKeyStore>> open(const std::filesystem::path& directory,
                                                   const std::string& tcti);
  // Clears the TPM's owner hierarchy (TPM2_Clear through the lockout hierarchy, empty
  // authorisation): every object ever sealed under it, in any copy of the blob, becomes
  // unusable.
  static Status clear_tpm(const std::string& tcti);

  [[nodiscard]] const SecretBytes& master_key() const override { return master_key_; }
  [[nodiscard]] const SecretBytes& signing_secret_key() const override { return signing_key_; }
  [[nodiscard]] std::array<uint8_t, kSigningPublicKeyBytes> signing_public_key() const override;
  [[nodiscard]] std::string_view kind() const override { return "tpm"; }

 private:
  TpmKeyStore(SecretBytes master_key, SecretBytes signing_key)
      : master_key_(std::move(master_key)), signing_key_(std::move(signing_key)) {}
  SecretBytes master_key_;
  SecretBytes signing_key_;
};

// The simulated twin for unit tests: fresh random keys in memory, nothing on disk.
class SimulatedKeyStore final : public KeyStore {
 public:
  SimulatedKeyStore();
  [[nodiscard]] const SecretBytes& master_key() const override { return master_key_; }
  [[nodiscard]] const SecretBytes& signing_secret_key() const override { return signing_key_; }
  [[nodiscard]] std::array<uint8_t, kSigningPublicKeyBytes> signing_public_key() const override;
  [[nodiscard]] std::string_view kind() const override { return "simulated"; }

 private:
  SecretBytes master_key_;
  SecretBytes signing_key_;
};

enum class KeyStoreKind {
  kFile,
  kTpm,
  kAuto,  // create: the TPM when the board has one that answers, else files
};

// The board's choice of key store.
struct KeyStoreOptions {
  std::filesystem::path directory;
  KeyStoreKind kind = KeyStoreKind::kFile;
  std::string tpm_tcti = "device:/dev/tpmrm0";
};

// Creates fresh device keys as the options say.
Result<std::unique_ptr<KeyStore>> create_key_store(const KeyStoreOptions& options);
// Opens the keys in the directory with whatever store created them (a sealed blob means the
// TPM, key files mean files), so a board option cannot silently switch stores.
Result<std::unique_ptr<KeyStore>> open_key_store(const KeyStoreOptions& options);

// What a factory reset destroyed.
struct DestroyedKeys {
  std::vector<std::string> files;  // every file that was in the key directory
  bool tpm_cleared = false;
};

// Factory reset: clears the TPM when a sealed blob is present, then overwrites every regular
// file in the key directory (device keys, TLS key, anything else) with zeros, fsyncs and unlinks
// it. Without the master key, no segment key can be unwrapped: all footage is unreadable.
// (Overwriting cannot promise erasure on flash; the TPM clear can. See the design note.)
Result<DestroyedKeys> destroy_key_store(const KeyStoreOptions& options);

// The key directory that belongs to a data directory when none is given: a sibling named
// "<data-dir>.keys", so the keys never sit inside the data volume.
std::filesystem::path default_key_dir(const std::filesystem::path& data_dir);

// The device key's fingerprint as people compare it (handover form, `yardwatch status`, the
// verifiers): the first 16 bytes of SHA-256 of the public key, lower-case hex in groups of four
// ("3f2a 9c01 …", 8 groups). Shared by the audit journal and the police bundle formats.
std::string key_fingerprint(std::span<const uint8_t> public_key);

}  // namespace yardwatch::hal
