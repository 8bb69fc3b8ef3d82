#pragma once

// A fake systemd NOTIFY_SOCKET: a datagram socket that records every sd_notify message a process
// sends, with the time it arrived, so a test can show READY=1 and WATCHDOG=1 exactly when the
// daemon should send them — the protocol systemd itself reads.

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace yardwatch::testing {

struct NotifyMessage {
  std::chrono::steady_clock::time_point received;
  std::string text;  // one datagram, e.g. "WATCHDOG=1" or "STATUS=recording 2 cameras"
};

class NotifySocket {
 public:
  explicit NotifySocket(std::filesystem::path path);
  ~NotifySocket();
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] std::vector<NotifyMessage> messages() const;
  // Datagrams that contain the assignment `line` (e.g. "READY=1").
  [[nodiscard]] size_t count(const std::string& line) const;
  [[nodiscard]] size_t count_since(const std::string& line,
                                   std::chrono::steady_clock::time_point since) const;
  // The last STATUS= text, or "".
  [[nodiscard]] std::string last_status() const;

 private:
  void receive_loop();
  std::filesystem::path path_;
  int fd_ = -1;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::vector<NotifyMessage> messages_;
  std::thread thread_;
};

}  // namespace yardwatch::testing
