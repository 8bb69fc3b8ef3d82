#include "yardwatch/recorder/rtsp_framing.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

using namespace yardwatch;
using namespace yardwatch::recorder;

namespace {

using Bytes = std::vector<uint8_t>;

Bytes frame(uint8_t channel, size_t size, uint8_t seed) {
  Bytes bytes = {'$', channel, static_cast<uint8_t>(size >> 8), static_cast<uint8_t>(size)};
  for (size_t i = 0; i < size; ++i) bytes.push_back(static_cast<uint8_t>(seed + i * 31));
  return bytes;
}

Bytes text(const std::string& value) { return Bytes(value.begin(), value.end()); }

void append(Bytes& to, const Bytes& more) { to.insert(to.end(), more.begin(), more.end()); }

// What came out of the framer, in a comparable form.
struct Seen {
  bool is_data = false;
  uint8_t channel = 0;
  Bytes payload;
  InbandMessage message;
};

// Feeds `stream` in chunks of `chunk` bytes (the last one shorter), taking every complete item
// out after each chunk, as the receiver does after each recv().
Result<std::vector<Seen>> run(const Bytes& stream, size_t chunk) {
  InterleavedFramer framer;
  std::vector<Seen> seen;
  size_t offset = 0;
  while (offset < stream.size()) {
    const std::span<uint8_t> space = framer.free_space();
    REQUIRE(!space.empty());
    const size_t take = std::min({chunk, space.size(), stream.size() - offset});
    std::memcpy(space.data(), stream.data() + offset, take);
    framer.commit(take);
    offset += take;
    while (true) {
      auto item = framer.next();
      if (!item.ok()) return item.error();
      if (!item.value()) break;
      Seen s;
      s.is_data = item.value()->kind == InterleavedItem::Kind::kData;
      s.channel = item.value()->channel;
      s.payload.assign(item.value()->payload.begin(), item.value()->payload.end());
      s.message = item.value()->message;
      seen.push_back(std::move(s));
    }
  }
  return seen;
}

std::string first_error(const Bytes& stream) {
  for (size_t chunk : {size_t{1}, size_t{7}, stream.size()}) {
    auto result = run(stream, chunk);
    if (result.ok()) return "";
    if (chunk == stream.size()) return result.error().message;
  }
  return "";
}

}  // namespace

TEST_CASE("interleaved frames split across reads at every byte come out whole and in order",
          "[recorder][rtsp]") {
  Bytes stream;
  std::vector<Bytes> payloads;
  for (int i = 0; i < 12; ++i) {
    const size_t size = i == 5 ? 0 : static_cast<size_t>(1 + i * 173);
    const Bytes f = frame(static_cast<uint8_t>(i % 2), size, static_cast<uint8_t>(i));
    payloads.emplace_back(f.begin() + 4, f.end());
    append(stream, f);
  }
  for (size_t chunk = 1; chunk <= 40; ++chunk) {
    INFO("chunks of " << chunk << " bytes");
    auto seen = run(stream, chunk);
    REQUIRE(seen.ok());
    REQUIRE(seen->size() == payloads.size());
    for (size_t i = 0; i < payloads.size(); ++i) {
      CHECK((*seen)[i].is_data);
      CHECK((*seen)[i].channel == i % 2);
      CHECK((*seen)[i].payload == payloads[i]);
    }
  }
  // Two reads, split at every position.
  for (size_t split = 1; split < stream.size(); split += 13) {
    InterleavedFramer framer;
    size_t count = 0;
    for (const auto& [from, to] :
         {std::pair<size_t, size_t>{0, split}, std::pair<size_t, size_t>{split, stream.size()}}) {
      auto space = framer.free_space();
      std::memcpy(space.data(), stream.data() + from, to - from);
      framer.commit(to - from);
      while (true) {
        auto item = framer.next();
        REQUIRE(item.ok());
        if (!item.value()) break;
        CHECK(Bytes(item.value()->payload.begin(), item.value()->payload.end()) == payloads[count]);
        ++count;
      }
    }
    CHECK(count == payloads.size());
  }
}

TEST_CASE("a maximal 64 KiB frame fits after any amount of earlier data", "[recorder][rtsp]") {
  Bytes stream;
  for (int i = 0; i < 40; ++i) append(stream, frame(0, 1400, static_cast<uint8_t>(i)));
  append(stream, frame(0, 0xFFFF, 9));
  append(stream, frame(1, 80, 3));
  for (size_t chunk : {size_t{1000}, size_t{4096}, size_t{65536}, stream.size()}) {
    auto seen = run(stream, chunk);
    REQUIRE(seen.ok());
    REQUIRE(seen->size() == 42);
    CHECK((*seen)[40].payload.size() == 0xFFFF);
    CHECK((*seen)[41].payload.size() == 80);
  }
}

