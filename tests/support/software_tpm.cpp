#include "software_tpm.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

namespace yardwatch::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

bool port_accepts(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  const bool connected = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  ::close(fd);
  return connected;
}

bool port_free(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  ::close(fd);
  return bound;
}

}  // namespace

SoftwareTpm::SoftwareTpm(const fs::path& work_dir) {
  const fs::path swtpm = "/usr/bin/swtpm";
  INFO(
      "the TPM key store is tested against swtpm (Debian package swtpm, listed in "
      "tools/debian-packages.txt); install it with ./tools/install-deps");
  REQUIRE(fs::exists(swtpm));
  const fs::path state = work_dir / "swtpm-state";
  fs::create_directories(state);
  // The swtpm TCTI talks to the command port and to the control port right above it.
  for (int attempt = 0; attempt < 20 && port_ == 0; ++attempt) {
    const uint16_t candidate = free_tcp_port();
    if (candidate < 65535 && port_free(static_cast<uint16_t>(candidate + 1))) port_ = candidate;
  }
  REQUIRE(port_ != 0);
  process_ = std::make_unique<Process>(
      std::vector<std::string>{
          swtpm.string(), "socket", "--tpm2", "--tpmstate", "dir=" + state.string(), "--server",
          "type=tcp,port=" + std::to_string(port_) + ",bindaddr=127.0.0.1", "--ctrl",
          "type=tcp,port=" + std::to_string(port_ + 1) + ",bindaddr=127.0.0.1", "--flags",
          "not-need-init,startup-clear"},
      std::map<std::string, std::string>{}, work_dir);
  const bool up = wait_until([&] { return port_accepts(port_) || !process_->running(); }, 10s);
  INFO(process_->stderr_text());
  REQUIRE(up);
  REQUIRE(process_->running());
}

std::string SoftwareTpm::tcti() const {
  return "swtpm:host=127.0.0.1,port=" + std::to_string(port_);
}

}  // namespace yardwatch::testing
