#include "yardwatch/recorder/rtsp_session.h"

#include <gio/gio.h>
#include <gst/rtp/gstrtppayloads.h>
#include <gst/rtsp/rtsp.h>
#include <gst/sdp/sdp.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <string_view>

#include "gst_ptr.h"
#include "yardwatch/recorder/capture.h"

namespace yardwatch::recorder {

namespace {

using ConnectionPtr = CPtr<GstRTSPConnection, gst_rtsp_connection_free>;
using RtspMessagePtr = CPtr<GstRTSPMessage, gst_rtsp_message_free>;
using UrlPtr = CPtr<GstRTSPUrl, gst_rtsp_url_free>;
using SdpPtr = CPtr<GstSDPMessage, gst_sdp_message_free>;
using TransportPtr = CPtr<GstRTSPTransport, gst_rtsp_transport_free>;
using CredentialsPtr = CPtr<GstRTSPAuthCredential*, gst_rtsp_auth_credentials_free>;

// A camera's stream description or reply is never legitimately this large; a bigger
// Content-Length is refused before anything is allocated.
constexpr guint kMaxBodyBytes = 64 * 1024;
// Frames that arrive before the PLAY reply are kept, up to this many.
constexpr size_t kMaxEarlyFrames = 512;

std::string rtsp_result_text(GstRTSPResult result) {
  GCharPtr text(gst_rtsp_strresult(result));
  return text ? text.get() : "unknown error";
}

std::string_view header(GstRTSPMessage* message, GstRTSPHeaderField field) {
  gchar* value = nullptr;
  if (gst_rtsp_message_get_header(message, field, &value, 0) != GST_RTSP_OK || value == nullptr) {
    return {};
  }
  return value;
}

std::string to_upper(std::string_view text) {
  std::string upper(text);
  for (char& c : upper) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  }
  return upper;
}

// RFC 2326 C.1.1: a relative a=control is resolved against the base URL.
std::string resolve_control(const std::string& base, std::string_view control) {
  if (control.empty() || control == "*") return base;
  if (control.starts_with("rtsp://") || control.starts_with("rtsps://") ||
      control.starts_with("RTSP://")) {
    return std::string(control);
  }
  std::string url = base;
  if (!url.empty() && url.back() != '/') url += '/';
  if (control.starts_with('/')) control.remove_prefix(1);
  return url + std::string(control);
}

}  // namespace

struct RtspSession::State {
  UrlPtr url;
  std::string request_url;  // the URL without credentials
  std::string base_url;     // for relative control URLs and keep-alives
  std::chrono::milliseconds timeout{5000};
  bool has_credentials = false;
  bool get_parameter_supported = false;
  int64_t next_cseq = 1;  // GstRTSPConnection numbers requests from 1, one per message sent
  std::vector<EarlyFrame> early_frames;

  std::mutex mutex;  // guards `connection` against interrupt() from another thread
  ConnectionPtr connection;
  bool interrupted = false;

  [[nodiscard]] gint64 timeout_us() const {
    return std::chrono::duration_cast<std::chrono::microseconds>(timeout).count();
  }

  Error transport_error(const char* what, GstRTSPResult result) const {
    if (result == GST_RTSP_ETIMEOUT) {
      return make_error(ErrorKind::kUnavailable, std::string("the camera did not answer ") + what +
                                                     " within " +
                                                     std::to_string(timeout.count() / 1000) + " s");
    }
    if (result == GST_RTSP_EEOF) {
      return make_error(ErrorKind::kUnavailable,
                        std::string("the camera closed the connection during ") + what);
    }
    if (result == GST_RTSP_EINTR && interrupted) {
      return make_error(ErrorKind::kUnavailable, "stopped");
    }
    if (result == GST_RTSP_ENOMEM) {
      return make_error(ErrorKind::kUnavailable, std::string("the camera's reply to ") + what +
                                                     " is larger than " +
                                                     std::to_string(kMaxBodyBytes / 1024) + " KiB");
    }
    if (result == GST_RTSP_EPARSE) {
      return make_error(ErrorKind::kUnavailable,
                        std::string("the camera's reply to ") + what + " is not valid RTSP");
    }
    return make_error(ErrorKind::kUnavailable,
                      std::string(what) + " failed: " + rtsp_result_text(result));
  }

