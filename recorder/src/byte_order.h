#pragma once

// Fixed-width integers to and from bytes. ISO BMFF boxes are big-endian (ISO/IEC 14496-12 §4.2);
// the segment file's own fields are little-endian (recorder/design/segment_file.md). Shifts
// rather than memcpy + byte swaps: the compiler turns them into single moves, and the code is
// correct on any host.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace yardwatch::recorder::bytes {

inline void store_u32_be(uint8_t* out, uint32_t value) {
  out[0] = static_cast<uint8_t>(value >> 24);
  out[1] = static_cast<uint8_t>(value >> 16);
  out[2] = static_cast<uint8_t>(value >> 8);
  out[3] = static_cast<uint8_t>(value);
}

inline void store_u64_be(uint8_t* out, uint64_t value) {
  store_u32_be(out, static_cast<uint32_t>(value >> 32));
  store_u32_be(out + 4, static_cast<uint32_t>(value));
}

inline uint32_t load_u32_be(const uint8_t* in) {
  return (static_cast<uint32_t>(in[0]) << 24) | (static_cast<uint32_t>(in[1]) << 16) |
         (static_cast<uint32_t>(in[2]) << 8) | static_cast<uint32_t>(in[3]);
}

inline uint64_t load_u64_be(const uint8_t* in) {
  return (static_cast<uint64_t>(load_u32_be(in)) << 32) | load_u32_be(in + 4);
}

inline void store_u32_le(uint8_t* out, uint32_t value) {
  out[0] = static_cast<uint8_t>(value);
  out[1] = static_cast<uint8_t>(value >> 8);
  out[2] = static_cast<uint8_t>(value >> 16);
  out[3] = static_cast<uint8_t>(value >> 24);
}

inline void store_u64_le(uint8_t* out, uint64_t value) {
  store_u32_le(out, static_cast<uint32_t>(value));
  store_u32_le(out + 4, static_cast<uint32_t>(value >> 32));
}

inline void store_i64_le(uint8_t* out, int64_t value) {
  store_u64_le(out, static_cast<uint64_t>(value));
}

inline uint32_t load_u32_le(const uint8_t* in) {
  return static_cast<uint32_t>(in[0]) | (static_cast<uint32_t>(in[1]) << 8) |
         (static_cast<uint32_t>(in[2]) << 16) | (static_cast<uint32_t>(in[3]) << 24);
}

inline uint64_t load_u64_le(const uint8_t* in) {
  return static_cast<uint64_t>(load_u32_le(in)) |
         (static_cast<uint64_t>(load_u32_le(in + 4)) << 32);
}

inline int64_t load_i64_le(const uint8_t* in) { return static_cast<int64_t>(load_u64_le(in)); }

}  // namespace yardwatch::recorder::bytes
