#pragma once

// Where things live in a data directory. Paths are built only from catalog ids, never from
// names or request input.
//
//   DIR/catalog.db                          the SQLite catalog (+ -wal, -shm)
//   DIR/segments/<camera id>/<segment id>.yws   encrypted segment files

#include <cstdint>
#include <filesystem>
#include <optional>

namespace yardwatch::recorder {

std::filesystem::path catalog_path(const std::filesystem::path& data_dir);
std::filesystem::path segments_root(const std::filesystem::path& data_dir);
std::filesystem::path segment_path(const std::filesystem::path& data_dir, int64_t camera_id,
                                   int64_t segment_id);

struct SegmentFileName {
  int64_t camera_id = 0;
  int64_t segment_id = 0;
};
// Parses DIR/segments/<camera>/<segment>.yws back into ids; nullopt for anything else.
std::optional<SegmentFileName> parse_segment_path(const std::filesystem::path& data_dir,
                                                  const std::filesystem::path& path);

}  // namespace yardwatch::recorder
