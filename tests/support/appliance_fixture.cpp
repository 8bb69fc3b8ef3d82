#include "appliance_fixture.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <thread>

namespace yardwatch::testing {

namespace fs = std::filesystem;
using nlohmann::json;

CamSim::CamSim(const CamSimOptions& options, const fs::path& work_dir) {
  port_ = free_tcp_port();
  control_path_ = work_dir / ("camsim-" + std::to_string(port_) + ".sock");
  std::vector<std::string> argv = {binary_path("yardwatch-camsim").string(),
                                   "--port",
                                   std::to_string(port_),
                                   "--cameras",
                                   std::to_string(options.cameras),
                                   "--codec",
                                   options.codec,
                                   "--width",
                                   std::to_string(options.width),
                                   "--height",
                                   std::to_string(options.height),
                                   "--fps",
                                   std::to_string(options.fps),
                                   "--bitrate",
                                   std::to_string(options.bitrate_kbit),
                                   "--gop",
                                   std::to_string(options.gop),
                                   "--control",
                                   control_path_.string()};
  if (!options.auth.empty()) {
    argv.push_back("--auth");
    argv.push_back(options.auth);
    argv.push_back("--auth-method");
    argv.push_back(options.auth_method);
  }
  process_ = std::make_unique<Process>(argv, std::map<std::string, std::string>{}, work_dir);
  const bool ready = wait_until(
      [this] {
        return process_->stdout_text().find("serving") != std::string::npos || !process_->running();
      },
      std::chrono::seconds(60));
  INFO("camsim stderr: " << process_->stderr_text());
  REQUIRE(ready);
  REQUIRE(process_->running());
}

CamSim::~CamSim() { process_->stop(); }

std::string CamSim::url(int camera) const {
  return "rtsp://127.0.0.1:" + std::to_string(port_) + "/cam" + std::to_string(camera);
}

std::string CamSim::control(const std::string& command) const {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof(address.sun_path), "%s", control_path_.c_str());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd);
    return "error: cannot connect to control socket";
  }
  std::string line = command + "\n";
  (void)::write(fd, line.data(), line.size());
  std::string reply;
  char buffer[256];
  ssize_t n = 0;
  while ((n = ::read(fd, buffer, sizeof(buffer))) > 0) {
    reply.append(buffer, static_cast<size_t>(n));
    if (reply.find('\n') != std::string::npos) break;
  }
  ::close(fd);
  while (!reply.empty() && (reply.back() == '\n' || reply.back() == '\r')) reply.pop_back();
  return reply;
}

ApplianceFixture::ApplianceFixture(const fs::path& root, std::optional<fs::path> data_dir,
                                   std::optional<fs::path> config)
    : root_(root),
      data_dir_(data_dir.value_or(root / "data")),
      key_dir_(root / "keys"),
      config_(std::move(config)) {
  auto result = cli({"init"});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  const std::string marker = "one-time setup code: ";
  auto at = result.out.find(marker);
  REQUIRE(at != std::string::npos);
  setup_code_ = result.out.substr(at + marker.size(), 19);
}

ApplianceFixture::~ApplianceFixture() {
  if (daemon_) daemon_->stop();
}

CommandResult ApplianceFixture::cli(std::vector<std::string> args, const std::string& input) const {
  return cli_env(std::move(args), {}, input);
}

