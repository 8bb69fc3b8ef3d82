#pragma once

// Test footage for the export tests: a real H.264/H.265 stream encoded once by GStreamer
// (videotestsrc → x264enc/x265enc → parse, avc/hvc1 access units), written through the real
// segmenter-format writers (fMP4 fragments per GOP, encrypted segment files, catalog rows) at
// chosen wall-clock times, so that gaps, trimming and joins can be placed exactly.

#include <gst/app/gstappsink.h>
#include <gst/gst.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "yardwatch/hal/key_store.h"
#include "yardwatch/hal/storage.h"
#include "yardwatch/recorder/catalog.h"
#include "yardwatch/recorder/data_dir.h"
#include "yardwatch/recorder/fmp4.h"
#include "yardwatch/recorder/segment_file.h"

namespace yardwatch::recorder::test {

struct EncodedStream {
  TrackInfo track;
  std::vector<Sample> samples;  // decode order, decode_time from 0, 90 kHz
};

inline int64_t to_90khz(GstClockTime time) {
  return static_cast<int64_t>(gst_util_uint64_scale(time, 90000, GST_SECOND));
}

// `frames` frames at 25 fps, a keyframe every `gop` frames.
inline EncodedStream encode_stream(VideoCodec codec, int frames, int gop, int width = 320,
                                   int height = 240) {
  gst_init(nullptr, nullptr);
  const bool h264 = codec == VideoCodec::kH264;
  const std::string encoder =
      h264 ? "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=" + std::to_string(gop)
           : "x265enc tune=zerolatency speed-preset=ultrafast key-int-max=" + std::to_string(gop);
  const std::string description =
      "videotestsrc num-buffers=" + std::to_string(frames) +
      " pattern=ball ! video/x-raw,width=" + std::to_string(width) +
      ",height=" + std::to_string(height) + ",framerate=25/1 ! " + encoder +
      (h264 ? " ! h264parse ! video/x-h264,stream-format=avc,alignment=au"
            : " ! h265parse ! video/x-h265,stream-format=hvc1,alignment=au") +
      " ! appsink name=sink sync=false";
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(description.c_str(), &error);
  if (error != nullptr) {
    const std::string message = error->message;
    g_error_free(error);
    FAIL("gst_parse_launch: " << message);
  }
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  REQUIRE(gst_element_set_state(pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  EncodedStream stream;
  stream.track.codec = codec;
  stream.track.timescale = 90000;
  struct Raw {
    std::vector<uint8_t> data;
    GstClockTime pts, dts;
    bool keyframe;
  };
  std::vector<Raw> raw;
  for (;;) {
    GstSample* sample = gst_app_sink_pull_sample(GST_APP_SINK(sink));
    if (sample == nullptr) break;
    if (stream.track.codec_config.empty()) {
      const GstStructure* caps = gst_caps_get_structure(gst_sample_get_caps(sample), 0);
      const GValue* codec_data = gst_structure_get_value(caps, "codec_data");
      REQUIRE(codec_data != nullptr);
      GstBuffer* config = gst_value_get_buffer(codec_data);
      GstMapInfo map;
      REQUIRE(gst_buffer_map(config, &map, GST_MAP_READ));
      stream.track.codec_config.assign(map.data, map.data + map.size);
      gst_buffer_unmap(config, &map);
      int w = 0;
      int h = 0;
      gst_structure_get_int(caps, "width", &w);
      gst_structure_get_int(caps, "height", &h);
      stream.track.width = static_cast<uint32_t>(w);
      stream.track.height = static_cast<uint32_t>(h);
    }
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    GstMapInfo map;
    REQUIRE(gst_buffer_map(buffer, &map, GST_MAP_READ));
    Raw frame;
    frame.data.assign(map.data, map.data + map.size);
    gst_buffer_unmap(buffer, &map);
    frame.pts = GST_BUFFER_PTS(buffer);
    frame.dts = GST_BUFFER_DTS_IS_VALID(buffer) ? GST_BUFFER_DTS(buffer) : GST_BUFFER_PTS(buffer);
    frame.keyframe = !GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT);
    raw.push_back(std::move(frame));
    gst_sample_unref(sample);
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  REQUIRE(static_cast<int>(raw.size()) == frames);
  const GstClockTime origin = raw.front().dts;
  for (size_t i = 0; i < raw.size(); ++i) {
    Sample sample;
    sample.data = std::move(raw[i].data);
    sample.decode_time = to_90khz(raw[i].dts - origin);
    sample.composition_offset =
        static_cast<int32_t>(to_90khz(raw[i].pts - origin) - sample.decode_time);
    sample.duration = 3600;  // 25 fps
    sample.keyframe = raw[i].keyframe;
    stream.samples.push_back(std::move(sample));
  }
  for (size_t i = 0; i + 1 < stream.samples.size(); ++i) {
    stream.samples[i].duration =
        static_cast<uint32_t>(stream.samples[i + 1].decode_time - stream.samples[i].decode_time);
  }
  return stream;
}

// A data directory with a catalog and keys, where segments can be written at chosen times. Either
// its own (recorder migrations only) or an existing appliance's.
class FootageStore {
 public:
  explicit FootageStore(const std::filesystem::path& root)
      : data_dir_(root / "data"), own_storage_(std::make_unique<hal::DirectoryStorage>(data_dir_)) {
    std::filesystem::create_directories(data_dir_);
    own_keys_ = hal::FileKeyStore::create(root / "keys").value();
    own_catalog_ = Catalog::open(catalog_path(data_dir_), true).value();
    storage_ = own_storage_.get();
    keys_ = own_keys_.get();
    catalog_ = own_catalog_.get();
  }
  FootageStore(Catalog& catalog, const hal::Storage& storage, const hal::KeyStore& keys)
      : data_dir_(storage.data_dir()), storage_(&storage), keys_(&keys), catalog_(&catalog) {}

  Camera add_camera(const std::string& name, const std::string& location = "") {
    CameraSpec spec;
    spec.name = name;
    spec.url = "rtsp://127.0.0.1/" + name;
    spec.zone = "schoolyard";
    spec.location = location;
    return catalog_->add_camera(spec, 0).value();
  }

  // Writes samples [first, last) of `stream` as one complete segment starting at `start_utc_us`,
  // one fragment per GOP. Returns the catalog row.
  SegmentRow write_segment(const Camera& camera, const EncodedStream& stream, size_t first,
                           size_t last, int64_t start_utc_us) {
    const hal::SecretBytes key = generate_segment_key();
    NewSegment segment{camera.id, start_utc_us, std::string(codec_name(stream.track.codec)),
                       stream.track.width, stream.track.height};
    SegmentRow row =
        catalog_
            ->begin_segment(
                segment,
                [&](int64_t id) {
                  return wrap_segment_key(keys_->master_key(), key, {id, camera.id, start_utc_us});
                })
            .value();
    const auto path = segment_path(data_dir_, camera.id, row.id);
    std::filesystem::create_directories(path.parent_path());
    auto writer = SegmentWriter::create(*storage_, path, {row.id, camera.id, start_utc_us}, key,
                                        build_init_segment(stream.track))
                      .value();
    const int64_t base = stream.samples[first].decode_time;
    uint32_t sequence = 0;
    size_t i = first;
    while (i < last) {
      size_t end = i + 1;
      while (end < last && !stream.samples[end].keyframe) ++end;
      std::vector<Sample> fragment(stream.samples.begin() + static_cast<std::ptrdiff_t>(i),
                                   stream.samples.begin() + static_cast<std::ptrdiff_t>(end));
      for (auto& s : fragment) s.decode_time -= base;
      int64_t ticks = 0;
      for (const auto& s : fragment) ticks += s.duration;
      FragmentInfo info;
      info.utc_start_us = start_utc_us + (stream.samples[i].decode_time - base) * 1'000'000 / 90000;
      info.duration_us = ticks * 1'000'000 / 90000;
      info.decode_time = fragment.front().decode_time;
      info.sample_count = static_cast<uint32_t>(fragment.size());
      REQUIRE(writer->append_fragment(info, build_media_fragment(++sequence, fragment)).ok());
      i = end;
    }
    auto summary = writer->finish().value();
    REQUIRE(catalog_
                ->complete_segment(
                    row.id, {summary.end_utc_us,
                             summary.file_bytes,
                             summary.fragment_count,
                             {summary.plaintext_sha256.begin(), summary.plaintext_sha256.end()}})
                .ok());
    return catalog_->segment(row.id).value().value();
  }

  Catalog& catalog() { return *catalog_; }
  const hal::Storage& storage() const { return *storage_; }
  const hal::KeyStore& keys() const { return *keys_; }
  const std::filesystem::path& data_dir() const { return data_dir_; }

 private:
  std::filesystem::path data_dir_;
  std::unique_ptr<hal::DirectoryStorage> own_storage_;
  std::unique_ptr<hal::FileKeyStore> own_keys_;
  std::unique_ptr<Catalog> own_catalog_;
  const hal::Storage* storage_ = nullptr;
  const hal::KeyStore* keys_ = nullptr;
  Catalog* catalog_ = nullptr;
};

}  // namespace yardwatch::recorder::test
