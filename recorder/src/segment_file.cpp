#include "yardwatch/recorder/segment_file.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>

#include "byte_order.h"
#include "sha256.h"

// Byte layout and the reasoning behind it: recorder/design/segment_file.md. Section names in
// the comments below ("Header", "Message framing", ...) refer to that document.

namespace yardwatch::recorder {

namespace {

using StreamState = crypto_secretstream_xchacha20poly1305_state;

// Header.
constexpr std::array<uint8_t, 8> kMagic = {0x89, 'Y', 'W', 'S', '\r', '\n', 0x1A, '\n'};
constexpr uint32_t kFormatVersion = 1;
constexpr size_t kVersionOffset = 8;
constexpr size_t kIdentityOffset = 12;
constexpr size_t kAssociatedDataBytes = 36;  // magic, version, identity: bytes 0..35
constexpr size_t kStreamHeaderOffset = kAssociatedDataBytes;
constexpr size_t kHeaderBytes =
    kStreamHeaderOffset + crypto_secretstream_xchacha20poly1305_HEADERBYTES;  // 60
static_assert(kHeaderBytes == 60);

using AssociatedData = std::array<uint8_t, kAssociatedDataBytes>;

// Message framing: u32 LE word = ciphertext length | kFinalFlag.
constexpr size_t kLengthBytes = 4;
constexpr uint32_t kFinalFlag = 0x80000000u;
constexpr uint32_t kMaxCiphertextBytes = 64u << 20;
constexpr size_t kStreamOverhead = crypto_secretstream_xchacha20poly1305_ABYTES;  // 17
constexpr uint8_t kTagMessage = crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
constexpr uint8_t kTagFinal = crypto_secretstream_xchacha20poly1305_TAG_FINAL;

// Message plaintexts.
constexpr size_t kFragmentPrefixBytes = 1 + 8 + 8 + 8 + 4;         // 29
constexpr size_t kFinalPlaintextBytes = 1 + 4 + 8 + kSha256Bytes;  // 45

// Key wrapping.
constexpr std::string_view kWrapContext = "yardwatch segment key v1";
constexpr size_t kWrapNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;  // 24
constexpr size_t kWrappedKeyBytes =
    kWrapNonceBytes + kSegmentKeyBytes + crypto_aead_xchacha20poly1305_ietf_ABYTES;  // 72

static_assert(kSegmentKeyBytes == crypto_secretstream_xchacha20poly1305_KEYBYTES);
static_assert(kSegmentKeyBytes == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);

Status init_sodium() {
  // sodium_init() is thread-safe and idempotent; the static keeps it off the hot path.
  static const int result = sodium_init();
  if (result < 0) return make_error(ErrorKind::kInternal, "libsodium failed to initialise");
  return {};
}

Status check_key(const hal::SecretBytes& key, std::string_view what) {
  if (key.size() != kSegmentKeyBytes) {
    return make_error(ErrorKind::kInvalidArgument, std::string(what) + " must be " +
                                                       std::to_string(kSegmentKeyBytes) +
                                                       " bytes, got " + std::to_string(key.size()));
  }
  return {};
}

// Wipes a secretstream state (it holds the derived key) when it goes out of scope.
struct WipeOnExit {
  void* data;
  size_t size;
  ~WipeOnExit() { sodium_memzero(data, size); }
};

std::string describe(const SegmentIdentity& identity) {
  return "segment " + std::to_string(identity.segment_id) + " of camera " +
         std::to_string(identity.camera_id) + " (started at " +
         std::to_string(identity.start_utc_us) + " us UTC)";
}

AssociatedData make_associated_data(const SegmentIdentity& identity) {
  AssociatedData ad{};
  std::copy(kMagic.begin(), kMagic.end(), ad.begin());
  bytes::store_u32_le(ad.data() + kVersionOffset, kFormatVersion);
  bytes::store_i64_le(ad.data() + kIdentityOffset, identity.segment_id);
  bytes::store_i64_le(ad.data() + kIdentityOffset + 8, identity.camera_id);
  bytes::store_i64_le(ad.data() + kIdentityOffset + 16, identity.start_utc_us);
  return ad;
}

// A full disk shows up as ENOSPC or EDQUOT, a file-size limit (RLIMIT_FSIZE, a filesystem's
// maximum file size) as EFBIG; to the recorder all of them mean "no room for this segment".
Error write_error(int errno_value, const std::filesystem::path& path) {
  if (errno_value == EFBIG) {
    return make_error(ErrorKind::kResourceExhausted,
                      "write segment file " + path.string() + ": " + std::strerror(EFBIG));
  }
  return errno_error(errno_value, "write segment file " + path.string());
}

// Writes all of `data` at `offset`, retrying short writes and EINTR.
Status write_all_at(int fd, std::span<const uint8_t> data, uint64_t offset,
                    const std::filesystem::path& path) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t written =
        ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (written < 0) {
      if (errno == EINTR) continue;
      return write_error(errno, path);
    }
    // pwrite of a non-zero count to a regular file never returns 0; treat it as an I/O error
    // rather than spinning.
    if (written == 0) return write_error(EIO, path);
    done += static_cast<size_t>(written);
  }
  return {};
}

