#include "yardwatch/hal/secret.h"

#include <sodium.h>

#include <new>
#include <utility>

namespace yardwatch::hal {

SecretBytes::SecretBytes(size_t size) : size_(size) {
  if (sodium_init() < 0) throw std::bad_alloc();
  // sodium_malloc: guard pages and mlock, so keys are not swapped out.
  data_ = static_cast<uint8_t*>(sodium_malloc(size == 0 ? 1 : size));
  if (data_ == nullptr) throw std::bad_alloc();
  sodium_memzero(data_, size == 0 ? 1 : size);
}

SecretBytes::~SecretBytes() { release(); }

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void SecretBytes::release() {
  if (data_ != nullptr) sodium_free(data_);  // sodium_free wipes before freeing
  data_ = nullptr;
  size_ = 0;
}

}  // namespace yardwatch::hal
