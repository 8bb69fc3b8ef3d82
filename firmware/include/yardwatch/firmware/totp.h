#pragma once

// TOTP (RFC 6238: HMAC-SHA1, 30 s steps, 6 digits, ±1 step) for the second factor of admins and
// directors. HMAC-SHA1 comes from OpenSSL (libsodium has no SHA-1).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "yardwatch/hal/result.h"

namespace yardwatch::firmware {

constexpr int64_t kTotpStepSeconds = 30;
constexpr size_t kTotpSecretBytes = 20;

enum class TotpAlgorithm { kSha1, kSha256, kSha512 };

// RFC 4226 HOTP value for a counter, `digits` long (leading zeros kept).
std::string hotp(std::span<const uint8_t> secret, uint64_t counter, int digits = 6,
                 TotpAlgorithm algorithm = TotpAlgorithm::kSha1);
// RFC 6238 TOTP value at a Unix time (seconds).
std::string totp_at(std::span<const uint8_t> secret, int64_t unix_seconds, int digits = 6,
                    TotpAlgorithm algorithm = TotpAlgorithm::kSha1);

// Checks `code` against the steps around `unix_seconds` (±1) that are later than
// `last_used_step`. Returns the matched step (store it: a code is never accepted twice), or
// nullopt.
std::optional<int64_t> totp_verify(std::span<const uint8_t> secret, std::string_view code,
                                   int64_t unix_seconds, int64_t last_used_step);

std::vector<uint8_t> totp_generate_secret();
std::string base32_encode(std::span<const uint8_t> bytes);  // RFC 4648, no padding
Result<std::vector<uint8_t>> base32_decode(std::string_view text);
// otpauth://totp/Yardwatch:<account>?secret=…&issuer=Yardwatch&algorithm=SHA1&digits=6&period=30
std::string totp_uri(std::string_view account, std::span<const uint8_t> secret);
// The URI as a QR code drawn with Unicode half blocks, for a terminal (libqrencode).
Result<std::string> qr_text(std::string_view text);

}  // namespace yardwatch::firmware
