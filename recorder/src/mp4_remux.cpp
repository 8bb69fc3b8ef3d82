#include "yardwatch/recorder/mp4_remux.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <string_view>

#include "box_writer.h"
#include "byte_order.h"
#include "yardwatch/hal/clock.h"

// Box layouts: ISO/IEC 14496-12 (section numbers below), 14496-14 (MP4), 14496-15 (AVC/HEVC
// sample entries). The parser reads what the recorder's fMP4 writer (fmp4.cpp) produces and the
// general forms of the same boxes; anything else is kDataLoss, since the input is the
// recorder's own authenticated footage and a surprise means a bug or a damaged catalog.

namespace yardwatch::recorder {

namespace {

constexpr uint32_t kTfhdBaseDataOffset = 0x000001;
constexpr uint32_t kTfhdSampleDescriptionIndex = 0x000002;
constexpr uint32_t kTfhdDefaultDuration = 0x000008;
constexpr uint32_t kTfhdDefaultSize = 0x000010;
constexpr uint32_t kTfhdDefaultFlags = 0x000020;
constexpr uint32_t kTrunDataOffset = 0x000001;
constexpr uint32_t kTrunFirstSampleFlags = 0x000004;
constexpr uint32_t kTrunDuration = 0x000100;
constexpr uint32_t kTrunSize = 0x000200;
constexpr uint32_t kTrunFlags = 0x000400;
constexpr uint32_t kTrunCompositionOffset = 0x000800;
constexpr uint32_t kSampleIsNonSync = 0x00010000;
constexpr uint32_t kTrackId = 1;
constexpr uint32_t kTrackEnabledInMovie = 0x000003;
// Seconds from 1904-01-01 (the ISO BMFF epoch, §8.2.2.3) to 1970-01-01.
constexpr int64_t kSeconds1904To1970 = 2082844800;

Error bad(const std::string& what) { return make_error(ErrorKind::kDataLoss, "MP4: " + what); }

struct BoxView {
  std::string_view type;
  std::span<const uint8_t> body;
  uint64_t offset = 0;  // of the box's first byte in the span that was walked
};

// The boxes that tile `data`; kDataLoss if one overruns.
Result<std::vector<BoxView>> boxes(std::span<const uint8_t> data) {
  std::vector<BoxView> result;
  uint64_t at = 0;
  while (at < data.size()) {
    if (data.size() - at < 8) return bad("a box header is cut short");
    uint64_t size = bytes::load_u32_be(data.data() + at);
    uint64_t header = 8;
    if (size == 1) {
      if (data.size() - at < 16) return bad("a large box header is cut short");
      size = bytes::load_u64_be(data.data() + at + 8);
      header = 16;
    } else if (size == 0) {
      size = data.size() - at;
    }
    if (size < header || size > data.size() - at) return bad("a box overruns its container");
    BoxView box;
    box.type = std::string_view(reinterpret_cast<const char*>(data.data() + at + 4), 4);
    box.body = data.subspan(at + header, size - header);
    box.offset = at;
    result.push_back(box);
    at += size;
  }
  return result;
}

Result<BoxView> find(std::span<const uint8_t> data, std::string_view type) {
  YW_ASSIGN_OR_RETURN(auto list, boxes(data));
  std::optional<BoxView> found;
  for (const auto& box : list) {
    if (box.type != type) continue;
    if (found) return bad("more than one '" + std::string(type) + "' box");
    found = box;
  }
  if (!found) return bad("no '" + std::string(type) + "' box");
  return *found;
}

// Reads big-endian fields from a box body with bounds checks.
class Cursor {
 public:
  explicit Cursor(std::span<const uint8_t> data) : data_(data) {}
  Result<uint32_t> u32() {
    if (data_.size() - at_ < 4) return bad("a box is too short");
    const uint32_t value = bytes::load_u32_be(data_.data() + at_);
    at_ += 4;
    return value;
  }
  Result<uint64_t> u64() {
    if (data_.size() - at_ < 8) return bad("a box is too short");
    const uint64_t value = bytes::load_u64_be(data_.data() + at_);
    at_ += 8;
    return value;
  }
  Status skip(size_t count) {
    if (data_.size() - at_ < count) return bad("a box is too short");
    at_ += count;
    return {};
  }
  // FullBox version and flags.
  Result<std::pair<uint8_t, uint32_t>> version_flags() {
    YW_ASSIGN_OR_RETURN(uint32_t word, u32());
    return std::pair<uint8_t, uint32_t>{static_cast<uint8_t>(word >> 24), word & 0xFFFFFF};
  }
  [[nodiscard]] size_t position() const { return at_; }

