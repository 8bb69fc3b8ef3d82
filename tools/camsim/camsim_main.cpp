// yardwatch-camsim: simulated RTSP cameras for tests and load measurements. See README.md.

#include <glib-unix.h>
#include <gst/gst.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "camera_server.h"
#include "clip.h"
#include "control_socket.h"
#include "gst_ptr.h"

namespace yardwatch::camsim {
namespace {

struct Options {
  std::string address = "127.0.0.1";
  uint32_t port = 8554;
  uint32_t cameras = 2;
  std::string codecs = "h264";
  uint32_t width = 1280;
  uint32_t height = 720;
  uint32_t fps = 25;
  uint32_t bitrate_kbps = 2000;
  std::optional<uint32_t> gop_frames;
  std::optional<std::string> auth;
  std::string auth_method = "basic";
  std::optional<std::string> control_path;
  std::optional<double> clip_seconds;
};

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, separator)) parts.push_back(part);
  if (!text.empty() && text.back() == separator) parts.emplace_back();
  return parts;
}

// "h264,h265" → {h264, h265}, or nullopt with `problem` set.
std::optional<std::vector<Codec>> parse_codec_list(const std::string& text, std::string& problem) {
  std::vector<Codec> codecs;
  for (const std::string& name : split(text, ',')) {
    auto codec = parse_codec(name);
    if (!codec) {
      problem = "unknown codec '" + name + "' (expected h264, h265 or jpeg, or a comma list)";
      return std::nullopt;
    }
    codecs.push_back(*codec);
  }
  if (codecs.empty()) {
    problem = "no codec given";
    return std::nullopt;
  }
  return codecs;
}

std::optional<Credentials> parse_credentials(const std::string& text) {
  const auto colon = text.find(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  return Credentials{text.substr(0, colon), text.substr(colon + 1)};
}

// One command from the control socket; runs on the main loop's thread.
std::string handle_command(CameraServer& server, const std::string& line) {
  std::istringstream in(line);
  std::string verb;
  std::string camera;
  std::string extra;
  in >> verb >> camera >> extra;
  if (verb == "status" && camera.empty()) {
    std::string reply;
    for (const auto& entry : server.status()) {
      reply += entry.name + (entry.online ? " online\n" : " offline\n");
    }
    return reply;
  }
  if ((verb == "offline" || verb == "online") && !camera.empty() && extra.empty()) {
    Status result = server.set_online(camera, verb == "online");
    if (!result.ok()) return "error: " + result.error().message + "\n";
    std::fprintf(stderr, "yardwatch-camsim: %s %s\n", camera.c_str(), verb.c_str());
    return "ok\n";
  }
  return "error: unknown command '" + line + "' (expected: offline camK, online camK or status)\n";
}

// Quits the main loop on a signal, for as long as it lives.
class SignalWatch {
 public:
  SignalWatch(int signal_number, GMainLoop* loop)
      : id_(g_unix_signal_add(signal_number, quit_loop, loop)) {}
  ~SignalWatch() { g_source_remove(id_); }
  SignalWatch(const SignalWatch&) = delete;
  SignalWatch& operator=(const SignalWatch&) = delete;

 private:
  static gboolean quit_loop(gpointer loop) {
    g_main_loop_quit(static_cast<GMainLoop*>(loop));
    return G_SOURCE_CONTINUE;
  }
  guint id_;
};

// Runs what is ready on the default main context, without blocking. Bounded, in case some source
// keeps itself ready.
void drain_main_context() {
  for (int i = 0; i < 1000 && g_main_context_iteration(nullptr, FALSE); ++i) {
  }
}

int run(const Options& options, const std::vector<Codec>& camera_codecs,
        const std::optional<Credentials>& credentials) {
  gst_init(nullptr, nullptr);

  const uint32_t gop_frames = options.gop_frames.value_or(2 * options.fps);
  // Whole GOPs only, so that the looped clip keeps a keyframe every gop_frames frames.
  const double seconds = options.clip_seconds.value_or(4.0);
  const auto gop_count =
      static_cast<uint32_t>(std::max(1.0, std::round(seconds * static_cast<double>(options.fps) /
                                                     static_cast<double>(gop_frames))));

  // Installed first: a signal during the (possibly long) encoding then still ends the process
  // through the normal clean-up, once the main loop runs.
  MainLoopPtr loop(g_main_loop_new(nullptr, FALSE));
  const SignalWatch sigint(SIGINT, loop.get());
  const SignalWatch sigterm(SIGTERM, loop.get());

  ServerConfig config;
  config.address = options.address;
  config.port = static_cast<uint16_t>(options.port);
  config.camera_codecs = camera_codecs;
  config.credentials = credentials;
  auto server = CameraServer::create(config);
  if (!server.ok()) {
    std::fprintf(stderr, "yardwatch-camsim: error: %s\n", server.error().message.c_str());
    return 1;
  }
  std::unique_ptr<ControlSocket> control;
  if (options.control_path) {
    auto created = ControlSocket::create(*options.control_path, nullptr,
                                         [&camera_server = *server.value()](const auto& line) {
                                           return handle_command(camera_server, line);
                                         });
    if (!created.ok()) {
      std::fprintf(stderr, "yardwatch-camsim: error: control socket: %s\n",
                   created.error().message.c_str());
      return 1;
    }
    control = std::move(created).value();
  }

  std::map<Codec, Clip> clips;
  for (Codec codec : camera_codecs) {
    if (clips.count(codec) != 0) continue;
    ClipSettings settings;
    settings.codec = codec;
    settings.width = options.width;
    settings.height = options.height;
    settings.fps = options.fps;
    settings.bitrate_kbps = options.bitrate_kbps;
    settings.gop_frames = gop_frames;
    settings.gop_count = gop_count;
    std::fprintf(stderr, "yardwatch-camsim: encoding a %u-frame %s clip at %ux%u\n",
                 gop_frames * gop_count, std::string(codec_name(codec)).c_str(), options.width,
                 options.height);
    Result<Clip> clip = encode_clip(settings);
    if (!clip.ok()) {
      std::fprintf(stderr, "yardwatch-camsim: error: %s\n", clip.error().message.c_str());
      return 1;
    }
    clips.emplace(codec, std::move(clip).value());
  }

  if (Status started = server.value()->start(std::move(clips)); !started.ok()) {
    std::fprintf(stderr, "yardwatch-camsim: error: %s\n", started.error().message.c_str());
    return 1;
  }

  // Tests wait for this exact line; it must come only once clients can connect.
  std::printf("yardwatch-camsim: serving %zu cameras at rtsp://%s:%u/cam1..cam%zu\n",
              server.value()->camera_count(), options.address.c_str(), server.value()->port(),
              server.value()->camera_count());
  std::fflush(stdout);

  g_main_loop_run(loop.get());

  std::fprintf(stderr, "yardwatch-camsim: shutting down\n");
  if (control) control->stop();
  drain_main_context();  // commands that were already queued for the main loop
  control.reset();
  server.value().reset();
  drain_main_context();  // the server's own clean-up of closed clients
  return 0;
}

}  // namespace
}  // namespace yardwatch::camsim

