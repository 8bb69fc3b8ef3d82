// yardwatch-camsim as a user (and the end-to-end tests) see it: a real process, probed with
// ffprobe/ffmpeg over RTSP and driven through its control socket.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "test_support.h"
#include "yardwatch/recorder/rtsp_framing.h"
#include "yardwatch/recorder/rtsp_session.h"

namespace yardwatch::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

// A running camsim. Starts on --port 0 unless the arguments name a port, and learns the real
// port from the line camsim prints once it is serving.
class CamsimProcess {
 public:
  CamsimProcess(std::vector<std::string> args, const TempDir& dir) {
    std::vector<std::string> argv = {binary_path("yardwatch-camsim").string()};
    bool has_port = false;
    for (const auto& arg : args) has_port = has_port || arg == "--port";
    if (!has_port) args.insert(args.end(), {"--port", "0"});
    argv.insert(argv.end(), args.begin(), args.end());
    process_ = std::make_unique<Process>(argv, std::map<std::string, std::string>{}, dir.path());
    const bool ready =
        wait_until([this] { return serving_line().has_value() || !process_->running(); }, 60s);
    INFO("camsim stderr: " << process_->stderr_text());
    REQUIRE(ready);
    REQUIRE(process_->running());
    const std::string line = *serving_line();
    // "yardwatch-camsim: serving N cameras at rtsp://127.0.0.1:PORT/cam1..camN"
    const auto host = line.find("127.0.0.1:");
    REQUIRE(host != std::string::npos);
    port_ = std::stoi(line.substr(host + 10));
  }
  ~CamsimProcess() { process_->stop(); }
  CamsimProcess(const CamsimProcess&) = delete;
  CamsimProcess& operator=(const CamsimProcess&) = delete;

  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] std::string url(int camera, const std::string& userinfo = "") const {
    return "rtsp://" + (userinfo.empty() ? "" : userinfo + "@") +
           "127.0.0.1:" + std::to_string(port_) + "/cam" + std::to_string(camera);
  }
  Process& process() { return *process_; }

 private:
  std::optional<std::string> serving_line() const {
    const std::string out = process_->stdout_text();
    const auto start = out.find("yardwatch-camsim: serving ");
    if (start == std::string::npos) return std::nullopt;
    const auto end = out.find('\n', start);
    if (end == std::string::npos) return std::nullopt;
    return out.substr(start, end - start);
  }

  std::unique_ptr<Process> process_;
  int port_ = 0;
};

// run_command and Process spawn without a PATH search, so find the FFmpeg tools here.
std::string program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string directories = path != nullptr ? path : "/usr/bin";
  size_t start = 0;
  while (start <= directories.size()) {
    const size_t end = std::min(directories.find(':', start), directories.size());
    const fs::path candidate = fs::path(directories.substr(start, end - start)) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    start = end + 1;
  }
  FAIL(name << " is not installed (Debian package: ffmpeg)");
  return name;
}

struct StreamInfo {
  int exit_code = -1;
  std::string error;
  std::string codec;
  int width = 0;
  int height = 0;
};

StreamInfo probe_stream(const std::string& url) {
  auto result =
      run_command({program("ffprobe"), "-v", "error", "-rtsp_transport", "tcp", "-select_streams",
                   "v:0", "-show_entries", "stream=codec_name,width,height", "-of", "json", url},
                  "", {}, std::chrono::seconds(30));
  StreamInfo info;
  info.exit_code = result.exit_code;
  info.error = result.err;
  if (result.exit_code != 0) return info;
  const json parsed = json::parse(result.out);
  if (parsed.contains("streams") && !parsed["streams"].empty()) {
    const json& stream = parsed["streams"][0];
    info.codec = stream.value("codec_name", "");
    info.width = stream.value("width", 0);
    info.height = stream.value("height", 0);
  }
  return info;
}

