#pragma once

// RTP packets of one H.264/H.265 stream → access units, on the caller's thread. GStreamer's own
// depayloader and parser (rtph264depay → h264parse → h264timestamper, or the H.265 ones) do the
// work, driven synchronously from a source pad of ours to a sink pad of ours: no pipeline, no
// queue, no streaming thread, no thread hand-off per packet (recorder/design/rtsp_receiver.md).

#include <cstdint>
#include <memory>
#include <span>

#include "yardwatch/hal/result.h"
#include "yardwatch/recorder/capture.h"
#include "yardwatch/recorder/rtsp_session.h"

namespace yardwatch::recorder {

// The RTP timeline of one stream: 32-bit timestamps unwrapped into a continuous 64-bit time line
// in nanoseconds. A step that runs more than a second ahead of the time that passed between the
// packets' arrivals, or back by more than a second, is a discontinuity of the camera's clock (a
// restarted encoder, a stale frame a server held back): the time line then continues from the
// arrival time instead of jumping, and the packet is marked as a discontinuity.
class RtpTimeline {
 public:
  explicit RtpTimeline(uint32_t clock_rate) : clock_rate_(clock_rate) {}
  // `arrival_us`: when the packet arrived (any monotonic clock).
  int64_t to_ns(uint32_t rtp_timestamp, int64_t arrival_us, bool& discontinuity);

 private:
  uint32_t clock_rate_;
  bool started_ = false;
  uint32_t last_rtp_ = 0;
  int64_t last_ticks_ = 0;
  int64_t last_arrival_us_ = 0;
};

class RtpVideoDepacketizer {
 public:
  // kInvalidArgument for a codec other than H.264/H.265; kInternal if a GStreamer element is
  // missing.
  static Result<std::unique_ptr<RtpVideoDepacketizer>> create(const RtspVideoStream& stream,
                                                              CaptureListener& listener);
  ~RtpVideoDepacketizer();
  RtpVideoDepacketizer(const RtpVideoDepacketizer&) = delete;
  RtpVideoDepacketizer& operator=(const RtpVideoDepacketizer&) = delete;

  // One RTP packet (an interleaved frame's payload). Packets of other payload types and runts are
  // skipped. Errors: kInvalidArgument for a stream without usable codec configuration,
  // kUnavailable when the depayloader or parser fails.
  Status push(std::span<const uint8_t> packet, int64_t arrival_us);
  [[nodiscard]] uint64_t units_delivered() const;

  struct State;  // defined in rtp_video_depacketizer.cpp; public for its C callbacks

 private:
  RtpVideoDepacketizer() = default;
  std::unique_ptr<State> state_;
};

}  // namespace yardwatch::recorder
