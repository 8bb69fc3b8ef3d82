// The rtspsrc receiver: RTP over UDP and rtsps:// cameras (and any camera when forced). One
// GStreamer pipeline per connection, rtspsrc → depay → parse → timestamper → appsink.

#include <gst/app/gstappsink.h>
#include <gst/gst.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "capture_backend.h"
#include "gst_ptr.h"

namespace yardwatch::recorder {

namespace {

// rtspsrc's "protocols" flags (GstRTSPLowerTrans).
constexpr guint kLowerTransUdp = 1;
constexpr guint kLowerTransTcp = 4;
// How often the supervising loop wakes up without a bus message; it only bounds how late a
// stall is noticed (stop requests and link errors arrive as bus messages and wake it at once).
constexpr GstClockTime kBusPollInterval = 500 * GST_MSECOND;

int64_t clock_time_or_unset(GstClockTime time) {
  return GST_CLOCK_TIME_IS_VALID(time) ? static_cast<int64_t>(time) : -1;
}

struct State {
  CaptureConfig config;
  CaptureListener* listener = nullptr;
  GstPtr<GstElement> pipeline;
  GstElement* source = nullptr;  // owned by the pipeline
  std::atomic<bool> stop_requested{false};
  std::atomic<int64_t> last_unit_ms{0};
  std::atomic<bool> got_first_unit{false};

  std::mutex mutex;        // guards the fields below (set on streaming threads)
  std::string link_error;  // unsupported codec and similar, found in pad-added
  ErrorKind link_error_kind = ErrorKind::kInvalidArgument;
  std::vector<uint8_t> last_codec_config;