  // Sends one request and returns the camera's response to it, answering one authentication
  // challenge with the URL's credentials.
  Result<RtspMessagePtr> exchange(
      GstRTSPMethod method, const std::string& uri,
      const std::vector<std::pair<GstRTSPHeaderField, std::string>>& headers) {
    const char* what = gst_rtsp_method_as_text(method);
    bool answered_challenge = false;
    while (true) {
      GstRTSPMessage* raw = nullptr;
      if (gst_rtsp_message_new_request(&raw, method, uri.c_str()) != GST_RTSP_OK) {
        return make_error(ErrorKind::kInternal, "could not build an RTSP request");
      }
      RtspMessagePtr request(raw);
      for (const auto& [field, value] : headers) {
        gst_rtsp_message_add_header(request.get(), field, value.c_str());
      }
      const int64_t cseq = next_cseq++;
      GstRTSPResult result =
          gst_rtsp_connection_send_usec(connection.get(), request.get(), timeout_us());
      if (result != GST_RTSP_OK) return transport_error(what, result);
      YW_ASSIGN_OR_RETURN(RtspMessagePtr response, receive_response(what, cseq));

      GstRTSPStatusCode code = GST_RTSP_STS_INVALID;
      gst_rtsp_message_parse_response(response.get(), &code, nullptr, nullptr);
      if (code == GST_RTSP_STS_UNAUTHORIZED && has_credentials && !answered_challenge) {
        YW_TRY(accept_challenge(response.get()));
        answered_challenge = true;
        continue;
      }
      return response;
    }
  }

