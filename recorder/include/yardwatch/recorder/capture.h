#pragma once

// Capture: one connection to one camera. No decoding, no transcoding. It reports the stream's
// track description and every access unit through a listener, and never touches the catalog or
// the vault (STYLE: capture knows only media).
//
// Two receivers sit behind it (recorder/design/rtsp_receiver.md):
//  - RTP interleaved on the RTSP TCP connection (the default): the lean receiver. The RTSP
//    dialogue goes through GstRTSPConnection (rtsp_session.h); the data is read in large chunks,
//    framed (rtsp_framing.h), depayloaded and parsed on the thread that calls
//    run_until_stopped_or_failed — no pipeline, no jitter buffer, no thread hand-off.
//  - RTP over UDP, and rtsps://: a GStreamer pipeline rtspsrc → depay → parse → timestamper →
//    appsink, whose streaming threads call the listener.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "yardwatch/hal/result.h"
#include "yardwatch/recorder/fmp4.h"

namespace yardwatch::recorder {

struct CaptureConfig {
  std::string url;
  bool use_tcp = true;             // RTP over the RTSP TCP connection (robust through firewalls)
  uint32_t latency_ms = 200;       // rtpjitterbuffer latency (rtspsrc only)
  uint32_t connect_timeout_s = 5;  // also bounds every RTSP request's reply
  // The lean receiver serves every rtsp:// camera over TCP; rtspsrc the others. kRtspsrc forces
  // rtspsrc (comparisons, and a fallback for a camera the lean receiver cannot follow); the
  // environment variable YARDWATCH_RTSP_RECEIVER=rtspsrc does the same for a whole process.
  enum class Receiver { kAuto, kRtspsrc };
  Receiver receiver = Receiver::kAuto;
};

struct AccessUnit {
  std::vector<uint8_t> data;  // length-prefixed NAL units
  int64_t pts_ns = -1;        // -1 when the stream did not say
  int64_t dts_ns = -1;
  bool keyframe = false;
};

class CaptureListener {
 public:
  virtual ~CaptureListener() = default;
  // The negotiated track; called before the first access unit and again if caps change.
  virtual void on_track(const TrackInfo& track) = 0;
  // Called in stream order, on the thread that runs the capture (lean receiver) or on the
  // pipeline's streaming thread (rtspsrc); never on two threads at once.
  virtual void on_access_unit(AccessUnit&& unit) = 0;
};

// One connection attempt. `run_until_stopped_or_failed` blocks until the stream ends, fails or
// `stop()` is called, and returns why it ended; reconnecting is the caller's business.
class Capture {
 public:
  static Result<std::unique_ptr<Capture>> create(const CaptureConfig& config,
                                                 CaptureListener& listener);
  ~Capture();
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;

  // Starts the pipeline and waits. Returns an error that says why the stream stopped
  // (kUnavailable for network trouble and end of stream, kPermissionDenied for rejected
  // credentials, kInvalidArgument for an unsupported codec or a bad URL), or ok after stop().
  Status run_until_stopped_or_failed(uint32_t stall_timeout_ms);
  // Thread-safe; makes run_until_stopped_or_failed return.
  void stop();

  class Backend;  // capture_backend.h: the receiver behind this capture

 private:
  Capture() = default;
  std::unique_ptr<Backend> backend_;
};

// Initialises GStreamer once per process.
void ensure_gstreamer_initialised();

}  // namespace yardwatch::recorder
