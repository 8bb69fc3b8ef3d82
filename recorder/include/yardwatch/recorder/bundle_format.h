#pragma once

// The police export bundle's byte formats (recorder/design/bundle.md): the passphrase key
// derivation, the encrypted footage file (header, secretstream chunking, associated data), and
// the manifest (its JSON shape and a strict parser for untrusted input). The export writer and
// the offline verifier (`yardwatch-verify`, tools/verify) compile this same file, so it depends
// only on libsodium, nlohmann-json and hal's Result and time formatting: no SQLite, no
// GStreamer, no catalog.

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "yardwatch/hal/result.h"

namespace yardwatch::recorder::bundle_format {

// ---- Names ----
constexpr std::string_view kFormatName = "yardwatch-police-bundle";
// A subject access export (R7; firmware/design/subject_export.md): the same layout, encryption
// and signature, but its own format name and a "kind" and "request_reference" field, so no
// verifier can take it for a police export (nor a police export for one).
constexpr std::string_view kSubjectFormatName = "yardwatch-subject-bundle";
constexpr std::string_view kSubjectAccessKind = "subject_access";
constexpr int64_t kFormatVersion = 1;
constexpr std::string_view kManifestName = "manifest.json";
constexpr std::string_view kSignatureName = "manifest.sig";
constexpr std::string_view kReadmeName = "README.txt";
constexpr std::string_view kVerifyPageName = "verify.html";
constexpr std::string_view kEncryptedSuffix = ".mp4.enc";
constexpr std::string_view kCipherName = "xchacha20poly1305-secretstream";
constexpr std::string_view kKdfName = "argon2id13";

// ---- Sizes ----
constexpr size_t kSha256Bytes = 32;
constexpr size_t kPublicKeyBytes = 32;
constexpr size_t kSignatureBytes = 64;
constexpr size_t kExportIdBytes = 16;
constexpr size_t kSaltBytes = 16;          // crypto_pwhash_SALTBYTES
constexpr size_t kDerivedKeyBytes = 64;    // Argon2id output: file key || key-check key
constexpr size_t kFileKeyBytes = 32;       // crypto_secretstream_xchacha20poly1305_KEYBYTES
constexpr size_t kStreamHeaderBytes = 24;  // crypto_secretstream_xchacha20poly1305_HEADERBYTES
constexpr size_t kMessageOverhead = 17;    // crypto_secretstream_xchacha20poly1305_ABYTES

// ---- Encrypted footage file ----
constexpr std::array<uint8_t, 8> kFileMagic = {0x89, 'Y', 'W', 'E', '\r', '\n', 0x1A, '\n'};
constexpr uint32_t kFileFormatVersion = 1;
constexpr size_t kAssociatedDataBytes = 36;  // magic, version, chunk size, export id, index
constexpr size_t kFileHeaderBytes = kAssociatedDataBytes + kStreamHeaderBytes;  // 60
constexpr uint32_t kDefaultChunkBytes = uint32_t{1} << 20;
constexpr uint32_t kMinChunkBytes = uint32_t{1} << 12;
constexpr uint32_t kMaxChunkBytes = uint32_t{16} << 20;

// ---- Passphrase ----
constexpr size_t kMinPassphraseBytes = 12;
constexpr size_t kMaxPassphraseBytes = 1024;
constexpr std::string_view kKeyCheckContext = "yardwatch-bundle-key-check-v1";
// What the appliance writes: libsodium's "moderate" Argon2id cost (about 0.5 s natively, a few
// seconds in a browser), once per bundle.
constexpr uint64_t kDefaultOpsLimit = 3;
constexpr uint64_t kDefaultMemLimit = uint64_t{256} << 20;
// What a verifier accepts from a (possibly hostile) manifest before it spends memory on it.
constexpr uint64_t kMinOpsLimit = 1;
constexpr uint64_t kMaxOpsLimit = 16;
constexpr uint64_t kMinMemLimit = uint64_t{8} << 10;
constexpr uint64_t kMaxMemLimit = uint64_t{1} << 30;

// ---- Manifest limits (a verifier refuses more before doing any work) ----
constexpr size_t kMaxManifestBytes = size_t{8} << 20;
constexpr size_t kMaxFiles = 4096;
constexpr size_t kMaxTextBytes = 2000;

using Sha256 = std::array<uint8_t, kSha256Bytes>;
using ExportId = std::array<uint8_t, kExportIdBytes>;

struct KdfParams {
  std::array<uint8_t, kSaltBytes> salt{};
  uint64_t opslimit = kDefaultOpsLimit;
  uint64_t memlimit = kDefaultMemLimit;
};

// The two 32-byte halves of the Argon2id output, wiped when they go.
class BundleKeys {
 public:
  BundleKeys();
  ~BundleKeys();
  BundleKeys(const BundleKeys&) = delete;
  BundleKeys& operator=(const BundleKeys&) = delete;
  BundleKeys(BundleKeys&& other) noexcept;
  BundleKeys& operator=(BundleKeys&& other) noexcept;
  [[nodiscard]] const uint8_t* file_key() const { return derived_.data(); }
  [[nodiscard]] const uint8_t* check_key() const { return derived_.data() + kFileKeyBytes; }
  [[nodiscard]] uint8_t* derived() { return derived_.data(); }

