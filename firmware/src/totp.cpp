#include "yardwatch/firmware/totp.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <qrencode.h>
#include <sodium.h>

#include <array>
#include <cerrno>
#include <limits>
#include <memory>

namespace yardwatch::firmware {

namespace {

constexpr std::string_view kBase32Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr int kTotpDigits = 6;
constexpr int kMaxDigits = 9;  // the modulus 10^digits must fit in uint32_t

const EVP_MD* digest_for(TotpAlgorithm algorithm) {
  switch (algorithm) {
    case TotpAlgorithm::kSha256:
      return EVP_sha256();
    case TotpAlgorithm::kSha512:
      return EVP_sha512();
    case TotpAlgorithm::kSha1:
      break;
  }
  return EVP_sha1();
}

// Floor division, so that a time before 1970 does not round towards step 0.
int64_t step_of(int64_t unix_seconds) {
  int64_t step = unix_seconds / kTotpStepSeconds;
  if (unix_seconds % kTotpStepSeconds < 0) --step;
  return step;
}

}  // namespace

// An out-of-range `digits` or a failing HMAC gives an empty string, which no code can equal.
std::string hotp(std::span<const uint8_t> secret, uint64_t counter, int digits,
                 TotpAlgorithm algorithm) {
  if (digits < 1 || digits > kMaxDigits) return {};
  if (secret.size() > static_cast<size_t>(std::numeric_limits<int>::max())) return {};
  std::array<uint8_t, 8> message{};
  for (size_t i = 0; i < message.size(); ++i) {
    message[message.size() - 1 - i] = static_cast<uint8_t>(counter >> (8 * i));
  }
  std::array<uint8_t, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_length = 0;
  // OpenSSL 3 refuses a null key pointer even with length 0.
  static const uint8_t kEmptyKey = 0;
  const void* key = secret.empty() ? &kEmptyKey : secret.data();
  if (HMAC(digest_for(algorithm), key, static_cast<int>(secret.size()), message.data(),
           message.size(), mac.data(), &mac_length) == nullptr ||
      mac_length < 20) {
    return {};
  }
  // RFC 4226 §5.3 dynamic truncation: the low nibble of the last byte picks 4 bytes.
  const size_t offset = mac[mac_length - 1] & 0x0f;
  const uint32_t binary = (static_cast<uint32_t>(mac[offset] & 0x7f) << 24) |
                          (static_cast<uint32_t>(mac[offset + 1]) << 16) |
                          (static_cast<uint32_t>(mac[offset + 2]) << 8) |
                          static_cast<uint32_t>(mac[offset + 3]);
  uint32_t modulus = 1;
  for (int i = 0; i < digits; ++i) modulus *= 10;
  uint32_t value = binary % modulus;
  std::string code(static_cast<size_t>(digits), '0');
  for (size_t i = code.size(); i-- > 0;) {
    code[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  OPENSSL_cleanse(mac.data(), mac.size());
  return code;
}

std::string totp_at(std::span<const uint8_t> secret, int64_t unix_seconds, int digits,
                    TotpAlgorithm algorithm) {
  const int64_t step = step_of(unix_seconds);
  if (step < 0) return {};
  return hotp(secret, static_cast<uint64_t>(step), digits, algorithm);
}

std::optional<int64_t> totp_verify(std::span<const uint8_t> secret, std::string_view code,
                                   int64_t unix_seconds, int64_t last_used_step) {
  // Authenticator apps show "123 456"; people type what they see.
  std::string digits;
  for (char c : code) {
    if (c == ' ') continue;
    if (c < '0' || c > '9') return std::nullopt;
    digits.push_back(c);
  }
  if (digits.size() != static_cast<size_t>(kTotpDigits)) return std::nullopt;

  const int64_t now_step = step_of(unix_seconds);
  std::optional<int64_t> matched;
  // All three candidates are computed and compared in constant time, so the timing does not tell
  // which step (if any) matched. The latest matching step wins: storing it refuses the code in
  // every step of the window, even if two steps happen to share a code.
  for (int64_t step = now_step - 1; step <= now_step + 1; ++step) {
    if (step < 0) continue;
    const std::string expected = hotp(secret, static_cast<uint64_t>(step), kTotpDigits);
    if (expected.size() != digits.size()) continue;
    const bool equal = CRYPTO_memcmp(expected.data(), digits.data(), digits.size()) == 0;
    if (equal && step > last_used_step) matched = step;
  }
  return matched;
}

std::vector<uint8_t> totp_generate_secret() {
  // sodium_init() is idempotent and thread-safe; randombytes_buf() aborts rather than return
  // weak bytes, so there is no failure to report.
  static const int sodium_ready = sodium_init();
  (void)sodium_ready;
  std::vector<uint8_t> secret(kTotpSecretBytes);
  randombytes_buf(secret.data(), secret.size());
  return secret;
}

// Hand-written: neither libsodium nor OpenSSL offers base32, and it is twenty lines.
std::string base32_encode(std::span<const uint8_t> bytes) {
  std::string text;
  text.reserve((bytes.size() * 8 + 4) / 5);
  uint32_t buffer = 0;
  int bits = 0;
  for (uint8_t byte : bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      text.push_back(kBase32Alphabet[(buffer >> bits) & 0x1f]);
    }
  }
  if (bits > 0) text.push_back(kBase32Alphabet[(buffer << (5 - bits)) & 0x1f]);
  return text;
}

Result<std::vector<uint8_t>> base32_decode(std::string_view text) {
  std::vector<uint8_t> bytes;
  bytes.reserve(text.size() * 5 / 8);
  uint32_t buffer = 0;
  int bits = 0;
  size_t symbols = 0;
  bool padding = false;
  for (char c : text) {
    if (c == ' ') continue;
    if (c == '=') {
      padding = true;
      continue;
    }
    if (padding) {
      return make_error(ErrorKind::kInvalidArgument,
                        "base32 text has characters after its '=' padding");
    }
    uint32_t value = 0;
    if (c >= 'A' && c <= 'Z') {
      value = static_cast<uint32_t>(c - 'A');
    } else if (c >= 'a' && c <= 'z') {
      value = static_cast<uint32_t>(c - 'a');
    } else if (c >= '2' && c <= '7') {
      value = static_cast<uint32_t>(c - '2' + 26);
    } else {
      return make_error(ErrorKind::kInvalidArgument,
                        "base32 text may contain only A–Z, 2–7, spaces and '=' padding");
    }
    ++symbols;
    buffer = (buffer << 5) | value;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<uint8_t>(buffer >> bits));
    }
  }
  // A group of 8 symbols carries 5 bytes; 1, 3 or 6 trailing symbols cannot end a byte string.
  const size_t tail = symbols % 8;
  if (tail == 1 || tail == 3 || tail == 6) {
    return make_error(ErrorKind::kInvalidArgument, "base32 text has an impossible length");
  }
  return bytes;
}