// One command line to the control socket; returns the whole reply.
std::string control(const fs::path& socket_path, const std::string& command) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof(address.sun_path), "%s", socket_path.c_str());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd);
    FAIL("cannot connect to " << socket_path);
  }
  const std::string line = command + "\n";
  REQUIRE(::send(fd, line.data(), line.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(line.size()));
  std::string reply;
  char buffer[256];
  ssize_t n = 0;
  while ((n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0)
    reply.append(buffer, static_cast<size_t>(n));
  ::close(fd);
  return reply;
}

TEST_CASE("camsim serves each camera with its codec from the cycled --codec list", "[camsim]") {
  TempDir dir("yw-camsim");
  const uint16_t port = free_tcp_port();
  CamsimProcess camsim({"--port", std::to_string(port), "--cameras", "2", "--codec", "h264,h265",
                        "--width", "640", "--height", "360", "--fps", "25", "--gop", "25"},
                       dir);
  REQUIRE(camsim.port() == port);

  const StreamInfo cam1 = probe_stream(camsim.url(1));
  INFO(cam1.error);
  REQUIRE(cam1.exit_code == 0);
  CHECK(cam1.codec == "h264");
  CHECK(cam1.width == 640);
  CHECK(cam1.height == 360);

  const StreamInfo cam2 = probe_stream(camsim.url(2));
  INFO(cam2.error);
  REQUIRE(cam2.exit_code == 0);
  CHECK(cam2.codec == "hevc");
  CHECK(cam2.width == 640);
  CHECK(cam2.height == 360);

  CHECK(probe_stream(camsim.url(3)).exit_code != 0);  // only two cameras

  CHECK(camsim.process().stop() == 0);  // SIGTERM is a clean exit
}

TEST_CASE("camsim jpeg cameras simulate an unsupported codec", "[camsim]") {
  TempDir dir("yw-camsim");
  CamsimProcess camsim(
      {"--cameras", "3", "--codec", "jpeg,h264", "--width", "320", "--height", "240"}, dir);
  CHECK(probe_stream(camsim.url(1)).codec == "mjpeg");
  CHECK(probe_stream(camsim.url(2)).codec == "h264");
  CHECK(probe_stream(camsim.url(3)).codec == "mjpeg");
}

TEST_CASE("camsim streams frames at the frame rate with continuous timestamps", "[camsim]") {
  TempDir dir("yw-camsim");
  CamsimProcess camsim({"--cameras", "2", "--codec", "h264,h265", "--width", "640", "--height",
                        "360", "--fps", "25", "--gop", "25"},
                       dir);

  for (int camera : {1, 2}) {
    INFO("cam" << camera);
    auto result = run_command({program("ffprobe"), "-v", "error", "-rtsp_transport", "tcp",
                               "-read_intervals", "%+3", "-select_streams", "v:0", "-show_entries",
                               "frame=key_frame,pts_time", "-of", "json", camsim.url(camera)},
                              "", {}, std::chrono::seconds(30));
    INFO(result.err);
    REQUIRE(result.exit_code == 0);
    const json frames = json::parse(result.out).at("frames");
    // 3 s at 25 frames/s; allow for start-up and for where ffprobe cuts the interval.
    CHECK(frames.size() >= 60);
    CHECK(frames.size() <= 90);

    // The first frame a new client sees is a keyframe, so it can decode at once.
    REQUIRE(!frames.empty());
    CHECK(frames[0].at("key_frame") == 1);
    int keyframes = 0;
    std::optional<double> previous;
    for (const json& frame : frames) {
      if (frame.at("key_frame") == 1) ++keyframes;
      if (!frame.contains("pts_time")) continue;  // ffmpeg leaves the very first one unset
      const double pts = std::stod(frame.at("pts_time").get<std::string>());
      if (previous) {
        CHECK(pts > *previous);
        CHECK(pts - *previous == Approx(0.040).margin(0.002));
      }
      previous = pts;
    }
    // A keyframe every 25 frames: three or four in 3 s.
    CHECK(keyframes >= 2);
  }

  // A second client of the same camera while the first is still reading: the shared media keeps
  // serving both.
  Process watcher({program("ffmpeg"), "-nostdin", "-v", "error", "-rtsp_transport", "tcp", "-i",
                   camsim.url(1), "-t", "4", "-c", "copy", "-f", "null", "-"},
                  {}, dir.path());
  std::this_thread::sleep_for(1s);
  const StreamInfo second = probe_stream(camsim.url(1));
  INFO(second.error);
  CHECK(second.exit_code == 0);
  CHECK(watcher.wait(20s) == std::optional<int>(0));
}

TEST_CASE("camsim control socket takes cameras offline and back online", "[camsim]") {
  TempDir dir("yw-camsim");
  const fs::path socket_path = dir / "control.sock";
  CamsimProcess camsim({"--cameras", "2", "--codec", "h264", "--width", "320", "--height", "240",
                        "--gop", "25", "--control", socket_path.string()},
                       dir);

  CHECK(control(socket_path, "status") == "cam1 online\ncam2 online\n");

  // A client that is watching cam1 when it goes offline is disconnected: ffmpeg sees the end of
  // the stream long before its 20 s are up.
  Process watcher({program("ffmpeg"), "-nostdin", "-v", "error", "-rtsp_transport", "tcp", "-i",
                   camsim.url(1), "-t", "20", "-c", "copy", "-f", "null", "-"},
                  {}, dir.path());
  std::this_thread::sleep_for(2s);
  REQUIRE(watcher.running());

  CHECK(control(socket_path, "offline cam1") == "ok\n");
  CHECK(control(socket_path, "status") == "cam1 offline\ncam2 online\n");
  CHECK(watcher.wait(8s).has_value());

  const StreamInfo offline = probe_stream(camsim.url(1));
  CHECK(offline.exit_code != 0);
  CHECK(offline.error.find("404") != std::string::npos);
  CHECK(probe_stream(camsim.url(2)).exit_code == 0);

  CHECK(control(socket_path, "offline cam1") == "ok\n");  // idempotent
  CHECK(control(socket_path, "online cam1") == "ok\n");
  const StreamInfo back = probe_stream(camsim.url(1));
  INFO(back.error);
  CHECK(back.exit_code == 0);
  CHECK(back.codec == "h264");
  CHECK(control(socket_path, "status") == "cam1 online\ncam2 online\n");

  CHECK(control(socket_path, "offline cam3").rfind("error: ", 0) == 0);
  CHECK(control(socket_path, "reboot cam1").rfind("error: ", 0) == 0);
  CHECK(control(socket_path, "online").rfind("error: ", 0) == 0);

  CHECK(camsim.process().stop() == 0);
  CHECK_FALSE(fs::exists(socket_path));  // removed on exit
}

TEST_CASE("camsim --auth requires the credentials", "[camsim]") {
  TempDir dir("yw-camsim");
  CamsimProcess camsim({"--cameras", "1", "--width", "320", "--height", "240", "--gop", "25",
                        "--auth", "user:secret"},
                       dir);

  const StreamInfo anonymous = probe_stream(camsim.url(1));
  CHECK(anonymous.exit_code != 0);
  CHECK(anonymous.error.find("401") != std::string::npos);
  CHECK(probe_stream(camsim.url(1, "user:wrong")).exit_code != 0);

  const StreamInfo authorised = probe_stream(camsim.url(1, "user:secret"));
  INFO(authorised.error);
  CHECK(authorised.exit_code == 0);
  CHECK(authorised.codec == "h264");
}

TEST_CASE("camsim --auth-method digest requires Digest credentials", "[camsim]") {
  TempDir dir("yw-camsim");
  CamsimProcess camsim({"--cameras", "1", "--width", "320", "--height", "240", "--gop", "25",
                        "--auth", "user:secret", "--auth-method", "digest"},
                       dir);
  const StreamInfo anonymous = probe_stream(camsim.url(1));
  CHECK(anonymous.exit_code != 0);
  CHECK(anonymous.error.find("401") != std::string::npos);
  CHECK(probe_stream(camsim.url(1, "user:wrong")).exit_code != 0);
  const StreamInfo authorised = probe_stream(camsim.url(1, "user:secret"));
  INFO(authorised.error);
  CHECK(authorised.exit_code == 0);
}

// One RTSP request on a fresh connection; returns the reply's header, or "" if none came within
// `timeout`.
std::string rtsp_request(int port, const std::string& request, std::chrono::milliseconds timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size()));
  std::string reply;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (reply.find("\r\n\r\n") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    pollfd readable{fd, POLLIN, 0};
    if (::poll(&readable, 1, 50) <= 0) continue;
    char buffer[1024];
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    reply.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return reply;
}

