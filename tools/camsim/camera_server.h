#pragma once

// The RTSP side of camsim: one mount per simulated camera (/cam1 … /camN), each a shared media
// whose appsrc is fed by a single pusher thread from the pre-encoded clips.

#include <gst/gst.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "clip.h"
#include "yardwatch/hal/result.h"

namespace yardwatch::camsim {

struct Credentials {
  std::string user;
  std::string password;
  bool digest = false;  // RTSP Digest authentication instead of Basic
};

struct ServerConfig {
  std::string address = "127.0.0.1";
  uint16_t port = 8554;              // 0 picks a free port; see CameraServer::port()
  std::vector<Codec> camera_codecs;  // camera i+1 ("cam<i+1>") uses camera_codecs[i]
  std::optional<Credentials> credentials;
};

struct CameraStatus {
  std::string name;
  bool online = true;
};

class CameraServer {
 public:
  // Binds the RTSP port (so that a port in use is reported before minutes of encoding) and sets up
  // the mounts. Clients are not served until start().
  static Result<std::unique_ptr<CameraServer>> create(const ServerConfig& config);
  // Attaches the server to the default main context and starts the pusher thread. `clips` must
  // hold a clip for every codec in config.camera_codecs, all with the same frame rate.
  Status start(std::map<Codec, Clip> clips);
  ~CameraServer();
  CameraServer(const CameraServer&) = delete;
  CameraServer& operator=(const CameraServer&) = delete;

  [[nodiscard]] uint16_t port() const { return port_; }
  [[nodiscard]] size_t camera_count() const;

  // Takes a camera off the network (its clients are disconnected, its mount answers 404) or
  // brings it back. Call on the main context's thread. kNotFound for an unknown camera name.
  Status set_online(const std::string& camera_name, bool online);
  [[nodiscard]] std::vector<CameraStatus> status() const;

 private:
  CameraServer() = default;
  struct State;
  std::unique_ptr<State> state_;
  uint16_t port_ = 0;
};

}  // namespace yardwatch::camsim