  void fail_link(ErrorKind kind, std::string message) {
    std::lock_guard lock(mutex);
    if (link_error.empty()) {
      link_error = std::move(message);
      link_error_kind = kind;
    }
    // Wake up the supervising loop.
    GstPtr<GstBus> bus(gst_element_get_bus(pipeline.get()));
    gst_bus_post(bus.get(),
                 gst_message_new_application(GST_OBJECT(pipeline.get()),
                                             gst_structure_new_empty("yardwatch-link-error")));
  }
};

// Only video is set up: audio is never requested from the camera (data minimisation).
gboolean on_select_stream(GstElement* /*source*/, guint /*index*/, GstCaps* caps,
                          gpointer /*user_data*/) {
  const GstStructure* structure = gst_caps_get_structure(caps, 0);
  const gchar* media = gst_structure_get_string(structure, "media");
  return media != nullptr && std::string_view(media) == "video" ? TRUE : FALSE;
}

void track_from_caps(GstCaps* caps, TrackInfo& track, bool& ok) {
  ok = false;
  const GstStructure* structure = gst_caps_get_structure(caps, 0);
  std::string_view name = gst_structure_get_name(structure);
  track.codec = name == "video/x-h265" ? VideoCodec::kH265 : VideoCodec::kH264;
  int width = 0;
  int height = 0;
  gst_structure_get_int(structure, "width", &width);
  gst_structure_get_int(structure, "height", &height);
  track.width = static_cast<uint32_t>(width);
  track.height = static_cast<uint32_t>(height);
  const GValue* codec_data = gst_structure_get_value(structure, "codec_data");
  if (codec_data == nullptr || !GST_VALUE_HOLDS_BUFFER(codec_data)) return;
  GstBuffer* buffer = gst_value_get_buffer(codec_data);
  GstMapInfo map;
  if (!gst_buffer_map(buffer, &map, GST_MAP_READ)) return;
  track.codec_config.assign(map.data, map.data + map.size);
  gst_buffer_unmap(buffer, &map);
  ok = width > 0 && height > 0 && !track.codec_config.empty();
}

GstFlowReturn on_new_sample(GstAppSink* sink, gpointer user_data) {
  auto* state = static_cast<State*>(user_data);
  SamplePtr sample(gst_app_sink_pull_sample(sink));
  if (!sample) return GST_FLOW_EOS;
  GstCaps* caps = gst_sample_get_caps(sample.get());
  GstBuffer* buffer = gst_sample_get_buffer(sample.get());
  if (caps == nullptr || buffer == nullptr) return GST_FLOW_OK;

  // Caps rarely change; compare the codec configuration cheaply before rebuilding the track.
  const GstStructure* structure = gst_caps_get_structure(caps, 0);
  const GValue* codec_data = gst_structure_get_value(structure, "codec_data");
  bool changed = !state->got_first_unit.load();
  if (codec_data != nullptr && GST_VALUE_HOLDS_BUFFER(codec_data)) {
    GstBuffer* config = gst_value_get_buffer(codec_data);
    if (gst_buffer_get_size(config) != state->last_codec_config.size() ||
        gst_buffer_memcmp(config, 0, state->last_codec_config.data(),
                          state->last_codec_config.size()) != 0) {
      changed = true;
    }
  }
  if (changed) {
    TrackInfo track;
    bool ok = false;
    track_from_caps(caps, track, ok);
    if (!ok) {
      state->fail_link(ErrorKind::kInvalidArgument,
                       "the camera's stream has no usable codec configuration (SPS/PPS)");
      return GST_FLOW_ERROR;
    }
    state->last_codec_config = track.codec_config;
    state->listener->on_track(track);
  }

  AccessUnit unit;
  unit.pts_ns = clock_time_or_unset(GST_BUFFER_PTS(buffer));
  unit.dts_ns = clock_time_or_unset(GST_BUFFER_DTS(buffer));
  unit.keyframe = !GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT);
  GstMapInfo map;
  if (!gst_buffer_map(buffer, &map, GST_MAP_READ)) return GST_FLOW_OK;
  unit.data.assign(map.data, map.data + map.size);
  gst_buffer_unmap(buffer, &map);
  state->last_unit_ms = monotonic_ms();
  state->got_first_unit = true;
  state->listener->on_access_unit(std::move(unit));
  return GST_FLOW_OK;
}

GstElement* make_element(const char* factory) { return gst_element_factory_make(factory, nullptr); }

void on_pad_added(GstElement* /*source*/, GstPad* pad, gpointer user_data) {
  auto* state = static_cast<State*>(user_data);
  CapsPtr caps(gst_pad_get_current_caps(pad));
  if (!caps) caps.reset(gst_pad_query_caps(pad, nullptr));
  const GstStructure* structure = gst_caps_get_structure(caps.get(), 0);
  const gchar* media = gst_structure_get_string(structure, "media");
  const gchar* encoding = gst_structure_get_string(structure, "encoding-name");
  if (media == nullptr || std::string_view(media) != "video") return;
  std::string_view encoding_name = encoding != nullptr ? encoding : "";

  const char* depay_name = nullptr;
  const char* parse_name = nullptr;
  const char* timestamper_name = nullptr;
  const char* caps_text = nullptr;
  if (encoding_name == "H264") {
    depay_name = "rtph264depay";
    parse_name = "h264parse";
    timestamper_name = "h264timestamper";
    caps_text = "video/x-h264,stream-format=avc,alignment=au";
  } else if (encoding_name == "H265") {
    depay_name = "rtph265depay";
    parse_name = "h265parse";
    timestamper_name = "h265timestamper";
    caps_text = "video/x-h265,stream-format=hvc1,alignment=au";
  } else {
    state->fail_link(ErrorKind::kInvalidArgument,
                     "unsupported codec '" + std::string(encoding_name) +
                         "': Yardwatch records H.264 and H.265 without transcoding");
    return;
  }

  GstElement* depay = make_element(depay_name);
  GstElement* parse = make_element(parse_name);
  GstElement* filter = make_element("capsfilter");
  // The timestamper fills in timestamps that depay/parse sometimes leave out under load
  // (DESIGN §4 platform notes); without it a stream with missing PTS cannot be muxed.
  GstElement* timestamper = make_element(timestamper_name);
  GstElement* sink = make_element("appsink");
  if (depay == nullptr || parse == nullptr || filter == nullptr || sink == nullptr) {
    state->fail_link(ErrorKind::kInternal,
                     "a GStreamer element is missing (install "
                     "gstreamer1.0-plugins-good and -bad)");
    return;
  }
  CapsPtr filter_caps(gst_caps_from_string(caps_text));
  g_object_set(filter, "caps", filter_caps.get(), nullptr);
  // enable-last-sample off: basesink would otherwise keep a reference to every last access unit.
  g_object_set(sink, "sync", FALSE, "async", FALSE, "max-buffers", 256, "drop", FALSE,
               "enable-last-sample", FALSE, nullptr);
  GstAppSinkCallbacks callbacks{};
  callbacks.new_sample = on_new_sample;
  gst_app_sink_set_callbacks(GST_APP_SINK(sink), &callbacks, state, nullptr);

  GstBin* bin = GST_BIN(state->pipeline.get());
  gst_bin_add_many(bin, depay, parse, filter, sink, nullptr);
  bool linked = false;
  if (timestamper != nullptr) {
    gst_bin_add(bin, timestamper);
    linked = gst_element_link_many(depay, parse, filter, timestamper, sink, nullptr) == TRUE;
  } else {
    linked = gst_element_link_many(depay, parse, filter, sink, nullptr) == TRUE;
  }
  if (!linked) {
    state->fail_link(ErrorKind::kInternal, "could not link the recording chain");
    return;
  }
  for (GstElement* element : {sink, timestamper, filter, parse, depay}) {
    if (element != nullptr) gst_element_sync_state_with_parent(element);
  }
  GstPtr<GstPad> sink_pad(gst_element_get_static_pad(depay, "sink"));
  if (gst_pad_link(pad, sink_pad.get()) != GST_PAD_LINK_OK) {
    state->fail_link(ErrorKind::kInternal, "could not link the camera's video pad");
  }
}

Error error_from_message(GstMessage* message) {
  GError* raw_error = nullptr;
  gchar* raw_debug = nullptr;
  gst_message_parse_error(message, &raw_error, &raw_debug);
  GErrorPtr error(raw_error);
  GCharPtr debug(raw_debug);
  std::string text = error ? error->message : "unknown GStreamer error";
  if (error && error->domain == GST_RESOURCE_ERROR) {
    switch (error->code) {
      case GST_RESOURCE_ERROR_NOT_AUTHORIZED:
        return make_error(ErrorKind::kPermissionDenied,
                          "the camera rejected the credentials (" + text + ")");
      case GST_RESOURCE_ERROR_NOT_FOUND:
        return make_error(ErrorKind::kNotFound, "the camera has no such stream (" + text + ")");
      default:
        break;
    }
  }
  if (debug && std::strstr(debug.get(), "401") != nullptr) {
    return make_error(ErrorKind::kPermissionDenied,
                      "the camera rejected the credentials (" + text + ")");
  }
  return make_error(ErrorKind::kUnavailable, text);
}

class RtspsrcCapture final : public Capture::Backend {
 public:
  RtspsrcCapture() = default;
  ~RtspsrcCapture() override {
    if (state_.pipeline) gst_element_set_state(state_.pipeline.get(), GST_STATE_NULL);
  }
  RtspsrcCapture(const RtspsrcCapture&) = delete;
  RtspsrcCapture& operator=(const RtspsrcCapture&) = delete;