  // Reads until the response with `cseq` arrives. Interleaved data (a camera that starts sending
  // before its PLAY reply) is kept for the receiver; requests from the camera are ignored.
  Result<RtspMessagePtr> receive_response(const char* what, int64_t cseq) {
    // One deadline for the reply, however much else the camera sends first.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::microseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return transport_error(what, GST_RTSP_ETIMEOUT);
      GstRTSPMessage* raw = nullptr;
      gst_rtsp_message_new(&raw);
      RtspMessagePtr message(raw);
      const GstRTSPResult result =
          gst_rtsp_connection_receive_usec(connection.get(), message.get(), left.count());
      if (result != GST_RTSP_OK) return transport_error(what, result);
      switch (gst_rtsp_message_get_type(message.get())) {
        case GST_RTSP_MESSAGE_DATA: {
          guint8 channel = 0;
          guint8* data = nullptr;
          guint size = 0;
          gst_rtsp_message_parse_data(message.get(), &channel);
          gst_rtsp_message_get_body(message.get(), &data, &size);
          if (early_frames.size() < kMaxEarlyFrames && data != nullptr) {
            // GstRTSPConnection appends a NUL to every body; it is not part of the frame.
            const guint length = size > 0 ? size - 1 : 0;
            early_frames.push_back({channel, std::vector<uint8_t>(data, data + length)});
          }
          continue;
        }
        case GST_RTSP_MESSAGE_RESPONSE: {
          const std::string_view cseq_text = header(message.get(), GST_RTSP_HDR_CSEQ);
          if (cseq_text != std::to_string(cseq)) continue;  // a late reply to something else
          return message;
        }
        case GST_RTSP_MESSAGE_REQUEST:
          continue;  // a camera's own request (rare before PLAY): not needed to record
        default:
          // GstRTSPConnection returns what it could not make sense of as an invalid message.
          return transport_error(what, GST_RTSP_EPARSE);
      }
    }
  }

  // Configures the connection to answer a 401 with the strongest scheme the camera offers
  // (Digest over Basic), as rtspsrc does.
  Status accept_challenge(GstRTSPMessage* response) {
    CredentialsPtr credentials(
        gst_rtsp_message_parse_auth_credentials(response, GST_RTSP_HDR_WWW_AUTHENTICATE));
    GstRTSPAuthCredential* chosen = nullptr;
    for (GstRTSPAuthCredential** c = credentials.get(); c != nullptr && *c != nullptr; ++c) {
      if ((*c)->scheme == GST_RTSP_AUTH_DIGEST) {
        chosen = *c;
        break;
      }
      if ((*c)->scheme == GST_RTSP_AUTH_BASIC && chosen == nullptr) chosen = *c;
    }
    if (chosen == nullptr) {
      return make_error(ErrorKind::kPermissionDenied,
                        "the camera asks for credentials with an authentication scheme Yardwatch "
                        "does not support (only Basic and Digest)");
    }
    gst_rtsp_connection_clear_auth_params(connection.get());
    if (chosen->scheme == GST_RTSP_AUTH_DIGEST) {
      for (GstRTSPAuthParam** p = chosen->params; p != nullptr && *p != nullptr; ++p) {
        gst_rtsp_connection_set_auth_param(connection.get(), (*p)->name, (*p)->value);
      }
    }
    gst_rtsp_connection_set_auth(connection.get(), chosen->scheme, url->user, url->passwd);
    return {};
  }

  Status check_status(GstRTSPMessage* response, const char* what) const {
    GstRTSPStatusCode code = GST_RTSP_STS_INVALID;
    gst_rtsp_message_parse_response(response, &code, nullptr, nullptr);
    if (code >= 200 && code < 300) return {};
    const char* reason = gst_rtsp_status_as_text(code);
    const std::string status =
        std::to_string(static_cast<int>(code)) + " " + (reason != nullptr ? reason : "");
    switch (code) {
      case GST_RTSP_STS_UNAUTHORIZED:
        return make_error(ErrorKind::kPermissionDenied,
                          has_credentials
                              ? "the camera rejected the credentials (" + status + ")"
                              : "the camera requires credentials (" + status +
                                    "); put them in its URL: rtsp://user:password@host/...");
      case GST_RTSP_STS_FORBIDDEN:
        return make_error(ErrorKind::kPermissionDenied,
                          "the camera refused access with these credentials (" + status + ")");
      case GST_RTSP_STS_NOT_FOUND:
        return make_error(ErrorKind::kNotFound, "the camera has no such stream (" + status + ")");
      case GST_RTSP_STS_UNSUPPORTED_TRANSPORT:
        return make_error(ErrorKind::kInvalidArgument, "the camera does not send RTP over TCP (" +
                                                           status +
                                                           "); set the camera's transport to udp");
      default:
        break;
    }
    if (code >= 300 && code < 400) {
      const std::string_view location = header(response, GST_RTSP_HDR_LOCATION);
      return make_error(ErrorKind::kInvalidArgument,
                        "the camera redirects " + std::string(what) + " to '" +
                            std::string(location.substr(0, 200)) + "' (" + status +
                            "); configure that URL instead");
    }
    return make_error(ErrorKind::kUnavailable,
                      "the camera answered " + std::string(what) + " with " + status);
  }
};

Result<std::unique_ptr<RtspSession>> RtspSession::create(const std::string& url_text,
                                                         std::chrono::milliseconds timeout) {
  ensure_gstreamer_initialised();  // caps and SDP parsing need the type system
  std::unique_ptr<RtspSession> session(new RtspSession());
  session->state_ = std::make_unique<State>();
  State& state = *session->state_;
  state.timeout = timeout;
  GstRTSPUrl* raw_url = nullptr;
  if (gst_rtsp_url_parse(url_text.c_str(), &raw_url) != GST_RTSP_OK || raw_url == nullptr ||
      raw_url->host == nullptr || raw_url->host[0] == '\0') {
    return make_error(ErrorKind::kInvalidArgument, "not a valid RTSP URL (rtsp://host[:port]/...)");
  }
  state.url.reset(raw_url);
  state.has_credentials = raw_url->user != nullptr && raw_url->user[0] != '\0';
  GCharPtr request_uri(gst_rtsp_url_get_request_uri(raw_url));
  state.request_url = request_uri.get();
  state.base_url = state.request_url;

  GstRTSPConnection* raw_connection = nullptr;
  if (gst_rtsp_connection_create(raw_url, &raw_connection) != GST_RTSP_OK) {
    return make_error(ErrorKind::kInternal, "could not create an RTSP connection");
  }
  state.connection.reset(raw_connection);
  gst_rtsp_connection_set_content_length_limit(raw_connection, kMaxBodyBytes);
  return session;
}