 private:
  std::span<const uint8_t> data_;
  size_t at_ = 0;
};

uint64_t iso_time(int64_t utc_us) {
  return static_cast<uint64_t>(std::max<int64_t>(0, utc_us / 1'000'000 + kSeconds1904To1970));
}

// Runs of equal values, for stts/ctts/stsc.
template <typename T>
std::vector<std::pair<uint32_t, T>> runs(std::span<const Mp4Sample> samples,
                                         T (*value)(const Mp4Sample&)) {
  std::vector<std::pair<uint32_t, T>> result;
  for (const auto& sample : samples) {
    const T v = value(sample);
    if (!result.empty() && result.back().second == v) {
      ++result.back().first;
    } else {
      result.emplace_back(1, v);
    }
  }
  return result;
}

// The QuickTime "international text" atom in udta (a 16-bit length and a packed ISO-639-2
// language code, 'und', which tells readers the text is UTF-8): what ffprobe shows as tags
// (©day → "date", ©nam → "title", ©cmt → "comment").
void text_atom(BoxWriter& w, const char (&type)[5], const std::string& text) {
  if (text.empty()) return;
  const size_t length = std::min<size_t>(text.size(), 0xFFFF);
  w.box(type, [&] {
    w.u16(static_cast<uint16_t>(length));
    w.u16(0x55C4);  // 'und'
    w.raw({reinterpret_cast<const uint8_t*>(text.data()), length});
  });
}

}  // namespace

Result<InitInfo> parse_init_section(std::span<const uint8_t> init) {
  InitInfo info;
  YW_ASSIGN_OR_RETURN(BoxView moov, find(init, "moov"));
  YW_ASSIGN_OR_RETURN(BoxView trak, find(moov.body, "trak"));
  YW_ASSIGN_OR_RETURN(BoxView tkhd, find(trak.body, "tkhd"));
  {
    Cursor c(tkhd.body);
    YW_ASSIGN_OR_RETURN(auto vf, c.version_flags());
    // version 1: 8+8+4+4+8, version 0: 4+4+4+4+4 before reserved[2], layer, group, volume,
    // reserved, matrix; then width and height (16.16).
    YW_TRY(c.skip(vf.first == 1 ? 32 : 20));
    YW_TRY(c.skip(8 + 2 + 2 + 2 + 2 + 36));
    YW_ASSIGN_OR_RETURN(uint32_t width, c.u32());
    YW_ASSIGN_OR_RETURN(uint32_t height, c.u32());
    info.width = width >> 16;
    info.height = height >> 16;
  }
  YW_ASSIGN_OR_RETURN(BoxView mdia, find(trak.body, "mdia"));
  YW_ASSIGN_OR_RETURN(BoxView mdhd, find(mdia.body, "mdhd"));
  {
    Cursor c(mdhd.body);
    YW_ASSIGN_OR_RETURN(auto vf, c.version_flags());
    YW_TRY(c.skip(vf.first == 1 ? 16 : 8));
    YW_ASSIGN_OR_RETURN(info.timescale, c.u32());
    if (info.timescale == 0) return bad("track timescale is 0");
  }
  YW_ASSIGN_OR_RETURN(BoxView hdlr, find(mdia.body, "hdlr"));
  if (hdlr.body.size() < 12 ||
      std::string_view(reinterpret_cast<const char*>(hdlr.body.data() + 8), 4) != "vide") {
    return bad("the track is not video");
  }
  YW_ASSIGN_OR_RETURN(BoxView minf, find(mdia.body, "minf"));
  YW_ASSIGN_OR_RETURN(BoxView stbl, find(minf.body, "stbl"));
  YW_ASSIGN_OR_RETURN(BoxView stsd, find(stbl.body, "stsd"));
  {
    Cursor c(stsd.body);
    YW_TRY(c.version_flags());
    YW_ASSIGN_OR_RETURN(uint32_t entries, c.u32());
    if (entries != 1) return bad("stsd has " + std::to_string(entries) + " entries, expected 1");
    YW_ASSIGN_OR_RETURN(auto list, boxes(stsd.body.subspan(c.position())));
    if (list.size() != 1) return bad("stsd does not hold exactly one sample entry");
    const BoxView& entry = list.front();
    if (entry.type == "avc1" || entry.type == "avc3") {
      info.codec = VideoCodec::kH264;
    } else if (entry.type == "hvc1" || entry.type == "hev1") {
      info.codec = VideoCodec::kH265;
    } else {
      return bad("sample entry '" + std::string(entry.type) + "' is not H.264 or H.265");
    }
    const auto* begin = stsd.body.data() + c.position();
    info.sample_entry.assign(begin, stsd.body.data() + stsd.body.size());
  }
  // trex defaults (present in fragmented files; optional otherwise).
  if (auto mvex = find(moov.body, "mvex"); mvex.ok()) {
    if (auto trex = find(mvex.value().body, "trex"); trex.ok()) {
      Cursor c(trex.value().body);
      YW_TRY(c.version_flags());
      YW_TRY(c.skip(8));  // track_ID, default_sample_description_index
      YW_ASSIGN_OR_RETURN(info.default_sample_duration, c.u32());
      YW_ASSIGN_OR_RETURN(info.default_sample_size, c.u32());
      YW_ASSIGN_OR_RETURN(info.default_sample_flags, c.u32());
    }
  }
  return info;
}

Result<ParsedFragment> parse_media_fragment(std::span<const uint8_t> fragment,
                                            const InitInfo& init) {
  YW_ASSIGN_OR_RETURN(auto top, boxes(fragment));
  const BoxView* moof = nullptr;
  const BoxView* mdat = nullptr;
  for (const auto& box : top) {
    if (box.type == "moof") {
      if (moof != nullptr) return bad("more than one moof in a fragment");
      moof = &box;
    } else if (box.type == "mdat") {
      if (mdat != nullptr) return bad("more than one mdat in a fragment");
      mdat = &box;
    }
  }
  if (moof == nullptr || mdat == nullptr) return bad("a fragment without moof or mdat");
  YW_ASSIGN_OR_RETURN(BoxView traf, find(moof->body, "traf"));
  YW_ASSIGN_OR_RETURN(BoxView tfhd, find(traf.body, "tfhd"));
  ParsedFragment parsed;
  uint64_t base_offset = moof->offset;
  uint32_t default_duration = init.default_sample_duration;
  uint32_t default_size = init.default_sample_size;
  uint32_t default_flags = init.default_sample_flags;
  {
    Cursor c(tfhd.body);
    YW_ASSIGN_OR_RETURN(auto vf, c.version_flags());
    const uint32_t flags = vf.second;
    YW_TRY(c.skip(4));  // track_ID
    if ((flags & kTfhdBaseDataOffset) != 0) {
      // An absolute file offset: meaningless once a fragment is cut out of its file, and never
      // written by the recorder.
      return bad("tfhd with an explicit base data offset");
    }
    if ((flags & kTfhdSampleDescriptionIndex) != 0) YW_TRY(c.skip(4));
    if ((flags & kTfhdDefaultDuration) != 0) {
      YW_ASSIGN_OR_RETURN(default_duration, c.u32());
    }
    if ((flags & kTfhdDefaultSize) != 0) {
      YW_ASSIGN_OR_RETURN(default_size, c.u32());
    }
    if ((flags & kTfhdDefaultFlags) != 0) {
      YW_ASSIGN_OR_RETURN(default_flags, c.u32());
    }
  }
  YW_ASSIGN_OR_RETURN(BoxView tfdt, find(traf.body, "tfdt"));
  {
    Cursor c(tfdt.body);
    YW_ASSIGN_OR_RETURN(auto vf, c.version_flags());
    if (vf.first == 1) {
      YW_ASSIGN_OR_RETURN(parsed.base_decode_time, c.u64());
    } else {
      YW_ASSIGN_OR_RETURN(uint32_t time, c.u32());
      parsed.base_decode_time = time;
    }
  }
  YW_ASSIGN_OR_RETURN(BoxView trun, find(traf.body, "trun"));
  Cursor c(trun.body);
  YW_ASSIGN_OR_RETURN(auto vf, c.version_flags());
  const uint32_t flags = vf.second;
  YW_ASSIGN_OR_RETURN(uint32_t count, c.u32());
  // Every sample needs at least its size in the trun or a default; a count larger than the
  // box can describe is refused before anything is allocated.
  if (count == 0 || count > trun.body.size()) return bad("trun with an impossible sample count");
  int64_t data_offset = 0;
  if ((flags & kTrunDataOffset) != 0) {
    YW_ASSIGN_OR_RETURN(uint32_t value, c.u32());
    data_offset = static_cast<int32_t>(value);
  } else {
    data_offset = static_cast<int64_t>(mdat->body.data() - fragment.data()) -
                  static_cast<int64_t>(base_offset);
  }
  std::optional<uint32_t> first_flags;
  if ((flags & kTrunFirstSampleFlags) != 0) {
    YW_ASSIGN_OR_RETURN(uint32_t value, c.u32());
    first_flags = value;
  }
  const auto mdat_begin = static_cast<uint64_t>(mdat->body.data() - fragment.data());
  const uint64_t mdat_end = mdat_begin + mdat->body.size();
  const int64_t start = static_cast<int64_t>(base_offset) + data_offset;
  if (start < static_cast<int64_t>(mdat_begin)) return bad("sample data starts before mdat");
  auto position = static_cast<uint64_t>(start);
  parsed.samples.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    FragmentSample sample;
    sample.duration = default_duration;
    sample.size = default_size;
    uint32_t sample_flags = (i == 0 && first_flags) ? *first_flags : default_flags;
    if ((flags & kTrunDuration) != 0) {
      YW_ASSIGN_OR_RETURN(sample.duration, c.u32());
    }
    if ((flags & kTrunSize) != 0) {
      YW_ASSIGN_OR_RETURN(sample.size, c.u32());
    }
    if ((flags & kTrunFlags) != 0) {
      YW_ASSIGN_OR_RETURN(sample_flags, c.u32());
    }
    if ((flags & kTrunCompositionOffset) != 0) {
      YW_ASSIGN_OR_RETURN(uint32_t value, c.u32());
      // Version 0 offsets are unsigned; values above INT32_MAX cannot come from a camera.
      sample.composition_offset = static_cast<int32_t>(value);
      if (vf.first == 0 && value > static_cast<uint32_t>(std::numeric_limits<int32_t>::max())) {
        return bad("trun composition offset out of range");
      }
    }
    sample.keyframe = (sample_flags & kSampleIsNonSync) == 0;
    if (sample.size == 0 || sample.size > mdat_end - std::min(position, mdat_end)) {
      return bad("a sample lies outside its mdat");
    }
    sample.offset = position;
    position += sample.size;
    parsed.samples.push_back(sample);
  }
  return parsed;
}