// Reads up to `size` bytes at `offset`; fewer only at end of file.
Result<size_t> read_at(int fd, uint8_t* out, size_t size, uint64_t offset,
                       const std::filesystem::path& path) {
  size_t done = 0;
  while (done < size) {
    const ssize_t got = ::pread(fd, out + done, size - done, static_cast<off_t>(offset + done));
    if (got < 0) {
      if (errno == EINTR) continue;
      return errno_error(errno, "read segment file " + path.string());
    }
    if (got == 0) break;
    done += static_cast<size_t>(got);
  }
  return done;
}

// Encrypts one message into `frame` as length word + ciphertext. A FINAL message is always
// pushed after a rekey of the stream state and flagged in the length word (design: "The FINAL
// message"), so it never shares a key and nonce with a message that was cut off by a crash or a
// full disk.
void seal_message(StreamState& stream, const AssociatedData& ad, std::span<const uint8_t> plaintext,
                  bool final, std::vector<uint8_t>& frame) {
  const size_t ciphertext_bytes = plaintext.size() + kStreamOverhead;
  frame.resize(kLengthBytes + ciphertext_bytes);
  if (final) crypto_secretstream_xchacha20poly1305_rekey(&stream);
  crypto_secretstream_xchacha20poly1305_push(&stream, frame.data() + kLengthBytes, nullptr,
                                             plaintext.data(), plaintext.size(), ad.data(),
                                             ad.size(), final ? kTagFinal : kTagMessage);
  bytes::store_u32_le(frame.data(),
                      static_cast<uint32_t>(ciphertext_bytes) | (final ? kFinalFlag : 0u));
}

std::array<uint8_t, kFinalPlaintextBytes> final_plaintext(uint32_t fragment_count,
                                                          int64_t end_utc_us,
                                                          const Sha256& sha256) {
  std::array<uint8_t, kFinalPlaintextBytes> plain{};
  plain[0] = static_cast<uint8_t>(MessageType::kFinal);
  bytes::store_u32_le(plain.data() + 1, fragment_count);
  bytes::store_i64_le(plain.data() + 5, end_utc_us);
  std::copy(sha256.begin(), sha256.end(), plain.begin() + 13);
  return plain;
}

Sha256 finish_sha256(const Sha256Hasher& running) { return running.finish(); }

// ---- Reading: shared by SegmentReader and recover_segment_file ----

// Reads the header, checks it against the expected identity and starts the pull stream.
Status open_stream(int fd, const std::filesystem::path& path, const SegmentIdentity& expected,
                   const hal::SecretBytes& key, AssociatedData& ad, StreamState& stream) {
  std::array<uint8_t, kHeaderBytes> header{};
  YW_ASSIGN_OR_RETURN(size_t got, read_at(fd, header.data(), header.size(), 0, path));
  if (got < header.size()) {
    return make_error(ErrorKind::kDataLoss, "segment file " + path.string() + " is only " +
                                                std::to_string(got) +
                                                " bytes long, shorter than its header");
  }
  if (!std::equal(kMagic.begin(), kMagic.end(), header.begin())) {
    return make_error(ErrorKind::kDataLoss,
                      path.string() + " is not a Yardwatch segment file (bad magic)");
  }
  const uint32_t version = bytes::load_u32_le(header.data() + kVersionOffset);
  if (version != kFormatVersion) {
    return make_error(ErrorKind::kDataLoss, "segment file " + path.string() +
                                                " has format version " + std::to_string(version) +
                                                "; this build reads " +
                                                std::to_string(kFormatVersion));
  }
  const SegmentIdentity found{
      .segment_id = bytes::load_i64_le(header.data() + kIdentityOffset),
      .camera_id = bytes::load_i64_le(header.data() + kIdentityOffset + 8),
      .start_utc_us = bytes::load_i64_le(header.data() + kIdentityOffset + 16),
  };
  if (found != expected) {
    return make_error(ErrorKind::kDataLoss, "segment file " + path.string() + " belongs to " +
                                                describe(found) + ", expected " +
                                                describe(expected));
  }
  std::copy_n(header.begin(), kAssociatedDataBytes, ad.begin());
  // init_pull cannot fail: any 24 bytes are a valid stream header. A modified header yields a
  // different state and the first message fails authentication.
  crypto_secretstream_xchacha20poly1305_init_pull(&stream, header.data() + kStreamHeaderOffset,
                                                  key.data());
  return {};
}

enum class FrameStatus {
  kAuthentic,
  kEndOfFile,     // no byte at all where the next message should start
  kCutShort,      // part of a length word or ciphertext, then end of file
  kBadLength,     // a length word no writer produces
  kNotAuthentic,  // decryption failed
};

