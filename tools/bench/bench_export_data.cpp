// bench_export_data: builds the data directory for the export benchmark (tools/bench/bench_export):
// an initialised appliance with a director account and N cameras, each with M minutes of
// 1-minute segments written through the real vault (SegmentWriter, catalog rows, wrapped keys).
// The footage is one real H.264 clip (x264enc on noise, so it really needs the bitrate), encoded
// once and repeated with continuous timestamps.
//
//   bench_export_data --data DIR --key-dir DIR --password-file F [--cameras 4] [--minutes 60]
//                     [--bitrate 4000]
// Prints key=value lines for the script: from=ISO, to=ISO, cameras=cam1,…, source_bytes=N,
// bitrate_kbit=measured.

#include <gst/app/gstappsink.h>
#include <gst/gst.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "yardwatch/firmware/appliance.h"
#include "yardwatch/firmware/services.h"
#include "yardwatch/firmware/settings.h"
#include "yardwatch/recorder/data_dir.h"
#include "yardwatch/recorder/fmp4.h"
#include "yardwatch/recorder/segment_file.h"

namespace {

using namespace yardwatch;

constexpr int kFps = 25;
constexpr int kGop = 50;
constexpr int64_t kTicksPerFrame = 90000 / kFps;

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "bench_export_data: %s\n", message.c_str());
  std::exit(1);
}

struct Clip {
  recorder::TrackInfo track;
  std::vector<std::vector<uint8_t>> frames;  // avc access units; frame 0 of each GOP a keyframe
};

