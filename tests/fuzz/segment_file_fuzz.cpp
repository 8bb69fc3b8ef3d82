// The vault's segment file reader (recorder/segment_file.h SegmentReader) and crash recovery
// (recover_segment_file) on arbitrary file contents, under a fixed test key and identity: what
// a damaged or tampered data volume can hand them. Every input is written to a file of its own
// in the temporary directory (per process, so CTest and libFuzzer jobs can run side by side),
// read to the end, and then recovered, which cuts the file back and appends a FINAL message.
// Seeds are real segment files written by the production SegmentWriter under the same key.

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "fuzz_target.h"
#include "yardwatch/hal/storage.h"
#include "yardwatch/recorder/fmp4.h"
#include "yardwatch/recorder/segment_file.h"

namespace {

namespace fs = std::filesystem;
using namespace yardwatch;
using yardwatch::fuzz::Input;

constexpr recorder::SegmentIdentity kIdentity{17, 3, 1'795'604'400'000'000};

const hal::SecretBytes& test_key() {
  static const hal::SecretBytes key = [] {
    hal::SecretBytes bytes(recorder::kSegmentKeyBytes);
    for (size_t i = 0; i < bytes.size(); ++i) bytes.data()[i] = static_cast<uint8_t>(i * 7 + 1);
    return bytes;
  }();
  return key;
}

const fs::path& work_dir() {
  static const fs::path dir = [] {
    fs::path path = fs::temp_directory_path() / ("yw-fuzz-segment-" + std::to_string(::getpid()));
    fs::create_directories(path);
    return path;
  }();
  return dir;
}

// Removes the per-process directory when the process ends normally.
struct Cleanup {
  ~Cleanup() {
    std::error_code error;
    fs::remove_all(work_dir(), error);
  }
};

void write_bytes(const fs::path& path, const uint8_t* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
}

Input read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Input(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Reads every message; returns whether the file authenticated to its FINAL message.
bool read_all(const fs::path& path) {
  auto reader = recorder::SegmentReader::open(path, kIdentity, test_key());
  if (!reader.ok()) return false;
  for (;;) {
    auto message = reader.value()->next();
    if (!message.ok()) return false;
    if (!message.value()) return reader.value()->verified_sha256().has_value();
  }
}

}  // namespace

namespace yardwatch::fuzz {

std::vector<Input> generated_seeds() {
  static Cleanup cleanup;
  hal::DirectoryStorage storage(work_dir());
  recorder::TrackInfo track;
  track.width = 320;
  track.height = 180;
  track.codec_config = {0x01, 0x64, 0x00, 0x1F, 0xFF, 0xE1, 0x00, 0x03, 0x67, 0x64, 0x00};
  std::vector<Input> seeds;
  // A finished segment with three fragments, and one left as a crash leaves it (no FINAL).
  for (const bool finish : {true, false}) {
    const fs::path path = work_dir() / (finish ? "seed-finished" : "seed-recording");
    fs::remove(path);
    auto writer = recorder::SegmentWriter::create(storage, path, kIdentity, test_key(),
                                                  recorder::build_init_segment(track));
    if (!writer.ok()) std::abort();
    for (uint32_t i = 0; i < 3; ++i) {
      std::vector<recorder::Sample> samples(1);
      samples[0].data.assign(40 + i * 30, static_cast<uint8_t>(i));
      samples[0].decode_time = int64_t{i} * 90000;
      samples[0].duration = 90000;
      samples[0].keyframe = true;
      recorder::FragmentInfo info{kIdentity.start_utc_us + int64_t{i} * 1'000'000, 1'000'000,
                                  int64_t{i} * 90000, 1};
      if (!writer.value()
               ->append_fragment(info, recorder::build_media_fragment(i + 1, samples))
               .ok()) {
        std::abort();
      }
    }
    if (finish) {
      if (!writer.value()->finish().ok()) std::abort();
    } else if (!writer.value()->sync().ok()) {
      std::abort();
    }
    writer.value().reset();
    // A seed that does not read back would leave the fuzzer outside the authentic paths.
    if (finish && !read_all(path)) std::abort();
    seeds.push_back(read_bytes(path));
    fs::remove(path);
  }
  return seeds;
}

}  // namespace yardwatch::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Cleanup cleanup;
  static const hal::DirectoryStorage storage(work_dir());
  const fs::path path = work_dir() / "input.ywseg";
  write_bytes(path, data, size);
  read_all(path);
  // Recovery keeps the authentic prefix and closes it: what it leaves must read back cleanly.
  auto recovered = recorder::recover_segment_file(storage, path, kIdentity, test_key());
  if (recovered.ok() && !read_all(path)) std::abort();
  return 0;
}