TEST_CASE("camsim answers a client while another client's DESCRIBE waits for a keyframe",
          "[camsim]") {
  // gst-rtsp-server answers a DESCRIBE only once the camera's next keyframe prerolled the media.
  // With a 5 s GOP, cam1's next keyframe is seconds away; meanwhile another client's OPTIONS
  // must be answered at once (with one thread for all clients it waited for the DESCRIBE).
  TempDir dir("yw-camsim");
  CamsimProcess camsim({"--cameras", "2", "--codec", "h264", "--width", "320", "--height", "240",
                        "--fps", "25", "--gop", "125"},
                       dir);
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  std::atomic<int64_t> describe_ms{-1};
  std::thread describing([&] {
    const std::string reply = rtsp_request(camsim.port(),
                                           "DESCRIBE " + camsim.url(1) +
                                               " RTSP/1.0\r\nCSeq: 1\r\nAccept: "
                                               "application/sdp\r\n\r\n",
                                           15s);
    if (reply.starts_with("RTSP/1.0 200")) {
      describe_ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
    }
  });
  std::this_thread::sleep_for(300ms);
  const std::string options =
      rtsp_request(camsim.port(), "OPTIONS " + camsim.url(2) + " RTSP/1.0\r\nCSeq: 1\r\n\r\n", 15s);
  const auto options_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  describing.join();
  CHECK(options.starts_with("RTSP/1.0 200"));
  REQUIRE(describe_ms > 0);
  INFO("OPTIONS answered after " << options_ms << " ms, the DESCRIBE after " << describe_ms
                                 << " ms");
  // The DESCRIBE really waited (so the OPTIONS had something to wait behind)...
  REQUIRE(describe_ms > 1000);
  // ...and the OPTIONS did not wait for it.
  CHECK(options_ms < describe_ms);
}