struct Frame {
  FrameStatus status = FrameStatus::kEndOfFile;
  uint64_t end = 0;          // offset just past the frame (kAuthentic)
  uint32_t length_word = 0;  // as stored
  uint64_t available = 0;    // bytes found (kCutShort)
  uint8_t tag = 0;
  bool final_flag = false;
};

// Reads the frame at `offset` and decrypts it into `plaintext`. The stream state advances only
// if the message is authentic, so after a failure it is still the state after the last
// authentic message (recovery relies on that).
Result<Frame> read_frame(int fd, const std::filesystem::path& path, uint64_t offset,
                         StreamState& stream, const AssociatedData& ad,
                         std::vector<uint8_t>& ciphertext, std::vector<uint8_t>& plaintext) {
  Frame frame;
  std::array<uint8_t, kLengthBytes> word{};
  YW_ASSIGN_OR_RETURN(size_t got, read_at(fd, word.data(), word.size(), offset, path));
  if (got == 0) {
    frame.status = FrameStatus::kEndOfFile;
    return frame;
  }
  if (got < word.size()) {
    frame.status = FrameStatus::kCutShort;
    frame.available = got;
    return frame;
  }
  frame.length_word = bytes::load_u32_le(word.data());
  frame.final_flag = (frame.length_word & kFinalFlag) != 0;
  const uint32_t length = frame.length_word & ~kFinalFlag;
  // Checked before anything is allocated: a flipped high bit must not cost 2 GiB of memory.
  if (length <= kStreamOverhead || length > kMaxCiphertextBytes) {
    frame.status = FrameStatus::kBadLength;
    return frame;
  }
  ciphertext.resize(length);
  YW_ASSIGN_OR_RETURN(got, read_at(fd, ciphertext.data(), length, offset + kLengthBytes, path));
  if (got < length) {
    frame.status = FrameStatus::kCutShort;
    frame.available = kLengthBytes + got;
    return frame;
  }
  StreamState attempt = stream;
  WipeOnExit wipe{&attempt, sizeof attempt};
  if (frame.final_flag) crypto_secretstream_xchacha20poly1305_rekey(&attempt);
  plaintext.resize(length - kStreamOverhead);
  // pull verifies the tag before it writes a single byte of plaintext.
  if (crypto_secretstream_xchacha20poly1305_pull(&attempt, plaintext.data(), nullptr, &frame.tag,
                                                 ciphertext.data(), length, ad.data(),
                                                 ad.size()) != 0) {
    plaintext.clear();
    frame.status = FrameStatus::kNotAuthentic;
    return frame;
  }
  stream = attempt;
  frame.status = FrameStatus::kAuthentic;
  frame.end = offset + kLengthBytes + length;
  return frame;
}

std::string frame_problem(const Frame& frame, const std::filesystem::path& path, uint64_t offset) {
  const std::string where = "segment file " + path.string() + ": ";
  const std::string at = " at byte offset " + std::to_string(offset);
  switch (frame.status) {
    case FrameStatus::kEndOfFile:
      return "segment file " + path.string() +
             " ends without its FINAL message (truncated?): nothing follows byte offset " +
             std::to_string(offset);
    case FrameStatus::kCutShort:
      return where + "message" + at + " is cut short: the file ends " +
             std::to_string(frame.available) + " bytes into it (truncated?)";
    case FrameStatus::kBadLength:
      return where + "message" + at + " has an impossible length word 0x" + [&] {
        char hex[9];
        std::snprintf(hex, sizeof hex, "%08x", frame.length_word);
        return std::string(hex);
      }() + " (corrupted)";
    case FrameStatus::kNotAuthentic:
      return where + "message" + at +
             " failed authentication (corrupted, tampered with, or not this segment's key)";
    case FrameStatus::kAuthentic:
      break;
  }
  return where + "internal error" + at;
}

// What an authentic plaintext says. Checks the rules of "Message plaintexts": the type byte,
// its size and that the stream tag and FINAL flag agree with the type.
struct Parsed {
  MessageType type = MessageType::kInit;
  FragmentInfo fragment;
  size_t payload_offset = 0;
  uint32_t final_fragment_count = 0;
  int64_t final_end_utc_us = 0;
  Sha256 final_sha256{};
};

