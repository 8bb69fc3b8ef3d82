#include "yardwatch/recorder/rtsp_framing.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <string_view>

namespace yardwatch::recorder {

namespace {

constexpr size_t kFrameHeaderBytes = 4;
constexpr size_t kMaxFrameBytes = kFrameHeaderBytes + 0xFFFF;
// Below this much free space the unconsumed tail (at most one partial item, usually part of one
// RTP packet) is moved to the front, so that every read has room for dozens of packets.
constexpr size_t kMinFreeBytes = 16 * 1024;

bool is_header_byte(uint8_t c) {
  return c == '\r' || c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7F);
}

bool is_upper(uint8_t c) { return c >= 'A' && c <= 'Z'; }

std::string hex(uint8_t byte) {
  char text[8];
  std::snprintf(text, sizeof text, "0x%02x", byte);
  return text;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x >= 'A' && x <= 'Z' ? x + 32 : x) == (y >= 'A' && y <= 'Z' ? y + 32 : y);
         });
}

template <typename T>
bool parse_decimal(std::string_view text, T& value) {
  if (text.empty() || text.size() > 18) return false;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size();
}

Error broken(const std::string& what) {
  return make_error(ErrorKind::kUnavailable, "the camera sent " + what);
}

// "RTSP/1.0 200 OK" or "SET_PARAMETER rtsp://camera/stream RTSP/1.0".
bool parse_first_line(std::string_view line, InbandMessage& message) {
  if (line.starts_with("RTSP/")) {
    const size_t space = line.find(' ');
    if (space == std::string_view::npos || line.size() < space + 4) return false;
    const std::string_view code = line.substr(space + 1, 3);
    if (line.size() > space + 4 && line[space + 4] != ' ') return false;
    message.is_response = true;
    return parse_decimal(code, message.status_code) && message.status_code >= 100 &&
           message.status_code <= 599;
  }
  const size_t first_space = line.find(' ');
  const size_t last_space = line.rfind(' ');
  if (first_space == std::string_view::npos || first_space == 0 || last_space == first_space ||
      !line.substr(last_space + 1).starts_with("RTSP/")) {
    return false;
  }
  const std::string_view method = line.substr(0, first_space);
  if (!std::all_of(method.begin(), method.end(), [](char c) {
        return is_upper(static_cast<uint8_t>(c)) || c == '_' || c == '-';
      })) {
    return false;
  }
  message.method = std::string(method);
  return true;
}

}  // namespace

InterleavedFramer::InterleavedFramer(size_t capacity)
    : buffer_(std::max(capacity, kMaxFrameBytes + kMinFreeBytes)) {}

std::span<uint8_t> InterleavedFramer::free_space() {
  if (begin_ == end_) {
    begin_ = end_ = 0;
  } else if (buffer_.size() - end_ < kMinFreeBytes && begin_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  return {buffer_.data() + end_, buffer_.size() - end_};
}

void InterleavedFramer::commit(size_t bytes) { end_ = std::min(end_ + bytes, buffer_.size()); }

Result<std::optional<InterleavedItem>> InterleavedFramer::next() {
  while (begin_ < end_) {
    const uint8_t* start = buffer_.data() + begin_;
    const size_t available = end_ - begin_;
    if (start[0] == '$') {
      if (available < kFrameHeaderBytes) return std::optional<InterleavedItem>();
      const size_t length = (static_cast<size_t>(start[2]) << 8) | start[3];
      if (available < kFrameHeaderBytes + length) return std::optional<InterleavedItem>();
      InterleavedItem item;
      item.kind = InterleavedItem::Kind::kData;
      item.channel = start[1];
      item.payload = {start + kFrameHeaderBytes, length};
      begin_ += kFrameHeaderBytes + length;
      return std::optional<InterleavedItem>(item);
    }
    // Stray line ends between messages are tolerated (GstRTSPConnection skips them too).
    if (start[0] == '\r' || start[0] == '\n') {
      ++begin_;
      continue;
    }
    return next_message();
  }
  return std::optional<InterleavedItem>();
}

Result<std::optional<InterleavedItem>> InterleavedFramer::next_message() {
  const uint8_t* start = buffer_.data() + begin_;
  const size_t available = end_ - begin_;
  // Binary garbage is refused at its first byte rather than after 8 KiB of it.
  if (!is_upper(start[0])) {
    return broken("a byte (" + hex(start[0]) +
                  ") that starts neither an interleaved frame nor an RTSP message");
  }
  const size_t scan = std::min(available, kMaxHeaderBytes);
  size_t header_bytes = 0;
  for (size_t i = 0; i < scan; ++i) {
    if (!is_header_byte(start[i])) {
      return broken("a byte (" + hex(start[i]) + ") that does not belong in an RTSP header");
    }
    if (start[i] == '\n' && i > 0) {
      // End of the header: an empty line ("\r\n\r\n" or "\n\n").
      if (start[i - 1] == '\n') {
        header_bytes = i + 1;
        break;
      }
      if (i > 1 && start[i - 1] == '\r' && start[i - 2] == '\n') {
        header_bytes = i + 1;
        break;
      }
    }
  }
  if (header_bytes == 0) {
    if (available >= kMaxHeaderBytes) {
      return broken("an RTSP message whose header is longer than " +
                    std::to_string(kMaxHeaderBytes / 1024) + " KiB");
    }
    return std::optional<InterleavedItem>();
  }

  const std::string_view header(reinterpret_cast<const char*>(start), header_bytes);
  InterleavedItem item;
  item.kind = InterleavedItem::Kind::kMessage;
  InbandMessage& message = item.message;
  size_t line_start = 0;
  bool first = true;
  while (line_start < header.size()) {
    size_t line_end = header.find('\n', line_start);
    if (line_end == std::string_view::npos) line_end = header.size();
    const std::string_view line = trim(header.substr(line_start, line_end - line_start));
    line_start = line_end + 1;
    if (line.empty()) break;
    if (first) {
      first = false;
      if (!parse_first_line(line, message)) {
        return broken("a malformed RTSP start line '" + std::string(line.substr(0, 80)) + "'");
      }
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return broken("a malformed RTSP header line '" + std::string(line.substr(0, 80)) + "'");
    }
    const std::string_view name = trim(line.substr(0, colon));
    const std::string_view value = trim(line.substr(colon + 1));
    if (equals_ignoring_case(name, "CSeq")) {
      int64_t cseq = 0;
      if (!parse_decimal(value, cseq) || cseq < 0) {
        return broken("an RTSP message with an invalid CSeq '" + std::string(value.substr(0, 40)) +
                      "'");
      }
      message.cseq = cseq;
    } else if (equals_ignoring_case(name, "Content-Length")) {
      size_t length = 0;
      if (!parse_decimal(value, length)) {
        return broken("an RTSP message with an invalid Content-Length '" +
                      std::string(value.substr(0, 40)) + "'");
      }
      if (length > kMaxBodyBytes) {
        return broken("an RTSP message with a " + std::to_string(length) +
                      "-byte body in the middle of the stream (at most " +
                      std::to_string(kMaxBodyBytes / 1024) + " KiB are accepted)");
      }
      message.body_bytes = length;
    }
  }
  if (available < header_bytes + message.body_bytes) return std::optional<InterleavedItem>();
  begin_ += header_bytes + message.body_bytes;
  return std::optional<InterleavedItem>(std::move(item));
}

}  // namespace yardwatch::recorder
