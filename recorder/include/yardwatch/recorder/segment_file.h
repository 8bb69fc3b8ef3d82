#pragma once

// The vault's segment files: a versioned header, then a crypto_secretstream_xchacha20poly1305
// stream whose messages are the fMP4 init section and then one message per fragment with its
// timestamps, closed by a FINAL message. Byte layout: recorder/design/segment_file.md.

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "yardwatch/hal/result.h"
#include "yardwatch/hal/secret.h"
#include "yardwatch/hal/storage.h"
#include "yardwatch/hal/unique_fd.h"

namespace yardwatch::recorder {

constexpr size_t kSegmentKeyBytes = 32;
constexpr size_t kSha256Bytes = 32;
using Sha256 = std::array<uint8_t, kSha256Bytes>;

// What a segment is: bound into the file header, into every message's associated data and into
// the wrapping of its key, so a file or key moved to another row is detected.
struct SegmentIdentity {
  int64_t segment_id = 0;
  int64_t camera_id = 0;
  int64_t start_utc_us = 0;
  bool operator==(const SegmentIdentity&) const = default;
};

hal::SecretBytes generate_segment_key();
// XChaCha20-Poly1305 under the device master key with the identity as associated data.
std::vector<uint8_t> wrap_segment_key(const hal::SecretBytes& master_key,
                                      const hal::SecretBytes& segment_key,
                                      const SegmentIdentity& identity);
Result<hal::SecretBytes> unwrap_segment_key(const hal::SecretBytes& master_key,
                                            std::span<const uint8_t> wrapped,
                                            const SegmentIdentity& identity);

struct FragmentInfo {
  int64_t utc_start_us = 0;  // wall-clock time of the fragment's first sample
  int64_t duration_us = 0;
  int64_t decode_time = 0;  // baseMediaDecodeTime of the fragment (track timescale)
  uint32_t sample_count = 0;
  bool operator==(const FragmentInfo&) const = default;
};

struct SegmentSummary {
  int64_t end_utc_us = 0;   // utc_start_us + duration_us of the last fragment
  uint64_t file_bytes = 0;  // size of the file on disk
  uint32_t fragment_count = 0;
  Sha256 plaintext_sha256{};  // SHA-256 over the init section then every fragment, in order
};

class SegmentWriter {
 public:
  // Creates the file (O_EXCL, 0600), writes the header and the init message, syncs the file and
  // its directory. kResourceExhausted on ENOSPC.
  static Result<std::unique_ptr<SegmentWriter>> create(const hal::Storage& storage,
                                                       const std::filesystem::path& path,
                                                       const SegmentIdentity& identity,
                                                       const hal::SecretBytes& segment_key,
                                                       std::span<const uint8_t> init_section);
  ~SegmentWriter();
  SegmentWriter(const SegmentWriter&) = delete;
  SegmentWriter& operator=(const SegmentWriter&) = delete;

  // Appends one fragment message. On failure (e.g. ENOSPC) the file is cut back to the last
  // complete message, so what was written before stays valid; the writer then refuses appends.
  Status append_fragment(const FragmentInfo& info, std::span<const uint8_t> fragment);

  // Room a fragment needs around it to be appended in place: the length word, the encrypted tag
  // byte and the 29-byte fragment prefix in front, the 16-byte MAC behind (segment_file.md).
  static constexpr size_t kSealHeadroom = 4 + 1 + 29;
  static constexpr size_t kSealTailroom = 16;
  // append_fragment without a copy: the fragment is at [begin, buffer.size()) of `buffer`, with at
  // least kSealHeadroom bytes in front of it that the writer may overwrite. The writer grows the
  // buffer by kSealTailroom (reserve the capacity to avoid a reallocation) and encrypts the
  // message in place: afterwards the buffer holds ciphertext, not the fragment.
  Status append_fragment_in_place(const FragmentInfo& info, std::vector<uint8_t>& buffer,
                                  size_t begin);
  // fdatasync: everything appended so far survives a power cut.
  Status sync();
  // Writes the FINAL message and syncs. The writer is unusable afterwards.
  Result<SegmentSummary> finish();

  [[nodiscard]] SegmentSummary summary_so_far() const;

 private:
  SegmentWriter() = default;
  struct State;
  std::unique_ptr<State> state_;
};

enum class MessageType : uint8_t { kInit = 1, kFragment = 2, kFinal = 3 };

struct SegmentMessage {
  MessageType type = MessageType::kInit;
  FragmentInfo fragment;         // for kFragment
  std::vector<uint8_t> payload;  // init section or fragment bytes
};

class SegmentReader {
 public:
  // Opens and checks the header against the expected identity (kDataLoss if it differs).
  static Result<std::unique_ptr<SegmentReader>> open(const std::filesystem::path& path,
                                                     const SegmentIdentity& identity,
                                                     const hal::SecretBytes& segment_key);
  ~SegmentReader();
  SegmentReader(const SegmentReader&) = delete;
  SegmentReader& operator=(const SegmentReader&) = delete;

  // The next authentic message; std::nullopt after the FINAL message. kDataLoss (with the byte
  // offset in the message) on a failed authentication, a short read or a missing FINAL message.
  // Never returns bytes that did not authenticate.
  Result<std::optional<SegmentMessage>> next();
  // After next() returned std::nullopt: the SHA-256 over the init section and every fragment,
  // which the FINAL message confirmed (what the catalog records). nullopt before that.
  [[nodiscard]] std::optional<Sha256> verified_sha256() const;

 private:
  SegmentReader() = default;
  struct State;
  std::unique_ptr<State> state_;
};

struct RecoveredSegment {
  SegmentSummary summary;
  uint64_t bytes_discarded = 0;  // unauthentic or partial tail that was cut off
};

// Crash recovery of a segment left in state `recording`: keeps every authentic message, cuts the
// rest off, appends the FINAL message and syncs. kNotFound if the file is missing; kDataLoss if
// not even the init message is authentic (the caller then removes file and row); a result with
// fragment_count == 0 means there is no footage to keep.
Result<RecoveredSegment> recover_segment_file(const hal::Storage& storage,
                                              const std::filesystem::path& path,
                                              const SegmentIdentity& identity,
                                              const hal::SecretBytes& segment_key);

}  // namespace yardwatch::recorder
