#include "control_socket.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <future>
#include <utility>

namespace yardwatch::camsim {

namespace {

// A command is one short line; anything longer is not a command.
constexpr size_t kMaxCommandLength = 256;
// A client that connects and then says nothing must not hold up the next one for long.
constexpr int kClientTimeoutSeconds = 2;

// One command on its way to the main context and its reply on the way back. Shared, because the
// control thread may give up waiting (shutdown) before the main context gets to it.
struct PendingCall {
  ControlSocket::Handler handler;
  std::string command;
  std::promise<std::string> reply;
};

gboolean run_pending_call(gpointer data) {
  auto& call = *static_cast<std::shared_ptr<PendingCall>*>(data);
  try {
    call->reply.set_value(call->handler(call->command));
  } catch (const std::exception& e) {
    call->reply.set_value(std::string("error: ") + e.what() + "\n");
  }
  return G_SOURCE_REMOVE;
}

void free_pending_call(gpointer data) { delete static_cast<std::shared_ptr<PendingCall>*>(data); }

void set_timeouts(int fd) {
  timeval timeout{};
  timeout.tv_sec = kClientTimeoutSeconds;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
}

}  // namespace

Result<std::unique_ptr<ControlSocket>> ControlSocket::create(const std::string& path,
                                                             GMainContext* context,
                                                             Handler handler) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(address.sun_path)) {
    return make_error(ErrorKind::kInvalidArgument,
                      "control socket path must be 1 to " +
                          std::to_string(sizeof(address.sun_path) - 1) + " bytes: " + path);
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);

  struct stat info {};
  if (::lstat(path.c_str(), &info) == 0) {
    if (!S_ISSOCK(info.st_mode)) {
      return make_error(ErrorKind::kAlreadyExists,
                        "control socket path exists and is not a socket: " + path);
    }
    // Either a live camsim's (refuse to steal it) or left behind by one that did not exit cleanly.
    hal::UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (probe.valid() &&
        ::connect(probe.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0) {
      return make_error(ErrorKind::kAlreadyExists,
                        "another process is listening on the control socket " + path);
    }
    ::unlink(path.c_str());
  }

  std::unique_ptr<ControlSocket> self(new ControlSocket());
  self->listen_fd_ = hal::UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!self->listen_fd_.valid()) return errno_error(errno, "socket(AF_UNIX)");
  if (::bind(self->listen_fd_.get(), reinterpret_cast<const sockaddr*>(&address),
             sizeof(address)) != 0) {
    return errno_error(errno, "bind " + path);
  }
  self->path_ = path;  // from here on the destructor removes the file
  // Taking cameras offline is nobody else's business.
  ::chmod(path.c_str(), 0600);
  if (::listen(self->listen_fd_.get(), 8) != 0) return errno_error(errno, "listen " + path);
  self->wake_fd_ = hal::UniqueFd(::eventfd(0, EFD_CLOEXEC));
  if (!self->wake_fd_.valid()) return errno_error(errno, "eventfd");

  self->context_ = context;
  self->handler_ = std::move(handler);
  ControlSocket* raw = self.get();
  self->thread_ = std::thread([raw] {
    try {
      raw->run();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "yardwatch-camsim: control socket failed: %s\n", e.what());
    }
  });
  return self;
}

ControlSocket::~ControlSocket() {
  stop();
  if (!path_.empty()) ::unlink(path_.c_str());
}

void ControlSocket::stop() {
  stopping_ = true;
  if (wake_fd_.valid()) {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t written = ::write(wake_fd_.get(), &one, sizeof(one));
  }
  if (thread_.joinable()) thread_.join();
}

void ControlSocket::run() {
  while (!stopping_) {
    pollfd fds[2] = {{listen_fd_.get(), POLLIN, 0}, {wake_fd_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "yardwatch-camsim: control socket poll: %s\n", std::strerror(errno));
      return;
    }
    if ((fds[1].revents & POLLIN) != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    hal::UniqueFd client(::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (client.valid()) serve(client.get());
  }
}

void ControlSocket::serve(int client_fd) {
  set_timeouts(client_fd);
  std::string command;
  char chunk[128];
  while (command.find('\n') == std::string::npos && command.size() <= kMaxCommandLength) {
    const ssize_t got = ::recv(client_fd, chunk, sizeof(chunk), 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;  // end of input or timeout: take what arrived
    command.append(chunk, static_cast<size_t>(got));
  }
  std::string reply;
  if (command.size() > kMaxCommandLength) {
    reply = "error: command too long\n";
  } else {
    command = command.substr(0, command.find('\n'));
    if (!command.empty() && command.back() == '\r') command.pop_back();
    reply = call_handler(command);
  }
  size_t sent = 0;
  while (sent < reply.size()) {
    const ssize_t n = ::send(client_fd, reply.data() + sent, reply.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    sent += static_cast<size_t>(n);
  }
}

std::string ControlSocket::call_handler(const std::string& command) {
  auto call = std::make_shared<PendingCall>();
  call->handler = handler_;
  call->command = command;
  std::future<std::string> reply = call->reply.get_future();
  g_main_context_invoke_full(context_, G_PRIORITY_DEFAULT, run_pending_call,
                             new std::shared_ptr<PendingCall>(call), free_pending_call);
  // Poll rather than wait for good: at shutdown the main loop stops iterating, and stop() must not
  // hang on a reply that will never come.
  while (reply.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready) {
    if (stopping_) return "error: shutting down\n";
  }
  return reply.get();
}

}  // namespace yardwatch::camsim