Status RtspSession::connect() {
  State& state = *state_;
  const GstRTSPResult result =
      gst_rtsp_connection_connect_usec(state.connection.get(), state.timeout_us());
  if (result == GST_RTSP_OK) return {};
  const std::string where = std::string(state.url->host) + ":" + std::to_string(state.url->port);
  if (result == GST_RTSP_ETIMEOUT) {
    return make_error(ErrorKind::kUnavailable, "could not connect to " + where + " within " +
                                                   std::to_string(state.timeout.count() / 1000) +
                                                   " s");
  }
  if (result == GST_RTSP_EINTR && state.interrupted) {
    return make_error(ErrorKind::kUnavailable, "stopped");
  }
  return make_error(ErrorKind::kUnavailable,
                    "could not connect to " + where + ": " + rtsp_result_text(result));
}

RtspSession::~RtspSession() {
  if (!state_) return;
  std::lock_guard lock(state_->mutex);
  state_->connection.reset();  // closes the socket
}

Result<RtspVideoStream> RtspSession::describe() {
  State& state = *state_;
  {
    YW_ASSIGN_OR_RETURN(RtspMessagePtr options,
                        state.exchange(GST_RTSP_OPTIONS, state.request_url, {}));
    // Some cameras answer OPTIONS with 401 and DESCRIBE only once authenticated; a failed OPTIONS
    // is only fatal for credentials.
    GstRTSPStatusCode code = GST_RTSP_STS_INVALID;
    gst_rtsp_message_parse_response(options.get(), &code, nullptr, nullptr);
    if (code == GST_RTSP_STS_UNAUTHORIZED) YW_TRY(state.check_status(options.get(), "OPTIONS"));
    const std::string methods = to_upper(header(options.get(), GST_RTSP_HDR_PUBLIC));
    state.get_parameter_supported = methods.find("GET_PARAMETER") != std::string::npos;
  }
  YW_ASSIGN_OR_RETURN(RtspMessagePtr response,
                      state.exchange(GST_RTSP_DESCRIBE, state.request_url,
                                     {{GST_RTSP_HDR_ACCEPT, "application/sdp"}}));
  YW_TRY(state.check_status(response.get(), "DESCRIBE"));

  guint8* body = nullptr;
  guint body_size = 0;
  gst_rtsp_message_get_body(response.get(), &body, &body_size);
  // The connection NUL-terminates every body it reads.
  if (body_size > 0 && body[body_size - 1] == '\0') --body_size;
  if (body == nullptr || body_size == 0) {
    return make_error(ErrorKind::kInvalidArgument,
                      "the camera's DESCRIBE reply has no stream description (SDP)");
  }
  GstSDPMessage* raw_sdp = nullptr;
  gst_sdp_message_new(&raw_sdp);
  SdpPtr sdp(raw_sdp);
  if (gst_sdp_message_parse_buffer(body, body_size, sdp.get()) != GST_SDP_OK) {
    return make_error(ErrorKind::kInvalidArgument,
                      "the camera's stream description (SDP) cannot be parsed");
  }

  // RFC 2326 C.1.1: Content-Base, else Content-Location, else the request URL; a session-level
  // absolute a=control overrides them.
  if (std::string_view base = header(response.get(), GST_RTSP_HDR_CONTENT_BASE); !base.empty()) {
    state.base_url = std::string(base);
  } else if (std::string_view location = header(response.get(), GST_RTSP_HDR_CONTENT_LOCATION);
             !location.empty()) {
    state.base_url = std::string(location);
  }
  if (const gchar* control = gst_sdp_message_get_attribute_val(sdp.get(), "control");
      control != nullptr && std::string_view(control).starts_with("rtsp")) {
    state.base_url = control;
  }

  std::optional<Error> first_problem;
  for (guint i = 0; i < gst_sdp_message_medias_len(sdp.get()); ++i) {
    const GstSDPMedia* media = gst_sdp_message_get_media(sdp.get(), i);
    const gchar* kind = gst_sdp_media_get_media(media);
    // Only video is ever set up: audio is never requested (data minimisation).
    if (kind == nullptr || std::string_view(kind) != "video") continue;
    if (gst_sdp_media_formats_len(media) == 0) continue;
    const gchar* format = gst_sdp_media_get_format(media, 0);
    int payload_type = -1;
    if (format != nullptr) {
      const std::string_view text(format);
      const auto [end, error] =
          std::from_chars(text.data(), text.data() + text.size(), payload_type);
      if (error != std::errc() || end != text.data() + text.size()) payload_type = -1;
    }
    if (payload_type < 0 || payload_type > 127) {
      if (!first_problem) {
        first_problem = make_error(ErrorKind::kInvalidArgument,
                                   "the camera's SDP names an invalid RTP payload type");
      }
      continue;
    }
    CapsPtr caps(gst_sdp_media_get_caps_from_media(media, payload_type));
    if (!caps || gst_caps_get_size(caps.get()) == 0) {
      if (!first_problem) {
        first_problem = make_error(ErrorKind::kInvalidArgument,
                                   "the camera's SDP does not say which codec its video uses "
                                   "(no a=rtpmap for payload type " +
                                       std::to_string(payload_type) + ")");
      }
      continue;
    }
    GstStructure* structure = gst_caps_get_structure(caps.get(), 0);
    gst_structure_set_name(structure, "application/x-rtp");
    gst_sdp_media_attributes_to_caps(media, caps.get());
    RtspVideoStream stream;
    stream.payload_type = static_cast<uint8_t>(payload_type);
    const gchar* encoding = gst_structure_get_string(structure, "encoding-name");
    if (encoding == nullptr) {
      // Static payload types (RFC 3551) need no a=rtpmap.
      const GstRTPPayloadInfo* info = gst_rtp_payload_info_for_pt(stream.payload_type);
      if (info != nullptr && info->encoding_name != nullptr) encoding = info->encoding_name;
    }
    stream.encoding_name = to_upper(encoding != nullptr ? encoding : "unknown");
    gint clock_rate = 0;
    if (gst_structure_get_int(structure, "clock-rate", &clock_rate) && clock_rate > 0) {
      stream.clock_rate = static_cast<uint32_t>(clock_rate);
    }
    GCharPtr caps_text(gst_caps_to_string(caps.get()));
    stream.rtp_caps = caps_text.get();
    const gchar* control = gst_sdp_media_get_attribute_val(media, "control");
    stream.control_url = resolve_control(state.base_url, control != nullptr ? control : "");
    return stream;
  }
  if (first_problem) return *first_problem;
  return make_error(ErrorKind::kInvalidArgument,
                    "the camera's stream description (SDP) offers no video");
}

