#pragma once

// Shared fixtures for the Catch2 suites: temporary directories, child processes (the real
// binaries), free ports and polling.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace yardwatch::testing {

// Path of a binary built by this tree (e.g. "yardwatchd", "yardwatch-camsim").
std::filesystem::path binary_path(const std::string& name);
std::filesystem::path source_dir();

// A fresh directory under $TMPDIR, removed (recursively) when the object goes.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "yw-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;  // -signal when killed by a signal
  std::string out;
  std::string err;
};

// Runs a program to completion (no shell). `input` is written to its stdin.
CommandResult run_command(const std::vector<std::string>& argv, const std::string& input = "",
                          const std::map<std::string, std::string>& extra_env = {},
                          std::chrono::seconds timeout = std::chrono::seconds(120));

// A long-running child process (daemon, camera simulator). Killed (SIGKILL) on destruction if
// still running. Its stdout and stderr go to files so they can be read after a failure.
class Process {
 public:
  Process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& extra_env,
          const std::filesystem::path& log_dir);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] bool running();
  void signal(int signal_number) const;
  // Waits for exit; returns the exit code (or -signal), std::nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  // SIGTERM, then SIGKILL after `grace`.
  int stop(std::chrono::milliseconds grace = std::chrono::milliseconds(10000));
  [[nodiscard]] std::string stdout_text() const;
  [[nodiscard]] std::string stderr_text() const;

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::filesystem::path stdout_path_;
  std::filesystem::path stderr_path_;
};

// A TCP port on 127.0.0.1 that was free a moment ago.
uint16_t free_tcp_port();

// Polls `condition` every 100 ms until it is true or `timeout` passes.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

std::string read_file(const std::filesystem::path& path);

}  // namespace yardwatch::testing