std::string totp_uri(std::string_view account, std::span<const uint8_t> secret) {
  // Percent-encodes everything but RFC 3986's unreserved characters, so a name with spaces,
  // '&', '?', '#' or ':' cannot change the URI's structure.
  std::string encoded;
  for (char character : account) {
    const auto c = static_cast<unsigned char>(character);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      encoded.push_back(static_cast<char>(c));
    } else {
      constexpr std::string_view kHex = "0123456789ABCDEF";
      encoded.push_back('%');
      encoded.push_back(kHex[c >> 4]);
      encoded.push_back(kHex[c & 0x0f]);
    }
  }
  return "otpauth://totp/Yardwatch:" + encoded + "?secret=" + base32_encode(secret) +
         "&issuer=Yardwatch&algorithm=SHA1&digits=" + std::to_string(kTotpDigits) +
         "&period=" + std::to_string(kTotpStepSeconds);
}

Result<std::string> qr_text(std::string_view text) {
  if (text.find('\0') != std::string_view::npos) {
    return make_error(ErrorKind::kInvalidArgument, "QR text may not contain a NUL character");
  }
  const std::string terminated(text);
  errno = 0;
  std::unique_ptr<QRcode, decltype(&QRcode_free)> code(
      QRcode_encodeString(terminated.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1), &QRcode_free);
  if (code == nullptr) {
    const int error = errno;
    if (error == ERANGE) {
      return make_error(ErrorKind::kInvalidArgument, "text is too long for a QR code");
    }
    return errno_error(error, "encode QR code");
  }

  // Terminals (the appliance console, SSH) draw light characters on a dark background, so the
  // light modules and the quiet zone are the ones drawn as blocks: the phone then sees dark
  // modules on a light field, as a printed code.
  constexpr int kQuietZone = 2;
  const int width = code->width;
  const int size = width + 2 * kQuietZone;
  auto light = [&](int x, int y) {
    const int module_x = x - kQuietZone;
    const int module_y = y - kQuietZone;
    if (module_x < 0 || module_y < 0 || module_x >= width || module_y >= width) return true;
    return (code->data[static_cast<size_t>(module_y) * static_cast<size_t>(width) +
                       static_cast<size_t>(module_x)] &
            1) == 0;
  };
  std::string out;
  for (int y = 0; y < size; y += 2) {
    for (int x = 0; x < size; ++x) {
      const bool top = light(x, y);
      const bool bottom = y + 1 < size ? light(x, y + 1) : false;
      if (top && bottom) {
        out += "█";
      } else if (top) {
        out += "▀";
      } else if (bottom) {
        out += "▄";
      } else {
        out += ' ';
      }
    }
    out += '\n';
  }
  return out;
}

}  // namespace yardwatch::firmware
