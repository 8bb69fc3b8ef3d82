#pragma once

// Footage for the benchmarks that read stored video (bench_export_data, bench_redaction_driver):
// one real H.264 clip encoded once by x264enc, then written through the real vault
// (SegmentWriter, catalog rows, wrapped keys) as one-minute segments, repeated with continuous
// timestamps, as an appliance that recorded it would hold it.

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "yardwatch/firmware/appliance.h"
#include "yardwatch/firmware/services.h"
#include "yardwatch/recorder/fmp4.h"

namespace yardwatch::bench {

constexpr int kFps = 25;
constexpr int kGop = 50;

// Prints "<tool>: <message>" on stderr and exits 1.
[[noreturn]] void die(const std::string& tool, const std::string& message);

struct Clip {
  recorder::TrackInfo track;
  std::vector<std::vector<uint8_t>> frames;  // avc access units; frame 0 of each GOP a keyframe
};

// Draws frame `index` (BGR, width × height × 3 bytes, rows without padding) into `bgr`.
using FrameDrawer = std::function<void(int index, std::span<uint8_t> bgr)>;

struct ClipSpec {
  int width = 1280;
  int height = 720;
  int frames = 250;  // 10 s at kFps
  int bitrate_kbit = 4000;
  // Without a drawer the picture is noise (videotestsrc pattern=snow): the encoder has to spend
  // every bit.
  FrameDrawer draw;
};

// Encodes the clip with x264enc (ultrafast, zerolatency, no B-frames, a keyframe every kGop
// frames, constant bitrate), as a camera would.
Clip encode_clip(const ClipSpec& spec);

// The appliance's director account "directeur" with `password`, TOTP switched off.
void add_director(firmware::Appliance& appliance, firmware::Services& services,
                  const std::string& password);

// Writes `minutes` one-minute segments of camera `camera_id` from `start_utc_us` through the
// vault, repeating the clip from frame `first_frame` (a GOP start). Returns the bytes on disk.
uint64_t write_segments(firmware::Appliance& appliance, int64_t camera_id, const Clip& clip,
                        int64_t start_utc_us, int minutes, size_t first_frame);

// The same footage as one plaintext fragmented MP4 (init section, one fragment per GOP), for a
// tool like ffmpeg to read.
std::vector<uint8_t> plain_fmp4(const Clip& clip, int minutes, size_t first_frame);

}  // namespace yardwatch::bench
