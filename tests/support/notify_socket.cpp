#include "notify_socket.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <sstream>
#include <stdexcept>

namespace yardwatch::testing {

namespace {
bool contains_line(const std::string& datagram, const std::string& line) {
  std::istringstream lines(datagram);
  std::string each;
  while (std::getline(lines, each)) {
    if (each == line) return true;
  }
  return false;
}
}  // namespace

NotifySocket::NotifySocket(std::filesystem::path path) : path_(std::move(path)) {
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error("socket(AF_UNIX) failed");
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path_.string().size() >= sizeof(address.sun_path)) {
    throw std::runtime_error("notify socket path too long: " + path_.string());
  }
  std::strncpy(address.sun_path, path_.c_str(), sizeof(address.sun_path) - 1);
  ::unlink(path_.c_str());
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    throw std::runtime_error("bind " + path_.string() + ": " + std::strerror(errno));
  }
  thread_ = std::thread([this] { receive_loop(); });
}

NotifySocket::~NotifySocket() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  ::close(fd_);
  ::unlink(path_.c_str());
}

void NotifySocket::receive_loop() {
  char buffer[4096];
  while (!stopping_) {
    pollfd poll_fd{fd_, POLLIN, 0};
    if (::poll(&poll_fd, 1, 100) <= 0) continue;
    const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
    if (n <= 0) continue;
    std::lock_guard lock(mutex_);
    messages_.push_back(
        {std::chrono::steady_clock::now(), std::string(buffer, static_cast<size_t>(n))});
  }
}

std::vector<NotifyMessage> NotifySocket::messages() const {
  std::lock_guard lock(mutex_);
  return messages_;
}

size_t NotifySocket::count(const std::string& line) const {
  return count_since(line, std::chrono::steady_clock::time_point::min());
}

size_t NotifySocket::count_since(const std::string& line,
                                 std::chrono::steady_clock::time_point since) const {
  std::lock_guard lock(mutex_);
  size_t count = 0;
  for (const auto& message : messages_) {
    if (message.received >= since && contains_line(message.text, line)) ++count;
  }
  return count;
}

std::string NotifySocket::last_status() const {
  std::lock_guard lock(mutex_);
  for (auto it = messages_.rbegin(); it != messages_.rend(); ++it) {
    std::istringstream lines(it->text);
    std::string each;
    while (std::getline(lines, each)) {
      if (each.rfind("STATUS=", 0) == 0) return each.substr(7);
    }
  }
  return "";
}

}  // namespace yardwatch::testing
