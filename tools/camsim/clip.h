#pragma once

// The pre-encoded clip that every simulated camera of one codec loops over. Encoding once at
// start-up, instead of running an encoder per camera, is what lets one small machine pretend to
// be dozens of 1080p cameras.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gst_ptr.h"
#include "yardwatch/hal/result.h"

namespace yardwatch::camsim {

enum class Codec { kH264, kH265, kJpeg };

std::string_view codec_name(Codec codec);
std::optional<Codec> parse_codec(std::string_view name);

struct ClipSettings {
  Codec codec = Codec::kH264;
  uint32_t width = 1280;
  uint32_t height = 720;
  uint32_t fps = 25;
  uint32_t bitrate_kbps = 2000;
  uint32_t gop_frames = 50;
  uint32_t gop_count = 2;  // the clip is gop_count * gop_frames frames long
};

struct Clip {
  Codec codec = Codec::kH264;
  uint32_t fps = 25;
  uint32_t gop_frames = 50;
  // Caps for the appsrc that replays the clip (byte-stream, alignment=au for H.264/H.265).
  CapsPtr caps;
  // One encoded access unit per frame. Frame i is a keyframe whenever i % gop_frames == 0, and
  // for H.264/H.265 each keyframe carries its parameter sets in-band.
  std::vector<BufferPtr> access_units;

  [[nodiscard]] size_t frame_count() const { return access_units.size(); }
  [[nodiscard]] bool is_keyframe(size_t index) const {
    return !GST_BUFFER_FLAG_IS_SET(access_units[index].get(), GST_BUFFER_FLAG_DELTA_UNIT);
  }
};

// Encodes a moving test pattern with the settings' codec and collects the access units in memory.
// Blocks until the encoder is done (a few seconds for 1080p H.265).
Result<Clip> encode_clip(const ClipSettings& settings);

}  // namespace yardwatch::camsim
