// bench_redaction_driver: the two halves of the redaction benchmark (tools/bench/bench_redaction).
//
//   bench_redaction_driver generate --data DIR --key-dir DIR --plain FILE --width W --height H
//                                   [--minutes 1] [--bitrate 4000]
// builds an appliance with a director, camera "schoolplein" holding M minutes of one-minute
// segments through the real vault (tools/bench/bench_footage.h) of a synthetic yard with six
// drawn children's faces moving about (tests/support/synthetic_scene.h; a 10-s loop), an open
// access request BENCH-1, and the same footage as one plaintext fMP4 in FILE for ffmpeg. Prints
// from=ISO and to=ISO.
//
//   bench_redaction_driver measure --data DIR --key-dir DIR --plain FILE --width W --height H
//                                  --from ISO --to ISO [--ffmpeg-args "…"]
// runs ffmpeg on FILE as a child process (decode, a blur over the whole frame, libx264 at the
// pipeline's preset and quantizer), then signs the director in and measures one draft
// preparation the way the web admin's route runs it (SubjectExportService::prepare: decrypt,
// decode, detect, blur, track, re-encode to H.264 MP4), with the requester selected on the first
// frame.
// Prints key=value lines per tool: wall_s, cpu_s (utime+stime), peak_rss_kib, host_busy_s (all
// CPUs, /proc/stat) and frames.

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "bench_footage.h"
#include "synthetic_scene.h"
#include "yardwatch/firmware/appliance.h"
#include "yardwatch/firmware/services.h"
#include "yardwatch/hal/clock.h"

using namespace yardwatch;

namespace {

constexpr const char* kTool = "bench_redaction_driver";
constexpr const char* kPassword = "bench-redaction-wachtwoord";
constexpr const char* kReference = "BENCH-1";
constexpr const char* kCamera = "schoolplein";
constexpr int kChildren = 6;
constexpr int kLoopFrames = 250;  // 10 s: the scene repeats seamlessly

// Child `child`'s face in frame `frame` of a width × height picture: a face 1/12 of the picture
// high, on an ellipse of its own around its own centre, once round per loop.
cv::Rect child_box(int child, int frame, int width, int height) {
  const int face_height = height / 12 / 2 * 2;
  const int face_width = face_height * 48 / 56 / 2 * 2;
  const double phase = 2 * M_PI * (static_cast<double>(frame) / kLoopFrames + child / 6.0);
  const double centre_x = width * (0.15 + 0.7 * ((child % 3) + 0.5) / 3);
  const double centre_y = height * (0.3 + 0.4 * (child / 3));
  const double x = centre_x + width * 0.1 * std::cos(phase) - face_width / 2.0;
  const double y = centre_y + height * 0.08 * std::sin(phase) - face_height / 2.0;
  return {std::clamp(static_cast<int>(x), 0, width - face_width),
          std::clamp(static_cast<int>(y), 0, height - face_height), face_width, face_height};
}

void draw_scene(int i, int width, int height, std::span<uint8_t> bgr) {
  cv::Mat frame(height, width, CV_8UC3, bgr.data());
  testing::draw_yard(frame);
  for (int c = kChildren - 1; c >= 0; --c) {
    testing::draw_face(frame, child_box(c, i, width, height), static_cast<unsigned>(c + 1));
  }
}

int64_t parse_time(const std::string& text) {
  auto parsed = hal::parse_iso8601_utc_us(text);
  if (!parsed.ok()) bench::die(kTool, "bad time " + text);
  return parsed.value();
}

// Busy time of all CPUs so far (/proc/stat's first line: everything but idle and iowait), in s.
double host_busy_s() {
  std::ifstream stat("/proc/stat");
  std::string cpu;
  stat >> cpu;
  std::vector<double> fields;
  double value = 0;
  while (fields.size() < 8 && stat >> value) fields.push_back(value);
  if (fields.size() < 8) return 0;
  double busy = 0;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i != 3 && i != 4) busy += fields[i];
  }
  return busy / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double cpu_s(const rusage& usage) {
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// A "VmHWM:"-like field of /proc/self/status in KiB.
long status_kib(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(field.size()));
  }
  return -1;
}
long peak_rss_kib() { return status_kib("VmHWM:"); }
long current_rss_kib() { return status_kib("VmRSS:"); }

struct Measure {
  double wall_s = 0;
  double cpu_s = 0;
  long peak_rss_kib = 0;
  double host_busy_s = 0;
  uint64_t frames = 0;
};

