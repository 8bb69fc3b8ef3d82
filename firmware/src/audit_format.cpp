// Compiled into yw_firmware and, unchanged, into the offline verifier (tools/verify): keep it to
// libsodium and the standard library.

#include "yardwatch/firmware/audit_format.h"

#include <sodium.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "yardwatch/hal/clock.h"
#include "yardwatch/hal/key_store.h"

namespace yardwatch::firmware::audit_format {

namespace {

// sodium_init() is idempotent and thread-safe; it picks the fastest implementations. A library
// that cannot initialise cannot hash or verify anything, so stopping is the only honest answer.
void ensure_sodium() {
  static const int ready = sodium_init();
  if (ready < 0) std::abort();
}

void put_u32(std::vector<uint8_t>& out, uint32_t value) {
  for (int shift = 0; shift < 32; shift += 8) out.push_back(static_cast<uint8_t>(value >> shift));
}

void put_i64(std::vector<uint8_t>& out, int64_t value) {
  const auto bits = static_cast<uint64_t>(value);
  for (int shift = 0; shift < 64; shift += 8) out.push_back(static_cast<uint8_t>(bits >> shift));
}

void put_bytes(std::vector<uint8_t>& out, std::span<const uint8_t> bytes) {
  put_u32(out, static_cast<uint32_t>(bytes.size()));
  out.insert(out.end(), bytes.begin(), bytes.end());
}

void put_string(std::vector<uint8_t>& out, std::string_view text) {
  put_bytes(out, {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

void put_optional(std::vector<uint8_t>& out, const std::optional<int64_t>& value) {
  out.push_back(value ? 1 : 0);
  if (value) put_i64(out, *value);
}

// domain || seq (i64 LE) || hash (32 bytes) || time (i64 LE). Every part has a fixed length for
// a given domain, so plain concatenation is unambiguous.
std::optional<std::vector<uint8_t>> signed_message(std::string_view domain, int64_t seq,
                                                   std::span<const uint8_t> hash,
                                                   int64_t time_utc_us) {
  if (hash.size() != kHashBytes) return std::nullopt;
  std::vector<uint8_t> message(domain.begin(), domain.end());
  put_i64(message, seq);
  message.insert(message.end(), hash.begin(), hash.end());
  put_i64(message, time_utc_us);
  return message;
}

std::optional<std::array<uint8_t, kSignatureBytes>> sign_message(
    const std::optional<std::vector<uint8_t>>& message, std::span<const uint8_t> secret_key) {
  ensure_sodium();
  if (!message || secret_key.size() != kSecretKeyBytes) return std::nullopt;
  std::array<uint8_t, kSignatureBytes> signature{};
  if (crypto_sign_detached(signature.data(), nullptr, message->data(), message->size(),
                           secret_key.data()) != 0) {
    return std::nullopt;
  }
  return signature;
}

bool signature_valid(const std::optional<std::vector<uint8_t>>& message,
                     std::span<const uint8_t> public_key, std::span<const uint8_t> signature) {
  ensure_sodium();
  if (!message || public_key.size() != kPublicKeyBytes || signature.size() != kSignatureBytes) {
    return false;
  }
  return crypto_sign_verify_detached(signature.data(), message->data(), message->size(),
                                     public_key.data()) == 0;
}

}  // namespace

std::vector<uint8_t> encode_entry(const EntryFields& entry) {
  std::vector<uint8_t> out;
  out.reserve(256 + entry.details.size() + entry.purpose.size() + entry.reason.size());
  // The order below is the format; changing it (or adding a field) needs a new domain string.
  put_string(out, kEntryDomain);
  put_i64(out, entry.seq);
  put_i64(out, entry.time_utc_us);
  put_optional(out, entry.actor_id);
  put_string(out, entry.actor_name);
  put_string(out, entry.actor_role);
  put_string(out, entry.client_address);
  put_string(out, entry.action);
  put_string(out, entry.object_type);
  put_string(out, entry.object_id);
  put_string(out, entry.camera);
  put_optional(out, entry.range_from_utc_us);
  put_optional(out, entry.range_to_utc_us);
  put_string(out, entry.purpose);
  put_string(out, entry.outcome);
  put_string(out, entry.reason);
  put_string(out, entry.details);
  put_bytes(out, entry.prev_hash);
  return out;
}

Hash entry_hash(const EntryFields& entry) {
  ensure_sodium();
  const std::vector<uint8_t> encoded = encode_entry(entry);
  Hash hash{};
  crypto_generichash(hash.data(), hash.size(), encoded.data(), encoded.size(), nullptr, 0);
  return hash;
}

std::optional<int64_t> written_as(EntryFields fields, std::span<const uint8_t> stored_hash,
                                  int64_t distance) {
  const int64_t place = fields.seq;
  for (int64_t step = 1; step <= distance; ++step) {
    for (int64_t candidate : {place - step, place + step}) {
      if (candidate < 1) continue;
      fields.seq = candidate;
      const Hash hash = entry_hash(fields);
      if (std::equal(hash.begin(), hash.end(), stored_hash.begin(), stored_hash.end())) {
        return candidate;
      }
    }
  }
  return std::nullopt;
}

std::optional<std::vector<uint8_t>> checkpoint_message(int64_t seq,
                                                       std::span<const uint8_t> head_hash,
                                                       int64_t time_utc_us) {
  return signed_message(kCheckpointDomain, seq, head_hash, time_utc_us);
}

std::optional<std::array<uint8_t, kSignatureBytes>> sign_checkpoint(
    int64_t seq, std::span<const uint8_t> head_hash, int64_t time_utc_us,
    std::span<const uint8_t> secret_key) {
  return sign_message(checkpoint_message(seq, head_hash, time_utc_us), secret_key);
}

bool checkpoint_signature_valid(int64_t seq, std::span<const uint8_t> head_hash,
                                int64_t time_utc_us, std::span<const uint8_t> public_key,
                                std::span<const uint8_t> signature) {
  return signature_valid(checkpoint_message(seq, head_hash, time_utc_us), public_key, signature);
}

std::optional<std::vector<uint8_t>> anchor_message(int64_t seq, std::span<const uint8_t> hash,
                                                   int64_t time_utc_us) {
  return signed_message(kAnchorDomain, seq, hash, time_utc_us);
}

std::optional<std::array<uint8_t, kSignatureBytes>> sign_anchor(
    int64_t seq, std::span<const uint8_t> hash, int64_t time_utc_us,
    std::span<const uint8_t> secret_key) {
  return sign_message(anchor_message(seq, hash, time_utc_us), secret_key);
}

bool anchor_signature_valid(int64_t seq, std::span<const uint8_t> hash, int64_t time_utc_us,
                            std::span<const uint8_t> public_key,
                            std::span<const uint8_t> signature) {
  return signature_valid(anchor_message(seq, hash, time_utc_us), public_key, signature);
}

std::string key_fingerprint(std::span<const uint8_t> public_key) {
  return hal::key_fingerprint(public_key);
}

std::optional<std::string> normalize_fingerprint(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == ' ' || c == ':' || c == '-') continue;
    if (std::isxdigit(static_cast<unsigned char>(c)) == 0) return std::nullopt;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string format_utc(int64_t utc_us) { return hal::format_iso8601_utc(utc_us); }

std::string to_hex(std::span<const uint8_t> bytes) {
  std::string hex(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), bytes.data(), bytes.size());
  hex.pop_back();  // the terminating NUL
  return hex;
}

std::optional<std::vector<uint8_t>> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  if (hex.empty()) return std::vector<uint8_t>();  // sodium_hex2bin needs a non-null output
  std::vector<uint8_t> bytes(hex.size() / 2);
  size_t length = 0;
  const char* end = nullptr;
  if (sodium_hex2bin(bytes.data(), bytes.size(), hex.data(), hex.size(), nullptr, &length, &end) !=
          0 ||
      end != hex.data() + hex.size() || length != bytes.size()) {
    return std::nullopt;
  }
  return bytes;
}

}  // namespace yardwatch::firmware::audit_format