Result<uint8_t> RtspSession::setup(const RtspVideoStream& stream) {
  State& state = *state_;
  YW_ASSIGN_OR_RETURN(
      RtspMessagePtr response,
      state.exchange(GST_RTSP_SETUP, stream.control_url,
                     {{GST_RTSP_HDR_TRANSPORT, "RTP/AVP/TCP;unicast;interleaved=0-1"}}));
  YW_TRY(state.check_status(response.get(), "SETUP"));
  if (header(response.get(), GST_RTSP_HDR_SESSION).empty()) {
    return make_error(ErrorKind::kUnavailable, "the camera's SETUP reply has no session");
  }
  const std::string transport_text(header(response.get(), GST_RTSP_HDR_TRANSPORT));
  GstRTSPTransport* raw_transport = nullptr;
  gst_rtsp_transport_new(&raw_transport);
  TransportPtr transport(raw_transport);
  // A camera that leaves the Transport header out keeps what was asked for.
  if (transport_text.empty()) return static_cast<uint8_t>(0);
  if (gst_rtsp_transport_parse(transport_text.c_str(), transport.get()) != GST_RTSP_OK) {
    return make_error(ErrorKind::kUnavailable, "the camera's SETUP reply has an invalid Transport");
  }
  if (transport->lower_transport != GST_RTSP_LOWER_TRANS_TCP) {
    return make_error(ErrorKind::kInvalidArgument,
                      "the camera answered with another transport than RTP over TCP; set the "
                      "camera's transport to udp");
  }
  if (transport->interleaved.min < 0 || transport->interleaved.min > 255) {
    return make_error(ErrorKind::kUnavailable,
                      "the camera's SETUP reply names an invalid interleaved channel");
  }
  return static_cast<uint8_t>(transport->interleaved.min);
}

