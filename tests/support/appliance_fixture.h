#pragma once

// End-to-end fixtures: a yardwatch-camsim process serving simulated cameras, and an appliance
// (data directory, keys, yardwatchd) driven through the real `yardwatch` CLI — the way a user
// would.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "test_support.h"

namespace yardwatch::testing {

struct CamSimOptions {
  int cameras = 2;
  std::string codec = "h264";
  int width = 640;
  int height = 360;
  int fps = 25;
  int bitrate_kbit = 1000;
  int gop = 25;
  std::string auth;                   // user:password
  std::string auth_method = "basic";  // or "digest"
};

class CamSim {
 public:
  CamSim(const CamSimOptions& options, const std::filesystem::path& work_dir);
  ~CamSim();
  [[nodiscard]] std::string url(int camera) const;
  [[nodiscard]] uint16_t port() const { return port_; }
  // Sends one control command ("offline cam1") and returns the reply line.
  std::string control(const std::string& command) const;
  Process& process() { return *process_; }

 private:
  uint16_t port_ = 0;
  std::filesystem::path control_path_;
  std::unique_ptr<Process> process_;
};

// The environment of a command run at `iso` on the simulated clock (YARDWATCH_SIM_NOW).
std::map<std::string, std::string> sim_now(const std::string& iso);
// A command's JSON output; fails the test, showing its stderr, unless it exited 0.
nlohmann::json ok_json(const CommandResult& result);

class ApplianceFixture {
 public:
  // `config`: a configuration file passed as --config to every command and to the daemon.
  explicit ApplianceFixture(const std::filesystem::path& root,
                            std::optional<std::filesystem::path> data_dir = std::nullopt,
                            std::optional<std::filesystem::path> config = std::nullopt);
  ~ApplianceFixture();

  [[nodiscard]] const std::filesystem::path& data_dir() const { return data_dir_; }
  [[nodiscard]] const std::filesystem::path& key_dir() const { return key_dir_; }
  // The one-time setup code `yardwatch init` printed.
  [[nodiscard]] const std::string& setup_code() const { return setup_code_; }

  // Runs `yardwatch <args> --data DIR --key-dir KEYS`.
  CommandResult cli(std::vector<std::string> args, const std::string& input = "") const;
  // The same with extra environment variables, e.g. YARDWATCH_SIM_NOW ("four weeks later").
  CommandResult cli_env(std::vector<std::string> args,
                        const std::map<std::string, std::string>& env,
                        const std::string& input = "") const;
  // The same with --json; fails the test if the output is not JSON.
  nlohmann::json cli_json(std::vector<std::string> args,
                          const std::map<std::string, std::string>& env = {}) const;
  void add_camera(const std::string& name, const std::string& url,
                  const std::string& zone = "schoolyard");
  // A personal account that has set its own `password` (`user add` with a temporary password,
  // then `user passwd`); `cameras`: comma-separated, for viewers.
  void add_person(const std::string& name, const std::string& role, const std::string& password,
                  const std::string& cameras = "");
  // `yardwatch <args> --user USER --password-stdin --json` with the password on stdin.
  CommandResult cli_as(const std::string& user, const std::string& password,
                       std::vector<std::string> args,
                       const std::map<std::string, std::string>& env = {}) const;

  // `yardwatch segment cat` as a viewer assigned to every camera added so far (created on first
  // use; viewers need no TOTP), with a purpose. Viewing footage always needs a personal account.
  CommandResult view_segment(int64_t id);
  void create_test_viewer();

  void start_daemon(std::vector<std::string> extra_args = {},
                    const std::map<std::string, std::string>& env = {});
  // SIGTERM and wait; returns the exit code.
  int stop_daemon();
  void kill_daemon();
  Process* daemon() { return daemon_.get(); }
  [[nodiscard]] std::string daemon_log() const;

  nlohmann::json status() const { return cli_json({"status"}); }
  std::string camera_state(const std::string& name) const;
  nlohmann::json segments(const std::string& camera) const;
  bool wait_for_state(const std::string& camera, const std::string& state,
                      std::chrono::milliseconds timeout) const;

 private:
  std::filesystem::path root_;
  std::filesystem::path data_dir_;
  std::filesystem::path key_dir_;
  std::optional<std::filesystem::path> config_;
  std::unique_ptr<Process> daemon_;
  std::string previous_logs_;
  std::string setup_code_;
  bool viewer_created_ = false;
};

struct ProbeResult {
  bool ok = false;
  std::string codec;
  int width = 0;
  int height = 0;
  double duration_s = 0;
  int frames = 0;
  std::string error;
};

// ffprobe on a file: first video stream's codec, size, frame count, and duration.
ProbeResult ffprobe_file(const std::filesystem::path& path);

void write_file(const std::filesystem::path& path, const std::string& bytes);

}  // namespace yardwatch::testing