void print(const std::string& tool, const Measure& m) {
  std::cout << tool << "_wall_s=" << m.wall_s << "\n"
            << tool << "_cpu_s=" << m.cpu_s << "\n"
            << tool << "_peak_rss_kib=" << m.peak_rss_kib << "\n"
            << tool << "_host_busy_s=" << m.host_busy_s << "\n"
            << tool << "_frames=" << m.frames << "\n";
}

int generate(const firmware::ApplianceOptions& options, const std::string& plain, int width,
             int height, int minutes, int bitrate) {
  auto appliance = firmware::Appliance::init(options);
  if (!appliance.ok()) bench::die(kTool, appliance.error().message);
  auto& app = *appliance.value();
  firmware::Services services(app);
  bench::add_director(app, services, kPassword);

  bench::ClipSpec spec;
  spec.width = width;
  spec.height = height;
  spec.frames = kLoopFrames;
  spec.bitrate_kbit = bitrate;
  spec.draw = [width, height](int i, std::span<uint8_t> bgr) { draw_scene(i, width, height, bgr); };
  const bench::Clip clip = bench::encode_clip(spec);

  // The footage ends a minute before now, so nothing is "still recording".
  const int64_t end = app.clock().now_utc_us() / 60'000'000 * 60'000'000 - 60'000'000;
  const int64_t start = end - int64_t{minutes} * 60'000'000;
  recorder::CameraSpec camera_spec;
  camera_spec.name = kCamera;
  camera_spec.url = "rtsp://127.0.0.1/schoolplein";
  camera_spec.zone = "schoolyard";
  auto camera = app.catalog().add_camera(camera_spec, start - 1);
  if (!camera.ok()) bench::die(kTool, camera.error().message);
  const uint64_t bytes = bench::write_segments(app, camera.value().id, clip, start, minutes, 0);

  auto director = services.accounts.authenticate({"directeur", kPassword, "", "console"});
  if (!director.ok()) bench::die(kTool, director.error().message);
  firmware::NewSubjectRequest request;
  request.reference = kReference;
  request.kind = firmware::RequestKind::kAccess;
  request.requester_name = "J. Jansen";
  request.requester_contact = "j.jansen@example.org";
  request.received_utc_us = app.clock().now_utc_us() - 60'000'000;
  if (auto added = services.requests.add(director.value(), request); !added.ok()) {
    bench::die(kTool, added.error().message);
  }

  const auto mp4 = bench::plain_fmp4(clip, minutes, 0);
  std::ofstream(plain, std::ios::binary)
      .write(reinterpret_cast<const char*>(mp4.data()), static_cast<std::streamsize>(mp4.size()));
  std::cout << "from=" << hal::format_iso8601_utc(start) << "\n"
            << "to=" << hal::format_iso8601_utc(end) << "\n"
            << "source_bytes=" << bytes << "\n";
  return 0;
}

Measure measure_yardwatch(firmware::Appliance& app, firmware::Services& services,
                          const firmware::Principal& director, int64_t from, int64_t to, int width,
                          int height) {
  // The requester: child 0, selected on the first frame with a margin, as a director draws it.
  const cv::Rect face = child_box(0, 0, width, height);
  const double margin = 0.5;
  recorder::FrameBox box;
  box.x = std::max(0.0, (face.x - margin * face.width) / width);
  box.y = std::max(0.0, (face.y - margin * face.height) / height);
  box.width = std::min(1.0 - box.x, (1 + 2 * margin) * face.width / width);
  box.height = std::min(1.0 - box.y, (1 + 2 * margin) * face.height / height);
  firmware::SubjectDraftSpec spec;
  spec.request_reference = kReference;
  spec.camera = kCamera;
  spec.from_utc_us = from;
  spec.to_utc_us = to;
  spec.selection = recorder::RequesterSelection{from, box};

  // The peak RSS counts from here: signing in (Argon2) is not the redaction's.
  std::ofstream("/proc/self/clear_refs") << "5";
  rusage before{};
  getrusage(RUSAGE_SELF, &before);
  const double busy_before = host_busy_s();
  const int64_t started = app.clock().monotonic_us();
  auto draft = services.subject_exports.prepare(director, spec);
  const int64_t finished = app.clock().monotonic_us();
  const double busy_after = host_busy_s();
  rusage after{};
  getrusage(RUSAGE_SELF, &after);
  if (!draft.ok()) bench::die(kTool, "prepare: " + draft.error().message);
  Measure m;
  m.wall_s = static_cast<double>(finished - started) / 1e6;
  m.cpu_s = cpu_s(after) - cpu_s(before);
  m.peak_rss_kib = peak_rss_kib();
  m.host_busy_s = busy_after - busy_before;
  m.frames = draft.value().frames;
  std::cout << "yardwatch_requester_frames=" << draft.value().frames_with_requester << "\n"
            << "yardwatch_mp4_bytes=" << draft.value().mp4_bytes << "\n";
  return m;
}

