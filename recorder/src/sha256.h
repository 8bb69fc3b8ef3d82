#pragma once

// SHA-256 through OpenSSL. The recorded plaintext hash of every fragment (the chain of custody
// for exports) is the recorder's largest CPU cost: libsodium's portable SHA-256 took 59 % of
// yardwatchd's instructions under callgrind (tools/bench/RESULTS.md), while OpenSSL uses the
// CPU's SHA extensions or AVX2 where present. Same digest, a fraction of the cost.

#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <new>
#include <span>
#include <utility>

namespace yardwatch::recorder {

class Sha256Hasher {
 public:
  Sha256Hasher() : context_(EVP_MD_CTX_new()) {
    if (context_ == nullptr) throw std::bad_alloc();
    reset();
  }
  ~Sha256Hasher() { EVP_MD_CTX_free(context_); }
  Sha256Hasher(const Sha256Hasher& other) : context_(EVP_MD_CTX_new()) {
    if (context_ == nullptr || EVP_MD_CTX_copy_ex(context_, other.context_) != 1) {
      EVP_MD_CTX_free(context_);
      throw std::bad_alloc();
    }
  }
  Sha256Hasher& operator=(const Sha256Hasher& other) {
    if (this != &other && EVP_MD_CTX_copy_ex(context_, other.context_) != 1) {
      throw std::bad_alloc();
    }
    return *this;
  }
  Sha256Hasher(Sha256Hasher&& other) noexcept : context_(std::exchange(other.context_, nullptr)) {}
  Sha256Hasher& operator=(Sha256Hasher&& other) noexcept {
    std::swap(context_, other.context_);
    return *this;
  }

  void reset() { EVP_DigestInit_ex(context_, EVP_sha256(), nullptr); }
  void update(std::span<const uint8_t> bytes) {
    EVP_DigestUpdate(context_, bytes.data(), bytes.size());
  }
  // The digest so far; the running state keeps going.
  [[nodiscard]] std::array<uint8_t, 32> finish() const {
    Sha256Hasher copy(*this);
    std::array<uint8_t, 32> digest{};
    unsigned int length = 0;
    EVP_DigestFinal_ex(copy.context_, digest.data(), &length);
    return digest;
  }

 private:
  EVP_MD_CTX* context_;
};

}  // namespace yardwatch::recorder
