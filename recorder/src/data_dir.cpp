#include "yardwatch/recorder/data_dir.h"

#include <charconv>
#include <string>

namespace yardwatch::recorder {

namespace fs = std::filesystem;

fs::path catalog_path(const fs::path& data_dir) { return data_dir / "catalog.db"; }
fs::path segments_root(const fs::path& data_dir) { return data_dir / "segments"; }

fs::path segment_path(const fs::path& data_dir, int64_t camera_id, int64_t segment_id) {
  return segments_root(data_dir) / std::to_string(camera_id) /
         (std::to_string(segment_id) + ".yws");
}

namespace {
std::optional<int64_t> parse_id(const std::string& text) {
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value <= 0) return std::nullopt;
  if (std::to_string(value) != text) return std::nullopt;  // no leading zeros or signs
  return value;
}
}  // namespace

std::optional<SegmentFileName> parse_segment_path(const fs::path& data_dir, const fs::path& path) {
  fs::path relative = path.lexically_relative(segments_root(data_dir));
  auto it = relative.begin();
  if (it == relative.end()) return std::nullopt;
  auto camera = parse_id(it->string());
  if (++it == relative.end()) return std::nullopt;
  fs::path file = *it;
  if (++it != relative.end() || file.extension() != ".yws") return std::nullopt;
  auto segment = parse_id(file.stem().string());
  if (!camera || !segment) return std::nullopt;
  return SegmentFileName{*camera, *segment};
}

}  // namespace yardwatch::recorder