TEST_CASE("RTSP replies and camera requests amid the data are told apart and their bodies skipped",
          "[recorder][rtsp]") {
  Bytes stream = frame(0, 500, 1);
  append(stream, text("RTSP/1.0 200 OK\r\nCSeq: 7\r\nSession: 12345678;timeout=60\r\n\r\n"));
  append(stream, frame(0, 600, 2));
  // A body that itself contains a '$' and CRLFs: it must be skipped by its length.
  append(stream,
         text("SET_PARAMETER rtsp://cam/stream RTSP/1.0\r\nCSeq: 3\r\n"
              "Content-Type: text/parameters\r\ncontent-length: 12\r\n\r\n$\r\n\r\nx: 1\r\n$"));
  append(stream, frame(1, 30, 3));
  // Bare LF line ends, as some cameras send them, and a stray CRLF before the next frame.
  append(stream, text("RTSP/1.0 454 Session Not Found\nCSeq: 8\n\n\r\n"));
  append(stream, frame(0, 700, 4));
  for (size_t chunk : {size_t{1}, size_t{3}, size_t{64}, stream.size()}) {
    INFO("chunks of " << chunk);
    auto seen = run(stream, chunk);
    REQUIRE(seen.ok());
    REQUIRE(seen->size() == 7);
    CHECK((*seen)[0].payload.size() == 500);
    CHECK_FALSE((*seen)[1].is_data);
    CHECK((*seen)[1].message.is_response);
    CHECK((*seen)[1].message.status_code == 200);
    CHECK((*seen)[1].message.cseq == 7);
    CHECK((*seen)[2].payload.size() == 600);
    CHECK_FALSE((*seen)[3].message.is_response);
    CHECK((*seen)[3].message.method == "SET_PARAMETER");
    CHECK((*seen)[3].message.cseq == 3);
    CHECK((*seen)[3].message.body_bytes == 12);
    CHECK((*seen)[4].channel == 1);
    CHECK((*seen)[4].payload.size() == 30);
    CHECK((*seen)[5].message.status_code == 454);
    CHECK((*seen)[5].message.cseq == 8);
    CHECK((*seen)[6].is_data);
    CHECK((*seen)[6].payload.size() == 700);
  }
}

TEST_CASE("garbage in the data is refused at its first byte with a clear error",
          "[recorder][rtsp]") {
  for (uint8_t bad : {uint8_t{0x00}, uint8_t{0xFF}, uint8_t{0x80}, uint8_t{'a'}, uint8_t{'#'}}) {
    Bytes stream = frame(0, 100, 1);
    stream.push_back(bad);
    append(stream, frame(0, 100, 2));
    INFO("byte " << int(bad));
    auto seen = run(stream, 1);
    REQUIRE_FALSE(seen.ok());
    CHECK(seen.error().kind == ErrorKind::kUnavailable);
    CHECK(seen.error().message.find("neither an interleaved frame nor an RTSP message") !=
          std::string::npos);
  }
  // A binary byte inside what began like a message header.
  Bytes stream = text("RTSP/1.0 200 OK\r\nCSeq: 1\r\nX-Junk: ");
  stream.push_back(0x01);
  CHECK(first_error(stream).find("does not belong in an RTSP header") != std::string::npos);
}

TEST_CASE("oversized and malformed RTSP messages in the data are refused, not buffered",
          "[recorder][rtsp]") {
  // A header that never ends.
  Bytes endless = text("RTSP/1.0 200 OK\r\n");
  while (endless.size() < 9000) append(endless, text("X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"));
  CHECK(first_error(endless).find("header is longer than 8 KiB") != std::string::npos);
  // Bodies over the limit, absurd, negative or not a number.
  for (const std::string length : {"16385", "99999999999999999999", "-1", "12abc", ""}) {
    INFO("Content-Length: " << length);
    const Bytes message =
        text("RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Length: " + length + "\r\n\r\n");
    const std::string error = first_error(message);
    CHECK_FALSE(error.empty());
    const bool names_the_length = error.find("Content-Length") != std::string::npos ||
                                  error.find("-byte body") != std::string::npos;
    CHECK(names_the_length);
  }
  CHECK(first_error(text("RTSP/1.0 2000 OK\r\n\r\n")).find("malformed RTSP start line") !=
        std::string::npos);
  CHECK(first_error(text("HELLO\r\n\r\n")).find("malformed RTSP start line") != std::string::npos);
  CHECK(first_error(text("RTSP/1.0 200 OK\r\nno colon here\r\n\r\n"))
            .find("malformed RTSP header line") != std::string::npos);
  CHECK(first_error(text("RTSP/1.0 200 OK\r\nCSeq: seven\r\n\r\n")).find("invalid CSeq") !=
        std::string::npos);
  // A body exactly at the limit is fine.
  Bytes at_limit = text("RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Length: 16384\r\n\r\n");
  at_limit.resize(at_limit.size() + 16384, 'x');
  append(at_limit, frame(0, 10, 0));
  auto seen = run(at_limit, 1000);
  REQUIRE(seen.ok());
  CHECK(seen->size() == 2);
}
