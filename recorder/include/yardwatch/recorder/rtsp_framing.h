#pragma once

// Framing of an RTSP connection in its data phase (after PLAY), when RTP arrives interleaved on
// the RTSP TCP connection (RFC 2326 §10.12): '$', a channel byte, a 16-bit big-endian length and
// that many bytes of RTP or RTCP — with, now and then, a whole RTSP message in between (the reply
// to a keep-alive, or a request from the camera).
//
// The receiver reads the socket in large chunks into this buffer (one recv() for dozens of RTP
// packets) and takes complete items out of it. Pure logic, no I/O, so every way a hostile or
// broken camera can split, garble or inflate the stream is unit-tested
// (tests/recorder/rtsp_framing_test.cpp). recorder/design/rtsp_receiver.md explains why the data
// phase is not left to GstRTSPConnection.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "yardwatch/hal/result.h"

namespace yardwatch::recorder {

// What the receiver needs to know of an RTSP message that arrived amid the data.
struct InbandMessage {
  bool is_response = false;
  int status_code = 0;  // responses: 100..599
  std::string method;   // requests: "SET_PARAMETER", "OPTIONS", ...
  std::optional<int64_t> cseq;
  size_t body_bytes = 0;
};

struct InterleavedItem {
  enum class Kind { kData, kMessage };
  Kind kind = Kind::kData;
  uint8_t channel = 0;               // kData
  std::span<const uint8_t> payload;  // kData; valid until the next free_space() or commit()
  InbandMessage message;             // kMessage
};

class InterleavedFramer {
 public:
  // Limits on what a camera may send between two data frames; beyond them the connection is
  // treated as broken rather than buffered without bound.
  static constexpr size_t kMaxHeaderBytes = 8 * 1024;
  static constexpr size_t kMaxBodyBytes = 16 * 1024;
  // Holds a maximal data frame (4 + 65535 bytes) wherever the previous one ended, plus room for
  // large reads.
  static constexpr size_t kDefaultCapacity = 80 * 1024;

  explicit InterleavedFramer(size_t capacity = kDefaultCapacity);

  // Where to read the next bytes into; never empty. Moves the unconsumed bytes to the front when
  // the free space runs low, which invalidates the payload spans of earlier items.
  std::span<uint8_t> free_space();
  // `bytes` bytes were written at the start of free_space().
  void commit(size_t bytes);

  // The next complete item; std::nullopt when more bytes are needed. An error (kDataLoss) for
  // bytes that are neither an interleaved frame nor an RTSP message, or a message over the
  // limits; the connection cannot be resynchronised after that.
  Result<std::optional<InterleavedItem>> next();

  [[nodiscard]] size_t buffered_bytes() const { return end_ - begin_; }

 private:
  Result<std::optional<InterleavedItem>> next_message();

  std::vector<uint8_t> buffer_;
  size_t begin_ = 0;  // first unconsumed byte
  size_t end_ = 0;    // one past the last byte read
};

}  // namespace yardwatch::recorder
