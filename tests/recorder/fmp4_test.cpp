#include "yardwatch/recorder/fmp4.h"

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.h"

namespace yardwatch::recorder {
namespace {

using testing::run_command;
using testing::TempDir;

// ---- A minimal ISO BMFF reader, independent of the writer, to check what it wrote ----

uint32_t be32(const std::vector<uint8_t>& data, size_t at) {
  REQUIRE(at + 4 <= data.size());
  return (uint32_t{data[at]} << 24) | (uint32_t{data[at + 1]} << 16) |
         (uint32_t{data[at + 2]} << 8) | uint32_t{data[at + 3]};
}

uint16_t be16(const std::vector<uint8_t>& data, size_t at) {
  REQUIRE(at + 2 <= data.size());
  return static_cast<uint16_t>((data[at] << 8) | data[at + 1]);
}

uint64_t be64(const std::vector<uint8_t>& data, size_t at) {
  return (uint64_t{be32(data, at)} << 32) | be32(data, at + 4);
}

struct Box {
  std::string type;
  size_t offset = 0;  // of the size field
  size_t size = 0;
  [[nodiscard]] size_t body() const { return offset + 8; }
  [[nodiscard]] size_t end() const { return offset + size; }
};

// The boxes in [begin, end); requires that they tile the range exactly.
std::vector<Box> boxes_in(const std::vector<uint8_t>& data, size_t begin, size_t end) {
  std::vector<Box> result;
  size_t at = begin;
  while (at < end) {
    REQUIRE(at + 8 <= end);
    Box box;
    box.offset = at;
    box.size = be32(data, at);
    box.type.assign(reinterpret_cast<const char*>(data.data() + at + 4), 4);
    REQUIRE(box.size >= 8);
    REQUIRE(at + box.size <= end);
    result.push_back(box);
    at += box.size;
  }
  REQUIRE(at == end);
  return result;
}

Box only_child(const std::vector<uint8_t>& data, const Box& parent, const std::string& type,
               size_t skip = 0) {
  auto children = boxes_in(data, parent.body() + skip, parent.end());
  auto it =
      std::find_if(children.begin(), children.end(), [&](const Box& b) { return b.type == type; });
  INFO("looking for " << type << " in " << parent.type);
  REQUIRE(it != children.end());
  REQUIRE(std::count_if(children.begin(), children.end(),
                        [&](const Box& b) { return b.type == type; }) == 1);
  return *it;
}

std::vector<std::string> types(const std::vector<Box>& boxes) {
  std::vector<std::string> result;
  for (const auto& box : boxes) result.push_back(box.type);
  return result;
}

TrackInfo fake_track(VideoCodec codec) {
  TrackInfo track;
  track.codec = codec;
  track.width = 1920;
  track.height = 1080;
  track.timescale = 90000;
  track.codec_config = {0x01, 0x64, 0x00, 0x28, 0xFF, 0xE1, 0x00, 0x04, 0x67, 0x64, 0x00, 0x28};
  return track;
}

TEST_CASE("init segment has the boxes of one fragmented video track", "[fmp4]") {
  const VideoCodec codec = GENERATE(VideoCodec::kH264, VideoCodec::kH265);
  const bool h264 = codec == VideoCodec::kH264;
  const TrackInfo track = fake_track(codec);
  const std::vector<uint8_t> init = build_init_segment(track);

  const auto top = boxes_in(init, 0, init.size());
  REQUIRE(types(top) == std::vector<std::string>{"ftyp", "moov"});

  const Box& ftyp = top[0];
  CHECK(std::string(reinterpret_cast<const char*>(&init[ftyp.body()]), 4) == "iso6");
  std::string brands(reinterpret_cast<const char*>(&init[ftyp.body() + 8]), ftyp.size - 16);
  CHECK(brands == (h264 ? "iso6isommp41avc1" : "iso6isommp41"));

  const Box& moov = top[1];
  CHECK(types(boxes_in(init, moov.body(), moov.end())) ==
        std::vector<std::string>{"mvhd", "trak", "mvex"});
  const Box mvhd = only_child(init, moov, "mvhd");
  CHECK(init[mvhd.body()] == 0);                 // version 0
  CHECK(be32(init, mvhd.body() + 12) == 90000);  // timescale
  CHECK(be32(init, mvhd.body() + 16) == 0);      // duration
  CHECK(be32(init, mvhd.end() - 4) == 2);        // next_track_ID

  const Box trak = only_child(init, moov, "trak");
  const Box tkhd = only_child(init, trak, "tkhd");
  CHECK(be32(init, tkhd.body()) == 0x00000003);  // version 0, enabled | in_movie
  CHECK(be32(init, tkhd.body() + 12) == 1);      // track_ID
  CHECK(be32(init, tkhd.end() - 8) == 1920u << 16);
  CHECK(be32(init, tkhd.end() - 4) == 1080u << 16);

  const Box mdia = only_child(init, trak, "mdia");
  const Box mdhd = only_child(init, mdia, "mdhd");
  CHECK(be32(init, mdhd.body() + 12) == 90000);
  const Box hdlr = only_child(init, mdia, "hdlr");
  CHECK(std::string(reinterpret_cast<const char*>(&init[hdlr.body() + 8]), 4) == "vide");
  const Box minf = only_child(init, mdia, "minf");
  const Box vmhd = only_child(init, minf, "vmhd");
  CHECK(be32(init, vmhd.body()) == 0x00000001);
  const Box dinf = only_child(init, minf, "dinf");
  const Box dref = only_child(init, dinf, "dref");
  CHECK(be32(init, dref.body() + 4) == 1);
  const Box url = only_child(init, dref, "url ", 8);
  CHECK(be32(init, url.body()) == 0x00000001);  // self-contained

  const Box stbl = only_child(init, minf, "stbl");
  CHECK(types(boxes_in(init, stbl.body(), stbl.end())) ==
        std::vector<std::string>{"stsd", "stts", "stsc", "stsz", "stco"});
  for (const char* empty : {"stts", "stsc", "stco"}) {
    CHECK(be32(init, only_child(init, stbl, empty).body() + 4) == 0);
  }
  const Box stsd = only_child(init, stbl, "stsd");
  CHECK(be32(init, stsd.body() + 4) == 1);  // entry_count
  const Box entry = only_child(init, stsd, h264 ? "avc1" : "hvc1", 8);
  CHECK(be16(init, entry.body() + 6) == 1);  // data_reference_index
  CHECK(be16(init, entry.body() + 24) == 1920);
  CHECK(be16(init, entry.body() + 26) == 1080);
  // The configuration box follows the 78 bytes of VisualSampleEntry fields.
  const Box config = only_child(init, entry, h264 ? "avcC" : "hvcC", 78);
  CHECK(std::vector<uint8_t>(init.begin() + static_cast<std::ptrdiff_t>(config.body()),
                             init.begin() + static_cast<std::ptrdiff_t>(config.end())) ==
        track.codec_config);

  const Box mvex = only_child(init, moov, "mvex");
  const Box trex = only_child(init, mvex, "trex");
  CHECK(be32(init, trex.body() + 4) == 1);  // track_ID
  CHECK(be32(init, trex.body() + 8) == 1);  // default_sample_description_index
}

TEST_CASE("media fragment: moof describes exactly the bytes in mdat", "[fmp4]") {
  std::vector<Sample> samples(4);
  const int64_t base = 5'000'000'000'123;  // needs tfdt version 1 (more than 32 bits)
  for (size_t i = 0; i < samples.size(); ++i) {
    samples[i].data.assign(100 + i * 37, static_cast<uint8_t>(0xA0 + i));
    samples[i].decode_time = base + static_cast<int64_t>(i) * 3600;
    samples[i].duration = 3600;
    samples[i].keyframe = i == 0;
    samples[i].composition_offset = i == 2 ? -3600 : static_cast<int32_t>(i) * 1800;
  }
  const std::vector<uint8_t> fragment = build_media_fragment(42, samples);

  const auto top = boxes_in(fragment, 0, fragment.size());
  REQUIRE(types(top) == std::vector<std::string>{"moof", "mdat"});
  const Box& moof = top[0];
  const Box& mdat = top[1];
  CHECK(moof.size == 88 + 16 * samples.size());

  CHECK(types(boxes_in(fragment, moof.body(), moof.end())) ==
        std::vector<std::string>{"mfhd", "traf"});
  CHECK(be32(fragment, only_child(fragment, moof, "mfhd").body() + 4) == 42);
  const Box traf = only_child(fragment, moof, "traf");
  CHECK(types(boxes_in(fragment, traf.body(), traf.end())) ==
        std::vector<std::string>{"tfhd", "tfdt", "trun"});
  const Box tfhd = only_child(fragment, traf, "tfhd");
  CHECK(be32(fragment, tfhd.body()) == 0x00020000);  // version 0, default-base-is-moof
  CHECK(be32(fragment, tfhd.body() + 4) == 1);       // track_ID
  const Box tfdt = only_child(fragment, traf, "tfdt");
  CHECK(fragment[tfdt.body()] == 1);  // version 1
  CHECK(be64(fragment, tfdt.body() + 4) == static_cast<uint64_t>(base));

  const Box trun = only_child(fragment, traf, "trun");
  CHECK(be32(fragment, trun.body()) == 0x01000F01);  // version 1; offset, dur, size, flags, cto
  REQUIRE(be32(fragment, trun.body() + 4) == samples.size());
  const auto data_offset = static_cast<int32_t>(be32(fragment, trun.body() + 8));
  CHECK(static_cast<size_t>(data_offset) == moof.size + 8);
  CHECK(mdat.offset == moof.end());

  size_t entry = trun.body() + 12;
  size_t data_at = moof.offset + static_cast<size_t>(data_offset);
  for (const Sample& sample : samples) {
    CHECK(be32(fragment, entry) == sample.duration);
    CHECK(be32(fragment, entry + 4) == sample.data.size());
    CHECK(be32(fragment, entry + 8) == (sample.keyframe ? 0x02000000u : 0x01010000u));
    CHECK(static_cast<int32_t>(be32(fragment, entry + 12)) == sample.composition_offset);
    REQUIRE(data_at + sample.data.size() <= fragment.size());
    CHECK(std::equal(sample.data.begin(), sample.data.end(),
                     fragment.begin() + static_cast<std::ptrdiff_t>(data_at)));
    entry += 16;
    data_at += sample.data.size();
  }
  CHECK(entry == trun.end());
  CHECK(data_at == mdat.end());
  CHECK(mdat.end() == fragment.size());
}

// ---- Real streams from GStreamer's encoders and parsers, checked by ffprobe ----

template <typename T, void (*Free)(T*)>
struct GstDeleter {
  void operator()(T* object) const { Free(object); }
};
void unref_object(GstElement* element) { gst_object_unref(element); }
void unref_bus(GstBus* bus) { gst_object_unref(bus); }
using ElementPtr = std::unique_ptr<GstElement, GstDeleter<GstElement, unref_object>>;
using BusPtr = std::unique_ptr<GstBus, GstDeleter<GstBus, unref_bus>>;
using SamplePtr = std::unique_ptr<GstSample, GstDeleter<GstSample, gst_sample_unref>>;
using MessagePtr = std::unique_ptr<GstMessage, GstDeleter<GstMessage, gst_message_unref>>;

struct EncodedStream {
  TrackInfo track;
  std::vector<Sample> samples;
};

constexpr int kFrames = 100;
constexpr int kFramesPerGop = 25;

int64_t to_90khz(GstClockTime time) {
  return static_cast<int64_t>(gst_util_uint64_scale(time, 90000, GST_SECOND));
}

EncodedStream encode(VideoCodec codec, const std::string& encoder) {
  gst_init(nullptr, nullptr);
  const bool h264 = codec == VideoCodec::kH264;
  const std::string description =
      "videotestsrc num-buffers=" + std::to_string(kFrames) +
      " ! video/x-raw,width=320,height=240,framerate=25/1 ! " + encoder +
      (h264 ? " ! h264parse ! video/x-h264,stream-format=avc,alignment=au"
            : " ! h265parse ! video/x-h265,stream-format=hvc1,alignment=au") +
      " ! appsink name=sink sync=false";
  GError* error = nullptr;
  ElementPtr pipeline(gst_parse_launch(description.c_str(), &error));
  if (error != nullptr) {
    const std::string message = error->message;
    g_error_free(error);
    FAIL("gst_parse_launch: " << message);
  }
  REQUIRE(pipeline);
  ElementPtr sink(gst_bin_get_by_name(GST_BIN(pipeline.get()), "sink"));
  REQUIRE(sink);
  REQUIRE(gst_element_set_state(pipeline.get(), GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);

  struct Raw {
    std::vector<uint8_t> data;
    GstClockTime pts, dts, duration;
    bool keyframe;
  };
  std::vector<Raw> raw;
  EncodedStream stream;
  stream.track.codec = codec;
  stream.track.timescale = 90000;
  for (;;) {
    SamplePtr sample(gst_app_sink_pull_sample(GST_APP_SINK(sink.get())));
    if (!sample) break;  // EOS (or error, checked on the bus below)
    if (stream.track.codec_config.empty()) {
      const GstStructure* caps = gst_caps_get_structure(gst_sample_get_caps(sample.get()), 0);
      const GValue* codec_data = gst_structure_get_value(caps, "codec_data");
      REQUIRE(codec_data != nullptr);
      GstBuffer* config = gst_value_get_buffer(codec_data);
      GstMapInfo map;
      REQUIRE(gst_buffer_map(config, &map, GST_MAP_READ));
      stream.track.codec_config.assign(map.data, map.data + map.size);
      gst_buffer_unmap(config, &map);
      int width = 0;
      int height = 0;
      REQUIRE(gst_structure_get_int(caps, "width", &width));
      REQUIRE(gst_structure_get_int(caps, "height", &height));
      stream.track.width = static_cast<uint32_t>(width);
      stream.track.height = static_cast<uint32_t>(height);
    }
    GstBuffer* buffer = gst_sample_get_buffer(sample.get());
    GstMapInfo map;
    REQUIRE(gst_buffer_map(buffer, &map, GST_MAP_READ));
    Raw frame;
    frame.data.assign(map.data, map.data + map.size);
    gst_buffer_unmap(buffer, &map);
    frame.pts = GST_BUFFER_PTS(buffer);
    frame.dts = GST_BUFFER_DTS_IS_VALID(buffer) ? GST_BUFFER_DTS(buffer) : GST_BUFFER_PTS(buffer);
    frame.duration = GST_BUFFER_DURATION(buffer);
    frame.keyframe = !GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT);
    REQUIRE(GST_CLOCK_TIME_IS_VALID(frame.pts));
    raw.push_back(std::move(frame));
  }
  BusPtr bus(gst_element_get_bus(pipeline.get()));
  MessagePtr error_message(gst_bus_pop_filtered(bus.get(), GST_MESSAGE_ERROR));
  gst_element_set_state(pipeline.get(), GST_STATE_NULL);
  REQUIRE_FALSE(error_message);
  REQUIRE(raw.size() == kFrames);

  // Times relative to the first decode time; durations from decode-time differences so that
  // they add up exactly.
  const GstClockTime origin = raw.front().dts;
  for (size_t i = 0; i < raw.size(); ++i) {
    Sample sample;
    sample.data = std::move(raw[i].data);
    sample.decode_time = to_90khz(raw[i].dts - origin);
    sample.composition_offset =
        static_cast<int32_t>(to_90khz(raw[i].pts - origin) - sample.decode_time);
    sample.duration = static_cast<uint32_t>(i + 1 < raw.size() ? to_90khz(raw[i + 1].dts - origin) -
                                                                     sample.decode_time
                                                               : to_90khz(raw[i].duration));
    sample.keyframe = raw[i].keyframe;
    stream.samples.push_back(std::move(sample));
  }
  return stream;
}

// Init section, then one fragment per GOP: the way the segmenter cuts.
std::vector<uint8_t> mux(const EncodedStream& stream, size_t* fragment_count) {
  std::vector<uint8_t> file = build_init_segment(stream.track);
  uint32_t sequence = 1;
  size_t start = 0;
  for (size_t i = 1; i <= stream.samples.size(); ++i) {
    if (i == stream.samples.size() || stream.samples[i].keyframe) {
      auto fragment =
          build_media_fragment(sequence++, std::span(stream.samples).subspan(start, i - start));
      file.insert(file.end(), fragment.begin(), fragment.end());
      start = i;
    }
  }
  *fragment_count = sequence - 1;
  return file;
}

// run_command does not search PATH (posix_spawn); find ffprobe the way a shell would.
std::string ffprobe() {
  const char* path = std::getenv("PATH");
  std::istringstream directories(path != nullptr ? path : "/usr/bin:/bin");
  for (std::string directory; std::getline(directories, directory, ':');) {
    const std::filesystem::path candidate = std::filesystem::path(directory) / "ffprobe";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  FAIL("ffprobe not found in PATH (Debian package ffmpeg)");
  return {};
}

std::map<std::string, std::string> ffprobe_stream(const std::filesystem::path& file) {
  auto result = run_command({ffprobe(), "-v", "warning", "-count_frames", "-show_entries",
                             "stream=codec_name,width,height,nb_read_frames:format=duration", "-of",
                             "default=noprint_wrappers=1", file.string()});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(result.err.empty());  // the decoder complained about nothing
  std::map<std::string, std::string> fields;
  std::istringstream lines(result.out);
  for (std::string line; std::getline(lines, line);) {
    auto eq = line.find('=');
    if (eq != std::string::npos) fields[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return fields;
}

struct Packet {
  double pts = 0;
  bool keyframe = false;
};

std::vector<Packet> ffprobe_packets(const std::filesystem::path& file) {
  auto result = run_command({ffprobe(), "-v", "error", "-show_entries", "packet=pts_time,flags",
                             "-of", "csv=p=0", file.string()});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  std::vector<Packet> packets;
  std::istringstream lines(result.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    auto comma = line.find(',');
    REQUIRE(comma != std::string::npos);
    packets.push_back({std::stod(line.substr(0, comma)), line[comma + 1] == 'K'});
  }
  return packets;
}

void check_with_ffprobe(VideoCodec codec, const std::string& encoder) {
  const EncodedStream stream = encode(codec, encoder);
  size_t fragments = 0;
  const std::vector<uint8_t> file_bytes = mux(stream, &fragments);
  CHECK(fragments == kFrames / kFramesPerGop);

  TempDir dir("yw-fmp4");
  const auto path = dir / "stream.mp4";
  {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(file_bytes.data()),
              static_cast<std::streamsize>(file_bytes.size()));
    REQUIRE(out.good());
  }

  const auto fields = ffprobe_stream(path);
  CHECK(fields.at("codec_name") == (codec == VideoCodec::kH264 ? "h264" : "hevc"));
  CHECK(fields.at("width") == "320");
  CHECK(fields.at("height") == "240");
  CHECK(fields.at("nb_read_frames") == std::to_string(kFrames));
  CHECK(std::stod(fields.at("duration")) == Approx(4.0).margin(0.05));

  // Sync-sample flags and composition times survive: a keyframe every 25 frames, and the
  // presentation times are exactly the 25 fps grid, whatever the decode order.
  const auto packets = ffprobe_packets(path);
  REQUIRE(packets.size() == kFrames);
  std::vector<double> pts;
  for (size_t i = 0; i < packets.size(); ++i) {
    INFO("packet " << i);
    CHECK(packets[i].keyframe == (i % kFramesPerGop == 0));
    pts.push_back(packets[i].pts);
  }
  std::sort(pts.begin(), pts.end());
  for (size_t i = 0; i < pts.size(); ++i) {
    CHECK(pts[i] - pts[0] == Approx(static_cast<double>(i) * 0.04).margin(1e-6));
  }
}

TEST_CASE("H.264 from x264enc plays back through ffprobe", "[fmp4][gstreamer]") {
  check_with_ffprobe(VideoCodec::kH264, "x264enc key-int-max=25 tune=zerolatency");
}

TEST_CASE("H.264 with B-frames keeps presentation order (composition offsets)",
          "[fmp4][gstreamer]") {
  const EncodedStream stream = encode(VideoCodec::kH264, "x264enc key-int-max=25 bframes=2");
  // The encoder really reordered: some frames are presented later than decoded.
  CHECK(std::any_of(stream.samples.begin(), stream.samples.end(),
                    [](const Sample& s) { return s.composition_offset != 0; }));
  check_with_ffprobe(VideoCodec::kH264, "x264enc key-int-max=25 bframes=2");
}

TEST_CASE("H.265 from x265enc plays back through ffprobe", "[fmp4][gstreamer]") {
  check_with_ffprobe(VideoCodec::kH265, "x265enc key-int-max=25 tune=zerolatency");
}

}  // namespace
}  // namespace yardwatch::recorder