 private:
  std::array<uint8_t, kDerivedKeyBytes> derived_{};
};

// The passphrase file's first line without its line ending ("\n" or "\r\n"); the bytes are
// used as they are (UTF-8, no normalisation).
std::string passphrase_from_file_text(std::string_view text);
// 12–1024 bytes, not only spaces.
Status check_passphrase(std::string_view passphrase);
// Argon2id (crypto_pwhash, ALG_ARGON2ID13) → 64 bytes. kInvalidArgument for parameters outside
// the limits above; kResourceExhausted if the memory cannot be had.
Result<BundleKeys> derive_keys(std::string_view passphrase, const KdfParams& params);
// BLAKE2b-256 keyed with the key-check key over kKeyCheckContext: tells a wrong passphrase from
// a damaged file without decrypting anything.
Sha256 key_check(const BundleKeys& keys);

struct FileHeader {
  uint32_t chunk_bytes = kDefaultChunkBytes;
  ExportId export_id{};
  uint32_t file_index = 0;
  std::array<uint8_t, kStreamHeaderBytes> stream_header{};
};
// Bytes 0–35 of the header: the associated data of every message of the file.
std::array<uint8_t, kAssociatedDataBytes> associated_data(uint32_t chunk_bytes,
                                                          const ExportId& export_id,
                                                          uint32_t file_index);
std::array<uint8_t, kFileHeaderBytes> encode_file_header(const FileHeader& header);
// kDataLoss with the reason for a bad magic, version or chunk size.
Result<FileHeader> decode_file_header(std::span<const uint8_t> bytes);
// The size of the encrypted file for `plaintext_bytes` of MP4.
uint64_t encrypted_size(uint64_t plaintext_bytes, uint32_t chunk_bytes);

// Encrypts one footage file as it streams: full chunks are sealed as TAG_MESSAGE once the next
// byte arrives, the last (possibly short) chunk as TAG_FINAL by `finish`. `emit` receives the
// header first and then each sealed message.
class FileEncryptor {
 public:
  using Emit = std::function<Status(std::span<const uint8_t>)>;
  FileEncryptor(const BundleKeys& keys, uint32_t chunk_bytes, const ExportId& export_id,
                uint32_t file_index, Emit emit);
  ~FileEncryptor();
  FileEncryptor(const FileEncryptor&) = delete;
  FileEncryptor& operator=(const FileEncryptor&) = delete;

  Status write(std::span<const uint8_t> plaintext);
  Status finish();

 private:
  Status seal(bool final);
  struct State;
  std::unique_ptr<State> state_;
};

// Decrypts one footage file message by message. The caller splits the file: after the header,
// every message is chunk_bytes + 17 bytes except the last, which is shorter or equal.
class FileDecryptor {
 public:
  // Starts the pull stream with the associated data the manifest entry implies (export id,
  // index); a header that names another export or entry is kDataLoss.
  static Result<std::unique_ptr<FileDecryptor>> start(const BundleKeys& keys,
                                                      std::span<const uint8_t> header_bytes,
                                                      const ExportId& export_id,
                                                      uint32_t file_index);
  ~FileDecryptor();
  FileDecryptor(const FileDecryptor&) = delete;
  FileDecryptor& operator=(const FileDecryptor&) = delete;

  [[nodiscard]] uint32_t chunk_bytes() const;
  // The size of the next message given how many bytes of the file are left.
  [[nodiscard]] uint64_t next_message_bytes(uint64_t remaining) const;
  // Decrypts one message into `plaintext`; returns whether it was the FINAL one. kDataLoss if it
  // does not authenticate or has the wrong size for its tag.
  Result<bool> pull(std::span<const uint8_t> message, std::vector<uint8_t>& plaintext);

