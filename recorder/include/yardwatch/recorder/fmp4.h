#pragma once

// A small fragmented-MP4 (ISO/IEC 14496-12, 14496-15) writer for one video track.
//
// Why hand-written: Debian 12's mp4mux cuts fragments by duration regardless of keyframes and
// gst-plugins-rs (isofmp4mux/cmafmux) is not packaged (DESIGN §4). The recorder needs fragments
// that start exactly where it decides (GOP boundaries), so it writes the boxes itself from
// parsed access units. The codec configuration record (avcC / hvcC) comes straight from the
// parser's caps, so no bitstream is interpreted here.

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace yardwatch::recorder {

enum class VideoCodec { kH264, kH265 };

// "h264" / "h265"
std::string_view codec_name(VideoCodec codec);

struct TrackInfo {
  VideoCodec codec = VideoCodec::kH264;
  uint32_t width = 0;
  uint32_t height = 0;
  // AVCDecoderConfigurationRecord (avcC) or HEVCDecoderConfigurationRecord (hvcC): the
  // `codec_data` of h264parse stream-format=avc / h265parse stream-format=hvc1 caps.
  std::vector<uint8_t> codec_config;
  uint32_t timescale = 90000;
};

struct Sample {
  // One access unit as 4-byte big-endian length-prefixed NAL units (avc / hvc1 format).
  std::vector<uint8_t> data;
  int64_t decode_time = 0;         // in track timescale units
  int32_t composition_offset = 0;  // pts - dts, in timescale units
  uint32_t duration = 0;           // in timescale units
  bool keyframe = false;
};

// ftyp + moov (with mvex/trex) for one video track; track id 1.
std::vector<uint8_t> build_init_segment(const TrackInfo& track);

// moof (mfhd, traf: tfhd, tfdt, trun) + mdat for the given samples. baseMediaDecodeTime is the
// first sample's decode_time. `samples` must not be empty.
std::vector<uint8_t> build_media_fragment(uint32_t sequence_number,
                                          std::span<const Sample> samples);

// The same fragment in two parts, for a caller that already holds the samples' bytes one after
// the other (the segmenter collects them straight into the buffer the vault encrypts in place):
// the moof and the mdat header that go in front of them.
struct SampleEntry {
  uint32_t size = 0;
  uint32_t duration = 0;
  int32_t composition_offset = 0;
  bool keyframe = false;
};
std::vector<uint8_t> build_fragment_header(uint32_t sequence_number, int64_t decode_time,
                                           std::span<const SampleEntry> samples);
// Its size, known before the header is built.
size_t fragment_header_bytes(size_t sample_count, uint64_t payload_bytes);

}  // namespace yardwatch::recorder
