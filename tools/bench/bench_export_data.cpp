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

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <string>

#include "bench_footage.h"
#include "yardwatch/firmware/appliance.h"
#include "yardwatch/firmware/services.h"

using namespace yardwatch;

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
  if (!appliance.ok()) bench::die("bench_export_data", appliance.error().message);
  auto& app_ref = *appliance.value();
  firmware::Services services(app_ref);
  bench::add_director(app_ref, services, password);

  bench::ClipSpec spec;
  spec.bitrate_kbit = bitrate;
  const bench::Clip clip = bench::encode_clip(spec);
  uint64_t clip_bytes = 0;
  for (const auto& frame : clip.frames) clip_bytes += frame.size();

  // The footage ends a minute before now, so nothing is "still recording".
  const int64_t end = app_ref.clock().now_utc_us() / 60'000'000 * 60'000'000 - 60'000'000;
  const int64_t start = end - int64_t{minutes} * 60'000'000;
  uint64_t source_bytes = 0;
  std::string names;
  for (int c = 1; c <= cameras; ++c) {
    recorder::CameraSpec camera_spec;
    camera_spec.name = "cam" + std::to_string(c);
    camera_spec.url = "rtsp://127.0.0.1/cam" + std::to_string(c);
    camera_spec.zone = "schoolyard";
    auto camera = app_ref.catalog().add_camera(camera_spec, start - 1);
    if (!camera.ok()) bench::die("bench_export_data", camera.error().message);
    names += (names.empty() ? "" : ",") + camera_spec.name;
    size_t first_frame = static_cast<size_t>(c * 37) % clip.frames.size();  // own phase per camera
    first_frame -= first_frame % bench::kGop;
    source_bytes +=
        bench::write_segments(app_ref, camera.value().id, clip, start, minutes, first_frame);
  }
  std::cout << "from=" << hal::format_iso8601_utc(start) << "\n"
            << "to=" << hal::format_iso8601_utc(end) << "\n"
            << "cameras=" << names << "\n"
            << "source_bytes=" << source_bytes << "\n"
            << "bitrate_kbit=" << clip_bytes * 8 / 10 / 1000 << "\n";
  return 0;
}