TEST_CASE(
    "camsim holds a stream until PLAY: after a slow PLAY it starts at a keyframe and runs "
    "on frame by frame",
    "[camsim]") {
  // Before the fix, frames queued behind the prerolled keyframe until the queue dropped the
  // oldest: after a PLAY 3 s late, the keyframe was followed by frames more than a second later.
  TempDir dir("yw-camsim");
  CamsimProcess camsim({"--cameras", "1", "--codec", "h264", "--width", "320", "--height", "240",
                        "--fps", "25", "--gop", "25"},
                       dir);
  auto session = recorder::RtspSession::create(camsim.url(1), 10s);
  REQUIRE(session.ok());
  REQUIRE(session.value()->connect().ok());
  auto stream = session.value()->describe();
  REQUIRE(stream.ok());
  auto channel = session.value()->setup(stream.value());
  REQUIRE(channel.ok());
  std::this_thread::sleep_for(3s);  // longer than the 2 s camsim's queue holds
  REQUIRE(session.value()->play().ok());

  // The first 60 frames' RTP timestamps and whether the first is a keyframe.
  recorder::InterleavedFramer framer;
  std::vector<uint32_t> frame_times;
  std::set<int> first_picture_nal_types;
  const int fd = session.value()->socket_fd();
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (frame_times.size() < 60 && std::chrono::steady_clock::now() < deadline) {
    pollfd readable{fd, POLLIN, 0};
    if (::poll(&readable, 1, 100) <= 0) continue;
    const auto space = framer.free_space();
    const ssize_t n = ::recv(fd, space.data(), space.size(), 0);
    REQUIRE(n > 0);
    framer.commit(static_cast<size_t>(n));
    while (true) {
      auto item = framer.next();
      REQUIRE(item.ok());
      if (!item.value()) break;
      if (item.value()->kind != recorder::InterleavedItem::Kind::kData ||
          item.value()->channel != channel.value()) {
        continue;
      }
      const auto& payload = item.value()->payload;
      REQUIRE(payload.size() > 12);
      const uint32_t time = (uint32_t{payload[4]} << 24) | (uint32_t{payload[5]} << 16) |
                            (uint32_t{payload[6]} << 8) | payload[7];
      if (frame_times.empty() || frame_times.front() == time) {
        // The first picture's NAL units: an FU-A (28) and a STAP-A (24) name the unit(s) they
        // carry in their next byte(s).
        int type = payload[12] & 0x1F;
        if (type == 28 && payload.size() > 13) type = payload[13] & 0x1F;
        if (type == 24 && payload.size() > 15) type = payload[15] & 0x1F;
        first_picture_nal_types.insert(type);
      }
      if (frame_times.empty() || frame_times.back() != time) frame_times.push_back(time);
    }
  }
  REQUIRE(frame_times.size() >= 60);
  // A keyframe opens the stream: its first picture is an IDR picture (5) with its SPS (7).
  CHECK(first_picture_nal_types.count(5) == 1);
  CHECK(first_picture_nal_types.count(7) == 1);
  for (size_t i = 1; i < frame_times.size(); ++i) {
    INFO("frame " << i);
    CHECK(frame_times[i] - frame_times[i - 1] == 3600u);  // 40 ms at 90 kHz, nothing missing
  }
  session.value()->teardown();
}

TEST_CASE("camsim rejects bad options with a clear message", "[camsim]") {
  const std::string camsim = binary_path("yardwatch-camsim").string();
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--codec", "vp8"}, "unknown codec 'vp8'"},
      {{"--codec", "h264,"}, "unknown codec ''"},
      {{"--cameras", "0"}, "--cameras"},
      {{"--auth", "nocolon"}, "user:password"},
      {{"--width", "641"}, "even"},
      {{"--fps", "0"}, "--fps"},
      {{"--no-such-option"}, "--no-such-option"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv = {camsim};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    auto result = run_command(argv, "", {}, std::chrono::seconds(30));
    INFO(c.args.front() << ": " << result.err);
    CHECK(result.exit_code > 0);
    CHECK(result.err.find(c.message) != std::string::npos);
  }

  SECTION("a port in use") {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
    REQUIRE(::listen(fd, 1) == 0);
    socklen_t length = sizeof(address);
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    const std::string port = std::to_string(ntohs(address.sin_port));
    // Fails before encoding anything, so this is quick even at the default 1280x720.
    auto result = run_command({camsim, "--port", port}, "", {}, std::chrono::seconds(30));
    ::close(fd);
    INFO(result.err);
    CHECK(result.exit_code == 1);
    CHECK(result.err.find("cannot listen on 127.0.0.1:" + port) != std::string::npos);
  }
}

}  // namespace
}  // namespace yardwatch::testing
