#include "yardwatch/recorder/fmp4.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cstddef>
#include <limits>

#include "box_writer.h"
#include "byte_order.h"

namespace yardwatch::recorder {

namespace {

constexpr uint32_t kTrackId = 1;

// tkhd flags (ISO/IEC 14496-12 §8.3.2): track_enabled | track_in_movie.
constexpr uint32_t kTrackEnabledInMovie = 0x000001 | 0x000002;
// tfhd flag (§8.8.7): data offsets in this traf are relative to the start of the moof, so the
// fragment is self-contained and can be cut out of the file and played on its own (CMAF/MSE
// need this; base_data_offset would tie it to a file position).
constexpr uint32_t kTfhdDefaultBaseIsMoof = 0x020000;
// trun flags (§8.8.8).
constexpr uint32_t kTrunDataOffsetPresent = 0x000001;
constexpr uint32_t kTrunSampleDurationPresent = 0x000100;
constexpr uint32_t kTrunSampleSizePresent = 0x000200;
constexpr uint32_t kTrunSampleFlagsPresent = 0x000400;
constexpr uint32_t kTrunSampleCompositionTimeOffsetsPresent = 0x000800;

// Sample flags (§8.8.3.1): reserved(4) is_leading(2) sample_depends_on(2)
// sample_is_depended_on(2) sample_has_redundancy(2) padding(3) sample_is_non_sync_sample(1)
// degradation_priority(16).
constexpr uint32_t kDependsOnOthers = 1u << 24;   // sample_depends_on = 1
constexpr uint32_t kDependsOnNothing = 2u << 24;  // sample_depends_on = 2 (an I picture)
constexpr uint32_t kIsNonSyncSample = 1u << 16;   // sample_is_non_sync_sample
constexpr uint32_t kKeyframeFlags = kDependsOnNothing;
constexpr uint32_t kDeltaFrameFlags = kDependsOnOthers | kIsNonSyncSample;

// Sample entries carry width and height as 16-bit integers and tkhd as 16.16 fixed point, so
// nothing wider than 65535 can be described; no camera comes near that.
uint16_t dimension(uint32_t value) {
  return static_cast<uint16_t>(std::min<uint32_t>(value, std::numeric_limits<uint16_t>::max()));
}

// VisualSampleEntry (§12.1.3) followed by the decoder configuration box. 'avc1' + 'avcC'
// (ISO/IEC 14496-15 §5.4.2) and 'hvc1' + 'hvcC' (§8.4.1) both mean "parameter sets are in the
// configuration record", which is what h264parse stream-format=avc and h265parse
// stream-format=hvc1 produce.
void write_visual_sample_entry(BoxWriter& w, const TrackInfo& track) {
  const bool h264 = track.codec == VideoCodec::kH264;
  auto body = [&] {
    w.zeros(6);   // SampleEntry reserved
    w.u16(1);     // data_reference_index: the single 'url ' entry in dref
    w.u16(0);     // pre_defined
    w.u16(0);     // reserved
    w.zeros(12);  // pre_defined[3]
    w.u16(dimension(track.width));
    w.u16(dimension(track.height));
    w.u32(0x00480000);  // horizresolution 72 dpi
    w.u32(0x00480000);  // vertresolution 72 dpi
    w.u32(0);           // reserved
    w.u16(1);           // frame_count: one frame per sample
    w.zeros(32);        // compressorname (empty Pascal string)
    w.u16(0x0018);      // depth: colour, no alpha
    w.u16(0xFFFF);      // pre_defined = -1
    if (h264) {
      w.box("avcC", [&] { w.raw(track.codec_config); });
    } else {
      w.box("hvcC", [&] { w.raw(track.codec_config); });
    }
  };
  if (h264) {
    w.box("avc1", body);
  } else {
    w.box("hvc1", body);
  }
}

}  // namespace

std::vector<uint8_t> build_init_segment(const TrackInfo& track) {
  std::vector<uint8_t> out;
  out.reserve(700 + track.codec_config.size());
  BoxWriter w(out);
  const uint16_t width = dimension(track.width);
  const uint16_t height = dimension(track.height);

  // ftyp (§4.3). 'iso6' is the first brand that requires tfdt support (§8.8.12), which the
  // fragments rely on; 'isom' and 'mp41' let older parsers accept the file. 'avc1' is the brand
  // of ISO/IEC 14496-15 for AVC content; HEVC has no file brand that players check (ffmpeg and
  // GStreamer write none), so nothing is added for it.
  w.box("ftyp", [&] {
    w.fourcc("iso6");  // major_brand
    w.u32(0);          // minor_version
    w.fourcc("iso6");
    w.fourcc("isom");
    w.fourcc("mp41");
    if (track.codec == VideoCodec::kH264) w.fourcc("avc1");
  });

  w.box("moov", [&] {
    // mvhd (§8.2.2), version 0. Duration 0: the length is unknown when the init section is
    // written and is given by the fragments (§8.8.1).
    w.full_box("mvhd", 0, 0, [&] {
      w.u32(0);  // creation_time
      w.u32(0);  // modification_time
      w.u32(track.timescale);
      w.u32(0);           // duration
      w.u32(0x00010000);  // rate 1.0
      w.u16(0x0100);      // volume 1.0
      w.zeros(2 + 8);     // reserved
      w.matrix();
      w.zeros(24);          // pre_defined[6]
      w.u32(kTrackId + 1);  // next_track_ID
    });
    w.box("trak", [&] {
      // tkhd (§8.3.2), version 0.
      w.full_box("tkhd", 0, kTrackEnabledInMovie, [&] {
        w.u32(0);  // creation_time
        w.u32(0);  // modification_time
        w.u32(kTrackId);
        w.u32(0);    // reserved
        w.u32(0);    // duration
        w.zeros(8);  // reserved[2]
        w.u16(0);    // layer
        w.u16(0);    // alternate_group
        w.u16(0);    // volume: 0 for video
        w.u16(0);    // reserved
        w.matrix();
        w.u32(static_cast<uint32_t>(width) << 16);   // width, 16.16
        w.u32(static_cast<uint32_t>(height) << 16);  // height, 16.16
      });
      w.box("mdia", [&] {
        // mdhd (§8.4.2), version 0; language "und" packed as three 5-bit letters - 0x60.
        w.full_box("mdhd", 0, 0, [&] {
          w.u32(0);  // creation_time
          w.u32(0);  // modification_time
          w.u32(track.timescale);
          w.u32(0);       // duration
          w.u16(0x55C4);  // 'und'
          w.u16(0);       // pre_defined
        });
        // hdlr (§8.4.3): a video track.
        w.full_box("hdlr", 0, 0, [&] {
          w.u32(0);  // pre_defined
          w.fourcc("vide");
          w.zeros(12);  // reserved[3]
          static constexpr char kName[] = "VideoHandler";
          w.raw(std::span(reinterpret_cast<const uint8_t*>(kName), sizeof kName));  // with NUL
        });
        w.box("minf", [&] {
          // vmhd (§12.1.2): flags must be 1.
          w.full_box("vmhd", 0, 1, [&] {
            w.u16(0);    // graphicsmode: copy
            w.zeros(6);  // opcolor
          });
          // dinf/dref (§8.7.2) with one 'url ' entry flagged "media is in this file".
          w.box("dinf", [&] {
            w.full_box("dref", 0, 0, [&] {
              w.u32(1);  // entry_count
              w.full_box("url ", 0, 0x000001, [] {});
            });
          });
          // stbl (§8.5.1): the sample description; the sample tables are empty because every
          // sample lives in a fragment (§8.8.1).
          w.box("stbl", [&] {
            w.full_box("stsd", 0, 0, [&] {
              w.u32(1);  // entry_count
              write_visual_sample_entry(w, track);
            });
            w.full_box("stts", 0, 0, [&] { w.u32(0); });
            w.full_box("stsc", 0, 0, [&] { w.u32(0); });
            w.full_box("stsz", 0, 0, [&] {
              w.u32(0);  // sample_size
              w.u32(0);  // sample_count
            });
            w.full_box("stco", 0, 0, [&] { w.u32(0); });
          });
        });
      });
    });
    // mvex/trex (§8.8.2, §8.8.3): announces fragments and gives the defaults; every trun
    // overrides duration, size and flags per sample, so the defaults are 0.
    w.box("mvex", [&] {
      w.full_box("trex", 0, 0, [&] {
        w.u32(kTrackId);
        w.u32(1);  // default_sample_description_index
        w.u32(0);  // default_sample_duration
        w.u32(0);  // default_sample_size
        w.u32(0);  // default_sample_flags
      });
    });
  });
  return out;
}

std::vector<uint8_t> build_fragment_header(uint32_t sequence_number, int64_t decode_time,
                                           std::span<const SampleEntry> samples) {
  assert(!samples.empty());
  uint64_t payload_bytes = 0;
  for (const SampleEntry& sample : samples) payload_bytes += sample.size;
  // A box size field is 32 bits; beyond that mdat uses size = 1 and a 64-bit largesize (§4.2).
  const bool large_mdat = payload_bytes + 8 > std::numeric_limits<uint32_t>::max();
  const size_t mdat_header_bytes = large_mdat ? 16 : 8;

  std::vector<uint8_t> out;
  out.reserve(fragment_header_bytes(samples.size(), payload_bytes));
  BoxWriter w(out);

  size_t data_offset_at = 0;
  w.box("moof", [&] {
    // mfhd (§8.8.5): sequence numbers increase fragment by fragment.
    w.full_box("mfhd", 0, 0, [&] { w.u32(sequence_number); });
    w.box("traf", [&] {
      w.full_box("tfhd", 0, kTfhdDefaultBaseIsMoof, [&] { w.u32(kTrackId); });
      // tfdt (§8.8.12) version 1: a 64-bit decode time, so long recordings at 90 kHz never
      // wrap (32 bits wrap after 13 hours).
      w.full_box("tfdt", 1, 0, [&] { w.u64(static_cast<uint64_t>(decode_time)); });
      // trun (§8.8.8) version 1: signed composition offsets, so B-frame reordering can be
      // expressed without an edit list.
      constexpr uint32_t kFlags = kTrunDataOffsetPresent | kTrunSampleDurationPresent |
                                  kTrunSampleSizePresent | kTrunSampleFlagsPresent |
                                  kTrunSampleCompositionTimeOffsetsPresent;
      w.full_box("trun", 1, kFlags, [&] {
        w.u32(static_cast<uint32_t>(samples.size()));
        data_offset_at = w.position();
        w.i32(0);  // data_offset, patched below
        for (const SampleEntry& sample : samples) {
          w.u32(sample.duration);
          w.u32(sample.size);
          w.u32(sample.keyframe ? kKeyframeFlags : kDeltaFrameFlags);
          w.i32(sample.composition_offset);
        }
      });
    });
  });
  // With default-base-is-moof the data offset counts from the first byte of the moof; the
  // first sample starts right after the mdat header.
  const size_t moof_bytes = out.size();
  w.patch_u32(data_offset_at, static_cast<uint32_t>(moof_bytes + mdat_header_bytes));

  if (large_mdat) {
    w.u32(1);
    w.fourcc("mdat");
    w.u64(payload_bytes + 16);
  } else {
    w.u32(static_cast<uint32_t>(payload_bytes + 8));
    w.fourcc("mdat");
  }
  return out;
}

size_t fragment_header_bytes(size_t sample_count, uint64_t payload_bytes) {
  // moof: 8 + mfhd 16 + traf 8 + tfhd 16 + tfdt 20 + trun 20, then 16 per sample; mdat header.
  const bool large_mdat = payload_bytes + 8 > std::numeric_limits<uint32_t>::max();
  return 88 + 16 * sample_count + (large_mdat ? 16 : 8);
}

std::vector<uint8_t> build_media_fragment(uint32_t sequence_number,
                                          std::span<const Sample> samples) {
  assert(!samples.empty());
  std::vector<SampleEntry> entries;
  entries.reserve(samples.size());
  uint64_t payload_bytes = 0;
  for (const Sample& sample : samples) {
    entries.push_back({static_cast<uint32_t>(sample.data.size()), sample.duration,
                       sample.composition_offset, sample.keyframe});
    payload_bytes += sample.data.size();
  }
  std::vector<uint8_t> out =
      build_fragment_header(sequence_number, samples[0].decode_time, entries);
  out.reserve(out.size() + payload_bytes);
  // The samples are already length-prefixed NAL units (avc/hvc1 stream format, 14496-15 §5.3.2
  // with lengthSizeMinusOne = 3), exactly what mdat holds.
  for (const Sample& sample : samples)
    out.insert(out.end(), sample.data.begin(), sample.data.end());
  return out;
}

}  // namespace yardwatch::recorder