Result<Parsed> parse_plaintext(std::span<const uint8_t> plain, const Frame& frame,
                               const std::filesystem::path& path, uint64_t offset) {
  auto bad = [&](const std::string& why) {
    return make_error(ErrorKind::kDataLoss,
                      "segment file " + path.string() + ": message at byte offset " +
                          std::to_string(offset) + " is authentic but " + why);
  };
  if (plain.empty()) return bad("empty");
  Parsed parsed;
  const bool final = frame.tag == kTagFinal;
  if (!final && frame.tag != kTagMessage) return bad("has stream tag " + std::to_string(frame.tag));
  switch (plain[0]) {
    case static_cast<uint8_t>(MessageType::kInit):
      parsed.type = MessageType::kInit;
      parsed.payload_offset = 1;
      break;
    case static_cast<uint8_t>(MessageType::kFragment):
      if (plain.size() < kFragmentPrefixBytes) return bad("too short for a fragment");
      parsed.type = MessageType::kFragment;
      parsed.fragment.utc_start_us = bytes::load_i64_le(plain.data() + 1);
      parsed.fragment.duration_us = bytes::load_i64_le(plain.data() + 9);
      parsed.fragment.decode_time = bytes::load_i64_le(plain.data() + 17);
      parsed.fragment.sample_count = bytes::load_u32_le(plain.data() + 25);
      parsed.payload_offset = kFragmentPrefixBytes;
      break;
    case static_cast<uint8_t>(MessageType::kFinal):
      if (plain.size() != kFinalPlaintextBytes) return bad("has the wrong size for FINAL");
      parsed.type = MessageType::kFinal;
      parsed.final_fragment_count = bytes::load_u32_le(plain.data() + 1);
      parsed.final_end_utc_us = bytes::load_i64_le(plain.data() + 5);
      std::copy_n(plain.begin() + 13, kSha256Bytes, parsed.final_sha256.begin());
      parsed.payload_offset = plain.size();
      break;
    default:
      return bad("has unknown message type " + std::to_string(plain[0]));
  }
  const bool is_final_type = parsed.type == MessageType::kFinal;
  if (final != is_final_type || frame.final_flag != is_final_type) {
    return bad("its type, stream tag and FINAL flag disagree");
  }
  return parsed;
}

// The running totals a reader or recovery keeps to cross-check the FINAL message.
struct Totals {
  uint32_t fragment_count = 0;
  int64_t end_utc_us = 0;
  Sha256Hasher sha256;
};

Status check_final(const Parsed& parsed, const Totals& totals, const std::filesystem::path& path,
                   uint64_t offset) {
  if (parsed.final_fragment_count != totals.fragment_count ||
      parsed.final_end_utc_us != totals.end_utc_us ||
      parsed.final_sha256 != finish_sha256(totals.sha256)) {
    return make_error(ErrorKind::kDataLoss,
                      "segment file " + path.string() + ": the FINAL message at byte offset " +
                          std::to_string(offset) + " does not match the messages before it");
  }
  return {};
}

[[noreturn]] void contract_violation(const char* what) {
  std::cerr << "yardwatch: contract violation: " << what << '\n';
  std::abort();
}

}  // namespace

// ---- Keys ----

hal::SecretBytes generate_segment_key() {
  if (!init_sodium().ok()) contract_violation("libsodium unusable");
  hal::SecretBytes key(kSegmentKeyBytes);
  crypto_secretstream_xchacha20poly1305_keygen(key.data());
  return key;
}

namespace {

std::array<uint8_t, kWrapContext.size() + 24> wrap_associated_data(
    const SegmentIdentity& identity) {
  std::array<uint8_t, kWrapContext.size() + 24> ad{};
  std::copy(kWrapContext.begin(), kWrapContext.end(), ad.begin());
  uint8_t* fields = ad.data() + kWrapContext.size();
  bytes::store_i64_le(fields, identity.segment_id);
  bytes::store_i64_le(fields + 8, identity.camera_id);
  bytes::store_i64_le(fields + 16, identity.start_utc_us);
  return ad;
}

}  // namespace

std::vector<uint8_t> wrap_segment_key(const hal::SecretBytes& master_key,
                                      const hal::SecretBytes& segment_key,
                                      const SegmentIdentity& identity) {
  // The signature has no error channel: wrong key sizes are a programming error, and reading
  // past a short key buffer would be worse than stopping.
  if (master_key.size() != crypto_aead_xchacha20poly1305_ietf_KEYBYTES ||
      segment_key.size() != kSegmentKeyBytes) {
    contract_violation("wrap_segment_key needs a 32-byte master key and a 32-byte segment key");
  }
  if (!init_sodium().ok()) contract_violation("libsodium unusable");
  const auto ad = wrap_associated_data(identity);
  std::vector<uint8_t> wrapped(kWrappedKeyBytes);
  // A random 192-bit nonce: no counter to persist, and collisions are negligible.
  randombytes_buf(wrapped.data(), kWrapNonceBytes);
  crypto_aead_xchacha20poly1305_ietf_encrypt(wrapped.data() + kWrapNonceBytes, nullptr,
                                             segment_key.data(), segment_key.size(), ad.data(),
                                             ad.size(), nullptr, wrapped.data(), master_key.data());
  return wrapped;
}

