#pragma once

// Appends big-endian ISO BMFF fields and boxes to a byte vector (ISO/IEC 14496-12 §4.2). Shared
// by the fragmented-MP4 writer (fmp4.cpp) and the export remuxer (mp4_remux.cpp).

#include <array>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "byte_order.h"

namespace yardwatch::recorder {

// The unity transformation matrix of mvhd and tkhd (§8.2.2, §8.3.2): 16.16 for a, b, c, d, x,
// y and 2.30 for u, v, w.
constexpr std::array<uint32_t, 9> kUnityMatrix = {0x00010000, 0, 0, 0,         0x00010000,
                                                  0,          0, 0, 0x40000000};

// Appends big-endian fields and boxes to a byte vector. A box's size is written as 0 and
// back-patched when its body is complete, so nested boxes need no size precomputation.
class BoxWriter {
 public:
  explicit BoxWriter(std::vector<uint8_t>& out) : out_(out) {}

  template <typename Body>
  void box(const char (&type)[5], Body&& body) {
    const size_t start = out_.size();
    u32(0);
    fourcc(type);
    body();
    const size_t size = out_.size() - start;
    // Only mdat can grow past 4 GiB and it is not written through here.
    assert(size <= std::numeric_limits<uint32_t>::max());
    bytes::store_u32_be(out_.data() + start, static_cast<uint32_t>(size));
  }

  // FullBox (§4.2): version (8 bits) and flags (24 bits) after the type.
  template <typename Body>
  void full_box(const char (&type)[5], uint8_t version, uint32_t flags, Body&& body) {
    box(type, [&] {
      u8(version);
      u24(flags);
      body();
    });
  }

  void u8(uint8_t value) { out_.push_back(value); }
  void u16(uint16_t value) {
    out_.push_back(static_cast<uint8_t>(value >> 8));
    out_.push_back(static_cast<uint8_t>(value));
  }
  void u24(uint32_t value) {
    out_.push_back(static_cast<uint8_t>(value >> 16));
    out_.push_back(static_cast<uint8_t>(value >> 8));
    out_.push_back(static_cast<uint8_t>(value));
  }
  void u32(uint32_t value) {
    const size_t at = out_.size();
    out_.resize(at + 4);
    bytes::store_u32_be(out_.data() + at, value);
  }
  void u64(uint64_t value) {
    const size_t at = out_.size();
    out_.resize(at + 8);
    bytes::store_u64_be(out_.data() + at, value);
  }
  void i32(int32_t value) { u32(static_cast<uint32_t>(value)); }
  void fourcc(const char (&code)[5]) { out_.insert(out_.end(), code, code + 4); }
  void raw(std::span<const uint8_t> data) { out_.insert(out_.end(), data.begin(), data.end()); }
  void zeros(size_t count) { out_.insert(out_.end(), count, 0); }
  void matrix() {
    for (uint32_t value : kUnityMatrix) u32(value);
  }

  [[nodiscard]] size_t position() const { return out_.size(); }
  void patch_u32(size_t at, uint32_t value) { bytes::store_u32_be(out_.data() + at, value); }
  void patch_u64(size_t at, uint64_t value) { bytes::store_u64_be(out_.data() + at, value); }

 private:
  std::vector<uint8_t>& out_;
};

}  // namespace yardwatch::recorder
