#pragma once

// The receivers behind Capture (capture.h): each runs one connection attempt to one camera.

#include <cstdint>
#include <memory>

#include "yardwatch/hal/result.h"
#include "yardwatch/recorder/capture.h"

namespace yardwatch::recorder {

class Capture::Backend {
 public:
  virtual ~Backend() = default;
  // See Capture::run_until_stopped_or_failed.
  virtual Status run(uint32_t stall_timeout_ms) = 0;
  // Thread-safe; makes run() return (ok) as soon as possible.
  virtual void stop() = 0;
};

// RTP interleaved on the RTSP TCP connection, received on the caller's thread
// (capture_interleaved.cpp).
std::unique_ptr<Capture::Backend> make_interleaved_capture(const CaptureConfig& config,
                                                           CaptureListener& listener);
// rtspsrc → depay → parse → timestamper → appsink (capture_rtspsrc.cpp).
Result<std::unique_ptr<Capture::Backend>> make_rtspsrc_capture(const CaptureConfig& config,
                                                               CaptureListener& listener);

// Milliseconds of the monotonic clock: network timeouts and stall detection measure real
// intervals that poll() and the kernel's socket timeouts also measure.
int64_t monotonic_ms();

}  // namespace yardwatch::recorder