Result<hal::SecretBytes> unwrap_segment_key(const hal::SecretBytes& master_key,
                                            std::span<const uint8_t> wrapped,
                                            const SegmentIdentity& identity) {
  if (master_key.size() != crypto_aead_xchacha20poly1305_ietf_KEYBYTES) {
    return make_error(ErrorKind::kInvalidArgument, "the master key must be 32 bytes");
  }
  YW_TRY(init_sodium());
  if (wrapped.size() != kWrappedKeyBytes) {
    return make_error(ErrorKind::kDataLoss, "a wrapped segment key is " +
                                                std::to_string(kWrappedKeyBytes) + " bytes, got " +
                                                std::to_string(wrapped.size()));
  }
  const auto ad = wrap_associated_data(identity);
  hal::SecretBytes key(kSegmentKeyBytes);
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          key.data(), nullptr, nullptr, wrapped.data() + kWrapNonceBytes,
          wrapped.size() - kWrapNonceBytes, ad.data(), ad.size(), wrapped.data(),
          master_key.data()) != 0) {
    return make_error(ErrorKind::kDataLoss, "the segment key does not belong to this segment (" +
                                                describe(identity) +
                                                ") or the master key is wrong");
  }
  return key;
}

// ---- Writer ----

struct SegmentWriter::State {
  const hal::Storage* storage = nullptr;
  std::filesystem::path path;
  hal::UniqueFd fd;
  AssociatedData ad{};
  StreamState stream{};
  Totals totals;
  uint64_t file_bytes = 0;  // end of the last complete message
  bool failed = false;      // an append or sync failed: no more appends
  bool finished = false;
  // The init and FINAL messages (and fragments handed over by span) are framed here; fragments
  // appended in place never pass through it.
  std::vector<uint8_t> frame;

  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ~State() { sodium_memzero(&stream, sizeof stream); }

  // Writes a sealed frame at the end of the last complete message. On failure cuts the file
  // back to that point and restores the stream state, so the file and the state agree again.
  Status write_frame(std::span<const uint8_t> bytes, const StreamState& before) {
    Status written = write_all_at(fd.get(), bytes, file_bytes, path);
    if (written.ok()) {
      file_bytes += bytes.size();
      return {};
    }
    stream = before;
    failed = true;
    Error error = std::move(written).error();
    if (::ftruncate(fd.get(), static_cast<off_t>(file_bytes)) != 0) {
      error.message += "; cutting the partial message off failed too (" +
                       std::string(std::strerror(errno)) + "), recovery will do it";
    }
    return error;
  }

  Status check_appendable(size_t fragment_bytes) const {
    if (finished) {
      return make_error(ErrorKind::kFailedPrecondition,
                        "segment file " + path.string() + " is already finished");
    }
    if (failed) {
      return make_error(ErrorKind::kFailedPrecondition,
                        "segment file " + path.string() +
                            " refuses appends after an earlier write failed; start a new segment");
    }
    if (kFragmentPrefixBytes + fragment_bytes + kStreamOverhead > kMaxCiphertextBytes) {
      return make_error(ErrorKind::kInvalidArgument,
                        "fragment of " + std::to_string(fragment_bytes) +
                            " bytes exceeds the segment file's 64 MiB message limit");
    }
    return {};
  }

  // The fragment message, sealed where it lies: `buffer` holds the fragment at
  // [begin, size - kSealTailroom) with kSealHeadroom free bytes in front of it. The prefix goes
  // right before the fragment, so the plaintext (prefix + fragment) is contiguous and
  // crypto_secretstream_push encrypts it in place, writing its encrypted tag byte just before it
  // and the MAC into the tail room (libsodium 1.0.18 reads each byte of the message before it
  // writes the same position; tests/recorder/segment_file_test.cpp pins that down). The length
  // word goes in front of the tag byte, and the frame is written with one pwrite.
  Status seal_in_place(const FragmentInfo& info, std::span<uint8_t> buffer, size_t begin) {
    const size_t fragment_bytes = buffer.size() - begin - SegmentWriter::kSealTailroom;
    uint8_t* plain = buffer.data() + begin - kFragmentPrefixBytes;
    plain[0] = static_cast<uint8_t>(MessageType::kFragment);
    bytes::store_i64_le(plain + 1, info.utc_start_us);
    bytes::store_i64_le(plain + 9, info.duration_us);
    bytes::store_i64_le(plain + 17, info.decode_time);
    bytes::store_u32_le(plain + 25, info.sample_count);
    const std::span<const uint8_t> fragment(buffer.data() + begin, fragment_bytes);
    // The hash covers the plaintext, which the encryption overwrites: hash first, and put the
    // running hash back if the write fails.
    const Sha256Hasher hash_before = totals.sha256;
    totals.sha256.update(fragment);

    const size_t plaintext_bytes = kFragmentPrefixBytes + fragment_bytes;
    uint8_t* frame_start = plain - 1 - kLengthBytes;
    StreamState before = stream;
    WipeOnExit wipe{&before, sizeof before};
    crypto_secretstream_xchacha20poly1305_push(&stream, plain - 1, nullptr, plain, plaintext_bytes,
                                               ad.data(), ad.size(), kTagMessage);
    const size_t ciphertext_bytes = plaintext_bytes + kStreamOverhead;
    bytes::store_u32_le(frame_start, static_cast<uint32_t>(ciphertext_bytes));
    Status written = write_frame({frame_start, kLengthBytes + ciphertext_bytes}, before);
    if (!written.ok()) {
      totals.sha256 = hash_before;
      return written;
    }
    totals.fragment_count += 1;
    totals.end_utc_us = info.utc_start_us + info.duration_us;
    return {};
  }
};

