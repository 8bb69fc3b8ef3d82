#pragma once

// The control socket through which tests take simulated cameras offline and back online. A unix
// stream socket: each connection sends one command line and receives the reply, then is closed.

#include <glib.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "yardwatch/hal/result.h"
#include "yardwatch/hal/unique_fd.h"

namespace yardwatch::camsim {

class ControlSocket {
 public:
  // Takes the command line (without its newline) and returns the whole reply, newline-terminated.
  using Handler = std::function<std::string(const std::string& command)>;

  // Listens on `path` (a stale socket left there by a crashed run is replaced). Connections are
  // served on a thread of their own, but `handler` always runs on `context`'s thread, so it may
  // touch the RTSP server just like the server's own callbacks do.
  static Result<std::unique_ptr<ControlSocket>> create(const std::string& path,
                                                       GMainContext* context, Handler handler);
  // Stops serving and removes the socket file.
  ~ControlSocket();
  ControlSocket(const ControlSocket&) = delete;
  ControlSocket& operator=(const ControlSocket&) = delete;

  // Idempotent. After it returns no handler call is waiting any more; handler calls already
  // queued on the context still run when the context is next iterated.
  void stop();

 private:
  ControlSocket() = default;
  void run();
  void serve(int client_fd);
  std::string call_handler(const std::string& command);

  std::string path_;
  GMainContext* context_ = nullptr;
  Handler handler_;
  hal::UniqueFd listen_fd_;
  hal::UniqueFd wake_fd_;  // an eventfd that stop() signals to end the accept loop
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace yardwatch::camsim