std::vector<uint8_t> build_progressive_mp4_header(const InitInfo& init,
                                                  std::span<const Mp4Sample> samples,
                                                  std::span<const uint32_t> chunk_sample_counts,
                                                  const Mp4Metadata& metadata) {
  uint64_t media_bytes = 0;
  uint64_t duration = 0;
  bool any_offset = false;
  bool negative_offset = false;
  bool all_keyframes = true;
  for (const auto& sample : samples) {
    media_bytes += sample.size;
    duration += sample.duration;
    any_offset = any_offset || sample.composition_offset != 0;
    negative_offset = negative_offset || sample.composition_offset < 0;
    all_keyframes = all_keyframes && sample.keyframe;
  }
  const uint64_t creation = iso_time(metadata.creation_utc_us);
  // Version 0 boxes hold 32-bit times and durations; version 1 where a value needs more.
  const bool wide = creation > std::numeric_limits<uint32_t>::max() ||
                    duration > std::numeric_limits<uint32_t>::max();
  const uint8_t version = wide ? 1 : 0;
  auto time_field = [&](BoxWriter& w, uint64_t value) {
    if (wide) {
      w.u64(value);
    } else {
      w.u32(static_cast<uint32_t>(value));
    }
  };
  const int32_t first_offset = samples.empty() ? 0 : samples.front().composition_offset;

  std::vector<uint8_t> out;
  out.reserve(1024 + samples.size() * 12 + chunk_sample_counts.size() * 8);
  BoxWriter w(out);
  // ftyp (§4.3): what ffmpeg writes for MP4 ("isom" 512, isom iso2 [avc1] mp41). 'iso2' covers
  // ctts; 'avc1' is the AVC file brand of 14496-15; HEVC has none that players check.
  w.box("ftyp", [&] {
    w.fourcc("isom");
    w.u32(0x200);
    w.fourcc("isom");
    w.fourcc("iso2");
    if (init.codec == VideoCodec::kH264) w.fourcc("avc1");
    w.fourcc("mp41");
  });
  std::vector<size_t> chunk_offset_fields;
  chunk_offset_fields.reserve(chunk_sample_counts.size());
  w.box("moov", [&] {
    // mvhd (§8.2.2): the movie timescale is the track's, so durations are exact.
    w.full_box("mvhd", version, 0, [&] {
      time_field(w, creation);  // creation_time
      time_field(w, creation);  // modification_time
      w.u32(init.timescale);
      time_field(w, duration);
      w.u32(0x00010000);  // rate 1.0
      w.u16(0x0100);      // volume 1.0
      w.zeros(2 + 8);
      w.matrix();
      w.zeros(24);
      w.u32(kTrackId + 1);
    });
    w.box("trak", [&] {
      w.full_box("tkhd", version, kTrackEnabledInMovie, [&] {
        time_field(w, creation);
        time_field(w, creation);
        w.u32(kTrackId);
        w.u32(0);
        time_field(w, duration);
        w.zeros(8);
        w.u16(0);  // layer
        w.u16(0);  // alternate_group
        w.u16(0);  // volume
        w.u16(0);
        w.matrix();
        w.u32(std::min<uint32_t>(init.width, 0xFFFF) << 16);
        w.u32(std::min<uint32_t>(init.height, 0xFFFF) << 16);
      });
      // An edit list only when the first sample is not presented at time 0 (B-frames): it
      // starts the presentation at the first picture, as ffmpeg's muxer does.
      if (first_offset > 0) {
        w.box("edts", [&] {
          w.full_box("elst", version, 0, [&] {
            w.u32(1);
            time_field(w, duration);
            if (wide) {
              w.u64(static_cast<uint64_t>(first_offset));
            } else {
              w.u32(static_cast<uint32_t>(first_offset));
            }
            w.u32(0x00010000);  // media_rate 1.0
          });
        });
      }
      w.box("mdia", [&] {
        w.full_box("mdhd", version, 0, [&] {
          time_field(w, creation);
          time_field(w, creation);
          w.u32(init.timescale);
          time_field(w, duration);
          w.u16(0x55C4);  // 'und'
          w.u16(0);
        });
        w.full_box("hdlr", 0, 0, [&] {
          w.u32(0);
          w.fourcc("vide");
          w.zeros(12);
          static constexpr char kName[] = "VideoHandler";
          w.raw(std::span(reinterpret_cast<const uint8_t*>(kName), sizeof kName));
        });
        w.box("minf", [&] {
          w.full_box("vmhd", 0, 1, [&] {
            w.u16(0);
            w.zeros(6);
          });
          w.box("dinf", [&] {
            w.full_box("dref", 0, 0, [&] {
              w.u32(1);
              w.full_box("url ", 0, 0x000001, [] {});
            });
          });
          w.box("stbl", [&] {
            w.full_box("stsd", 0, 0, [&] {
              w.u32(1);
              w.raw(init.sample_entry);
            });
            // stts (§8.6.1.2): decode durations, run-length coded.
            const auto durations =
                runs<uint32_t>(samples, [](const Mp4Sample& s) { return s.duration; });
            w.full_box("stts", 0, 0, [&] {
              w.u32(static_cast<uint32_t>(durations.size()));
              for (const auto& [count, value] : durations) {
                w.u32(count);
                w.u32(value);
              }
            });
            // ctts (§8.6.1.3): composition offsets; version 1 (signed) only if one is negative.
            if (any_offset) {
              const auto offsets =
                  runs<int32_t>(samples, [](const Mp4Sample& s) { return s.composition_offset; });
              w.full_box("ctts", negative_offset ? 1 : 0, 0, [&] {
                w.u32(static_cast<uint32_t>(offsets.size()));
                for (const auto& [count, value] : offsets) {
                  w.u32(count);
                  w.i32(value);
                }
              });
            }
            // stss (§8.6.2): the sync samples; absent means every sample is one.
            if (!all_keyframes) {
              std::vector<uint32_t> sync;
              for (size_t i = 0; i < samples.size(); ++i) {
                if (samples[i].keyframe) sync.push_back(static_cast<uint32_t>(i + 1));
              }
              w.full_box("stss", 0, 0, [&] {
                w.u32(static_cast<uint32_t>(sync.size()));
                for (uint32_t number : sync) w.u32(number);
              });
            }
            // stsc (§8.7.4): samples per chunk, one chunk per stored fragment.
            w.full_box("stsc", 0, 0, [&] {
              std::vector<std::pair<uint32_t, uint32_t>> entries;  // first chunk, samples
              for (size_t i = 0; i < chunk_sample_counts.size(); ++i) {
                if (entries.empty() || entries.back().second != chunk_sample_counts[i]) {
                  entries.emplace_back(static_cast<uint32_t>(i + 1), chunk_sample_counts[i]);
                }
              }
              w.u32(static_cast<uint32_t>(entries.size()));
              for (const auto& [first, count] : entries) {
                w.u32(first);
                w.u32(count);
                w.u32(1);  // sample_description_index
              }
            });
            // stsz (§8.7.3).
            w.full_box("stsz", 0, 0, [&] {
              w.u32(0);
              w.u32(static_cast<uint32_t>(samples.size()));
              for (const auto& sample : samples) w.u32(sample.size);
            });
            // co64 (§8.7.5): 64-bit chunk offsets, filled in below once the header size is known.
            w.full_box("co64", 0, 0, [&] {
              w.u32(static_cast<uint32_t>(chunk_sample_counts.size()));
              for (size_t i = 0; i < chunk_sample_counts.size(); ++i) {
                chunk_offset_fields.push_back(w.position());
                w.u64(0);
              }
            });
          });
        });
      });
    });
    w.box("udta", [&] {
      text_atom(w,
                "\xA9"
                "nam",
                metadata.title);
      text_atom(w,
                "\xA9"
                "day",
                hal::format_iso8601_utc(metadata.creation_utc_us));
      text_atom(w,
                "\xA9"
                "cmt",
                metadata.comment);
      text_atom(w,
                "\xA9"
                "too",
                metadata.encoder);
    });
  });
  // mdat (§8.1.1): 32-bit size when it fits, else size = 1 and a 64-bit largesize.
  const bool large = media_bytes + 8 > std::numeric_limits<uint32_t>::max();
  if (large) {
    w.u32(1);
    w.fourcc("mdat");
    w.u64(media_bytes + 16);
  } else {
    w.u32(static_cast<uint32_t>(media_bytes + 8));
    w.fourcc("mdat");
  }
  uint64_t offset = out.size();
  size_t sample_index = 0;
  for (size_t chunk = 0; chunk < chunk_sample_counts.size(); ++chunk) {
    w.patch_u64(chunk_offset_fields[chunk], offset);
    for (uint32_t i = 0; i < chunk_sample_counts[chunk] && sample_index < samples.size(); ++i) {
      offset += samples[sample_index++].size;
    }
  }
  return out;
}

}  // namespace yardwatch::recorder