static_assert(SegmentWriter::kSealHeadroom == kLengthBytes + 1 + kFragmentPrefixBytes);
static_assert(SegmentWriter::kSealTailroom == kStreamOverhead - 1);

Result<std::unique_ptr<SegmentWriter>> SegmentWriter::create(
    const hal::Storage& storage, const std::filesystem::path& path, const SegmentIdentity& identity,
    const hal::SecretBytes& segment_key, std::span<const uint8_t> init_section) {
  YW_TRY(check_key(segment_key, "a segment key"));
  YW_TRY(init_sodium());
  if (1 + init_section.size() + kStreamOverhead > kMaxCiphertextBytes) {
    return make_error(ErrorKind::kInvalidArgument, "init section too large");
  }
  auto state = std::make_unique<State>();
  state->storage = &storage;
  state->path = path;
  state->ad = make_associated_data(identity);
  state->totals.end_utc_us = identity.start_utc_us;
  state->totals.sha256.reset();

  state->fd = hal::UniqueFd(
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, S_IRUSR | S_IWUSR));
  if (!state->fd.valid()) return errno_error(errno, "create segment file " + path.string());

  // Header and init message go out in one write.
  std::array<uint8_t, kHeaderBytes> header{};
  std::copy(state->ad.begin(), state->ad.end(), header.begin());
  crypto_secretstream_xchacha20poly1305_init_push(
      &state->stream, header.data() + kStreamHeaderOffset, segment_key.data());
  std::vector<uint8_t> plaintext(1 + init_section.size());
  plaintext[0] = static_cast<uint8_t>(MessageType::kInit);
  std::copy(init_section.begin(), init_section.end(), plaintext.begin() + 1);
  seal_message(state->stream, state->ad, plaintext, false, state->frame);
  state->frame.insert(state->frame.begin(), header.begin(), header.end());
  state->totals.sha256.update(init_section);

  Status written = write_all_at(state->fd.get(), state->frame, 0, path);
  if (written.ok()) written = storage.sync_file(state->fd.get());
  if (written.ok()) {
    std::filesystem::path directory = path.parent_path();
    written = storage.sync_directory(directory.empty() ? std::filesystem::path(".") : directory);
  }
  if (!written.ok()) {
    // O_EXCL proved the file is ours; a file without even an init message is worth nothing.
    state->fd.reset();
    ::unlink(path.c_str());
    return std::move(written).error();
  }
  state->file_bytes = state->frame.size();

  std::unique_ptr<SegmentWriter> writer(new SegmentWriter());
  writer->state_ = std::move(state);
  return writer;
}

SegmentWriter::~SegmentWriter() = default;

Status SegmentWriter::append_fragment(const FragmentInfo& info, std::span<const uint8_t> fragment) {
  State& s = *state_;
  YW_TRY(s.check_appendable(fragment.size()));
  // One copy, into the reused frame buffer, laid out for sealing in place.
  s.frame.resize(kSealHeadroom + fragment.size() + kSealTailroom);
  if (!fragment.empty())
    std::memcpy(s.frame.data() + kSealHeadroom, fragment.data(), fragment.size());
  return s.seal_in_place(info, s.frame, kSealHeadroom);
}

Status SegmentWriter::append_fragment_in_place(const FragmentInfo& info,
                                               std::vector<uint8_t>& buffer, size_t begin) {
  State& s = *state_;
  if (begin < kSealHeadroom || begin > buffer.size()) {
    return make_error(ErrorKind::kInvalidArgument, "a fragment sealed in place needs " +
                                                       std::to_string(kSealHeadroom) +
                                                       " free bytes in front of it");
  }
  YW_TRY(s.check_appendable(buffer.size() - begin));
  buffer.resize(buffer.size() + kSealTailroom);
  return s.seal_in_place(info, buffer, begin);
}

Status SegmentWriter::sync() {
  State& s = *state_;
  if (s.finished) return {};  // finish() already synced and closed the file
  Status synced = s.storage->sync_file(s.fd.get());
  // After a failed fsync the kernel may have dropped dirty pages; what is on disk is unknown,
  // so no more appends (recovery sorts out what survived).
  if (!synced.ok()) s.failed = true;
  return synced;
}

