#pragma once

// Writes real segments in-process, the way the recorder does (catalog row with its wrapped key
// first, then the encrypted file through the vault's SegmentWriter, then the completed row), so
// retention tests run on real files and a real SQLite catalog without cameras. Header-only: use
// it from test folders that link yw_recorder.

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "yardwatch/hal/key_store.h"
#include "yardwatch/hal/storage.h"
#include "yardwatch/recorder/catalog.h"
#include "yardwatch/recorder/data_dir.h"
#include "yardwatch/recorder/fmp4.h"
#include "yardwatch/recorder/segment_file.h"

namespace yardwatch::testing {

inline std::vector<uint8_t> test_init_section() {
  recorder::TrackInfo track;
  track.width = 320;
  track.height = 180;
  track.codec_config = {0x01, 0x64, 0x00, 0x1F, 0xFF, 0xE1, 0x00, 0x03, 0x67, 0x64, 0x00};
  return recorder::build_init_segment(track);
}

inline std::vector<uint8_t> test_fragment(uint32_t index, size_t payload_bytes) {
  std::vector<recorder::Sample> samples(1);
  for (size_t i = 0; i < payload_bytes; ++i) {
    samples[0].data.push_back(static_cast<uint8_t>((i * 131 + index * 7) % 251));
  }
  samples[0].decode_time = int64_t{index} * 90000;
  samples[0].duration = 90000;
  samples[0].keyframe = true;
  return recorder::build_media_fragment(index + 1, samples);
}

// A segment row in state `recording` with its file open, as the recorder has it while it
// records. finish() completes it; dropping it without finish() leaves it as a crash would.
struct OpenSegment {
  recorder::SegmentRow row;
  std::unique_ptr<recorder::SegmentWriter> writer;
};

inline OpenSegment begin_test_segment(recorder::Catalog& catalog, const hal::Storage& storage,
                                      const hal::KeyStore& keys, int64_t camera_id,
                                      int64_t start_utc_us, int64_t duration_us, int fragments = 2,
                                      size_t payload_bytes = 64) {
  hal::SecretBytes key = recorder::generate_segment_key();
  auto row =
      catalog.begin_segment({camera_id, start_utc_us, "h264", 320, 180}, [&](int64_t segment_id) {
        return recorder::wrap_segment_key(keys.master_key(), key,
                                          {segment_id, camera_id, start_utc_us});
      });
  REQUIRE(row.ok());
  const auto path = recorder::segment_path(storage.data_dir(), camera_id, row.value().id);
  std::filesystem::create_directories(path.parent_path());
  auto writer = recorder::SegmentWriter::create(
      storage, path, {row.value().id, camera_id, start_utc_us}, key, test_init_section());
  REQUIRE(writer.ok());
  const int64_t fragment_us = duration_us / fragments;
  for (int i = 0; i < fragments; ++i) {
    recorder::FragmentInfo info;
    info.utc_start_us = start_utc_us + i * fragment_us;
    info.duration_us = i == fragments - 1 ? duration_us - i * fragment_us : fragment_us;
    info.decode_time = int64_t{i} * 90000;
    info.sample_count = 1;
    REQUIRE(writer.value()
                ->append_fragment(info, test_fragment(static_cast<uint32_t>(i), payload_bytes))
                .ok());
  }
  return OpenSegment{row.value(), std::move(writer).value()};
}

// A complete segment [start, start + duration) of the camera, with real encrypted fragments.
inline recorder::SegmentRow write_test_segment(recorder::Catalog& catalog,
                                               const hal::Storage& storage,
                                               const hal::KeyStore& keys, int64_t camera_id,
                                               int64_t start_utc_us, int64_t duration_us,
                                               int fragments = 2, size_t payload_bytes = 64) {
  OpenSegment open = begin_test_segment(catalog, storage, keys, camera_id, start_utc_us,
                                        duration_us, fragments, payload_bytes);
  auto summary = open.writer->finish();
  REQUIRE(summary.ok());
  const auto& s = summary.value();
  REQUIRE(
      catalog
          .complete_segment(open.row.id, {s.end_utc_us,
                                          s.file_bytes,
                                          s.fragment_count,
                                          {s.plaintext_sha256.begin(), s.plaintext_sha256.end()}})
          .ok());
  auto row = catalog.segment(open.row.id);
  REQUIRE(row.ok());
  REQUIRE(row.value().has_value());
  return *row.value();
}

inline std::vector<uint8_t> file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> bytes(std::filesystem::file_size(path));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  bytes.resize(static_cast<size_t>(in.gcount()));
  return bytes;
}

// Every regular file under `root`, read into memory once (to search many needles).
struct FileContents {
  std::filesystem::path path;
  std::vector<uint8_t> bytes;
};
inline std::vector<FileContents> read_all_files(const std::filesystem::path& root) {
  std::vector<FileContents> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (entry.is_regular_file()) files.push_back({entry.path(), file_bytes(entry.path())});
  }
  return files;
}

inline std::vector<std::filesystem::path> files_containing(const std::vector<FileContents>& files,
                                                           const std::vector<uint8_t>& needle) {
  std::vector<std::filesystem::path> found;
  if (needle.empty()) return found;
  for (const auto& file : files) {
    if (std::search(file.bytes.begin(), file.bytes.end(),
                    std::boyer_moore_horspool_searcher(needle.begin(), needle.end())) !=
        file.bytes.end()) {
      found.push_back(file.path);
    }
  }
  return found;
}

// Every regular file under `root` that contains `needle` (used to prove that deleted keys are
// gone: from the database file, its WAL, everything).
inline std::vector<std::filesystem::path> files_containing(const std::filesystem::path& root,
                                                           const std::vector<uint8_t>& needle) {
  return files_containing(read_all_files(root), needle);
}

}  // namespace yardwatch::testing