 private:
  FileDecryptor();
  struct State;
  std::unique_ptr<State> state_;
};

// ---- Manifest ----

struct Person {
  std::string name;
  std::string role;
};

struct SourceSegment {
  int64_t id = 0;
  int64_t start_utc_us = 0;
  int64_t end_utc_us = 0;
  std::string sha256;       // hex: the catalog's record, made when the segment was closed
  std::string time_source;  // synchronised | unsynchronised | unknown
};

struct FileEntry {
  uint32_t index = 0;
  std::string name;
  std::string camera;
  std::string zone;
  std::string location;
  int64_t start_utc_us = 0;
  int64_t end_utc_us = 0;
  int64_t duration_us = 0;
  std::string codec;  // h264 | h265
  uint32_t width = 0;
  uint32_t height = 0;
  uint64_t frames = 0;
  std::string time_source;
  uint64_t mp4_bytes = 0;
  std::string mp4_sha256;  // hex, of the decrypted MP4
  uint64_t encrypted_bytes = 0;
  std::string encrypted_sha256;  // hex, of the file as stored in the bundle
  std::vector<SourceSegment> source_segments;
};

struct Gap {
  int64_t from_utc_us = 0;
  int64_t to_utc_us = 0;
};

struct CameraEntry {
  std::string name;
  std::string zone;
  std::string location;
  std::vector<uint32_t> files;  // indexes into Manifest::files
  std::vector<Gap> gaps;        // parts of the requested range with no footage
};

struct SupportFile {
  std::string name;
  uint64_t bytes = 0;
  std::string sha256;
};

enum class BundleKind { kPolice, kSubjectAccess };

struct Manifest {
  BundleKind kind = BundleKind::kPolice;
  // Subject exports: the reference of the access request in the appliance's register (equal to
  // case_reference); empty for police exports.
  std::string request_reference;
  int64_t format_version = kFormatVersion;
  std::string export_id;  // UUID text
  int64_t created_utc_us = 0;
  std::string clock_at_export;  // the time source state when the bundle was made
  std::string device_id;
  std::string device_name;
  std::string device_public_key;  // hex
  std::string device_fingerprint;
  std::string case_reference;
  std::string legal_basis;
  std::string recipient;
  Person requested_by;
  Person approved_by;
  int64_t from_utc_us = 0;
  int64_t to_utc_us = 0;
  uint32_t chunk_bytes = kDefaultChunkBytes;
  std::string kdf_salt;  // hex
  uint64_t kdf_opslimit = kDefaultOpsLimit;
  uint64_t kdf_memlimit = kDefaultMemLimit;
  std::string key_check;  // hex
  std::vector<CameraEntry> cameras;
  std::vector<FileEntry> files;
  std::vector<SupportFile> support_files;
};

// The exact bytes of manifest.json: UTF-8, two-space indented, fields in the documented order,
// a final newline.
std::string serialize_manifest(const Manifest& manifest);
// Strict: every field present with its type, times consistent, hex of the right length, names
// plain and unique, indexes in order, sizes within the limits. kDataLoss naming the field.
Result<Manifest> parse_manifest(std::string_view text);

// Helpers shared by writer and verifier.
std::string to_hex(std::span<const uint8_t> bytes);
std::optional<std::vector<uint8_t>> from_hex(std::string_view hex);
std::string export_id_text(const ExportId& id);
// A random (version 4) UUID.
ExportId new_export_id();
std::optional<ExportId> parse_export_id(std::string_view text);
KdfParams kdf_params(const Manifest& manifest);  // call only on a parsed manifest
// Ed25519 over the exact manifest bytes.
std::array<uint8_t, kSignatureBytes> sign_manifest(std::string_view manifest_bytes,
                                                   std::span<const uint8_t> secret_key);
bool manifest_signature_valid(std::string_view manifest_bytes, std::span<const uint8_t> signature,
                              std::span<const uint8_t> public_key);
// The first 16 bytes of SHA-256(public key), hex in groups of four (the audit journal's and
// `yardwatch status`'s fingerprint).
std::string key_fingerprint(std::span<const uint8_t> public_key);

}  // namespace yardwatch::recorder::bundle_format