Result<SegmentSummary> SegmentWriter::finish() {
  State& s = *state_;
  if (s.finished) {
    return make_error(ErrorKind::kFailedPrecondition,
                      "segment file " + s.path.string() + " is already finished");
  }
  // finish() is allowed after a failed append: write_frame restored the stream state and cut
  // the file back, and the FINAL message is pushed after a rekey, so no key/nonce is reused.
  const Sha256 digest = finish_sha256(s.totals.sha256);
  const auto plain = final_plaintext(s.totals.fragment_count, s.totals.end_utc_us, digest);
  StreamState before = s.stream;
  WipeOnExit wipe{&before, sizeof before};
  seal_message(s.stream, s.ad, plain, true, s.frame);
  YW_TRY(s.write_frame(s.frame, before));
  YW_TRY(s.storage->sync_file(s.fd.get()));
  s.finished = true;
  s.fd.reset();
  SegmentSummary summary = summary_so_far();
  sodium_memzero(&s.stream, sizeof s.stream);
  return summary;
}

SegmentSummary SegmentWriter::summary_so_far() const {
  const State& s = *state_;
  return SegmentSummary{
      .end_utc_us = s.totals.end_utc_us,
      .file_bytes = s.file_bytes,
      .fragment_count = s.totals.fragment_count,
      .plaintext_sha256 = finish_sha256(s.totals.sha256),
  };
}

// ---- Reader ----

struct SegmentReader::State {
  std::filesystem::path path;
  hal::UniqueFd fd;
  AssociatedData ad{};
  StreamState stream{};
  Totals totals;
  uint64_t offset = kHeaderBytes;  // start of the next message
  bool seen_init = false;
  bool done = false;
  std::optional<Error> error;  // sticky: after a failure the stream state is meaningless
  std::vector<uint8_t> ciphertext;

  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ~State() { sodium_memzero(&stream, sizeof stream); }

  Result<std::optional<SegmentMessage>> next();
};

Result<std::unique_ptr<SegmentReader>> SegmentReader::open(const std::filesystem::path& path,
                                                           const SegmentIdentity& identity,
                                                           const hal::SecretBytes& segment_key) {
  YW_TRY(check_key(segment_key, "a segment key"));
  YW_TRY(init_sodium());
  auto state = std::make_unique<State>();
  state->path = path;
  state->fd = hal::UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!state->fd.valid()) return errno_error(errno, "open segment file " + path.string());
  YW_TRY(open_stream(state->fd.get(), path, identity, segment_key, state->ad, state->stream));
  state->totals.end_utc_us = identity.start_utc_us;
  state->totals.sha256.reset();
  std::unique_ptr<SegmentReader> reader(new SegmentReader());
  reader->state_ = std::move(state);
  return reader;
}

SegmentReader::~SegmentReader() = default;

Result<std::optional<SegmentMessage>> SegmentReader::next() {
  State& s = *state_;
  if (s.error) return *s.error;
  if (s.done) return std::optional<SegmentMessage>();
  auto result = s.next();
  if (!result.ok()) {
    s.error = result.error();
    sodium_memzero(&s.stream, sizeof s.stream);
  }
  return result;
}

std::optional<Sha256> SegmentReader::verified_sha256() const {
  if (!state_->done || state_->error) return std::nullopt;
  return finish_sha256(state_->totals.sha256);
}

Result<std::optional<SegmentMessage>> SegmentReader::State::next() {
  SegmentMessage message;
  // Decrypt straight into the payload vector that is returned; the prefix is cut off below.
  std::vector<uint8_t>& plain = message.payload;
  YW_ASSIGN_OR_RETURN(Frame frame,
                      read_frame(fd.get(), path, offset, stream, ad, ciphertext, plain));
  if (frame.status != FrameStatus::kAuthentic) {
    return make_error(ErrorKind::kDataLoss, frame_problem(frame, path, offset));
  }
  YW_ASSIGN_OR_RETURN(Parsed parsed, parse_plaintext(plain, frame, path, offset));
  if (!seen_init && parsed.type != MessageType::kInit) {
    return make_error(ErrorKind::kDataLoss,
                      "segment file " + path.string() + " does not start with its init message");
  }
  if (seen_init && parsed.type == MessageType::kInit) {
    return make_error(ErrorKind::kDataLoss, "segment file " + path.string() +
                                                ": a second init message at byte offset " +
                                                std::to_string(offset));
  }
  const uint64_t message_offset = offset;
  offset = frame.end;

  if (parsed.type == MessageType::kFinal) {
    YW_TRY(check_final(parsed, totals, path, message_offset));
    uint8_t extra = 0;
    YW_ASSIGN_OR_RETURN(size_t trailing, read_at(fd.get(), &extra, 1, offset, path));
    if (trailing != 0) {
      return make_error(ErrorKind::kDataLoss,
                        "segment file " + path.string() +
                            " has data after its FINAL message, at byte offset " +
                            std::to_string(offset));
    }
    done = true;
    return std::optional<SegmentMessage>();
  }

  message.type = parsed.type;
  message.fragment = parsed.fragment;
  // One memmove within the buffer instead of a second allocation and copy.
  plain.erase(plain.begin(), plain.begin() + static_cast<std::ptrdiff_t>(parsed.payload_offset));
  totals.sha256.update(plain);
  if (parsed.type == MessageType::kFragment) {
    totals.fragment_count += 1;
    totals.end_utc_us = parsed.fragment.utc_start_us + parsed.fragment.duration_us;
  }
  seen_init = true;
  return std::optional<SegmentMessage>(std::move(message));
}