Measure measure_ffmpeg(const hal::Clock& clock, const std::string& plain,
                       const std::string& filter_and_codec, int64_t frames) {
  const std::string out = plain + ".ffmpeg.mp4";
  std::vector<std::string> args = {"ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", plain};
  std::istringstream words(filter_and_codec);
  for (std::string word; words >> word;) args.push_back(word);
  args.insert(args.end(), {"-frames:v", std::to_string(frames), "-an", "-f", "mp4"});
  args.push_back(out);
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const double busy_before = host_busy_s();
  const int64_t started = clock.monotonic_us();
  // fork, not posix_spawn: posix_spawn's child shares this process's memory until exec, and the
  // kernel then carries this process's peak RSS into the child's ru_maxrss. A forked child
  // starts from this process's current RSS (small: ffmpeg runs before anything else), printed
  // as ffmpeg_rss_floor_kib.
  std::cout << "ffmpeg_rss_floor_kib=" << current_rss_kib() << "\n";
  const pid_t pid = fork();
  if (pid < 0) bench::die(kTool, "cannot start ffmpeg");
  if (pid == 0) {
    execvp("ffmpeg", argv.data());
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  if (wait4(pid, &status, 0, &usage) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    bench::die(kTool, "ffmpeg failed");
  }
  const int64_t finished = clock.monotonic_us();
  Measure m;
  m.wall_s = static_cast<double>(finished - started) / 1e6;
  m.cpu_s = cpu_s(usage);
  m.peak_rss_kib = usage.ru_maxrss;
  m.host_busy_s = host_busy_s() - busy_before;
  m.frames = static_cast<uint64_t>(frames);
  std::filesystem::remove(out);
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_redaction_driver: the redaction benchmark's footage and measurements"};
  app.require_subcommand(1);
  firmware::ApplianceOptions options;
  std::string plain;
  int width = 1280;
  int height = 720;
  int minutes = 1;
  int bitrate = 4000;
  std::string from;
  std::string to;
  // The pipeline's encoder (recorder/src/redaction.cpp): x264 veryfast, constant quantizer 23,
  // no B-frames, a keyframe every 2 s; its blur replaced by one over the whole frame.
  std::string ffmpeg_args =
      "-vf boxblur=luma_radius=10:luma_power=2 -c:v libx264 -preset veryfast -qp 23 -bf 0 -g 50 "
      "-pix_fmt yuv420p";
  for (auto* sub : {app.add_subcommand("generate", "build the appliance and the plain clip"),
                    app.add_subcommand("measure", "one draft and one ffmpeg run")}) {
    sub->add_option("--data", options.data_dir)->required();
    sub->add_option("--key-dir", options.key_dir)->required();
    sub->add_option("--plain", plain, "the same footage as a plaintext fMP4")->required();
    sub->add_option("--width", width)->check(CLI::Range(160, 3840));
    sub->add_option("--height", height)->check(CLI::Range(120, 2160));
  }
  auto* gen = app.get_subcommand("generate");
  gen->add_option("--minutes", minutes)->check(CLI::Range(1, 15));
  gen->add_option("--bitrate", bitrate, "kbit/s")->check(CLI::Range(100, 100000));
  auto* mea = app.get_subcommand("measure");
  mea->add_option("--from", from)->required();
  mea->add_option("--to", to)->required();
  mea->add_option("--ffmpeg-args", ffmpeg_args, "ffmpeg's filter and encoder options");
  CLI11_PARSE(app, argc, argv);

  if (gen->parsed()) return generate(options, plain, width, height, minutes, bitrate);

  // ffmpeg first, while this process is small (see measure_ffmpeg); the same frames as the draft.
  const hal::SystemClock clock;
  const int64_t from_us = parse_time(from);
  const int64_t to_us = parse_time(to);
  const Measure ffmpeg =
      measure_ffmpeg(clock, plain, ffmpeg_args, (to_us - from_us) * bench::kFps / 1'000'000);
  print("ffmpeg", ffmpeg);
  auto appliance = firmware::Appliance::open(options);
  if (!appliance.ok()) bench::die(kTool, appliance.error().message);
  firmware::Services services(*appliance.value());
  auto director = services.accounts.authenticate({"directeur", kPassword, "", "console"});
  if (!director.ok()) bench::die(kTool, director.error().message);
  const Measure yardwatch = measure_yardwatch(*appliance.value(), services, director.value(),
                                              from_us, to_us, width, height);
  print("yardwatch", yardwatch);
  return 0;
}