CommandResult ApplianceFixture::cli_env(std::vector<std::string> args,
                                        const std::map<std::string, std::string>& env,
                                        const std::string& input) const {
  std::vector<std::string> argv = {binary_path("yardwatch").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--data", data_dir_.string(), "--key-dir", key_dir_.string()});
  if (config_) argv.insert(argv.end(), {"--config", config_->string()});
  return run_command(argv, input, env);
}

json ApplianceFixture::cli_json(std::vector<std::string> args,
                                const std::map<std::string, std::string>& env) const {
  args.push_back("--json");
  auto result = cli_env(args, env);
  INFO("yardwatch " << args.front() << ": " << result.err);
  REQUIRE(result.exit_code == 0);
  return json::parse(result.out);
}

void ApplianceFixture::add_camera(const std::string& name, const std::string& url,
                                  const std::string& zone) {
  auto result = cli({"camera", "add", "--name", name, "--url", url, "--zone", zone});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
}

namespace {
const std::string kTestViewer = "testkijker";
const std::string kTestViewerPassword = "kijk-wachtwoord-voor-tests";
}  // namespace

std::map<std::string, std::string> sim_now(const std::string& iso) {
  return {{"YARDWATCH_SIM_NOW", iso}};
}

json ok_json(const CommandResult& result) {
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  return json::parse(result.out);
}

void ApplianceFixture::add_person(const std::string& name, const std::string& role,
                                  const std::string& password, const std::string& cameras) {
  const std::string temporary = "tijdelijk-" + password;
  std::vector<std::string> add = {"user", "add", "--name", name, "--role", role};
  if (!cameras.empty()) add.insert(add.end(), {"--cameras", cameras});
  add.push_back("--password-stdin");
  auto added = cli(add, temporary + "\n");
  INFO(added.err);
  REQUIRE(added.exit_code == 0);
  auto changed = cli({"user", "passwd", "--user", name}, temporary + "\n" + password + "\n");
  INFO(changed.err);
  REQUIRE(changed.exit_code == 0);
}

CommandResult ApplianceFixture::cli_as(const std::string& user, const std::string& password,
                                       std::vector<std::string> args,
                                       const std::map<std::string, std::string>& env) const {
  args.insert(args.end(), {"--user", user, "--password-stdin", "--json"});
  return cli_env(args, env, password + "\n");
}

void ApplianceFixture::create_test_viewer() {
  std::string cameras;
  // Keep the JSON alive: a range-for over a member of a temporary dangles before C++23.
  const json listed = cli_json({"camera", "list"});
  for (const auto& camera : listed["cameras"]) {
    cameras += (cameras.empty() ? "" : ",") + camera["name"].get<std::string>();
  }
  add_person(kTestViewer, "viewer", kTestViewerPassword, cameras);
  viewer_created_ = true;
}

CommandResult ApplianceFixture::view_segment(int64_t id) {
  if (!viewer_created_) create_test_viewer();
  return cli({"segment", "cat", "--id", std::to_string(id), "--user", kTestViewer,
              "--password-stdin", "--purpose", "automated test of recorded footage"},
             kTestViewerPassword + "\n");
}

void ApplianceFixture::start_daemon(std::vector<std::string> extra_args,
                                    const std::map<std::string, std::string>& env) {
  if (daemon_) previous_logs_ += daemon_->stderr_text();
  std::vector<std::string> argv = {binary_path("yardwatchd").string(), "--data", data_dir_.string(),
                                   "--key-dir", key_dir_.string()};
  if (config_) {
    argv.push_back("--config");
    argv.push_back(config_->string());
  }
  // The web admin listens on 8443 by default; tests that do not drive it keep the port free.
  if (std::find(extra_args.begin(), extra_args.end(), "--listen") == extra_args.end()) {
    argv.insert(argv.end(), {"--listen", "off"});
  }
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  daemon_ = std::make_unique<Process>(argv, env, root_);
}

int ApplianceFixture::stop_daemon() {
  REQUIRE(daemon_);
  return daemon_->stop(std::chrono::milliseconds(20000));
}

void ApplianceFixture::kill_daemon() {
  REQUIRE(daemon_);
  daemon_->signal(SIGKILL);
  daemon_->wait(std::chrono::milliseconds(10000));
}

std::string ApplianceFixture::daemon_log() const {
  return previous_logs_ + (daemon_ ? daemon_->stderr_text() : "");
}

std::string ApplianceFixture::camera_state(const std::string& name) const {
  auto result = cli({"status", "--json"});
  if (result.exit_code != 0) return "status failed: " + result.err;
  auto status = json::parse(result.out);
  for (const auto& camera : status["cameras"]) {
    if (camera["name"] == name) return camera["state"].get<std::string>();
  }
  return "unknown camera";
}

json ApplianceFixture::segments(const std::string& camera) const {
  return cli_json({"segments", "--camera", camera})["segments"];
}

bool ApplianceFixture::wait_for_state(const std::string& camera, const std::string& state,
                                      std::chrono::milliseconds timeout) const {
  return wait_until([&] { return camera_state(camera) == state; }, timeout);
}

ProbeResult ffprobe_file(const fs::path& path) {
  ProbeResult probe;
  auto result =
      run_command({"/usr/bin/ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                   "-show_entries", "stream=codec_name,width,height,nb_read_frames:format=duration",
                   "-of", "json", path.string()});
  if (result.exit_code != 0) {
    probe.error = result.err;
    return probe;
  }
  auto parsed = json::parse(result.out, nullptr, false);
  if (parsed.is_discarded() || parsed["streams"].empty()) {
    probe.error = "ffprobe found no video stream: " + result.out;
    return probe;
  }
  const auto& stream = parsed["streams"][0];
  probe.codec = stream.value("codec_name", "");
  probe.width = stream.value("width", 0);
  probe.height = stream.value("height", 0);
  probe.frames = std::stoi(stream.value("nb_read_frames", "0"));
  probe.duration_s = std::stod(parsed["format"].value("duration", "0"));
  probe.ok = true;
  probe.error = result.err;
  return probe;
}

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

}  // namespace yardwatch::testing
