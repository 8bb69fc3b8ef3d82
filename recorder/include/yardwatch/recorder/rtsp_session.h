#pragma once

// The RTSP dialogue of one camera (RFC 2326): OPTIONS, DESCRIBE, SETUP of the video stream only,
// PLAY, keep-alives and TEARDOWN, over GStreamer's GstRTSPConnection (which does the message
// parsing and Basic/Digest authentication) with the stream description parsed by GstSDPMessage.
// After PLAY the caller takes over the socket and reads the interleaved data itself
// (rtsp_framing.h); GstRTSPConnection reads a message byte by byte and never ahead of it, so no
// byte of the stream is stranded inside it (recorder/design/rtsp_receiver.md).
//
// Not thread-safe except interrupt(), which any thread may call to make a blocking call return.

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "yardwatch/hal/result.h"

namespace yardwatch::recorder {

// The video stream a camera offers, from its SDP.
struct RtspVideoStream {
  std::string encoding_name;  // upper case, as in a=rtpmap ("H264", "H265", "JPEG", ...)
  uint8_t payload_type = 0;
  uint32_t clock_rate = 90000;
  // GStreamer caps of the RTP stream (application/x-rtp with the SDP's fmtp parameters such as
  // sprop-parameter-sets), ready for a depayloader.
  std::string rtp_caps;
  std::string control_url;  // where SETUP goes
};

// An interleaved frame that arrived before the reply to PLAY (some cameras start sending at
// once); the receiver handles it before reading the socket.
struct EarlyFrame {
  uint8_t channel = 0;
  std::vector<uint8_t> payload;
};

class RtspSession {
 public:
  // `url` is rtsp://[user:password@]host[:port]/…; the credentials are used only when the camera
  // asks for them. `timeout` bounds the connect and every request's reply.
  static Result<std::unique_ptr<RtspSession>> create(const std::string& url,
                                                     std::chrono::milliseconds timeout);
  ~RtspSession();
  RtspSession(const RtspSession&) = delete;
  RtspSession& operator=(const RtspSession&) = delete;

  // Opens the TCP connection.
  Status connect();
  // OPTIONS, then DESCRIBE: the first video stream of the camera's SDP (audio and other media are
  // never set up). kInvalidArgument for a camera without video; the codec is not checked here.
  Result<RtspVideoStream> describe();
  // SETUP of that stream with RTP and RTCP interleaved on this connection; returns the RTP
  // channel the camera will use. kInvalidArgument if the camera refuses TCP transport.
  Result<uint8_t> setup(const RtspVideoStream& stream);
  Status play();

  // The connected socket, for the data phase (non-blocking).
  [[nodiscard]] int socket_fd() const;
  // Frames that came before the PLAY reply.
  std::vector<EarlyFrame> take_early_frames();
  // Time until the next keep-alive is due (the session timeout the camera gave, minus a margin).
  [[nodiscard]] std::chrono::microseconds keep_alive_due_in() const;
  // Sends GET_PARAMETER (or OPTIONS if the camera does not list GET_PARAMETER) without waiting:
  // the reply arrives amid the data. Returns the CSeq it used.
  Result<int64_t> send_keep_alive();
  // Answers a request the camera sent amid the data with 501 Not Implemented.
  Status reply_not_implemented(int64_t cseq);
  // Best effort: tells the camera the session is over, without waiting for its reply.
  void teardown();
  // Thread-safe. Every blocking call returns (an error) as soon as possible, now and later.
  void interrupt();

  struct State;  // defined in rtsp_session.cpp

 private:
  RtspSession() = default;
  std::unique_ptr<State> state_;
};

}  // namespace yardwatch::recorder
