#pragma once

// The audit journal's byte formats (firmware/design/audit.md): the canonical encoding that each
// entry's BLAKE2b-256 hash covers, the messages a checkpoint and a pruning anchor sign, and the
// device-key fingerprint. The offline verifier (`yardwatch-verify --audit`) compiles this same
// file, so it depends only on libsodium and the standard library: no SQLite, no JSON, no hal.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace yardwatch::firmware::audit_format {

constexpr size_t kHashBytes = 32;       // BLAKE2b-256
constexpr size_t kPublicKeyBytes = 32;  // crypto_sign_PUBLICKEYBYTES
constexpr size_t kSecretKeyBytes = 64;  // crypto_sign_SECRETKEYBYTES
constexpr size_t kSignatureBytes = 64;  // crypto_sign_BYTES
constexpr size_t kFingerprintBytes = 16;

// Domain separation: an entry hash can never be mistaken for any other hash or signed message.
constexpr std::string_view kEntryDomain = "yardwatch-audit-v1";
constexpr std::string_view kCheckpointDomain = "yardwatch-audit-checkpoint-v1";
constexpr std::string_view kAnchorDomain = "yardwatch-audit-anchor-v1";
// The `format` of the export's first line.
constexpr std::string_view kExportFormat = "yardwatch-audit-export-v1";

using Hash = std::array<uint8_t, kHashBytes>;

// Every field of one entry that its hash covers, as plain values (the firmware's AuditEntry and
// the verifier's parsed JSON line both convert to this).
struct EntryFields {
  int64_t seq = 0;
  int64_t time_utc_us = 0;
  std::optional<int64_t> actor_id;
  std::string actor_name;
  std::string actor_role;
  std::string client_address;
  std::string action;
  std::string object_type;
  std::string object_id;
  std::string camera;
  std::optional<int64_t> range_from_utc_us;
  std::optional<int64_t> range_to_utc_us;
  std::string purpose;
  std::string outcome;  // "allowed" or "denied"
  std::string reason;
  std::string details;  // the exact bytes of the JSON object text
  std::vector<uint8_t> prev_hash;
};

// The canonical encoding (design/audit.md §Canonical encoding). Strings and byte fields are
// u32 little-endian length + bytes, integers i64 little-endian, optionals a presence byte (0/1)
// followed by the value when present. No field may exceed 4 GiB (the journal caps them far
// lower; the verifier refuses longer ones before encoding).
std::vector<uint8_t> encode_entry(const EntryFields& entry);
// BLAKE2b-256 (crypto_generichash, no key) of encode_entry(entry).
Hash entry_hash(const EntryFields& entry);
// The prev_hash of the first entry.
constexpr Hash kGenesisPrevHash{};
// For an entry whose hash does not hold at its own seq: the seq within `distance` of it at which
// the hash does hold, i.e. the place it was written at before it was moved. A diagnosis only
// ("out of order" rather than "edited"); nullopt if there is none.
std::optional<int64_t> written_as(EntryFields fields, std::span<const uint8_t> stored_hash,
                                  int64_t distance = 64);

// kCheckpointDomain || seq (i64 LE) || head_hash (32 bytes) || time (i64 LE): fixed lengths,
// so plain concatenation is unambiguous. nullopt if head_hash is not 32 bytes.
std::optional<std::vector<uint8_t>> checkpoint_message(int64_t seq,
                                                       std::span<const uint8_t> head_hash,
                                                       int64_t time_utc_us);
// Ed25519 (crypto_sign_detached) over checkpoint_message. nullopt if a size is wrong.
std::optional<std::array<uint8_t, kSignatureBytes>> sign_checkpoint(
    int64_t seq, std::span<const uint8_t> head_hash, int64_t time_utc_us,
    std::span<const uint8_t> secret_key);
// false for a wrong size of any input or a signature that does not verify.
bool checkpoint_signature_valid(int64_t seq, std::span<const uint8_t> head_hash,
                                int64_t time_utc_us, std::span<const uint8_t> public_key,
                                std::span<const uint8_t> signature);

// kAnchorDomain || seq (i64 LE) || hash (32 bytes) || time (i64 LE): the boundary pruning left,
// i.e. the last pruned entry and its hash (the prev_hash of the entry after it). Same layout as
// a checkpoint message under its own domain, so neither signature is ever valid as the other.
// nullopt if hash is not 32 bytes.
std::optional<std::vector<uint8_t>> anchor_message(int64_t seq, std::span<const uint8_t> hash,
                                                   int64_t time_utc_us);
// Ed25519 (crypto_sign_detached) over anchor_message. nullopt if a size is wrong.
std::optional<std::array<uint8_t, kSignatureBytes>> sign_anchor(
    int64_t seq, std::span<const uint8_t> hash, int64_t time_utc_us,
    std::span<const uint8_t> secret_key);
// false for a wrong size of any input or a signature that does not verify.
bool anchor_signature_valid(int64_t seq, std::span<const uint8_t> hash, int64_t time_utc_us,
                            std::span<const uint8_t> public_key,
                            std::span<const uint8_t> signature);

// The first 16 bytes of SHA-256(public key), lower-case hex in groups of four characters:
// "3f2a 9c01 …" (8 groups). Printed by `yardwatch-verify` and on the handover form.
std::string key_fingerprint(std::span<const uint8_t> public_key);
// Lower-case hex without separators, for comparing a fingerprint typed by a person (spaces,
// colons and dashes dropped). nullopt if anything else is in it.
std::optional<std::string> normalize_fingerprint(std::string_view text);

// ISO-8601 UTC as the export writes it: "2026-11-25T10:00:00.123456Z", the fraction omitted
// when zero. The same text as hal::format_iso8601_utc, repeated because the verifier links no
// hal.
std::string format_utc(int64_t utc_us);

std::string to_hex(std::span<const uint8_t> bytes);
// Strict: an even number of hex digits and nothing else. nullopt otherwise.
std::optional<std::vector<uint8_t>> from_hex(std::string_view hex);

}  // namespace yardwatch::firmware::audit_format