// ---- Recovery ----

Result<RecoveredSegment> recover_segment_file(const hal::Storage& storage,
                                              const std::filesystem::path& path,
                                              const SegmentIdentity& identity,
                                              const hal::SecretBytes& segment_key) {
  YW_TRY(check_key(segment_key, "a segment key"));
  YW_TRY(init_sodium());
  hal::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd.valid()) return errno_error(errno, "open segment file " + path.string());
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0)
    return errno_error(errno, "stat segment file " + path.string());
  const auto file_size = static_cast<uint64_t>(info.st_size);

  AssociatedData ad{};
  StreamState stream{};
  WipeOnExit wipe{&stream, sizeof stream};
  YW_TRY(open_stream(fd.get(), path, identity, segment_key, ad, stream));

  Totals totals;
  totals.end_utc_us = identity.start_utc_us;
  totals.sha256.reset();
  std::vector<uint8_t> ciphertext;
  std::vector<uint8_t> plain;
  uint64_t offset = kHeaderBytes;  // end of the last authentic message
  bool seen_init = false;

  // Step 1: walk the authentic prefix. read_frame leaves `stream` at the state after the last
  // authentic message, which equals the writer's push state at that point.
  for (;;) {
    YW_ASSIGN_OR_RETURN(Frame frame,
                        read_frame(fd.get(), path, offset, stream, ad, ciphertext, plain));
    if (frame.status != FrameStatus::kAuthentic) {
      if (!seen_init) {
        return make_error(ErrorKind::kDataLoss,
                          "cannot recover: " + frame_problem(frame, path, offset) +
                              "; not even the init message is authentic");
      }
      break;
    }
    // An authentic message that breaks the format rules can only come from a broken writer;
    // guessing would hide that, so stop with an error instead.
    YW_ASSIGN_OR_RETURN(Parsed parsed, parse_plaintext(plain, frame, path, offset));
    if (seen_init == (parsed.type == MessageType::kInit)) {
      return make_error(ErrorKind::kDataLoss, "cannot recover segment file " + path.string() +
                                                  ": init message out of place at byte offset " +
                                                  std::to_string(offset));
    }
    if (parsed.type == MessageType::kFinal) {
      // Already finished (a crash after FINAL was written, or recovery run twice): keep it and
      // only cut off anything behind it.
      YW_TRY(check_final(parsed, totals, path, offset));
      RecoveredSegment recovered;
      recovered.summary = SegmentSummary{
          .end_utc_us = parsed.final_end_utc_us,
          .file_bytes = frame.end,
          .fragment_count = parsed.final_fragment_count,
          .plaintext_sha256 = parsed.final_sha256,
      };
      if (file_size > frame.end) {
        if (::ftruncate(fd.get(), static_cast<off_t>(frame.end)) != 0) {
          return errno_error(errno, "truncate segment file " + path.string());
        }
        YW_TRY(storage.sync_file(fd.get()));
        recovered.bytes_discarded = file_size - frame.end;
      }
      return recovered;
    }
    std::span<const uint8_t> payload(plain.data() + parsed.payload_offset,
                                     plain.size() - parsed.payload_offset);
    totals.sha256.update(payload);
    if (parsed.type == MessageType::kFragment) {
      totals.fragment_count += 1;
      totals.end_utc_us = parsed.fragment.utc_start_us + parsed.fragment.duration_us;
    }
    seen_init = true;
    offset = frame.end;
  }

  // Step 2: cut off the unauthentic tail. Step 3: append FINAL (rekeyed, see seal_message).
  // Step 4: make it durable.
  if (::ftruncate(fd.get(), static_cast<off_t>(offset)) != 0) {
    return errno_error(errno, "truncate segment file " + path.string());
  }
  const Sha256 digest = finish_sha256(totals.sha256);
  const auto final_plain = final_plaintext(totals.fragment_count, totals.end_utc_us, digest);
  std::vector<uint8_t> frame;
  seal_message(stream, ad, final_plain, true, frame);
  YW_TRY(write_all_at(fd.get(), frame, offset, path));
  YW_TRY(storage.sync_file(fd.get()));

  RecoveredSegment recovered;
  recovered.summary = SegmentSummary{
      .end_utc_us = totals.end_utc_us,
      .file_bytes = offset + frame.size(),
      .fragment_count = totals.fragment_count,
      .plaintext_sha256 = digest,
  };
  recovered.bytes_discarded = file_size - offset;
  return recovered;
}

}  // namespace yardwatch::recorder
