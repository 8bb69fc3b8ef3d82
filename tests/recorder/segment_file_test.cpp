#include "yardwatch/recorder/segment_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "test_support.h"
#include "yardwatch/recorder/fmp4.h"

namespace yardwatch::recorder {
namespace {

using testing::TempDir;
namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

constexpr SegmentIdentity kIdentity{
    .segment_id = 17, .camera_id = 3, .start_utc_us = 1'795'600'800'000'000};
constexpr int64_t kFragmentUs = 2'000'000;

// ---- Fixtures: real fMP4 bytes (so "ftyp"/"moof"/"mdat" are in the plaintext) ----

Bytes init_section() {
  TrackInfo track;
  track.width = 640;
  track.height = 360;
  track.codec_config = {0x01, 0x64, 0x00, 0x1F, 0xFF, 0xE1, 0x00, 0x03, 0x67, 0x64, 0x00};
  return build_init_segment(track);
}

// A fragment whose sample data carries a recognisable marker and `size` bytes of filler.
Bytes fragment_bytes(uint32_t index, size_t size) {
  std::vector<Sample> samples(1);
  const std::string marker = "SECRET-FOOTAGE-OF-FRAGMENT-" + std::to_string(index) + "-";
  samples[0].data.assign(marker.begin(), marker.end());
  for (size_t i = 0; i < size; ++i) {
    samples[0].data.push_back(static_cast<uint8_t>((i * 131 + index * 7) % 251));
  }
  samples[0].decode_time = int64_t{index} * 180000;
  samples[0].duration = 180000;
  samples[0].keyframe = true;
  return build_media_fragment(index + 1, samples);
}

FragmentInfo fragment_info(uint32_t index) {
  return FragmentInfo{.utc_start_us = kIdentity.start_utc_us + index * kFragmentUs,
                      .duration_us = kFragmentUs,
                      .decode_time = int64_t{index} * 180000,
                      .sample_count = 50 + index};
}

Bytes read_bytes(const fs::path& path) {
  const std::string text = testing::read_file(path);
  return Bytes(text.begin(), text.end());
}

void write_bytes(const fs::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

bool contains(const Bytes& haystack, const Bytes& needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) !=
         haystack.end();
}

bool contains(const Bytes& haystack, const std::string& needle) {
  return contains(haystack, Bytes(needle.begin(), needle.end()));
}

Sha256 sha256_of(const std::vector<Bytes>& parts) {
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  for (const Bytes& part : parts) crypto_hash_sha256_update(&state, part.data(), part.size());
  Sha256 digest{};
  crypto_hash_sha256_final(&state, digest.data());
  return digest;
}

struct Written {
  Bytes init;
  std::vector<Bytes> fragments;
  SegmentSummary summary;
};

// Writes init + `count` fragments (sizes vary) and, if `finish`, the FINAL message.
Written write_segment(const hal::Storage& storage, const fs::path& path,
                      const hal::SecretBytes& key, uint32_t count, size_t filler = 300,
                      bool finish = true, const SegmentIdentity& identity = kIdentity) {
  Written written;
  written.init = init_section();
  auto writer = SegmentWriter::create(storage, path, identity, key, written.init);
  REQUIRE(writer.ok());
  for (uint32_t i = 0; i < count; ++i) {
    written.fragments.push_back(fragment_bytes(i, filler + i * 17));
    REQUIRE((*writer)->append_fragment(fragment_info(i), written.fragments.back()).ok());
  }
  if (finish) {
    auto summary = (*writer)->finish();
    REQUIRE(summary.ok());
    written.summary = summary.value();
  } else {
    written.summary = (*writer)->summary_so_far();
  }
  return written;
}

struct ReadBack {
  std::vector<SegmentMessage> messages;
  std::optional<Error> error;  // what ended the read, if not a clean end
};

ReadBack read_segment(const fs::path& path, const hal::SecretBytes& key,
                      const SegmentIdentity& identity = kIdentity) {
  ReadBack result;
  auto reader = SegmentReader::open(path, identity, key);
  if (!reader.ok()) {
    result.error = reader.error();
    return result;
  }
  for (;;) {
    auto message = (*reader)->next();
    if (!message.ok()) {
      result.error = message.error();
      // Failures are sticky: the reader never resumes after a bad message.
      auto again = (*reader)->next();
      CHECK_FALSE(again.ok());
      return result;
    }
    if (!message.value().has_value()) {
      // After the end, it stays at the end.
      auto again = (*reader)->next();
      REQUIRE(again.ok());
      CHECK_FALSE(again.value().has_value());
      return result;
    }
    result.messages.push_back(std::move(*message.value()));
  }
}

// Every message that was returned is exactly what was written.
void check_prefix(const ReadBack& read, const Written& written) {
  REQUIRE(read.messages.size() <= written.fragments.size() + 1);
  for (size_t i = 0; i < read.messages.size(); ++i) {
    const SegmentMessage& message = read.messages[i];
    if (i == 0) {
      REQUIRE(message.type == MessageType::kInit);
      REQUIRE(message.payload == written.init);
    } else {
      REQUIRE(message.type == MessageType::kFragment);
      REQUIRE(message.payload == written.fragments[i - 1]);
      REQUIRE(message.fragment == fragment_info(static_cast<uint32_t>(i - 1)));
    }
  }
}

void check_complete(const ReadBack& read, const Written& written) {
  if (read.error) FAIL(read.error->to_string());
  REQUIRE(read.messages.size() == written.fragments.size() + 1);
  check_prefix(read, written);
}

// Byte offsets where each message starts (its length word), and the file end.
std::vector<size_t> message_offsets(const Bytes& file) {
  std::vector<size_t> offsets;
  size_t at = 60;
  while (at + 4 <= file.size()) {
    offsets.push_back(at);
    const uint32_t word =
        static_cast<uint32_t>(file[at]) | (static_cast<uint32_t>(file[at + 1]) << 8) |
        (static_cast<uint32_t>(file[at + 2]) << 16) | (static_cast<uint32_t>(file[at + 3]) << 24);
    at += 4 + (word & 0x7FFFFFFF);
  }
  REQUIRE(at == file.size());
  return offsets;
}

struct Fixture {
  TempDir dir{"yw-segment"};
  hal::DirectoryStorage storage{dir.path()};
  hal::SecretBytes key = generate_segment_key();
  fs::path path = dir / "17.ywseg";
};

// ---- Round trip ----

TEST_CASE("segment file round trip: init, fragments, FINAL", "[segment_file]") {
  Fixture f;
  const Bytes init = init_section();
  auto writer = SegmentWriter::create(f.storage, f.path, kIdentity, f.key, init);
  REQUIRE(writer.ok());
  CHECK(((fs::status(f.path).permissions() & fs::perms::all) ==
         (fs::perms::owner_read | fs::perms::owner_write)));
  CHECK((*writer)->summary_so_far().fragment_count == 0);
  CHECK((*writer)->summary_so_far().end_utc_us == kIdentity.start_utc_us);
  CHECK((*writer)->summary_so_far().file_bytes == fs::file_size(f.path));

  std::vector<Bytes> fragments;
  for (uint32_t i = 0; i < 6; ++i) {
    // One fragment of about 1 MB, like a 2-second GOP at 4 Mbit/s.
    fragments.push_back(fragment_bytes(i, i == 3 ? 1'000'000 : 1000 + i * 333));
    REQUIRE((*writer)->append_fragment(fragment_info(i), fragments.back()).ok());
    const SegmentSummary so_far = (*writer)->summary_so_far();
    CHECK(so_far.fragment_count == i + 1);
    CHECK(so_far.file_bytes == fs::file_size(f.path));
    CHECK(so_far.end_utc_us == fragment_info(i).utc_start_us + kFragmentUs);
  }
  REQUIRE((*writer)->sync().ok());
  auto summary = (*writer)->finish();
  REQUIRE(summary.ok());

  std::vector<Bytes> all = {init};
  all.insert(all.end(), fragments.begin(), fragments.end());
  CHECK(summary->fragment_count == 6);
  CHECK(summary->end_utc_us == kIdentity.start_utc_us + 6 * kFragmentUs);
  CHECK(summary->file_bytes == fs::file_size(f.path));
  CHECK(summary->plaintext_sha256 == sha256_of(all));

  // Finished means finished.
  CHECK((*writer)->append_fragment(fragment_info(6), fragments[0]).error().kind ==
        ErrorKind::kFailedPrecondition);
  CHECK((*writer)->finish().error().kind == ErrorKind::kFailedPrecondition);

  const ReadBack read = read_segment(f.path, f.key);
  check_complete(read, Written{init, fragments, summary.value()});
}

TEST_CASE("fragments appended in place read back exactly and leave only ciphertext behind",
          "[segment_file]") {
  Fixture f;
  const Bytes init = init_section();
  auto writer = SegmentWriter::create(f.storage, f.path, kIdentity, f.key, init);
  REQUIRE(writer.ok());
  std::vector<Bytes> fragments;
  for (uint32_t i = 0; i < 5; ++i) {
    fragments.push_back(fragment_bytes(i, i == 2 ? 1'000'000 : 700 + i * 211));
    // The layout the segmenter hands over: free room in front (more than needed, as it
    // reserves for the moof), the fragment, and no spare capacity behind (the worst case).
    const size_t room = SegmentWriter::kSealHeadroom + 100 * i;
    Bytes buffer(room, 0xEE);
    buffer.insert(buffer.end(), fragments.back().begin(), fragments.back().end());
    buffer.shrink_to_fit();
    REQUIRE((*writer)->append_fragment_in_place(fragment_info(i), buffer, room).ok());
    // The buffer now holds ciphertext: no trace of the plaintext marker is left in it.
    CHECK_FALSE(contains(buffer, "SECRET-FOOTAGE-OF-FRAGMENT-" + std::to_string(i) + "-"));
    CHECK((*writer)->summary_so_far().file_bytes == fs::file_size(f.path));
  }
  Bytes short_of_room(SegmentWriter::kSealHeadroom - 1, 0);
  short_of_room.insert(short_of_room.end(), fragments[0].begin(), fragments[0].end());
  CHECK((*writer)
            ->append_fragment_in_place(fragment_info(9), short_of_room,
                                       SegmentWriter::kSealHeadroom - 1)
            .error()
            .kind == ErrorKind::kInvalidArgument);
  auto summary = (*writer)->finish();
  REQUIRE(summary.ok());
  std::vector<Bytes> all = {init};
  all.insert(all.end(), fragments.begin(), fragments.end());
  CHECK(summary->fragment_count == 5);
  CHECK(summary->plaintext_sha256 == sha256_of(all));
  check_complete(read_segment(f.path, f.key), Written{init, fragments, summary.value()});
}

TEST_CASE("libsodium 1.0.18: secretstream push in place equals push into another buffer",
          "[segment_file]") {
  // SegmentWriter::append_fragment_in_place relies on this: with the output one byte before the
  // message, push writes the encrypted tag byte in front and XORs the message where it lies.
  REQUIRE(sodium_init() >= 0);
  unsigned char key[crypto_secretstream_xchacha20poly1305_KEYBYTES];
  unsigned char header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
  crypto_secretstream_xchacha20poly1305_keygen(key);
  crypto_secretstream_xchacha20poly1305_state state{};
  crypto_secretstream_xchacha20poly1305_init_push(&state, header, key);
  const Bytes ad = {1, 2, 3, 4, 5};
  for (size_t size :
       {size_t{0}, size_t{1}, size_t{63}, size_t{64}, size_t{65}, size_t{1'000'003}}) {
    Bytes message(size);
    for (size_t i = 0; i < size; ++i) message[i] = static_cast<uint8_t>(i * 7 + size);
    auto copy_state = state;
    Bytes separate(size + crypto_secretstream_xchacha20poly1305_ABYTES);
    crypto_secretstream_xchacha20poly1305_push(&copy_state, separate.data(), nullptr,
                                               message.data(), message.size(), ad.data(), ad.size(),
                                               0);
    Bytes in_place(1 + size + crypto_secretstream_xchacha20poly1305_ABYTES - 1);
    std::copy(message.begin(), message.end(), in_place.begin() + 1);
    crypto_secretstream_xchacha20poly1305_push(&state, in_place.data(), nullptr,
                                               in_place.data() + 1, size, ad.data(), ad.size(), 0);
    INFO("message of " << size << " bytes");
    CHECK(in_place == separate);
    CHECK(std::memcmp(&copy_state, &state, sizeof state) == 0);
  }
}

TEST_CASE("segment file with no fragments round-trips", "[segment_file]") {
  Fixture f;
  const Written written = write_segment(f.storage, f.path, f.key, 0);
  CHECK(written.summary.fragment_count == 0);
  CHECK(written.summary.end_utc_us == kIdentity.start_utc_us);
  CHECK(written.summary.plaintext_sha256 == sha256_of({written.init}));
  check_complete(read_segment(f.path, f.key), written);
}

TEST_CASE("segment writer refuses an existing file and bad keys", "[segment_file]") {
  Fixture f;
  write_bytes(f.path, {1, 2, 3});
  auto exists = SegmentWriter::create(f.storage, f.path, kIdentity, f.key, init_section());
  REQUIRE_FALSE(exists.ok());
  CHECK(exists.error().kind == ErrorKind::kAlreadyExists);
  CHECK(read_bytes(f.path) == Bytes{1, 2, 3});

  hal::SecretBytes short_key(16);
  auto bad =
      SegmentWriter::create(f.storage, f.dir / "other", kIdentity, short_key, init_section());
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().kind == ErrorKind::kInvalidArgument);
  CHECK_FALSE(fs::exists(f.dir / "other"));
}

TEST_CASE("R3: no plaintext of a segment, nor its key, reaches the disk", "[segment_file]") {
  Fixture f;
  const Written written = write_segment(f.storage, f.path, f.key, 5, 4000);
  const Bytes file = read_bytes(f.path);
  for (const char* box : {"ftyp", "moov", "avcC", "moof", "mdat", "SECRET-FOOTAGE"}) {
    INFO(box);
    CHECK_FALSE(contains(file, std::string(box)));
  }
  // No 16-byte run of any payload appears in the file.
  std::vector<Bytes> all = {written.init};
  all.insert(all.end(), written.fragments.begin(), written.fragments.end());
  for (const Bytes& payload : all) {
    for (size_t at = 0; at + 16 <= payload.size(); at += 97) {
      CHECK_FALSE(contains(file, Bytes(payload.begin() + static_cast<std::ptrdiff_t>(at),
                                       payload.begin() + static_cast<std::ptrdiff_t>(at + 16))));
    }
  }
  CHECK_FALSE(contains(file, Bytes(f.key.data(), f.key.data() + f.key.size())));
}

// ---- Tampering ----

TEST_CASE("every flipped byte is detected and no altered message is returned",
          "[segment_file][tamper]") {
  Fixture f;
  const Written written = write_segment(f.storage, f.path, f.key, 3, 120);
  const Bytes original = read_bytes(f.path);
  REQUIRE(original.size() < 4096);  // small enough to flip every single byte
  const fs::path copy = f.dir / "tampered";

  for (size_t position = 0; position < original.size(); ++position) {
    for (uint8_t mask :
         {uint8_t{0x01}, uint8_t{0x80}, static_cast<uint8_t>(1u << (position % 8))}) {
      Bytes tampered = original;
      tampered[position] ^= mask;
      write_bytes(copy, tampered);
      const ReadBack read = read_segment(copy, f.key);
      INFO("byte " << position << " ^ " << int{mask});
      REQUIRE(read.error.has_value());
      CHECK(read.error->kind == ErrorKind::kDataLoss);
      check_prefix(read, written);
    }
  }
}

TEST_CASE("error messages name the problem and the offset", "[segment_file][tamper]") {
  Fixture f;
  write_segment(f.storage, f.path, f.key, 2, 120);
  const Bytes original = read_bytes(f.path);
  const auto offsets = message_offsets(original);
  REQUIRE(offsets.size() == 4);  // init, 2 fragments, FINAL

  SECTION("ciphertext") {
    Bytes tampered = original;
    tampered[offsets[2] + 30] ^= 0x10;
    write_bytes(f.path, tampered);
    const ReadBack read = read_segment(f.path, f.key);
    REQUIRE(read.error);
    CHECK(read.messages.size() == 2);
    CHECK_THAT(read.error->message,
               Catch::Contains("at byte offset " + std::to_string(offsets[2])) &&
                   Catch::Contains("failed authentication"));
  }
  SECTION("absurd length is rejected before allocating") {
    Bytes tampered = original;
    tampered[offsets[1] + 3] = 0x7F;  // ~2 GiB
    write_bytes(f.path, tampered);
    const ReadBack read = read_segment(f.path, f.key);
    REQUIRE(read.error);
    CHECK(read.error->kind == ErrorKind::kDataLoss);
    CHECK_THAT(read.error->message, Catch::Contains("impossible length"));
  }
  SECTION("magic") {
    Bytes tampered = original;
    tampered[1] = 'X';
    write_bytes(f.path, tampered);
    const ReadBack read = read_segment(f.path, f.key);
    REQUIRE(read.error);
    CHECK_THAT(read.error->message, Catch::Contains("not a Yardwatch segment file"));
  }
  SECTION("data after FINAL") {
    Bytes tampered = original;
    tampered.push_back(0);
    write_bytes(f.path, tampered);
    const ReadBack read = read_segment(f.path, f.key);
    REQUIRE(read.error);
    CHECK(read.error->kind == ErrorKind::kDataLoss);
    CHECK(read.messages.size() == 3);
    CHECK_THAT(read.error->message, Catch::Contains("data after its FINAL message"));
  }
  SECTION("a wrong segment key fails at the first message") {
    const hal::SecretBytes other = generate_segment_key();
    const ReadBack read = read_segment(f.path, other);
    REQUIRE(read.error);
    CHECK(read.error->kind == ErrorKind::kDataLoss);
    CHECK(read.messages.empty());
    CHECK_THAT(read.error->message, Catch::Contains("at byte offset 60"));
  }
}

TEST_CASE("truncation anywhere is detected as a missing FINAL", "[segment_file][tamper]") {
  Fixture f;
  const Written written = write_segment(f.storage, f.path, f.key, 3, 120);
  const Bytes original = read_bytes(f.path);
  const auto offsets = message_offsets(original);
  const fs::path copy = f.dir / "truncated";

  for (size_t length = 0; length < original.size(); ++length) {
    write_bytes(copy,
                Bytes(original.begin(), original.begin() + static_cast<std::ptrdiff_t>(length)));
    const ReadBack read = read_segment(copy, f.key);
    INFO("truncated to " << length << " of " << original.size() << " bytes");
    REQUIRE(read.error.has_value());
    CHECK(read.error->kind == ErrorKind::kDataLoss);
    check_prefix(read, written);
    if (std::find(offsets.begin(), offsets.end(), length) != offsets.end()) {
      // Cut exactly at a message boundary: everything before it is still readable.
      CHECK(
          read.messages.size() ==
          static_cast<size_t>(std::find(offsets.begin(), offsets.end(), length) - offsets.begin()));
      CHECK_THAT(read.error->message,
                 Catch::Contains("ends without its FINAL message (truncated?)"));
    }
  }
}

TEST_CASE("a file swapped with another segment's file is refused at open",
          "[segment_file][tamper]") {
  Fixture f;
  const SegmentIdentity other_segment{
      .segment_id = 18, .camera_id = 3, .start_utc_us = kIdentity.start_utc_us + 600'000'000};
  const SegmentIdentity other_camera{
      .segment_id = 17, .camera_id = 4, .start_utc_us = kIdentity.start_utc_us};
  const hal::SecretBytes other_key = generate_segment_key();

  SECTION("another segment of the same camera") {
    write_segment(f.storage, f.path, other_key, 2, 120, true, other_segment);
    const ReadBack read = read_segment(f.path, f.key);  // the catalog row of segment 17
    REQUIRE(read.error);
    CHECK(read.error->kind == ErrorKind::kDataLoss);
    CHECK(read.messages.empty());
    CHECK_THAT(read.error->message, Catch::Contains("belongs to segment 18 of camera 3") &&
                                        Catch::Contains("expected segment 17 of camera 3"));
  }
  SECTION("a catalog row pointing at another camera's file") {
    write_segment(f.storage, f.path, other_key, 2, 120, true, other_camera);
    // Even with the right key for that file, the identity does not match the row.
    const ReadBack read = read_segment(f.path, other_key, kIdentity);
    REQUIRE(read.error);
    CHECK(read.error->kind == ErrorKind::kDataLoss);
    CHECK_THAT(read.error->message, Catch::Contains("belongs to segment 17 of camera 4"));
  }
  SECTION("a header rewritten to claim the expected identity fails authentication") {
    write_segment(f.storage, f.path, other_key, 2, 120, true, other_camera);
    Bytes file = read_bytes(f.path);
    file[20] = 3;  // camera_id (bytes 20..27, LE) back to 3
    write_bytes(f.path, file);
    const ReadBack read = read_segment(f.path, other_key, kIdentity);
    REQUIRE(read.error);
    CHECK(read.error->kind == ErrorKind::kDataLoss);
    CHECK(read.messages.empty());
    CHECK_THAT(read.error->message, Catch::Contains("failed authentication"));
  }
}

// ---- Key wrapping ----

TEST_CASE("segment keys are wrapped for exactly one segment", "[segment_file][keys]") {
  hal::SecretBytes master(32);
  randombytes_buf(master.data(), master.size());
  const hal::SecretBytes key = generate_segment_key();
  REQUIRE(key.size() == kSegmentKeyBytes);

  const Bytes wrapped = wrap_segment_key(master, key, kIdentity);
  CHECK(wrapped.size() == 72);
  CHECK_FALSE(contains(wrapped, Bytes(key.data(), key.data() + key.size())));
  CHECK(wrap_segment_key(master, key, kIdentity) != wrapped);  // fresh nonce each time

  auto unwrapped = unwrap_segment_key(master, wrapped, kIdentity);
  REQUIRE(unwrapped.ok());
  CHECK(std::equal(key.span().begin(), key.span().end(), unwrapped->span().begin(),
                   unwrapped->span().end()));

  for (SegmentIdentity other : {SegmentIdentity{18, 3, kIdentity.start_utc_us},
                                SegmentIdentity{17, 4, kIdentity.start_utc_us},
                                SegmentIdentity{17, 3, kIdentity.start_utc_us + 1}}) {
    auto wrong = unwrap_segment_key(master, wrapped, other);
    REQUIRE_FALSE(wrong.ok());
    CHECK(wrong.error().kind == ErrorKind::kDataLoss);
    CHECK_THAT(wrong.error().message, Catch::Contains("does not belong to this segment"));
  }

  hal::SecretBytes other_master(32);
  randombytes_buf(other_master.data(), other_master.size());
  CHECK(unwrap_segment_key(other_master, wrapped, kIdentity).error().kind == ErrorKind::kDataLoss);

  for (size_t i = 0; i < wrapped.size(); ++i) {
    Bytes flipped = wrapped;
    flipped[i] ^= 0x04;
    CHECK(unwrap_segment_key(master, flipped, kIdentity).error().kind == ErrorKind::kDataLoss);
  }
  CHECK(unwrap_segment_key(master, std::span(wrapped).first(71), kIdentity).error().kind ==
        ErrorKind::kDataLoss);
}

// ---- Recovery ----

TEST_CASE("libsodium 1.0.18: a pulled stream state continues the pushed stream",
          "[segment_file][recovery]") {
  // recover_segment_file relies on this: after pulling message N the state is the writer's
  // state after pushing message N, so a FINAL pushed from it is what the writer would have
  // written.
  REQUIRE(sodium_init() >= 0);
  unsigned char key[crypto_secretstream_xchacha20poly1305_KEYBYTES];
  unsigned char header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
  crypto_secretstream_xchacha20poly1305_keygen(key);
  crypto_secretstream_xchacha20poly1305_state push{};
  crypto_secretstream_xchacha20poly1305_state pull{};
  crypto_secretstream_xchacha20poly1305_init_push(&push, header, key);
  crypto_secretstream_xchacha20poly1305_init_pull(&pull, header, key);
  for (int i = 0; i < 5; ++i) {
    const Bytes message(100 + static_cast<size_t>(i), static_cast<uint8_t>(i));
    Bytes cipher(message.size() + crypto_secretstream_xchacha20poly1305_ABYTES);
    Bytes plain(message.size());
    crypto_secretstream_xchacha20poly1305_push(&push, cipher.data(), nullptr, message.data(),
                                               message.size(), nullptr, 0, 0);
    REQUIRE(crypto_secretstream_xchacha20poly1305_pull(&pull, plain.data(), nullptr, nullptr,
                                                       cipher.data(), cipher.size(), nullptr,
                                                       0) == 0);
    CHECK(std::memcmp(push.k, pull.k, sizeof push.k) == 0);
    CHECK(std::memcmp(push.nonce, pull.nonce, sizeof push.nonce) == 0);
  }
  // A failed pull leaves the state untouched.
  Bytes garbage(50, 0x55);
  Bytes plain(garbage.size());
  const auto before = pull;
  REQUIRE(crypto_secretstream_xchacha20poly1305_pull(&pull, plain.data(), nullptr, nullptr,
                                                     garbage.data(), garbage.size(), nullptr,
                                                     0) != 0);
  CHECK(std::memcmp(&before, &pull, sizeof pull) == 0);
}

TEST_CASE("recovery keeps the authentic fragments of a crashed writer",
          "[segment_file][recovery]") {
  Fixture f;
  // The writer is destroyed without finish(): what a crash leaves behind.
  const Written written = write_segment(f.storage, f.path, f.key, 5, 2000, /*finish=*/false);
  const uint64_t good_bytes = fs::file_size(f.path);
  CHECK(good_bytes == written.summary.file_bytes);

  SECTION("with garbage behind the last message") {
    Bytes garbage(1000);
    randombytes_buf(garbage.data(), garbage.size());
    Bytes file = read_bytes(f.path);
    file.insert(file.end(), garbage.begin(), garbage.end());
    write_bytes(f.path, file);
  }
  SECTION("with the sixth message cut off half way") {
    auto writer =
        SegmentWriter::create(f.storage, f.dir / "longer", kIdentity, f.key, written.init);
    REQUIRE(writer.ok());
    for (uint32_t i = 0; i < 5; ++i) {
      REQUIRE((*writer)->append_fragment(fragment_info(i), written.fragments[i]).ok());
    }
    // Different ciphertext from the first file (new stream header), same plaintext.
    REQUIRE((*writer)->append_fragment(fragment_info(5), fragment_bytes(5, 2000)).ok());
    writer->reset();
    const Bytes longer = read_bytes(f.dir / "longer");
    const auto offsets = message_offsets(longer);
    REQUIRE(offsets.size() == 7);  // init + 6
    fs::remove(f.path);
    write_bytes(f.path, Bytes(longer.begin(),
                              longer.begin() + static_cast<std::ptrdiff_t>(offsets[6] + 1000)));
  }

  const ReadBack before = read_segment(f.path, f.key);
  REQUIRE(before.error);
  CHECK(before.messages.size() == 6);

  const uint64_t damaged_bytes = fs::file_size(f.path);
  auto recovered = recover_segment_file(f.storage, f.path, kIdentity, f.key);
  REQUIRE(recovered.ok());
  CHECK(recovered->summary.fragment_count == 5);
  CHECK(recovered->bytes_discarded == damaged_bytes - good_bytes);
  CHECK(recovered->summary.end_utc_us == kIdentity.start_utc_us + 5 * kFragmentUs);
  CHECK(recovered->summary.file_bytes == fs::file_size(f.path));
  std::vector<Bytes> all = {written.init};
  all.insert(all.end(), written.fragments.begin(), written.fragments.end());
  CHECK(recovered->summary.plaintext_sha256 == sha256_of(all));
  CHECK(recovered->summary.plaintext_sha256 == written.summary.plaintext_sha256);

  check_complete(read_segment(f.path, f.key), written);

  // Recovering a recovered file changes nothing.
  const Bytes after_first = read_bytes(f.path);
  auto again = recover_segment_file(f.storage, f.path, kIdentity, f.key);
  REQUIRE(again.ok());
  CHECK(again->bytes_discarded == 0);
  CHECK(again->summary.fragment_count == 5);
  CHECK(again->summary.file_bytes == recovered->summary.file_bytes);
  CHECK(again->summary.plaintext_sha256 == recovered->summary.plaintext_sha256);
  CHECK(read_bytes(f.path) == after_first);
}

TEST_CASE("recovery of a finished file", "[segment_file][recovery]") {
  Fixture f;
  const Written written = write_segment(f.storage, f.path, f.key, 3, 500);
  const Bytes original = read_bytes(f.path);

  SECTION("leaves it unchanged") {
    auto recovered = recover_segment_file(f.storage, f.path, kIdentity, f.key);
    REQUIRE(recovered.ok());
    CHECK(recovered->bytes_discarded == 0);
    CHECK(recovered->summary.fragment_count == written.summary.fragment_count);
    CHECK(recovered->summary.end_utc_us == written.summary.end_utc_us);
    CHECK(recovered->summary.file_bytes == written.summary.file_bytes);
    CHECK(recovered->summary.plaintext_sha256 == written.summary.plaintext_sha256);
    CHECK(read_bytes(f.path) == original);
  }
  SECTION("cuts off what follows its FINAL message") {
    Bytes longer = original;
    longer.insert(longer.end(), 33, 0xEE);
    write_bytes(f.path, longer);
    auto recovered = recover_segment_file(f.storage, f.path, kIdentity, f.key);
    REQUIRE(recovered.ok());
    CHECK(recovered->bytes_discarded == 33);
    CHECK(read_bytes(f.path) == original);
  }
  SECTION("whose FINAL message was damaged rewrites it") {
    Bytes damaged = original;
    damaged[damaged.size() - 5] ^= 0x20;
    write_bytes(f.path, damaged);
    auto recovered = recover_segment_file(f.storage, f.path, kIdentity, f.key);
    REQUIRE(recovered.ok());
    CHECK(recovered->summary.fragment_count == 3);
    CHECK(recovered->summary.plaintext_sha256 == written.summary.plaintext_sha256);
    check_complete(read_segment(f.path, f.key), written);
    // Same stream state, same plaintext: the same FINAL bytes (no nonce reuse with new data).
    CHECK(read_bytes(f.path) == original);
  }
}

TEST_CASE("recovery of a file with only its init message", "[segment_file][recovery]") {
  Fixture f;
  const Written written = write_segment(f.storage, f.path, f.key, 0, 0, /*finish=*/false);
  auto recovered = recover_segment_file(f.storage, f.path, kIdentity, f.key);
  REQUIRE(recovered.ok());
  CHECK(recovered->summary.fragment_count == 0);
  CHECK(recovered->bytes_discarded == 0);
  CHECK(recovered->summary.end_utc_us == kIdentity.start_utc_us);
  check_complete(read_segment(f.path, f.key), written);
}

TEST_CASE("recovery refuses what it cannot trust", "[segment_file][recovery]") {
  Fixture f;
  SECTION("missing file") {
    auto recovered = recover_segment_file(f.storage, f.path, kIdentity, f.key);
    REQUIRE_FALSE(recovered.ok());
    CHECK(recovered.error().kind == ErrorKind::kNotFound);
  }
  SECTION("init message not authentic") {
    write_segment(f.storage, f.path, f.key, 2, 100, /*finish=*/false);
    Bytes file = read_bytes(f.path);
    file[70] ^= 0x01;  // inside the init ciphertext
    write_bytes(f.path, file);
    auto recovered = recover_segment_file(f.storage, f.path, kIdentity, f.key);
    REQUIRE_FALSE(recovered.ok());
    CHECK(recovered.error().kind == ErrorKind::kDataLoss);
    CHECK_THAT(recovered.error().message, Catch::Contains("not even the init message"));
    CHECK(read_bytes(f.path) == file);  // left alone for the caller to remove
  }
  SECTION("header only") {
    write_segment(f.storage, f.path, f.key, 0, 0, /*finish=*/false);
    Bytes file = read_bytes(f.path);
    file.resize(60);
    write_bytes(f.path, file);
    auto recovered = recover_segment_file(f.storage, f.path, kIdentity, f.key);
    REQUIRE_FALSE(recovered.ok());
    CHECK(recovered.error().kind == ErrorKind::kDataLoss);
  }
  SECTION("another segment's file") {
    write_segment(f.storage, f.path, f.key, 2, 100, /*finish=*/false);
    const Bytes file = read_bytes(f.path);
    auto recovered = recover_segment_file(f.storage, f.path, SegmentIdentity{99, 3, 0}, f.key);
    REQUIRE_FALSE(recovered.ok());
    CHECK(recovered.error().kind == ErrorKind::kDataLoss);
    CHECK(read_bytes(f.path) == file);
  }
}

// ---- A full disk ----

struct FillResult {
  uint32_t appended = 0;  // fragments that went in
  ErrorKind failure = ErrorKind::kInternal;
  ErrorKind after_failure = ErrorKind::kInternal;
  uint64_t writer_file_bytes = 0;
  uint64_t file_size = 0;
  bool create_ok = false;
};

constexpr size_t kFillFragmentFiller = 60'000;

// Appends fragments until the storage refuses one.
FillResult fill(const hal::Storage& storage, const fs::path& path, const hal::SecretBytes& key,
                const Bytes& init) {
  FillResult result;
  auto writer = SegmentWriter::create(storage, path, kIdentity, key, init);
  if (!writer.ok()) return result;
  result.create_ok = true;
  for (uint32_t i = 0; i < 1000; ++i) {
    Status status =
        (*writer)->append_fragment(fragment_info(i), fragment_bytes(i, kFillFragmentFiller));
    if (!status.ok()) {
      result.failure = status.error().kind;
      result.after_failure =
          (*writer)->append_fragment(fragment_info(i), fragment_bytes(i, 10)).error().kind;
      break;
    }
    result.appended += 1;
  }
  result.writer_file_bytes = (*writer)->summary_so_far().file_bytes;
  result.file_size = fs::file_size(path);
  return result;  // the writer goes away unfinished, like a recorder that lost power
}

// Without the privilege to mount a tmpfs, RLIMIT_FSIZE gives an honest "no room" (EFBIG) at
// a chosen size. It applies to the whole process, so it is set in a forked child.
FillResult fill_with_size_limit(const fs::path& path, const hal::SecretBytes& key,
                                const Bytes& init, rlim_t limit) {
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(pipe_fds[0]);
    ::signal(SIGXFSZ, SIG_IGN);  // EFBIG instead of being killed
    rlimit rl{limit, limit};
    if (::setrlimit(RLIMIT_FSIZE, &rl) != 0) ::_exit(2);
    hal::DirectoryStorage storage(path.parent_path());
    FillResult result = fill(storage, path, key, init);
    const ssize_t n = ::write(pipe_fds[1], &result, sizeof result);
    ::_exit(n == static_cast<ssize_t>(sizeof result) ? 0 : 3);
  }
  ::close(pipe_fds[1]);
  FillResult result;
  const ssize_t n = ::read(pipe_fds[0], &result, sizeof result);
  ::close(pipe_fds[0]);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  REQUIRE(n == static_cast<ssize_t>(sizeof result));
  return result;
}

void check_after_full(const FillResult& result, const hal::Storage& storage, const fs::path& path,
                      const hal::SecretBytes& key, const Bytes& init) {
  REQUIRE(result.create_ok);
  CHECK(result.appended >= 3);
  CHECK(result.failure == ErrorKind::kResourceExhausted);
  CHECK(result.after_failure == ErrorKind::kFailedPrecondition);
  // The partial message was cut off: the file ends where the last good fragment ends.
  CHECK(result.file_size == result.writer_file_bytes);

  auto recovered = recover_segment_file(storage, path, kIdentity, key);
  REQUIRE(recovered.ok());
  CHECK(recovered->summary.fragment_count == result.appended);
  CHECK(recovered->bytes_discarded == 0);

  Written expected;
  expected.init = init;
  for (uint32_t i = 0; i < result.appended; ++i) {
    expected.fragments.push_back(fragment_bytes(i, kFillFragmentFiller));
  }
  check_complete(read_segment(path, key), expected);
}

// Mounts a 1 MiB tmpfs for the test's lifetime; false if not permitted.
struct TinyFilesystem {
  fs::path dir;
  bool mounted = false;
  explicit TinyFilesystem(fs::path where) : dir(std::move(where)) {
    fs::create_directories(dir);
    mounted =
        ::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0700") == 0;
  }
  ~TinyFilesystem() {
    if (mounted) ::umount2(dir.c_str(), MNT_DETACH);
  }
  TinyFilesystem(const TinyFilesystem&) = delete;
  TinyFilesystem& operator=(const TinyFilesystem&) = delete;
};

TEST_CASE("a full disk fails the append cleanly and recovery keeps every good fragment",
          "[segment_file][disk_full]") {
  Fixture f;
  const Bytes init = init_section();
  TinyFilesystem tiny(f.dir / "tiny");
  const fs::path path = tiny.dir / "17.ywseg";
  hal::DirectoryStorage storage(tiny.dir);
  FillResult result;
  if (tiny.mounted) {
    result = fill(storage, path, f.key, init);
  } else {
    WARN("cannot mount a tmpfs here; simulating the full disk with RLIMIT_FSIZE");
    result = fill_with_size_limit(path, f.key, init, 1 << 20);
  }
  check_after_full(result, storage, path, f.key, init);
}

TEST_CASE("a file size limit (EFBIG) counts as no room too", "[segment_file][disk_full]") {
  Fixture f;
  const Bytes init = init_section();
  const FillResult result = fill_with_size_limit(f.path, f.key, init, 400'000);
  CHECK(result.file_size <= 400'000);
  check_after_full(result, f.storage, f.path, f.key, init);
}

TEST_CASE("finish() after a failed append writes a valid FINAL", "[segment_file][disk_full]") {
  Fixture f;
  const Bytes init = init_section();
  TinyFilesystem tiny(f.dir / "tiny");
  if (!tiny.mounted) {
    // The size-limit path is covered above; here a real ENOSPC is the point.
    WARN("cannot mount a tmpfs here; using a size limit in a child instead");
  }
  const fs::path path = (tiny.mounted ? tiny.dir : f.dir.path()) / "17.ywseg";
  hal::DirectoryStorage storage(path.parent_path());

  auto run = [&]() -> int {
    auto writer = SegmentWriter::create(storage, path, kIdentity, f.key, init);
    if (!writer.ok()) return 10;
    uint32_t appended = 0;
    for (;;) {
      Status status = (*writer)->append_fragment(fragment_info(appended),
                                                 fragment_bytes(appended, kFillFragmentFiller));
      if (!status.ok()) {
        if (status.error().kind != ErrorKind::kResourceExhausted) return 11;
        break;
      }
      ++appended;
    }
    auto summary = (*writer)->finish();
    if (!summary.ok()) return 12;
    if (summary->fragment_count != appended) return 13;
    return 100 + static_cast<int>(appended);
  };

  int outcome = 0;
  if (tiny.mounted) {
    outcome = run();
  } else {
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      ::signal(SIGXFSZ, SIG_IGN);
      rlimit rl{400'000, 400'000};
      if (::setrlimit(RLIMIT_FSIZE, &rl) != 0) ::_exit(2);
      ::_exit(run());
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    outcome = WEXITSTATUS(status);
  }
  REQUIRE(outcome > 100);
  const auto appended = static_cast<uint32_t>(outcome - 100);
  Written expected;
  expected.init = init;
  for (uint32_t i = 0; i < appended; ++i)
    expected.fragments.push_back(fragment_bytes(i, kFillFragmentFiller));
  check_complete(read_segment(path, f.key), expected);
}

}  // namespace
}  // namespace yardwatch::recorder
