#include "yardwatch/recorder/capture.h"

#include <gst/gst.h>

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <string_view>

#include "capture_backend.h"

namespace yardwatch::recorder {

void ensure_gstreamer_initialised() {
  static std::once_flag once;
  std::call_once(once, [] { gst_init(nullptr, nullptr); });
}

int64_t monotonic_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

namespace {

bool rtspsrc_forced_by_environment() {
  static const bool forced = [] {
    const char* value = std::getenv("YARDWATCH_RTSP_RECEIVER");
    return value != nullptr && std::string_view(value) == "rtspsrc";
  }();
  return forced;
}

}  // namespace

Result<std::unique_ptr<Capture>> Capture::create(const CaptureConfig& config,
                                                 CaptureListener& listener) {
  ensure_gstreamer_initialised();
  const std::string_view url = config.url;
  if (!url.starts_with("rtsp://") && !url.starts_with("rtsps://")) {
    return make_error(ErrorKind::kInvalidArgument,
                      "camera URL must start with rtsp:// or rtsps://");
  }
  std::unique_ptr<Capture> capture(new Capture());
  // The lean receiver reads the raw socket, so TLS (rtsps://) stays with rtspsrc; so does UDP.
  const bool lean = config.use_tcp && url.starts_with("rtsp://") &&
                    config.receiver == CaptureConfig::Receiver::kAuto &&
                    !rtspsrc_forced_by_environment();
  if (lean) {
    capture->backend_ = make_interleaved_capture(config, listener);
  } else {
    YW_ASSIGN_OR_RETURN(capture->backend_, make_rtspsrc_capture(config, listener));
  }
  return capture;
}

Capture::~Capture() = default;

Status Capture::run_until_stopped_or_failed(uint32_t stall_timeout_ms) {
  return backend_->run(stall_timeout_ms);
}

void Capture::stop() { backend_->stop(); }

}  // namespace yardwatch::recorder