  Status init(const CaptureConfig& config, CaptureListener& listener);
  Status run(uint32_t stall_timeout_ms) override;
  void stop() override;

 private:
  State state_;
};

Status RtspsrcCapture::init(const CaptureConfig& config, CaptureListener& listener) {
  State& state = state_;
  state.config = config;
  state.listener = &listener;
  state.pipeline.reset(GST_ELEMENT(gst_object_ref_sink(gst_pipeline_new("camera"))));
  state.source = make_element("rtspsrc");
  if (state.source == nullptr) {
    return make_error(ErrorKind::kInternal,
                      "rtspsrc is missing (install gstreamer1.0-plugins-good)");
  }
  g_object_set(state.source, "location", config.url.c_str(), "latency",
               static_cast<guint>(config.latency_ms), "protocols",
               config.use_tcp ? kLowerTransTcp : kLowerTransUdp, "tcp-timeout",
               static_cast<guint64>(config.connect_timeout_s) * 1'000'000, "timeout",
               static_cast<guint64>(config.connect_timeout_s) * 1'000'000, nullptr);
  gst_bin_add(GST_BIN(state.pipeline.get()), state.source);
  g_signal_connect(state.source, "select-stream", G_CALLBACK(on_select_stream), &state);
  g_signal_connect(state.source, "pad-added", G_CALLBACK(on_pad_added), &state);
  return {};
}

void RtspsrcCapture::stop() {
  state_.stop_requested = true;
  GstPtr<GstBus> bus(gst_element_get_bus(state_.pipeline.get()));
  gst_bus_post(bus.get(), gst_message_new_application(GST_OBJECT(state_.pipeline.get()),
                                                      gst_structure_new_empty("yardwatch-stop")));
}

Status RtspsrcCapture::run(uint32_t stall_timeout_ms) {
  State& state = state_;
  GstElement* pipeline = state.pipeline.get();
  const int64_t started_ms = monotonic_ms();
  if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    gst_element_set_state(pipeline, GST_STATE_NULL);
    return make_error(ErrorKind::kUnavailable, "could not start the camera pipeline");
  }
  GstPtr<GstBus> bus(gst_element_get_bus(pipeline));
  Status result;
  while (true) {
    MessagePtr message(gst_bus_timed_pop(bus.get(), kBusPollInterval));
    if (state.stop_requested) break;
    {
      std::lock_guard lock(state.mutex);
      if (!state.link_error.empty()) {
        result = make_error(state.link_error_kind, state.link_error);
        break;
      }
    }
    if (message) {
      if (GST_MESSAGE_TYPE(message.get()) == GST_MESSAGE_ERROR) {
        result = error_from_message(message.get());
        break;
      }
      if (GST_MESSAGE_TYPE(message.get()) == GST_MESSAGE_EOS) {
        result = make_error(ErrorKind::kUnavailable, "the camera ended the stream");
        break;
      }
    }
    const int64_t now = monotonic_ms();
    const int64_t since = state.got_first_unit ? state.last_unit_ms.load() : started_ms;
    const int64_t limit = state.got_first_unit
                              ? stall_timeout_ms
                              : static_cast<int64_t>(state.config.connect_timeout_s) * 2000;
    if (now - since > limit) {
      result =
          make_error(ErrorKind::kUnavailable,
                     state.got_first_unit
                         ? "no video from the camera for " + std::to_string(limit / 1000) + " s"
                         : "no video from the camera within " + std::to_string(limit / 1000) +
                               " s of connecting");
      break;
    }
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  return result;
}

}  // namespace

Result<std::unique_ptr<Capture::Backend>> make_rtspsrc_capture(const CaptureConfig& config,
                                                               CaptureListener& listener) {
  auto capture = std::make_unique<RtspsrcCapture>();
  YW_TRY(capture->init(config, listener));
  return std::unique_ptr<Capture::Backend>(std::move(capture));
}

}  // namespace yardwatch::recorder
