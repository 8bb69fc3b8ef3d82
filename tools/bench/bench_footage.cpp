#include "bench_footage.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

#include <cstdio>
#include <filesystem>
#include <thread>

#include "yardwatch/firmware/settings.h"
#include "yardwatch/recorder/data_dir.h"
#include "yardwatch/recorder/segment_file.h"

namespace yardwatch::bench {

namespace {

constexpr int64_t kTicksPerFrame = 90000 / kFps;

// One GOP of the clip from `next_frame` on (advanced, wrapping), decode times from `first`.
std::vector<recorder::Sample> next_gop(const Clip& clip, size_t& next_frame, int64_t first) {
  std::vector<recorder::Sample> samples;
  for (int i = 0; i < kGop; ++i) {
    recorder::Sample sample;
    sample.data = clip.frames[next_frame];
    next_frame = (next_frame + 1) % clip.frames.size();
    sample.decode_time = (first + i) * kTicksPerFrame;
    sample.duration = kTicksPerFrame;
    sample.keyframe = i == 0;
    samples.push_back(std::move(sample));
  }
  return samples;
}

}  // namespace

void die(const std::string& tool, const std::string& message) {
  std::fprintf(stderr, "%s: %s\n", tool.c_str(), message.c_str());
  std::exit(1);
}

Clip encode_clip(const ClipSpec& spec) {
  gst_init(nullptr, nullptr);
  const std::string raw = "video/x-raw,width=" + std::to_string(spec.width) +
                          ",height=" + std::to_string(spec.height) +
                          ",framerate=" + std::to_string(kFps) + "/1";
  const std::string source =
      spec.draw
          ? "appsrc name=src format=time caps=" + raw + ",format=BGR ! videoconvert"
          : "videotestsrc num-buffers=" + std::to_string(spec.frames) + " pattern=snow ! " + raw;
  const std::string description =
      source + " ! x264enc speed-preset=ultrafast tune=zerolatency bframes=0 key-int-max=" +
      std::to_string(kGop) + " bitrate=" + std::to_string(spec.bitrate_kbit) +
      " ! h264parse ! video/x-h264,stream-format=avc,alignment=au ! appsink name=sink sync=false";
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(description.c_str(), &error);
  if (error != nullptr) die("encode_clip", std::string("gst_parse_launch: ") + error->message);
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  std::thread feeder;
  if (spec.draw) {
    GstElement* src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
    feeder = std::thread([&spec, src] {
      const size_t bytes = static_cast<size_t>(spec.width) * static_cast<size_t>(spec.height) * 3;
      for (int i = 0; i < spec.frames; ++i) {
        GstBuffer* buffer = gst_buffer_new_allocate(nullptr, bytes, nullptr);
        GstMapInfo map;
        gst_buffer_map(buffer, &map, GST_MAP_WRITE);
        spec.draw(i, {map.data, bytes});
        gst_buffer_unmap(buffer, &map);
        GST_BUFFER_PTS(buffer) = static_cast<GstClockTime>(i) * GST_SECOND / kFps;
        GST_BUFFER_DURATION(buffer) = GST_SECOND / kFps;
        if (gst_app_src_push_buffer(GST_APP_SRC(src), buffer) != GST_FLOW_OK) break;
      }
      gst_app_src_end_of_stream(GST_APP_SRC(src));
      gst_object_unref(src);
    });
  }
  Clip clip;
  clip.track.codec = recorder::VideoCodec::kH264;
  clip.track.timescale = 90000;
  while (GstSample* sample = gst_app_sink_pull_sample(GST_APP_SINK(sink))) {
    if (clip.track.codec_config.empty()) {
      const GstStructure* caps = gst_caps_get_structure(gst_sample_get_caps(sample), 0);
      GstBuffer* config = gst_value_get_buffer(gst_structure_get_value(caps, "codec_data"));
      GstMapInfo map;
      gst_buffer_map(config, &map, GST_MAP_READ);
      clip.track.codec_config.assign(map.data, map.data + map.size);
      gst_buffer_unmap(config, &map);
      int width = 0;
      int height = 0;
      gst_structure_get_int(caps, "width", &width);
      gst_structure_get_int(caps, "height", &height);
      clip.track.width = static_cast<uint32_t>(width);
      clip.track.height = static_cast<uint32_t>(height);
    }
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    GstMapInfo map;
    gst_buffer_map(buffer, &map, GST_MAP_READ);
    clip.frames.emplace_back(map.data, map.data + map.size);
    gst_buffer_unmap(buffer, &map);
    gst_sample_unref(sample);
  }
  if (feeder.joinable()) feeder.join();
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  if (clip.frames.size() != static_cast<size_t>(spec.frames) || spec.frames % kGop != 0) {
    die("encode_clip", "the encoder produced " + std::to_string(clip.frames.size()) +
                           " frames, expected " + std::to_string(spec.frames) + " (a multiple of " +
                           std::to_string(kGop) + ")");
  }
  return clip;
}

void add_director(firmware::Appliance& appliance, firmware::Services& services,
                  const std::string& password) {
  if (!firmware::set_setting(appliance.catalog(), services.audit, firmware::Actor::console(),
                             "policy.require_totp", "0")
           .ok()) {
    die("add_director", "cannot switch TOTP off");
  }
  const std::string temporary = "tijdelijk-wachtwoord-bench";
  if (!services.accounts
           .add_account(firmware::Actor::console(), "directeur", firmware::Role::kDirector, {},
                        temporary)
           .ok() ||
      !services.accounts.change_password({"directeur", temporary, "", "console"}, password).ok()) {
    die("add_director", "cannot create the director account");
  }
}

uint64_t write_segments(firmware::Appliance& appliance, int64_t camera_id, const Clip& clip,
                        int64_t start_utc_us, int minutes, size_t first_frame) {
  auto& catalog = appliance.catalog();
  const std::vector<uint8_t> init = recorder::build_init_segment(clip.track);
  const int frames_per_segment = 60 * kFps;
  size_t next_frame = first_frame;
  uint64_t bytes = 0;
  for (int m = 0; m < minutes; ++m) {
    const int64_t segment_start = start_utc_us + int64_t{m} * 60'000'000;
    const hal::SecretBytes key = recorder::generate_segment_key();
    const recorder::NewSegment segment{camera_id, segment_start, "h264", clip.track.width,
                                       clip.track.height};
    auto row = catalog.begin_segment(segment, [&](int64_t id) {
      return recorder::wrap_segment_key(appliance.keys().master_key(), key,
                                        {id, camera_id, segment_start});
    });
    if (!row.ok()) die("write_segments", row.error().message);
    const auto path = recorder::segment_path(appliance.data_dir(), camera_id, row.value().id);
    std::filesystem::create_directories(path.parent_path());
    auto writer = recorder::SegmentWriter::create(
        appliance.storage(), path, {row.value().id, camera_id, segment_start}, key, init);
    if (!writer.ok()) die("write_segments", writer.error().message);
    uint32_t sequence = 0;
    for (int f = 0; f < frames_per_segment; f += kGop) {
      const auto samples = next_gop(clip, next_frame, f);
      recorder::FragmentInfo info;
      info.utc_start_us = segment_start + int64_t{f} * 1'000'000 / kFps;
      info.duration_us = int64_t{kGop} * 1'000'000 / kFps;
      info.decode_time = samples.front().decode_time;
      info.sample_count = kGop;
      if (auto appended = writer.value()->append_fragment(
              info, recorder::build_media_fragment(++sequence, samples));
          !appended.ok()) {
        die("write_segments", appended.error().message);
      }
    }
    auto summary = writer.value()->finish();
    if (!summary.ok()) die("write_segments", summary.error().message);
    const auto& s = summary.value();
    if (!catalog
             .complete_segment(row.value().id,
                               {s.end_utc_us,
                                s.file_bytes,
                                s.fragment_count,
                                {s.plaintext_sha256.begin(), s.plaintext_sha256.end()}})
             .ok()) {
      die("write_segments", "cannot complete a segment");
    }
    bytes += s.file_bytes;
  }
  return bytes;
}

std::vector<uint8_t> plain_fmp4(const Clip& clip, int minutes, size_t first_frame) {
  std::vector<uint8_t> mp4 = recorder::build_init_segment(clip.track);
  size_t next_frame = first_frame;
  uint32_t sequence = 0;
  for (int f = 0; f < minutes * 60 * kFps; f += kGop) {
    const auto fragment = recorder::build_media_fragment(++sequence, next_gop(clip, next_frame, f));
    mp4.insert(mp4.end(), fragment.begin(), fragment.end());
  }
  return mp4;
}

}  // namespace yardwatch::bench
