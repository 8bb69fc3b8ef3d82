#include "yardwatch/recorder/export_bundle.h"

#include <sodium.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "recorded_footage.h"
#include "test_support.h"
#include "yardwatch/hal/clock.h"
#include "yardwatch/recorder/bundle_format.h"
#include "yardwatch/recorder/mp4_remux.h"

namespace yardwatch::recorder {
namespace {

namespace fs = std::filesystem;
namespace format = bundle_format;
using nlohmann::json;
using test::EncodedStream;
using test::FootageStore;
using testing::run_command;
using testing::TempDir;

constexpr int64_t kSecond = 1'000'000;
const int64_t kT0 = hal::parse_iso8601_utc_us("2026-11-25T10:00:00Z").value();
const std::string kPassphrase = "correct horse battery staple";
const std::vector<uint8_t> kPage = {'<', 'h', 't', 'm', 'l', '>'};

BundleRequest base_request(std::vector<ExportSource> sources, int64_t from, int64_t to) {
  BundleRequest request;
  randombytes_buf(request.export_id.data(), request.export_id.size());
  request.created_utc_us = kT0 + 3600 * kSecond;
  request.clock_at_export = "synchronised";
  request.device_id = "0123456789abcdef0123456789abcdef";
  request.device_name = "OBS De Regenboog";
  request.case_reference = "PL0900-2026123456";
  request.legal_basis = "vordering art. 126nd Sv, nr. 2026/4411";
  request.recipient = "Politie Eenheid Amsterdam, brigadier J. de Vries";
  request.requested_by = {"brigadier J. de Vries", "investigating officer"};
  request.approved_by = {"directeur", "director"};
  request.from_utc_us = from;
  request.to_utc_us = to;
  request.sources = std::move(sources);
  request.passphrase = kPassphrase;
  // The cheapest Argon2id the format allows: these tests are about the bundle, not the KDF.
  request.kdf_opslimit = 1;
  request.kdf_memlimit = format::kMinMemLimit;
  request.chunk_bytes = 64 * 1024;  // several messages per file even for short clips
  request.verify_page = kPage;
  request.time_source = [](int64_t, int64_t) { return std::string("synchronised"); };
  return request;
}

std::vector<uint8_t> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Decrypts one footage file of a bundle with the format's own reader.
std::vector<uint8_t> decrypt_file(const fs::path& bundle, const format::Manifest& manifest,
                                  const format::FileEntry& entry) {
  auto keys = format::derive_keys(kPassphrase, format::kdf_params(manifest));
  REQUIRE(keys.ok());
  REQUIRE(format::to_hex(format::key_check(keys.value())) == manifest.key_check);
  const std::vector<uint8_t> file = read_bytes(bundle / entry.name);
  REQUIRE(file.size() == entry.encrypted_bytes);
  auto decryptor =
      format::FileDecryptor::start(keys.value(), std::span(file).first(format::kFileHeaderBytes),
                                   *format::parse_export_id(manifest.export_id), entry.index);
  REQUIRE(decryptor.ok());
  std::vector<uint8_t> mp4;
  std::vector<uint8_t> plain;
  uint64_t at = format::kFileHeaderBytes;
  bool final = false;
  while (at < file.size()) {
    const uint64_t size = decryptor.value()->next_message_bytes(file.size() - at);
    auto pulled = decryptor.value()->pull(std::span(file).subspan(at, size), plain);
    REQUIRE(pulled.ok());
    mp4.insert(mp4.end(), plain.begin(), plain.end());
    at += size;
    final = pulled.value();
  }
  REQUIRE(final);
  return mp4;
}

void write_bytes(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

std::string sha256_hex(const std::vector<uint8_t>& bytes) {
  std::array<uint8_t, 32> digest{};
  crypto_hash_sha256(digest.data(), bytes.data(), bytes.size());
  return format::to_hex(digest);
}

json ffprobe_json(const fs::path& path) {
  auto result = run_command({"/usr/bin/ffprobe", "-v", "error", "-count_frames", "-show_streams",
                             "-show_format", "-of", "json", path.string()});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  return json::parse(result.out);
}

// The access units of the first video stream in decode order, as ffmpeg reads them.
std::string ffmpeg_packets(const fs::path& path) {
  auto result = run_command({"/usr/bin/ffmpeg", "-v", "error", "-i", path.string(), "-map", "0:v:0",
                             "-c", "copy", "-f", "data", "-"});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  return result.out;
}

std::string concat_samples(const EncodedStream& stream, size_t first, size_t last) {
  std::string out;
  for (size_t i = first; i < last; ++i) {
    out.append(reinterpret_cast<const char*>(stream.samples[i].data.data()),
               stream.samples[i].data.size());
  }
  return out;
}

TEST_CASE("export of two cameras with a gap: one MP4 per continuous range, gaps listed",
          "[export]") {
  TempDir work;
  FootageStore store(work.path());
  const EncodedStream h264 = test::encode_stream(VideoCodec::kH264, 150, 25);
  const EncodedStream h265 = test::encode_stream(VideoCodec::kH265, 100, 25);
  const Camera yard = store.add_camera("schoolplein", "hoek bij de gymzaal");
  const Camera gate = store.add_camera("poort");
  // yard: two segments back to back (3 s + 3 s): one continuous range.
  store.write_segment(yard, h264, 0, 75, kT0);
  store.write_segment(yard, h264, 75, 150, kT0 + 3 * kSecond);
  // gate: 2 s, then nothing for 3 s (camera off-line), then 2 s.
  store.write_segment(gate, h265, 0, 50, kT0);
  store.write_segment(gate, h265, 50, 100, kT0 + 5 * kSecond);

  auto sources =
      plan_export_sources(store.catalog(), {"schoolplein", "poort"}, kT0, kT0 + 7 * kSecond);
  REQUIRE(sources.ok());
  const fs::path bundle = work / "bundle";
  auto target = hal::open_directory_target(bundle);
  REQUIRE(target.ok());
  auto result = write_bundle(store.storage(), store.keys(),
                             base_request(std::move(sources).value(), kT0, kT0 + 7 * kSecond),
                             *target.value());
  INFO((result.ok() ? "" : result.error().message));
  REQUIRE(result.ok());

  // The signed manifest is the one on the medium, and it parses back to what was written.
  const std::vector<uint8_t> manifest_bytes = read_bytes(bundle / "manifest.json");
  REQUIRE(std::string(manifest_bytes.begin(), manifest_bytes.end()) ==
          result.value().manifest_bytes);
  const std::vector<uint8_t> signature = read_bytes(bundle / "manifest.sig");
  const auto public_key = store.keys().signing_public_key();
  CHECK(format::manifest_signature_valid(result.value().manifest_bytes, signature, public_key));
  auto manifest = format::parse_manifest(result.value().manifest_bytes);
  INFO((manifest.ok() ? "" : manifest.error().message));
  REQUIRE(manifest.ok());
  const format::Manifest& m = manifest.value();
  CHECK(m.device_fingerprint == hal::key_fingerprint(public_key));
  CHECK(m.case_reference == "PL0900-2026123456");
  REQUIRE(m.files.size() == 3);
  REQUIRE(m.cameras.size() == 2);
  CHECK(m.cameras[0].files == std::vector<uint32_t>{0});
  CHECK(m.cameras[0].gaps.empty());
  CHECK(m.cameras[1].files == std::vector<uint32_t>{1, 2});
  REQUIRE(m.cameras[1].gaps.size() == 1);
  CHECK(m.cameras[1].gaps[0].from_utc_us == kT0 + 2 * kSecond);
  CHECK(m.cameras[1].gaps[0].to_utc_us == kT0 + 5 * kSecond);
  CHECK(m.files[0].source_segments.size() == 2);
  CHECK(m.files[0].time_source == "synchronised");

  // Exactly the listed files are in the directory, and no plaintext MP4 among them.
  std::set<std::string> present;
  for (const auto& entry : fs::directory_iterator(bundle)) present.insert(entry.path().filename());
  std::set<std::string> expected = {"manifest.json", "manifest.sig", "README.txt", "verify.html"};
  for (const auto& file : m.files) expected.insert(file.name);
  CHECK(present == expected);

  struct Expect {
    const EncodedStream* stream;
    size_t first, last;
    std::string codec;
    int64_t start;
  };
  const std::vector<Expect> expect = {{&h264, 0, 150, "h264", kT0},
                                      {&h265, 0, 50, "hevc", kT0},
                                      {&h265, 50, 100, "hevc", kT0 + 5 * kSecond}};
  for (size_t i = 0; i < expect.size(); ++i) {
    const auto& file = m.files[i];
    INFO("file " << file.name);
    const std::vector<uint8_t> mp4 = decrypt_file(bundle, m, file);
    CHECK(mp4.size() == file.mp4_bytes);
    CHECK(sha256_hex(mp4) == file.mp4_sha256);
    CHECK(sha256_hex(read_bytes(bundle / file.name)) == file.encrypted_sha256);
    const fs::path plain = work / ("plain" + std::to_string(i) + ".mp4");
    write_bytes(plain, mp4);

    const json probe = ffprobe_json(plain);
    const json& stream = probe["streams"][0];
    const size_t frames = expect[i].last - expect[i].first;
    CHECK(stream["codec_name"] == expect[i].codec);
    CHECK(stream["width"] == 320);
    CHECK(stream["height"] == 240);
    CHECK(std::stoul(stream["nb_read_frames"].get<std::string>()) == frames);
    CHECK(std::abs(std::stod(probe["format"]["duration"].get<std::string>()) -
                   static_cast<double>(frames) / 25.0) < 0.05);
    CHECK(probe["format"]["tags"]["creation_time"] ==
          hal::format_iso8601_utc(expect[i].start).substr(0, 19) + ".000000Z");
    CHECK(probe["format"]["tags"]["date"] == hal::format_iso8601_utc(expect[i].start));
    CHECK(file.frames == frames);
    CHECK(file.start_utc_us == expect[i].start);
    // Every access unit is the stored one, byte for byte.
    CHECK(ffmpeg_packets(plain) ==
          concat_samples(*expect[i].stream, expect[i].first, expect[i].last));
  }
}

}  // namespace
}  // namespace yardwatch::recorder

namespace yardwatch::recorder {
namespace {

TEST_CASE("an export of part of a segment starts at the keyframe before the range", "[export]") {
  TempDir work;
  FootageStore store(work.path());
  const EncodedStream h264 = test::encode_stream(VideoCodec::kH264, 150, 25);
  const Camera yard = store.add_camera("schoolplein");
  store.write_segment(yard, h264, 0, 150, kT0);  // 6 s, GOPs at 0, 1, 2, … s
  // 2.5 s – 4.2 s: GOPs 2, 3 and 4 (2 s – 5 s).
  auto sources =
      plan_export_sources(store.catalog(), {"schoolplein"}, kT0 + 2'500'000, kT0 + 4'200'000);
  REQUIRE(sources.ok());
  const fs::path bundle = work / "bundle";
  auto target = hal::open_directory_target(bundle);
  REQUIRE(target.ok());
  auto result = write_bundle(
      store.storage(), store.keys(),
      base_request(std::move(sources).value(), kT0 + 2'500'000, kT0 + 4'200'000), *target.value());
  REQUIRE(result.ok());
  const auto& m = result.value().manifest;
  REQUIRE(m.files.size() == 1);
  CHECK(m.files[0].start_utc_us == kT0 + 2 * kSecond);
  CHECK(m.files[0].end_utc_us == kT0 + 5 * kSecond);
  CHECK(m.files[0].frames == 75);
  CHECK(m.cameras[0].gaps.empty());
  const std::vector<uint8_t> mp4 = decrypt_file(bundle, m, m.files[0]);
  const fs::path plain = work / "part.mp4";
  write_bytes(plain, mp4);
  CHECK(ffmpeg_packets(plain) == concat_samples(h264, 50, 125));
}

TEST_CASE(
    "a source segment that does not match the catalog's SHA-256 is not exported, and "
    "nothing is left on the medium",
    "[export]") {
  TempDir work;
  FootageStore store(work.path());
  const EncodedStream h264 = test::encode_stream(VideoCodec::kH264, 50, 25);
  const Camera yard = store.add_camera("schoolplein");
  const SegmentRow row = store.write_segment(yard, h264, 0, 50, kT0);
  {
    // The catalog's record no longer matches what the file holds.
    std::lock_guard lock(store.catalog().mutex());
    auto update = store.catalog()
                      .database()
                      .prepare("UPDATE segments SET plaintext_sha256 = zeroblob(32) WHERE id = ?1")
                      .value();
    REQUIRE(update.bind(1, row.id).run().ok());
  }
  auto sources = plan_export_sources(store.catalog(), {"schoolplein"}, kT0, kT0 + 2 * kSecond);
  REQUIRE(sources.ok());
  auto target = hal::open_directory_target(work / "bundle");
  REQUIRE(target.ok());
  auto result = write_bundle(store.storage(), store.keys(),
                             base_request(std::move(sources).value(), kT0, kT0 + 2 * kSecond),
                             *target.value());
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().kind == ErrorKind::kDataLoss);
  CHECK(result.error().message.find("does not match the SHA-256 the catalog") != std::string::npos);
  CHECK_FALSE(fs::exists(work / "bundle"));
}

TEST_CASE("an export with no footage in the range, or of a segment still recording, is refused",
          "[export]") {
  TempDir work;
  FootageStore store(work.path());
  const EncodedStream h264 = test::encode_stream(VideoCodec::kH264, 50, 25);
  const Camera yard = store.add_camera("schoolplein");
  store.write_segment(yard, h264, 0, 50, kT0);
  auto empty = plan_export_sources(store.catalog(), {"schoolplein"}, kT0 + 60 * kSecond,
                                   kT0 + 120 * kSecond);
  REQUIRE(empty.ok());
  auto target = hal::open_directory_target(work / "bundle");
  REQUIRE(target.ok());
  auto result =
      write_bundle(store.storage(), store.keys(),
                   base_request(std::move(empty).value(), kT0 + 60 * kSecond, kT0 + 120 * kSecond),
                   *target.value());
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().kind == ErrorKind::kInvalidArgument);
  CHECK_FALSE(fs::exists(work / "bundle"));

  NewSegment recording{yard.id, kT0 + 10 * kSecond, "h264", 320, 240};
  REQUIRE(store.catalog()
              .begin_segment(recording, [](int64_t) { return std::vector<uint8_t>(72, 0); })
              .ok());
  auto busy = plan_export_sources(store.catalog(), {"schoolplein"}, kT0, kT0 + 20 * kSecond);
  REQUIRE_FALSE(busy.ok());
  CHECK(busy.error().kind == ErrorKind::kFailedPrecondition);
  CHECK(busy.error().message.find("still recording") != std::string::npos);
  CHECK(plan_export_sources(store.catalog(), {"gang"}, kT0, kT0 + kSecond).error().kind ==
        ErrorKind::kNotFound);
  CHECK_FALSE(plan_export_sources(store.catalog(), {"schoolplein"}, kT0, kT0).ok());
}

}  // namespace
}  // namespace yardwatch::recorder