Status RtspSession::play() {
  State& state = *state_;
  YW_ASSIGN_OR_RETURN(
      RtspMessagePtr response,
      state.exchange(GST_RTSP_PLAY, state.base_url, {{GST_RTSP_HDR_RANGE, "npt=0.000-"}}));
  YW_TRY(state.check_status(response.get(), "PLAY"));
  // The keep-alive timer runs from the last request the camera saw.
  gst_rtsp_connection_reset_timeout(state.connection.get());
  return {};
}

int RtspSession::socket_fd() const {
  GSocket* socket = gst_rtsp_connection_get_read_socket(state_->connection.get());
  return socket != nullptr ? g_socket_get_fd(socket) : -1;
}

std::vector<EarlyFrame> RtspSession::take_early_frames() {
  return std::exchange(state_->early_frames, {});
}

std::chrono::microseconds RtspSession::keep_alive_due_in() const {
  // GStreamer's own schedule (as rtspsrc): the session timeout the camera gave in its Session
  // header (60 s if none), minus 5 s, or minus a fifth for short timeouts.
  return std::chrono::microseconds(gst_rtsp_connection_next_timeout_usec(state_->connection.get()));
}

Result<int64_t> RtspSession::send_keep_alive() {
  State& state = *state_;
  GstRTSPMessage* raw = nullptr;
  const GstRTSPMethod method =
      state.get_parameter_supported ? GST_RTSP_GET_PARAMETER : GST_RTSP_OPTIONS;
  gst_rtsp_message_new_request(&raw, method, state.base_url.c_str());
  RtspMessagePtr request(raw);
  const int64_t cseq = state.next_cseq++;
  const GstRTSPResult result =
      gst_rtsp_connection_send_usec(state.connection.get(), request.get(), state.timeout_us());
  if (result != GST_RTSP_OK) return state.transport_error("the keep-alive", result);
  gst_rtsp_connection_reset_timeout(state.connection.get());
  return cseq;
}

Status RtspSession::reply_not_implemented(int64_t cseq) {
  State& state = *state_;
  GstRTSPMessage* raw = nullptr;
  gst_rtsp_message_new_response(&raw, GST_RTSP_STS_NOT_IMPLEMENTED, nullptr, nullptr);
  RtspMessagePtr response(raw);
  gst_rtsp_message_add_header(response.get(), GST_RTSP_HDR_CSEQ, std::to_string(cseq).c_str());
  const GstRTSPResult result =
      gst_rtsp_connection_send_usec(state.connection.get(), response.get(), state.timeout_us());
  if (result != GST_RTSP_OK) return state.transport_error("a reply", result);
  return {};
}

void RtspSession::teardown() {
  State& state = *state_;
  GstRTSPMessage* raw = nullptr;
  if (gst_rtsp_message_new_request(&raw, GST_RTSP_TEARDOWN, state.base_url.c_str()) !=
      GST_RTSP_OK) {
    return;
  }
  RtspMessagePtr request(raw);
  ++state.next_cseq;
  {
    // An interrupt() meant for the dialogue must not swallow the goodbye.
    std::lock_guard lock(state.mutex);
    gst_rtsp_connection_flush(state.connection.get(), FALSE);
  }
  // A camera whose socket buffer is full must not hold up a stop.
  (void)gst_rtsp_connection_send_usec(state.connection.get(), request.get(), 200'000);
}

void RtspSession::interrupt() {
  std::lock_guard lock(state_->mutex);
  state_->interrupted = true;
  if (state_->connection) gst_rtsp_connection_flush(state_->connection.get(), TRUE);
}

}  // namespace yardwatch::recorder