// 10 s of 1280x720 noise through x264enc at the bitrate: the encoder has to spend every bit.
Clip encode_clip(int bitrate_kbit) {
  gst_init(nullptr, nullptr);
  const std::string description =
      "videotestsrc num-buffers=250 pattern=snow ! video/x-raw,width=1280,height=720,framerate=25/1"
      " ! x264enc speed-preset=ultrafast tune=zerolatency bframes=0 key-int-max=" +
      std::to_string(kGop) + " bitrate=" + std::to_string(bitrate_kbit) +
      " ! h264parse ! video/x-h264,stream-format=avc,alignment=au ! appsink name=sink sync=false";
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(description.c_str(), &error);
  if (error != nullptr) die(std::string("gst_parse_launch: ") + error->message);
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
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
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  if (clip.frames.size() != 250)
    die("the encoder produced " + std::to_string(clip.frames.size()) + " frames, expected 250");
  return clip;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_export_data: footage for the export benchmark"};
  firmware::ApplianceOptions options;
  std::string password_file;
  int cameras = 4;
  int minutes = 60;
  int bitrate = 4000;
  app.add_option("--data", options.data_dir)->required();
  app.add_option("--key-dir", options.key_dir)->required();
  app.add_option("--password-file", password_file, "the director's password")->required();
  app.add_option("--cameras", cameras)->check(CLI::Range(1, 64));
  app.add_option("--minutes", minutes)->check(CLI::Range(1, 24 * 60));
  app.add_option("--bitrate", bitrate, "kbit/s")->check(CLI::Range(100, 100000));
  CLI11_PARSE(app, argc, argv);

  std::string password;
  std::ifstream(password_file) >> password;
  auto appliance = firmware::Appliance::init(options);
  if (!appliance.ok()) die(appliance.error().message);
  auto& app_ref = *appliance.value();
  firmware::Services services(app_ref);
  auto& catalog = app_ref.catalog();
  if (!firmware::set_setting(catalog, services.audit, firmware::Actor::console(),
                             "policy.require_totp", "0")
           .ok()) {
    die("cannot switch TOTP off");
  }
  const std::string temporary = "tijdelijk-wachtwoord-bench";
  if (!services.accounts
           .add_account(firmware::Actor::console(), "directeur", firmware::Role::kDirector, {},
                        temporary)
           .ok() ||
      !services.accounts.change_password({"directeur", temporary, "", "console"}, password).ok()) {
    die("cannot create the director account");
  }

  const Clip clip = encode_clip(bitrate);
  uint64_t clip_bytes = 0;
  for (const auto& frame : clip.frames) clip_bytes += frame.size();
  const std::vector<uint8_t> init = recorder::build_init_segment(clip.track);

  // The footage ends a minute before now, so nothing is "still recording".
  const int64_t end = app_ref.clock().now_utc_us() / 60'000'000 * 60'000'000 - 60'000'000;
  const int64_t start = end - int64_t{minutes} * 60'000'000;
  const int frames_per_segment = 60 * kFps;
  uint64_t source_bytes = 0;
  std::string names;
  for (int c = 1; c <= cameras; ++c) {
    recorder::CameraSpec spec;
    spec.name = "cam" + std::to_string(c);
    spec.url = "rtsp://127.0.0.1/cam" + std::to_string(c);
    spec.zone = "schoolyard";
    auto camera = catalog.add_camera(spec, start - 1);
    if (!camera.ok()) die(camera.error().message);
    names += (names.empty() ? "" : ",") + spec.name;
    size_t next_frame = static_cast<size_t>(c * 37) % clip.frames.size();  // own phase per camera
    next_frame -= next_frame % kGop;
    for (int m = 0; m < minutes; ++m) {
      const int64_t segment_start = start + int64_t{m} * 60'000'000;
      const hal::SecretBytes key = recorder::generate_segment_key();
      const recorder::NewSegment segment{camera.value().id, segment_start, "h264", clip.track.width,
                                         clip.track.height};
      auto row = catalog.begin_segment(segment, [&](int64_t id) {
        return recorder::wrap_segment_key(app_ref.keys().master_key(), key,
                                          {id, camera.value().id, segment_start});
      });
      if (!row.ok()) die(row.error().message);
      const auto path =
          recorder::segment_path(app_ref.data_dir(), camera.value().id, row.value().id);
      std::filesystem::create_directories(path.parent_path());
      auto writer = recorder::SegmentWriter::create(
          app_ref.storage(), path, {row.value().id, camera.value().id, segment_start}, key, init);
      if (!writer.ok()) die(writer.error().message);
      uint32_t sequence = 0;
      for (int f = 0; f < frames_per_segment; f += kGop) {
        std::vector<recorder::Sample> samples;
        for (int i = 0; i < kGop; ++i) {
          recorder::Sample sample;
          sample.data = clip.frames[next_frame];
          next_frame = (next_frame + 1) % clip.frames.size();
          sample.decode_time = int64_t{f + i} * kTicksPerFrame;
          sample.duration = kTicksPerFrame;
          sample.keyframe = i == 0;
          samples.push_back(std::move(sample));
        }
        recorder::FragmentInfo info;
        info.utc_start_us = segment_start + int64_t{f} * 1'000'000 / kFps;
        info.duration_us = int64_t{kGop} * 1'000'000 / kFps;
        info.decode_time = samples.front().decode_time;
        info.sample_count = kGop;
        if (auto appended = writer.value()->append_fragment(
                info, recorder::build_media_fragment(++sequence, samples));
            !appended.ok()) {
          die(appended.error().message);
        }
      }
      auto summary = writer.value()->finish();
      if (!summary.ok()) die(summary.error().message);
      const auto& s = summary.value();
      if (!catalog
               .complete_segment(row.value().id,
                                 {s.end_utc_us,
                                  s.file_bytes,
                                  s.fragment_count,
                                  {s.plaintext_sha256.begin(), s.plaintext_sha256.end()}})
               .ok()) {
        die("cannot complete a segment");
      }
      source_bytes += s.file_bytes;
    }
  }
  std::cout << "from=" << hal::format_iso8601_utc(start) << "\n"
            << "to=" << hal::format_iso8601_utc(end) << "\n"
            << "cameras=" << names << "\n"
            << "source_bytes=" << source_bytes << "\n"
            << "bitrate_kbit=" << clip_bytes * 8 / 10 / 1000 << "\n";
  return 0;
}
