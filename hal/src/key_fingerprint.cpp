// key_fingerprint lives apart from the key stores so that yw_hal_core (libsodium only) carries
// it: the offline verifiers need it, not the TPM.

#include <sodium.h>

#include <array>
#include <cstdlib>

#include "yardwatch/hal/key_store.h"

namespace yardwatch::hal {

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
