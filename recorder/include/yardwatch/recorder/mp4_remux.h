#pragma once

// Remuxing the recorder's fragmented MP4 into one standard, progressive MP4 per continuous range
// (recorder/design/bundle.md, "The MP4 files"): the stored fragments are parsed for their sample
// tables, and a `moov` with complete sample tables is written in front of one `mdat` holding the
// access units exactly as they were stored. Nothing is decoded or re-encoded.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "yardwatch/hal/result.h"
#include "yardwatch/recorder/fmp4.h"

namespace yardwatch::recorder {

// What the init section (ftyp + moov) of a stored segment says about its one video track.
struct InitInfo {
  VideoCodec codec = VideoCodec::kH264;
  uint32_t width = 0;
  uint32_t height = 0;
  uint32_t timescale = 0;
  // The single sample entry of stsd ('avc1'/'hvc1' box with its avcC/hvcC), byte for byte: it
  // is copied into the exported file, and two ranges can be joined only if theirs are equal.
  std::vector<uint8_t> sample_entry;
  uint32_t default_sample_flags = 0;  // trex
  uint32_t default_sample_duration = 0;
  uint32_t default_sample_size = 0;
};

// kDataLoss for anything that is not a one-video-track init section of the recorder's kind.
Result<InitInfo> parse_init_section(std::span<const uint8_t> init);

struct FragmentSample {
  uint64_t offset = 0;  // of the access unit inside the fragment bytes
  uint32_t size = 0;
  uint32_t duration = 0;  // track timescale
  int32_t composition_offset = 0;
  bool keyframe = false;
};

struct ParsedFragment {
  uint64_t base_decode_time = 0;
  std::vector<FragmentSample> samples;
};

// Parses one moof + mdat (one traf, one trun). kDataLoss if a sample lies outside the mdat.
Result<ParsedFragment> parse_media_fragment(std::span<const uint8_t> fragment,
                                            const InitInfo& init);

// One sample of the exported file, in decode order.
struct Mp4Sample {
  uint32_t size = 0;
  uint32_t duration = 0;
  int32_t composition_offset = 0;
  bool keyframe = false;
};

struct Mp4Metadata {
  int64_t creation_utc_us = 0;  // mvhd/tkhd/mdhd creation time, and ©day with microseconds
  std::string title;            // ©nam
  std::string comment;          // ©cmt
  std::string encoder = "Yardwatch police export (remuxed, not transcoded)";  // ©too
};

// ftyp + moov + the mdat header of a progressive MP4 whose mdat holds the samples' bytes in
// order, one chunk per entry of `chunk_sample_counts` (the stored fragments). Chunk offsets are
// 64-bit (co64), so the file may exceed 4 GiB. Requires at least one sample.
std::vector<uint8_t> build_progressive_mp4_header(const InitInfo& init,
                                                  std::span<const Mp4Sample> samples,
                                                  std::span<const uint32_t> chunk_sample_counts,
                                                  const Mp4Metadata& metadata);

}  // namespace yardwatch::recorder
