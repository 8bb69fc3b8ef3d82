// The lean receiver: RTP interleaved on the RTSP TCP connection, read, framed, depayloaded and
// parsed on the thread that runs the capture (recorder/design/rtsp_receiver.md).

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <mutex>

#include "capture_backend.h"
#include "rtp_video_depacketizer.h"
#include "yardwatch/hal/unique_fd.h"
#include "yardwatch/recorder/rtsp_framing.h"
#include "yardwatch/recorder/rtsp_session.h"

namespace yardwatch::recorder {

namespace {

// RTSP status "454 Session Not Found": the camera no longer knows us.
constexpr int kSessionNotFound = 454;
// poll() reports the socket readable only once this much has arrived (or at end of stream).
// It delays a frame by at most 16 KiB of stream (32 ms at 4 Mbit/s) or the drain interval below,
// far inside the segmenter's 1 s re-anchoring and the 4 s stall timeout.
constexpr int kReadLowWaterBytes = 16 * 1024;
// ... and bytes below the mark are read after this long anyway.
constexpr int64_t kDrainIntervalMs = 250;

int64_t monotonic_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class InterleavedCapture final : public Capture::Backend {
 public:
  InterleavedCapture(const CaptureConfig& config, CaptureListener& listener)
      : config_(config), listener_(listener), wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

  Status run(uint32_t stall_timeout_ms) override;
  void stop() override;

 private:
  Status run_session(RtspSession& session, uint32_t stall_timeout_ms);
  Status receive(RtspSession& session, RtpVideoDepacketizer& depacketizer, uint8_t rtp_channel,
                 uint32_t stall_timeout_ms);
  [[nodiscard]] bool stopping() const { return stop_requested_.load(); }

  CaptureConfig config_;
  CaptureListener& listener_;
  hal::UniqueFd wake_fd_;  // stop() makes it readable: the receive loop polls it
  std::atomic<bool> stop_requested_{false};
  int64_t started_ms_ = 0;
  std::mutex mutex_;
  RtspSession* session_ = nullptr;  // the live session, for stop() to interrupt
  bool receiving_ = false;          // past PLAY (guarded by mutex_)
};

void InterleavedCapture::stop() {
  stop_requested_ = true;
  const uint64_t one = 1;
  if (wake_fd_.valid()) (void)!::write(wake_fd_.get(), &one, sizeof one);
  std::lock_guard lock(mutex_);
  // During the dialogue a blocking GstRTSPConnection call is interrupted; in the data phase the
  // wake-up descriptor ends the poll, and the session can still say TEARDOWN.
  if (session_ != nullptr && !receiving_) session_->interrupt();
}

Status InterleavedCapture::run(uint32_t stall_timeout_ms) {
  started_ms_ = monotonic_ms();
  if (!wake_fd_.valid()) return errno_error(errno, "eventfd");
  YW_ASSIGN_OR_RETURN(
      auto session,
      RtspSession::create(config_.url, std::chrono::seconds(config_.connect_timeout_s)));
  {
    std::lock_guard lock(mutex_);
    session_ = session.get();
    if (stopping()) session->interrupt();
  }
  Status result = stopping() ? Status() : run_session(*session, stall_timeout_ms);
  {
    std::lock_guard lock(mutex_);
    session_ = nullptr;
  }
  return stopping() ? Status() : result;
}

Status InterleavedCapture::run_session(RtspSession& session, uint32_t stall_timeout_ms) {
  YW_TRY(session.connect());
  YW_ASSIGN_OR_RETURN(RtspVideoStream stream, session.describe());
  // An unsupported codec is refused before the camera is asked to send anything.
  YW_ASSIGN_OR_RETURN(auto depacketizer, RtpVideoDepacketizer::create(stream, listener_));
  YW_ASSIGN_OR_RETURN(const uint8_t rtp_channel, session.setup(stream));
  YW_TRY(session.play());
  {
    std::lock_guard lock(mutex_);
    receiving_ = true;
  }
  Status received = receive(session, *depacketizer, rtp_channel, stall_timeout_ms);
  if (stopping()) session.teardown();
  return received;
}

Status InterleavedCapture::receive(RtspSession& session, RtpVideoDepacketizer& depacketizer,
                                   uint8_t rtp_channel, uint32_t stall_timeout_ms) {
  const int64_t first_unit_deadline_ms =
      started_ms_ + static_cast<int64_t>(config_.connect_timeout_s) * 2000;
  uint64_t units_seen = 0;
  uint64_t packets = 0;
  int64_t last_unit_ms = monotonic_ms();

  for (EarlyFrame& frame : session.take_early_frames()) {
    if (frame.channel != rtp_channel) continue;
    ++packets;
    YW_TRY(depacketizer.push(frame.payload, monotonic_us()));
  }

  InterleavedFramer framer;
  const int socket = session.socket_fd();
  // Wake up for a batch of packets rather than for each burst the camera's TCP stack sends:
  // 50 -> 17 wake-ups per second and camera at 4 Mbit/s, -20 % CPU (tools/bench/RESULTS.md).
  // Best effort: without it the receiver only wakes more often.
  (void)::setsockopt(socket, SOL_SOCKET, SO_RCVLOWAT, &kReadLowWaterBytes,
                     sizeof kReadLowWaterBytes);
  pollfd fds[2] = {{socket, POLLIN, 0}, {wake_fd_.get(), POLLIN, 0}};
  while (!stopping()) {
    int64_t now_ms = monotonic_ms();
    const int64_t stall_deadline_ms =
        units_seen == 0 ? first_unit_deadline_ms : last_unit_ms + stall_timeout_ms;
    const int64_t keep_alive_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(session.keep_alive_due_in()).count();
    const int64_t wait_ms =
        std::clamp<int64_t>(std::min({stall_deadline_ms - now_ms, keep_alive_ms, kDrainIntervalMs}),
                            0, kDrainIntervalMs);
    const int ready = ::poll(fds, 2, static_cast<int>(wait_ms));
    if (ready < 0 && errno != EINTR) return errno_error(errno, "poll on the camera's connection");
    if (stopping()) break;

    // Read when poll says so, and also after a quiet interval: what lies below the low-water
    // mark (the end of a stream, a last message) must not wait for more data that may never come.
    if (ready == 0 || (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      const std::span<uint8_t> space = framer.free_space();
      const ssize_t got = ::recv(socket, space.data(), space.size(), MSG_DONTWAIT);
      if (got == 0) {
        return make_error(ErrorKind::kUnavailable, "the camera closed the connection");
      }
      if (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        return make_error(ErrorKind::kUnavailable,
                          errno_error(errno, "reading from the camera").message);
      }
      if (got > 0) {
        framer.commit(static_cast<size_t>(got));
        const int64_t arrival_us = monotonic_us();
        while (true) {
          YW_ASSIGN_OR_RETURN(std::optional<InterleavedItem> item, framer.next());
          if (!item) break;
          if (item->kind == InterleavedItem::Kind::kData) {
            // RTCP (the odd channel) and other streams' data are not needed.
            if (item->channel != rtp_channel) continue;
            ++packets;
            YW_TRY(depacketizer.push(item->payload, arrival_us));
          } else if (item->message.is_response) {
            if (item->message.status_code == kSessionNotFound) {
              return make_error(ErrorKind::kUnavailable,
                                "the camera ended the session (454 Session Not Found)");
            }
            // Replies to keep-alives: any answer shows the camera is there; some cameras answer
            // GET_PARAMETER with an error and still keep the session.
          } else if (item->message.cseq) {
            YW_TRY(session.reply_not_implemented(*item->message.cseq));
          }
        }
        if (depacketizer.units_delivered() != units_seen) {
          units_seen = depacketizer.units_delivered();
          last_unit_ms = monotonic_ms();
        }
      }
    }

    now_ms = monotonic_ms();
    if (session.keep_alive_due_in().count() <= 0) YW_TRY(session.send_keep_alive());
    if (units_seen == 0 && now_ms > first_unit_deadline_ms) {
      return make_error(
          ErrorKind::kUnavailable,
          packets == 0 ? "no video from the camera within " +
                             std::to_string(config_.connect_timeout_s * 2) + " s of connecting"
                       : "the camera sends RTP but no decodable video (" + std::to_string(packets) +
                             " packets in " + std::to_string(config_.connect_timeout_s * 2) +
                             " s without a complete picture and its SPS/PPS)");
    }
    if (units_seen > 0 && now_ms - last_unit_ms > stall_timeout_ms) {
      return make_error(
          ErrorKind::kUnavailable,
          "no video from the camera for " + std::to_string(stall_timeout_ms / 1000) + " s");
    }
  }
  return {};
}

}  // namespace

std::unique_ptr<Capture::Backend> make_interleaved_capture(const CaptureConfig& config,
                                                           CaptureListener& listener) {
  return std::make_unique<InterleavedCapture>(config, listener);
}

}  // namespace yardwatch::recorder
