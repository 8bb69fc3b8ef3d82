// The lean RTSP receiver (Capture over TCP): against a real gst-rtsp-server (yardwatch-camsim)
// for everything a real camera does, and against a small scripted camera on loopback for what
// only a broken or hostile camera does.

#include <arpa/inet.h>
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cctype>
#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "appliance_fixture.h"
#include "test_support.h"
#include "yardwatch/recorder/capture.h"

using namespace yardwatch;
using namespace yardwatch::recorder;
using namespace yardwatch::testing;
using namespace std::chrono_literals;

namespace {

using Bytes = std::vector<uint8_t>;

// ---- What a capture reports ----

struct Unit {
  int64_t pts_ns = -1;
  int64_t dts_ns = -1;
  bool keyframe = false;
  size_t size = 0;
};

class Collector : public CaptureListener {
 public:
  void on_track(const TrackInfo& track) override {
    std::lock_guard lock(mutex_);
    tracks_.push_back(track);
  }
  void on_access_unit(AccessUnit&& unit) override {
    std::lock_guard lock(mutex_);
    units_.push_back({unit.pts_ns, unit.dts_ns, unit.keyframe, unit.data.size()});
  }
  size_t unit_count() const {
    std::lock_guard lock(mutex_);
    return units_.size();
  }
  std::vector<Unit> units() const {
    std::lock_guard lock(mutex_);
    return units_;
  }
  std::vector<TrackInfo> tracks() const {
    std::lock_guard lock(mutex_);
    return tracks_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<TrackInfo> tracks_;
  std::vector<Unit> units_;
};

struct Outcome {
  Status status;
  bool stopped_by_test = false;  // done() held (or the watchdog fired) and stop() was called
  bool watchdog = false;
};

// Runs a capture on its own thread until `done()` holds (then stops it) or it ends by itself. A
// watchdog stops it after `limit` so that a broken receiver fails the test instead of hanging it.
Outcome run_capture(CaptureConfig config, Collector& collector, const std::function<bool()>& done,
                    std::chrono::milliseconds limit = 20s, uint32_t stall_timeout_ms = 4000) {
  auto capture = Capture::create(config, collector);
  REQUIRE(capture.ok());
  Outcome outcome;
  std::atomic<bool> finished{false};
  std::thread runner([&] {
    outcome.status = capture.value()->run_until_stopped_or_failed(stall_timeout_ms);
    finished = true;
  });
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!finished) {
    if (done && done()) {
      outcome.stopped_by_test = true;
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      outcome.stopped_by_test = true;
      outcome.watchdog = true;
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  capture.value()->stop();
  runner.join();
  return outcome;
}

std::string describe(const Status& status) {
  return status.ok() ? std::string("ok") : status.error().to_string();
}

CaptureConfig tcp_config(const std::string& url, uint32_t connect_timeout_s = 2) {
  CaptureConfig config;
  config.url = url;
  config.use_tcp = true;
  config.connect_timeout_s = connect_timeout_s;
  return config;
}

// Distinct presentation times advance by exactly one frame (40 ms at 25 fps).
void check_frame_steps(const std::vector<Unit>& units, int64_t frame_ns = 40'000'000) {
  for (size_t i = 1; i < units.size(); ++i) {
    INFO("unit " << i << " pts " << units[i].pts_ns << " after " << units[i - 1].pts_ns);
    CHECK(units[i].pts_ns - units[i - 1].pts_ns == frame_ns);
  }
}

// ---- RTP packets of a real H.264 stream, made once per test run ----

struct RtpPacket {
  Bytes bytes;
  size_t frame = 0;  // which picture it belongs to
};

uint8_t nal_type(const Bytes& packet) { return packet[12] & 0x1F; }

// 2 s of 320x240 at 25 fps from x264enc (GOP 25, no B-frames) through rtph264pay, with SPS and
// PPS in-band before every keyframe.
const std::vector<RtpPacket>& h264_packets() {
  static const std::vector<RtpPacket> packets = [] {
    ensure_gstreamer_initialised();
    GError* error = nullptr;
    GstElement* pipeline = gst_parse_launch(
        "videotestsrc num-buffers=50 pattern=ball ! video/x-raw,width=320,height=240,"
        "framerate=25/1 ! x264enc key-int-max=25 bframes=0 speed-preset=ultrafast "
        "tune=zerolatency ! h264parse ! rtph264pay pt=96 mtu=1000 config-interval=-1 "
        "aggregate-mode=none ! appsink name=sink sync=false",
        &error);
    REQUIRE(error == nullptr);
    REQUIRE(pipeline != nullptr);
    GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
    gst_element_set_state(pipeline, GST_STATE_PLAYING);
    std::vector<RtpPacket> result;
    uint32_t first_ts = 0;
    while (GstSample* sample = gst_app_sink_pull_sample(GST_APP_SINK(sink))) {
      GstBuffer* buffer = gst_sample_get_buffer(sample);
      GstMapInfo map;
      REQUIRE(gst_buffer_map(buffer, &map, GST_MAP_READ));
      RtpPacket packet;
      packet.bytes.assign(map.data, map.data + map.size);
      gst_buffer_unmap(buffer, &map);
      gst_sample_unref(sample);
      const uint32_t ts = (uint32_t{packet.bytes[4]} << 24) | (uint32_t{packet.bytes[5]} << 16) |
                          (uint32_t{packet.bytes[6]} << 8) | packet.bytes[7];
      if (result.empty()) first_ts = ts;
      packet.frame = (ts - first_ts) / 3600;
      result.push_back(std::move(packet));
    }
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(sink);
    gst_object_unref(pipeline);
    REQUIRE(result.size() > 50);
    REQUIRE(result.back().frame == 49);
    return result;
  }();
  return packets;
}

// The packet with a new sequence number and timestamp (the stream's own frame times from `base`).
Bytes restamp(const RtpPacket& packet, uint16_t sequence, uint32_t base) {
  Bytes bytes = packet.bytes;
  bytes[2] = static_cast<uint8_t>(sequence >> 8);
  bytes[3] = static_cast<uint8_t>(sequence);
  const uint32_t ts = base + static_cast<uint32_t>(packet.frame * 3600);
  bytes[4] = static_cast<uint8_t>(ts >> 24);
  bytes[5] = static_cast<uint8_t>(ts >> 16);
  bytes[6] = static_cast<uint8_t>(ts >> 8);
  bytes[7] = static_cast<uint8_t>(ts);
  return bytes;
}

Bytes interleaved(const Bytes& packet, uint8_t channel = 0) {
  Bytes frame(4 + packet.size());
  frame[0] = '$';
  frame[1] = channel;
  frame[2] = static_cast<uint8_t>(packet.size() >> 8);
  frame[3] = static_cast<uint8_t>(packet.size());
  std::copy(packet.begin(), packet.end(), frame.begin() + 4);
  return frame;
}

// ---- A scripted camera on loopback ----

struct Request {
  std::string method;
  std::string uri;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  [[nodiscard]] std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

class FakeCamera;

class Connection {
 public:
  Connection(int fd, FakeCamera& camera) : fd_(fd), camera_(camera) {}
  ~Connection() { ::close(fd_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // The next request, or nullopt when the client closed the connection or went quiet.
  std::optional<Request> read_request(std::chrono::milliseconds timeout = 5000ms);
  void send(const std::string& text) { send(Bytes(text.begin(), text.end())); }
  // In chunks of at most `chunk` bytes, each its own write (with TCP_NODELAY and a short pause,
  // so that the receiver's reads really are split).
  void send(const Bytes& bytes, size_t chunk = SIZE_MAX) {
    for (size_t offset = 0; offset < bytes.size();) {
      const size_t take = std::min(chunk, bytes.size() - offset);
      const ssize_t sent = ::send(fd_, bytes.data() + offset, take, MSG_NOSIGNAL);
      if (sent <= 0) return;
      offset += static_cast<size_t>(sent);
      if (chunk != SIZE_MAX) std::this_thread::sleep_for(200us);
    }
  }
  void reply(const Request& request, int code, const std::string& reason,
             const std::vector<std::string>& headers = {}, const std::string& body = "") {
    std::string text = "RTSP/1.0 " + std::to_string(code) + " " + reason + "\r\n";
    text += "CSeq: " + request.header("cseq") + "\r\n";
    for (const auto& header : headers) text += header + "\r\n";
    if (!body.empty()) text += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    text += "\r\n" + body;
    send(text);
  }
  // True once the client has closed its end (within `timeout`); requests that arrive meanwhile
  // are recorded.
  bool wait_closed(std::chrono::milliseconds timeout);

 private:
  std::optional<Request> extract_request();
  // Reads what is there (waiting at most 50 ms); false when the client closed the connection.
  bool receive_more(std::chrono::steady_clock::time_point deadline);

  int fd_;
  FakeCamera& camera_;
  std::string pending_;
};

class FakeCamera {
 public:
  using Script = std::function<void(Connection&)>;

  explicit FakeCamera(Script script) : script_(std::move(script)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listen_fd_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(listen_fd_, 4) == 0);
    socklen_t length = sizeof address;
    REQUIRE(::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeCamera() {
    stopping_ = true;
    thread_.join();
    ::close(listen_fd_);
  }
  FakeCamera(const FakeCamera&) = delete;
  FakeCamera& operator=(const FakeCamera&) = delete;

  [[nodiscard]] std::string url(const std::string& userinfo = "") const {
    return "rtsp://" + (userinfo.empty() ? "" : userinfo + "@") +
           "127.0.0.1:" + std::to_string(port_) + "/stream";
  }
  [[nodiscard]] std::string base() const {
    return "rtsp://127.0.0.1:" + std::to_string(port_) + "/stream";
  }
  [[nodiscard]] bool stopping() const { return stopping_; }
  std::vector<Request> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  void record(const Request& request) {
    std::lock_guard lock(mutex_);
    requests_.push_back(request);
  }

 private:
  void serve() {
    // One connection at a time, as many as the client opens, until the test ends.
    while (!stopping_) {
      pollfd listening{listen_fd_, POLLIN, 0};
      if (::poll(&listening, 1, 50) <= 0) continue;
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      Connection connection(fd, *this);
      script_(connection);
    }
  }

  Script script_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<Request> requests_;
};

std::optional<Request> Connection::extract_request() {
  const size_t end = pending_.find("\r\n\r\n");
  if (end == std::string::npos) return std::nullopt;
  Request request;
  const std::string head = pending_.substr(0, end);
  size_t line_start = 0;
  bool first = true;
  while (line_start <= head.size()) {
    size_t line_end = head.find("\r\n", line_start);
    if (line_end == std::string::npos) line_end = head.size();
    const std::string line = head.substr(line_start, line_end - line_start);
    line_start = line_end + 2;
    if (first) {
      first = false;
      const size_t space = line.find(' ');
      request.method = line.substr(0, space);
      request.uri = line.substr(space + 1, line.rfind(' ') - space - 1);
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    request.headers[lower(line.substr(0, colon))] = value;
  }
  const std::string length_text = request.header("content-length");
  const size_t length = length_text.empty() ? 0 : std::stoul(length_text);
  if (pending_.size() < end + 4 + length) return std::nullopt;
  request.body = pending_.substr(end + 4, length);
  pending_.erase(0, end + 4 + length);
  camera_.record(request);
  return request;
}

bool Connection::receive_more(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  pollfd readable{fd_, POLLIN, 0};
  if (::poll(&readable, 1, static_cast<int>(std::clamp<int64_t>(left.count(), 0, 50))) <= 0) {
    return true;
  }
  char chunk[4096];
  const ssize_t got = ::recv(fd_, chunk, sizeof chunk, 0);
  if (got <= 0) return false;
  pending_.append(chunk, static_cast<size_t>(got));
  return true;
}

std::optional<Request> Connection::read_request(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (auto request = extract_request()) return request;
    if (camera_.stopping() || std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    if (!receive_more(deadline)) return std::nullopt;
  }
}

bool Connection::wait_closed(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline && !camera_.stopping()) {
    if (!receive_more(deadline)) return true;
    while (extract_request()) {
    }
  }
  return false;
}

// The stream description of the scripted camera: audio first (it must never be set up), then
// H.264 video without sprop-parameter-sets (the parameter sets come in-band).
std::string sdp_with_audio_first(const std::string& base) {
  return "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=fake camera\r\nt=0 0\r\na=control:" + base +
         "\r\n"
         "m=audio 0 RTP/AVP 0\r\na=control:track-audio\r\n"
         "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
         "a=fmtp:96 packetization-mode=1;profile-level-id=42c01e\r\na=control:track-video\r\n";
}

struct Handshake {
  std::string sdp;  // empty: sdp_with_audio_first
  std::string session = "F00DCAFE;timeout=60";
  std::string public_methods = "OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER";
  std::function<void(Connection&)> before_play_reply;
};

// Answers OPTIONS, DESCRIBE, SETUP and PLAY; false if the client went away or asked for
// something else.
bool serve_until_play(Connection& c, const FakeCamera& camera, const Handshake& h = {}) {
  while (auto request = c.read_request()) {
    if (request->method == "OPTIONS") {
      c.reply(*request, 200, "OK", {"Public: " + h.public_methods});
    } else if (request->method == "DESCRIBE") {
      c.reply(*request, 200, "OK",
              {"Content-Type: application/sdp", "Content-Base: " + camera.base() + "/"},
              h.sdp.empty() ? sdp_with_audio_first(camera.base()) : h.sdp);
    } else if (request->method == "SETUP") {
      c.reply(*request, 200, "OK",
              {"Transport: RTP/AVP/TCP;unicast;interleaved=0-1", "Session: " + h.session});
    } else if (request->method == "PLAY") {
      if (h.before_play_reply) h.before_play_reply(c);
      c.reply(*request, 200, "OK", {"Session: " + h.session.substr(0, h.session.find(';'))});
      return true;
    } else {
      return false;
    }
  }
  return false;
}

// Sends the 50 frames (in order, one packet after the other) as interleaved frames.
void send_frames(Connection& c, uint32_t timestamp_base = 123456, size_t chunk = SIZE_MAX,
                 size_t first_packet = 0) {
  const auto& packets = h264_packets();
  uint16_t sequence = 1000;
  for (size_t i = first_packet; i < packets.size(); ++i) {
    c.send(interleaved(restamp(packets[i], sequence++, timestamp_base)), chunk);
  }
}

}  // namespace

// ---- Against a real RTSP server ----

TEST_CASE("lean receiver: H.264 and H.265 from gst-rtsp-server, MJPEG and a missing stream refused",
          "[recorder][rtsp][receiver]") {
  TempDir work("yw-receiver");
  CamSimOptions options;
  options.cameras = 3;
  options.codec = "h264,h265,jpeg";
  options.gop = 25;
  CamSim camsim(options, work.path());

  for (const auto& [camera, codec] :
       std::vector<std::pair<int, VideoCodec>>{{1, VideoCodec::kH264}, {2, VideoCodec::kH265}}) {
    INFO("camera " << camera);
    Collector collector;
    const Outcome outcome = run_capture(tcp_config(camsim.url(camera)), collector,
                                        [&] { return collector.unit_count() >= 60; });
    INFO(describe(outcome.status));
    CHECK(outcome.status.ok());
    CHECK_FALSE(outcome.watchdog);
    const auto tracks = collector.tracks();
    REQUIRE(tracks.size() == 1);
    CHECK(tracks[0].codec == codec);
    CHECK(tracks[0].width == 640);
    CHECK(tracks[0].height == 360);
    // avcC / hvcC: configurationVersion 1 and the parameter sets.
    REQUIRE(tracks[0].codec_config.size() > 10);
    CHECK(tracks[0].codec_config[0] == 1);
    const auto units = collector.units();
    REQUIRE(units.size() >= 60);
    CHECK(units[0].keyframe);  // camsim starts every client at a keyframe
    size_t keyframes = 0;
    for (const auto& unit : units) keyframes += unit.keyframe ? 1 : 0;
    CHECK(keyframes >= 2);
    CHECK(keyframes <= 4);  // GOP 25: one keyframe a second
    // Times from the camera's RTP clock: exactly one frame apart.
    check_frame_steps(units);
  }

  Collector mjpeg;
  const Outcome refused = run_capture(tcp_config(camsim.url(3)), mjpeg, nullptr);
  REQUIRE_FALSE(refused.status.ok());
  CHECK(refused.status.error().kind == ErrorKind::kInvalidArgument);
  CHECK(refused.status.error().message.find("unsupported codec 'JPEG'") != std::string::npos);
  CHECK(mjpeg.unit_count() == 0);

  Collector missing;
  const Outcome not_found = run_capture(tcp_config(camsim.url(9)), missing, nullptr);
  REQUIRE_FALSE(not_found.status.ok());
  CHECK(not_found.status.error().kind == ErrorKind::kNotFound);
  CHECK(not_found.status.error().message.find("404") != std::string::npos);
}

TEST_CASE("lean receiver: Basic and Digest authentication against gst-rtsp-server",
          "[recorder][rtsp][receiver]") {
  TempDir work("yw-receiver-auth");
  for (const std::string& method : {std::string("basic"), std::string("digest")}) {
    INFO(method);
    CamSimOptions options;
    options.cameras = 1;
    options.auth = "officer:correct-horse";
    options.auth_method = method;
    CamSim camsim(options, work.path());
    const std::string host_path = camsim.url(1).substr(std::string("rtsp://").size());

    Collector good;
    const Outcome ok = run_capture(tcp_config("rtsp://officer:correct-horse@" + host_path), good,
                                   [&] { return good.unit_count() >= 10; });
    INFO(describe(ok.status));
    CHECK(ok.status.ok());
    CHECK(good.unit_count() >= 10);

    Collector wrong;
    const Outcome rejected =
        run_capture(tcp_config("rtsp://officer:wrong@" + host_path), wrong, nullptr);
    REQUIRE_FALSE(rejected.status.ok());
    CHECK(rejected.status.error().kind == ErrorKind::kPermissionDenied);
    CHECK(rejected.status.error().message.find("rejected the credentials") != std::string::npos);
    // The password is never part of an error a person or a log gets to see.
    CHECK(rejected.status.error().message.find("wrong") == std::string::npos);

    Collector none;
    const Outcome anonymous = run_capture(tcp_config(camsim.url(1)), none, nullptr);
    REQUIRE_FALSE(anonymous.status.ok());
    CHECK(anonymous.status.error().kind == ErrorKind::kPermissionDenied);
    CHECK(anonymous.status.error().message.find("requires credentials") != std::string::npos);
  }
}

TEST_CASE("lean receiver: an unreachable camera and bad URLs get clear errors",
          "[recorder][rtsp][receiver]") {
  Collector collector;
  const Outcome unreachable =
      run_capture(tcp_config("rtsp://127.0.0.1:" + std::to_string(free_tcp_port()) + "/cam1"),
                  collector, nullptr);
  REQUIRE_FALSE(unreachable.status.ok());
  CHECK(unreachable.status.error().kind == ErrorKind::kUnavailable);
  CHECK(unreachable.status.error().message.find("could not connect to 127.0.0.1") !=
        std::string::npos);
  CHECK_FALSE(unreachable.watchdog);

  auto http = Capture::create(tcp_config("http://127.0.0.1/"), collector);
  REQUIRE_FALSE(http.ok());
  CHECK(http.error().kind == ErrorKind::kInvalidArgument);

  const Outcome no_host = run_capture(tcp_config("rtsp:///cam1"), collector, nullptr);
  REQUIRE_FALSE(no_host.status.ok());
  CHECK(no_host.status.error().kind == ErrorKind::kInvalidArgument);
  CHECK(no_host.status.error().message.find("not a valid RTSP URL") != std::string::npos);
}

// ---- Against the scripted camera ----

TEST_CASE(
    "lean receiver: only video is set up, in-band parameter sets, frames split into tiny "
    "writes",
    "[recorder][rtsp][receiver]") {
  FakeCamera* self = nullptr;
  std::atomic<bool> sent_all{false};
  FakeCamera fake([&](Connection& c) {
    if (!serve_until_play(c, *self)) return;
    // Every interleaved frame in writes of 1 to 7 bytes.
    const auto& packets = h264_packets();
    uint16_t sequence = 1;
    for (size_t i = 0; i < packets.size(); ++i) {
      c.send(interleaved(restamp(packets[i], sequence++, 5000)), 1 + i % 7);
    }
    sent_all = true;
    c.wait_closed(10s);
  });
  self = &fake;
  Collector collector;
  // Stopped only once the camera has sent everything: a client that closes with unread data
  // resets the connection, and the camera would not see the TEARDOWN.
  const Outcome outcome = run_capture(tcp_config(fake.url()), collector,
                                      [&] { return sent_all && collector.unit_count() >= 49; });
  INFO(describe(outcome.status));
  CHECK(outcome.status.ok());
  CHECK_FALSE(outcome.watchdog);
  const auto tracks = collector.tracks();
  REQUIRE(tracks.size() == 1);
  CHECK(tracks[0].width == 320);
  CHECK(tracks[0].height == 240);
  CHECK(tracks[0].codec_config.size() > 10);  // built from the in-band SPS/PPS
  const auto units = collector.units();
  REQUIRE(units.size() >= 49);
  CHECK(units[0].keyframe);
  CHECK(units[25].keyframe);
  check_frame_steps(units);

  // Audio was never asked for (data minimisation); the video went over TCP; the session was
  // torn down (the camera reads the TEARDOWN on its own thread).
  CHECK(wait_until([&] { return fake.requests().size() >= 5; }, 3s));
  std::vector<std::string> methods;
  for (const auto& request : fake.requests()) {
    methods.push_back(request.method);
    if (request.method == "SETUP") {
      CHECK(request.uri == fake.base() + "/track-video");
      CHECK(request.header("transport").find("RTP/AVP/TCP") != std::string::npos);
      CHECK(request.header("transport").find("interleaved=0-1") != std::string::npos);
    }
    CHECK(request.uri.find("audio") == std::string::npos);
  }
  CHECK(methods == std::vector<std::string>{"OPTIONS", "DESCRIBE", "SETUP", "PLAY", "TEARDOWN"});
}

TEST_CASE(
    "lean receiver: keep-alives before the session timeout, replies and requests amid the "
    "data",
    "[recorder][rtsp][receiver]") {
  std::atomic<int64_t> keep_alive_after_ms{-1};
  std::atomic<bool> answered_request{false};
  FakeCamera* self = nullptr;
  FakeCamera fake([&](Connection& c) {
    Handshake h;
    h.session = "F00DCAFE;timeout=2";
    if (!serve_until_play(c, *self, h)) return;
    const auto played = std::chrono::steady_clock::now();
    const auto& packets = h264_packets();
    uint16_t sequence = 1;
    // 4 s of video in real time, looping the 2 s clip with continuous timestamps, a request
    // from the camera in the middle, and the keep-alive answered amid the data.
    for (size_t frame = 0; frame < 100 && !self->stopping(); ++frame) {
      for (const auto& packet : packets) {
        if (packet.frame != frame % 50) continue;
        RtpPacket shifted = packet;
        shifted.frame = frame;
        c.send(interleaved(restamp(shifted, sequence++, 90000)));
      }
      if (frame == 10) c.send("SET_PARAMETER " + self->base() + " RTSP/1.0\r\nCSeq: 99\r\n\r\n");
      while (auto request = c.read_request(1ms)) {
        // The client's answer to the camera's request: 501 with the camera's CSeq.
        if (request->method == "RTSP/1.0" && request->uri.starts_with("501") &&
            request->header("cseq") == "99") {
          answered_request = true;
        }
        if (request->method == "GET_PARAMETER" || request->method == "OPTIONS") {
          if (keep_alive_after_ms < 0) {
            keep_alive_after_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::steady_clock::now() - played)
                                      .count();
          }
          CHECK(request->header("session") == "F00DCAFE");
          c.reply(*request, 200, "OK", {"Session: F00DCAFE"});
        }
      }
      std::this_thread::sleep_for(40ms);
    }
    c.wait_closed(10s);
  });
  self = &fake;

  Collector collector;
  const Outcome outcome =
      run_capture(tcp_config(fake.url()), collector, [&] { return collector.unit_count() >= 95; });
  INFO(describe(outcome.status));
  CHECK(outcome.status.ok());
  CHECK_FALSE(outcome.watchdog);
  check_frame_steps(collector.units());
  // The session times out after 2 s: the keep-alive must come before.
  CHECK(keep_alive_after_ms >= 0);
  CHECK(keep_alive_after_ms < 2000);
  CHECK(answered_request);
}

TEST_CASE("lean receiver: RTP timestamps that wrap around 2^32 give a continuous time line",
          "[recorder][rtsp][receiver]") {
  FakeCamera* self = nullptr;
  FakeCamera fake([&](Connection& c) {
    if (!serve_until_play(c, *self)) return;
    send_frames(c, 0xFFFFFFFFu - 20 * 3600);  // the timestamp wraps at frame 21
    c.wait_closed(10s);
  });
  self = &fake;
  Collector collector;
  const Outcome outcome =
      run_capture(tcp_config(fake.url()), collector, [&] { return collector.unit_count() >= 49; });
  CHECK(outcome.status.ok());
  const auto units = collector.units();
  REQUIRE(units.size() >= 49);
  check_frame_steps(units);
}

TEST_CASE("lean receiver: a jump of the camera's RTP clock does not jump the time line",
          "[recorder][rtsp][receiver]") {
  // A restarted encoder or a frame a server held back: the RTP time jumps 40 s ahead (and later
  // an hour back) while the packets arrive one after the other.
  FakeCamera* self = nullptr;
  FakeCamera fake([&](Connection& c) {
    if (!serve_until_play(c, *self)) return;
    const auto& packets = h264_packets();
    uint16_t sequence = 0;
    for (const auto& packet : packets) {
      uint32_t base = 1000;
      if (packet.frame >= 20) base += 40 * 90000;
      if (packet.frame >= 35) base -= 3600 * 90000;
      c.send(interleaved(restamp(packet, sequence++, base)));
    }
    c.wait_closed(10s);
  });
  self = &fake;
  Collector collector;
  const Outcome outcome =
      run_capture(tcp_config(fake.url()), collector, [&] { return collector.unit_count() >= 49; });
  CHECK(outcome.status.ok());
  const auto units = collector.units();
  REQUIRE(units.size() >= 49);
  for (size_t i = 1; i < units.size(); ++i) {
    INFO("unit " << i);
    // Ordinary frames keep their 40 ms; at the jumps the time line advances by the (tiny) time
    // that passed between arrivals instead of 40 s, and never goes back.
    const int64_t step = units[i].pts_ns - units[i - 1].pts_ns;
    CHECK(step >= 0);
    CHECK(step <= 1'000'000'000);
    if (i != 20 && i != 35) CHECK(step == 40'000'000);
  }
}

TEST_CASE("lean receiver: frames sent before the PLAY reply are not lost",
          "[recorder][rtsp][receiver]") {
  FakeCamera* self = nullptr;
  FakeCamera fake([&](Connection& c) {
    Handshake h;
    // The first two frames go out before the reply, as some cameras do.
    size_t early = 0;
    const auto& packets = h264_packets();
    while (packets[early].frame < 2) ++early;
    h.before_play_reply = [&](Connection& connection) {
      for (size_t i = 0; i < early; ++i) {
        connection.send(interleaved(restamp(packets[i], static_cast<uint16_t>(i), 777)));
      }
    };
    if (!serve_until_play(c, *self, h)) return;
    send_frames(c, 777, SIZE_MAX, early);
    c.wait_closed(10s);
  });
  self = &fake;
  Collector collector;
  const Outcome outcome =
      run_capture(tcp_config(fake.url()), collector, [&] { return collector.unit_count() >= 49; });
  CHECK(outcome.status.ok());
  const auto units = collector.units();
  REQUIRE(units.size() >= 49);
  CHECK(units[0].keyframe);
  check_frame_steps(units);
}

TEST_CASE("lean receiver: hostile or broken replies before PLAY are refused cleanly",
          "[recorder][rtsp][receiver]") {
  struct Case {
    std::string name;
    std::function<void(Connection&, const Request&, const FakeCamera&)> answer_describe;
    ErrorKind kind;
    std::string message;
  };
  const std::string video_only =
      "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=x\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\n";
  const std::vector<Case> cases = {
      {"a 10 MB Content-Length",
       [](Connection& c, const Request& r, const FakeCamera&) {
         c.send("RTSP/1.0 200 OK\r\nCSeq: " + r.header("cseq") +
                "\r\nContent-Type: application/sdp\r\nContent-Length: 10000000\r\n\r\nv=0\r\n");
       },
       ErrorKind::kUnavailable, "larger than 64 KiB"},
      {"an SDP cut off before any media",
       [](Connection& c, const Request& r, const FakeCamera&) {
         c.reply(r, 200, "OK", {"Content-Type: application/sdp"}, "v=0\r\no=- 1 1 IN IP4 1");
       },
       ErrorKind::kInvalidArgument, "offers no video"},
      {"an SDP with audio only",
       [](Connection& c, const Request& r, const FakeCamera&) {
         c.reply(r, 200, "OK", {"Content-Type: application/sdp"},
                 "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=x\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n");
       },
       ErrorKind::kInvalidArgument, "offers no video"},
      {"a dynamic payload type without a=rtpmap",
       [&](Connection& c, const Request& r, const FakeCamera&) {
         c.reply(r, 200, "OK", {"Content-Type: application/sdp"}, video_only);
       },
       ErrorKind::kInvalidArgument, "no a=rtpmap for payload type 96"},
      {"an empty DESCRIBE reply",
       [](Connection& c, const Request& r, const FakeCamera&) { c.reply(r, 200, "OK"); },
       ErrorKind::kInvalidArgument, "has no stream description"},
      {"garbage instead of a reply",
       [](Connection& c, const Request&, const FakeCamera&) {
         c.send(Bytes{0x00, 0xFF, 0x13, 0x37, '\r', '\n', '\r', '\n'});
       },
       ErrorKind::kUnavailable, "not valid RTSP"},
      {"a challenge in a scheme nobody supports",
       [](Connection& c, const Request& r, const FakeCamera&) {
         c.reply(r, 401, "Unauthorized", {"WWW-Authenticate: Bearer realm=\"cam\""});
       },
       ErrorKind::kPermissionDenied, "requires credentials"},
      {"a redirect",
       [](Connection& c, const Request& r, const FakeCamera&) {
         c.reply(r, 302, "Moved Temporarily", {"Location: rtsp://10.0.0.9/other"});
       },
       ErrorKind::kInvalidArgument, "redirects DESCRIBE to 'rtsp://10.0.0.9/other'"},
      {"no reply at all",
       [](Connection& c, const Request&, const FakeCamera&) { c.wait_closed(10s); },
       ErrorKind::kUnavailable, "did not answer DESCRIBE within 2 s"},
      {"a closed connection", [](Connection&, const Request&, const FakeCamera&) {},
       ErrorKind::kUnavailable, "closed the connection during DESCRIBE"},
  };
  for (const Case& test : cases) {
    SECTION(test.name) {
      FakeCamera* self = nullptr;
      FakeCamera fake([&](Connection& c) {
        while (auto request = c.read_request()) {
          if (request->method == "OPTIONS") {
            c.reply(*request, 200, "OK", {"Public: OPTIONS, DESCRIBE, SETUP, PLAY"});
          } else if (request->method == "DESCRIBE") {
            test.answer_describe(c, *request, *self);
            return;
          }
        }
      });
      self = &fake;
      Collector collector;
      const Outcome outcome = run_capture(tcp_config(fake.url()), collector, nullptr);
      REQUIRE_FALSE(outcome.status.ok());
      INFO(outcome.status.error().to_string());
      CHECK(outcome.status.error().kind == test.kind);
      CHECK(outcome.status.error().message.find(test.message) != std::string::npos);
      CHECK_FALSE(outcome.watchdog);
      CHECK(collector.unit_count() == 0);
    }
  }
}

TEST_CASE("lean receiver: a SETUP without a session or over UDP is refused",
          "[recorder][rtsp][receiver]") {
  for (const std::string& transport_header :
       {std::string(), std::string("Transport: RTP/AVP;unicast;client_port=5000-5001")}) {
    INFO("transport '" << transport_header << "'");
    FakeCamera* self = nullptr;
    FakeCamera fake([&](Connection& c) {
      while (auto request = c.read_request()) {
        if (request->method == "OPTIONS") {
          c.reply(*request, 200, "OK");
        } else if (request->method == "DESCRIBE") {
          c.reply(*request, 200, "OK", {"Content-Type: application/sdp"},
                  sdp_with_audio_first(self->base()));
        } else if (request->method == "SETUP") {
          if (transport_header.empty()) {
            c.reply(*request, 200, "OK");
          } else {
            c.reply(*request, 200, "OK", {transport_header, "Session: 1"});
          }
          c.wait_closed(10s);
          return;
        }
      }
    });
    self = &fake;
    Collector collector;
    const Outcome outcome = run_capture(tcp_config(fake.url()), collector, nullptr);
    REQUIRE_FALSE(outcome.status.ok());
    INFO(outcome.status.error().to_string());
    CHECK(outcome.status.error().message.find(transport_header.empty()
                                                  ? "has no session"
                                                  : "set the camera's "
                                                    "transport to udp") != std::string::npos);
  }
}

TEST_CASE("lean receiver: hostile or broken data after PLAY ends the connection cleanly",
          "[recorder][rtsp][receiver]") {
  struct Case {
    std::string name;
    std::function<void(Connection&)> after_play;
    std::string message;
    bool delivers_video;  // the good frames before the trouble reach the listener
  };
  const auto first_gop = [](Connection& c) {
    const auto& packets = h264_packets();
    for (size_t i = 0; i < packets.size() && packets[i].frame < 30; ++i) {
      c.send(interleaved(restamp(packets[i], static_cast<uint16_t>(i), 1)));
    }
  };
  const std::vector<Case> cases = {
      {"garbage bytes",
       [&](Connection& c) {
         first_gop(c);
         c.send(Bytes{0x00, 0x01, 0x02, 0x03, 0xFF});
         c.wait_closed(10s);
       },
       "neither an interleaved frame nor an RTSP message", true},
      {"an in-band message with a 100 kB body",
       [&](Connection& c) {
         first_gop(c);
         c.send("RTSP/1.0 200 OK\r\nCSeq: 5\r\nContent-Length: 100000\r\n\r\n");
         c.wait_closed(10s);
       },
       "-byte body", true},
      {"the camera hangs up", [&](Connection& c) { first_gop(c); },
       "the camera closed the connection", true},
      {"the camera goes silent",
       [&](Connection& c) {
         first_gop(c);
         c.wait_closed(10s);
       },
       "no video from the camera for 1 s", true},
      {"the camera forgets the session",
       [&](Connection& c) {
         first_gop(c);
         c.send("RTSP/1.0 454 Session Not Found\r\nCSeq: 9\r\n\r\n");
         c.wait_closed(10s);
       },
       "454 Session Not Found", true},
      {"video without any parameter sets",
       [](Connection& c) {
         const auto& packets = h264_packets();
         uint16_t sequence = 0;
         for (int round = 0; round < 3; ++round) {
           for (const auto& packet : packets) {
             if (nal_type(packet.bytes) == 7 || nal_type(packet.bytes) == 8) continue;
             c.send(interleaved(restamp(packet, sequence++, 1 + round * 50 * 3600)));
           }
         }
         c.wait_closed(10s);
       },
       "sends RTP but no decodable video", false},
  };
  for (const Case& test : cases) {
    SECTION(test.name) {
      FakeCamera* self = nullptr;
      FakeCamera fake([&](Connection& c) {
        if (serve_until_play(c, *self)) test.after_play(c);
      });
      self = &fake;
      Collector collector;
      const Outcome outcome = run_capture(tcp_config(fake.url()), collector, nullptr, 20s, 1000);
      REQUIRE_FALSE(outcome.status.ok());
      INFO(outcome.status.error().to_string());
      CHECK(outcome.status.error().kind == ErrorKind::kUnavailable);
      CHECK(outcome.status.error().message.find(test.message) != std::string::npos);
      CHECK_FALSE(outcome.watchdog);
      if (test.delivers_video) {
        CHECK(collector.unit_count() >= 25);
      } else {
        CHECK(collector.unit_count() == 0);
      }
    }
  }
}

TEST_CASE("lean receiver: stop() ends a capture whose camera never answers",
          "[recorder][rtsp][receiver]") {
  FakeCamera fake([](Connection& c) { c.wait_closed(30s); });
  Collector collector;
  auto capture = Capture::create(tcp_config(fake.url(), 10), collector);
  REQUIRE(capture.ok());
  Status status = make_error(ErrorKind::kInternal, "not finished");
  std::atomic<bool> finished{false};
  std::thread runner([&] {
    status = capture.value()->run_until_stopped_or_failed(4000);
    finished = true;
  });
  std::this_thread::sleep_for(300ms);
  CHECK_FALSE(finished);  // waiting for the OPTIONS reply (10 s timeout)
  capture.value()->stop();
  // The wait is interrupted, not sat out.
  CHECK(wait_until([&] { return finished.load(); }, 3s));
  runner.join();
  CHECK(status.ok());
}