int main(int argc, char** argv) {
  using yardwatch::camsim::Codec;
  using yardwatch::camsim::Credentials;
  yardwatch::camsim::Options options;
  CLI::App app{
      "yardwatch-camsim: simulated RTSP cameras (rtsp://ADDRESS:PORT/cam1..camN) that loop a "
      "clip encoded once at start-up"};
  app.add_option("--port", options.port, "RTSP port (0: any free port)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  app.add_option("--address", options.address, "address to listen on")->capture_default_str();
  app.add_option("--cameras", options.cameras, "number of cameras")
      ->check(CLI::Range(1, 512))
      ->capture_default_str();
  app.add_option("--codec", options.codecs,
                 "h264, h265 or jpeg, or a comma list that cycles over the cameras "
                 "(jpeg: MJPEG, to simulate a camera with an unsupported codec)")
      ->check(CLI::Validator(
          [](std::string& value) {
            std::string problem;
            return yardwatch::camsim::parse_codec_list(value, problem) ? std::string() : problem;
          },
          "CODEC[,CODEC...]"))
      ->capture_default_str();
  app.add_option("--width", options.width, "frame width (even)")
      ->check(CLI::Range(16, 7680))
      ->capture_default_str();
  app.add_option("--height", options.height, "frame height (even)")
      ->check(CLI::Range(16, 4320))
      ->capture_default_str();
  app.add_option("--fps", options.fps, "frames per second")
      ->check(CLI::Range(1, 120))
      ->capture_default_str();
  app.add_option("--bitrate", options.bitrate_kbps, "H.264/H.265 bitrate in kbit/s")
      ->check(CLI::Range(16, 200000))
      ->capture_default_str();
  app.add_option("--gop", options.gop_frames, "frames from one keyframe to the next [2 x fps]")
      ->check(CLI::Range(1, 1000));
  app.add_option("--auth", options.auth,
                 "user:password; require RTSP authentication with these credentials")
      ->check(CLI::Validator(
          [](std::string& value) {
            return yardwatch::camsim::parse_credentials(value)
                       ? std::string()
                       : std::string("expected user:password with a non-empty user");
          },
          "USER:PASSWORD"));
  app.add_option("--auth-method", options.auth_method,
                 "basic or digest: the RTSP authentication scheme --auth requires")
      ->check(CLI::IsMember({"basic", "digest"}))
      ->capture_default_str();
  app.add_option("--control", options.control_path,
                 "unix socket path for the offline/online/status commands");
  app.add_option("--clip-seconds", options.clip_seconds,
                 "length of the looped clip, rounded to whole GOPs (at least one) [4]")
      ->check(CLI::Range(0.04, 120.0));
  try {
    app.parse(argc, argv);
    if (options.width % 2 != 0 || options.height % 2 != 0) {
      throw CLI::ValidationError("--width/--height", "must be even (4:2:0 video)");
    }
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  std::string problem;
  const std::vector<Codec> cycle = yardwatch::camsim::parse_codec_list(options.codecs, problem)
                                       .value_or(std::vector<Codec>{Codec::kH264});
  std::vector<Codec> camera_codecs;
  for (uint32_t i = 0; i < options.cameras; ++i) camera_codecs.push_back(cycle[i % cycle.size()]);
  std::optional<Credentials> credentials;
  if (options.auth) {
    credentials = yardwatch::camsim::parse_credentials(*options.auth);
    if (credentials) credentials->digest = options.auth_method == "digest";
  }

  try {
    return yardwatch::camsim::run(options, camera_codecs, credentials);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "yardwatch-camsim: error: %s\n", e.what());
    return 1;
  }
}
