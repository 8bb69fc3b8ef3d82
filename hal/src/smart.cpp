#include "yardwatch/hal/smart.h"

#include <blkid/blkid.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "yardwatch/hal/unique_fd.h"

extern char** environ;

namespace yardwatch::hal {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// smartctl(8), RETURN VALUES.
constexpr int kBitCommandLine = 1 << 0;
constexpr int kBitOpenFailed = 1 << 1;
constexpr int kBitSmartFailed = 1 << 2;
constexpr int kBitDiskFailing = 1 << 3;
constexpr int kBitPrefailBelowThreshold = 1 << 4;

Status write_all(int fd, const std::string& bytes, const fs::path& path) {
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error(errno, "write " + path.string());
    written += static_cast<size_t>(n);
  }
  return {};
}

Result<SmartReport> parse_report(std::string_view json_text, int exit_status);

}  // namespace

Result<SmartReport> parse_smartctl_json(std::string_view json_text, int exit_status) {
  // nlohmann throws on a field of the wrong type; exceptions never leave hal.
  try {
    return parse_report(json_text, exit_status);
  } catch (const json::exception& exception) {
    return make_error(ErrorKind::kDataLoss,
                      std::string("smartctl JSON has an unexpected shape: ") + exception.what());
  }
}

namespace {
Result<SmartReport> parse_report(std::string_view json_text, int exit_status) {
  json document = json::parse(json_text, nullptr, false);
  if (document.is_discarded() || !document.is_object()) {
    return make_error(ErrorKind::kDataLoss, "smartctl did not produce JSON (is it version 7+?)");
  }
  SmartReport report;
  report.exit_status = exit_status;
  if (auto device = document.find("device"); device != document.end() && device->is_object()) {
    report.device = device->value("name", "");
  }
  report.model = document.value("model_name", "");
  std::string messages;
  if (auto smartctl = document.find("smartctl"); smartctl != document.end()) {
    if (auto list = smartctl->find("messages"); list != smartctl->end() && list->is_array()) {
      for (const auto& message : *list) {
        if (!message.is_object()) continue;
        if (!messages.empty()) messages += "; ";
        messages += message.value("string", "");
      }
    }
  }
  auto status = document.find("smart_status");
  if (status != document.end() && status->is_object() && status->contains("passed")) {
    report.supported = true;
    report.passed = status->value("passed", false) && (exit_status & kBitDiskFailing) == 0;
  }
  if ((exit_status & (kBitCommandLine | kBitOpenFailed)) != 0 || !report.supported) {
    report.supported = false;
    report.passed = false;
    report.summary = "no SMART health from " +
                     (report.device.empty() ? "the disk" : report.device) +
                     (messages.empty() ? "" : ": " + messages);
    return report;
  }
  if (!report.passed) {
    report.summary =
        "SMART says the disk " + report.device + " (" + report.model + ") is FAILING: replace it";
  } else if ((exit_status & kBitPrefailBelowThreshold) != 0) {
    report.passed = false;
    report.summary = "SMART: a pre-failure attribute of " + report.device +
                     " is below its threshold: replace the disk soon";
  } else {
    report.summary = "SMART health of " + report.device + " (" + report.model + "): passed";
  }
  if ((exit_status & kBitSmartFailed) != 0 && !messages.empty())
    report.summary += " (" + messages + ")";
  return report;
}

}  // namespace

Result<SmartReport> run_smartctl(const fs::path& device, const fs::path& smartctl) {
  if (::access(smartctl.c_str(), X_OK) != 0) {
    return make_error(ErrorKind::kNotFound, smartctl.string() + " is not installed");
  }
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return errno_error(errno, "pipe");
  UniqueFd read_end(pipe_fds[0]);
  UniqueFd write_end(pipe_fds[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  // Fixed arguments; the device comes from the board description, never from a user.
  std::string program = smartctl.string();
  std::string json_flag = "--json=c";
  std::string health_flag = "-H";
  std::string info_flag = "-i";
  std::string device_arg = device.string();
  std::vector<char*> argv{program.data(),   json_flag.data(),  health_flag.data(),
                          info_flag.data(), device_arg.data(), nullptr};
  pid_t pid = -1;
  const int spawned = ::posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return errno_error(spawned, "run " + program);
  write_end.reset();
  std::string output;
  char buffer[4096];
  while (true) {
    const ssize_t n = ::read(read_end.get(), buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    output.append(buffer, static_cast<size_t>(n));
  }
  int wait_status = 0;
  while (::waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(wait_status)) {
    return make_error(ErrorKind::kInternal, program + " was killed by a signal");
  }
  return parse_smartctl_json(output, WEXITSTATUS(wait_status));
}

Result<fs::path> disk_of_filesystem(const std::string& filesystem_uuid) {
  char* device = blkid_evaluate_tag("UUID", filesystem_uuid.c_str(), nullptr);
  if (device == nullptr) {
    return make_error(ErrorKind::kNotFound,
                      "no block device holds a filesystem with UUID " + filesystem_uuid);
  }
  const fs::path partition = device;
  std::free(device);
  std::error_code error;
  const fs::path canonical = fs::canonical(partition, error);
  if (error) return make_error(ErrorKind::kNotFound, "cannot resolve " + partition.string());
  // sysfs: a partition's directory sits inside its disk's and has a `partition` attribute.
  const fs::path sysfs = fs::canonical(fs::path("/sys/class/block") / canonical.filename(), error);
  if (error) return canonical;
  if (fs::exists(sysfs / "partition", error)) {
    return fs::path("/dev") / sysfs.parent_path().filename();
  }
  return canonical;
}

Status write_smart_report(const fs::path& path, const SmartReport& report) {
  const json document{{"device", report.device},
                      {"supported", report.supported},
                      {"passed", report.passed},
                      {"model", report.model},
                      {"summary", report.summary},
                      {"exit_status", report.exit_status},
                      {"checked_utc_us", report.checked_utc_us}};
  const fs::path temporary = path.string() + ".tmp";
  {
    UniqueFd fd(
        ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (!fd.valid()) return errno_error(errno, "create " + temporary.string());
    YW_TRY(write_all(fd.get(), document.dump() + "\n", temporary));
    if (::fsync(fd.get()) != 0) return errno_error(errno, "fsync " + temporary.string());
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    return errno_error(errno, "rename to " + path.string());
  }
  return {};
}

Result<SmartReport> read_smart_report(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error(errno, "open " + path.string());
  std::string text;
  char buffer[4096];
  while (text.size() < 65536) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  json document = json::parse(text, nullptr, false);
  if (document.is_discarded() || !document.is_object()) {
    return make_error(ErrorKind::kDataLoss, path.string() + " is not a SMART report");
  }
  try {
    SmartReport report;
    report.device = document.value("device", "");
    report.supported = document.value("supported", false);
    report.passed = document.value("passed", false);
    report.model = document.value("model", "");
    report.summary = document.value("summary", "");
    report.exit_status = document.value("exit_status", 0);
    report.checked_utc_us = document.value("checked_utc_us", int64_t{0});
    return report;
  } catch (const json::exception& exception) {
    return make_error(ErrorKind::kDataLoss,
                      path.string() + " is not a SMART report: " + exception.what());
  }
}

}  // namespace yardwatch::hal
