#include "rtp_video_depacketizer.h"

#include <gst/gst.h>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "byte_order.h"
#include "gst_ptr.h"

namespace yardwatch::recorder {

namespace {

constexpr size_t kRtpHeaderBytes = 12;
// The time line starts here rather than at 0, so that a B-frame presented before the first
// packet's time still has a positive timestamp.
constexpr int64_t kTimelineStartSeconds = 10;

int64_t clock_time_or_unset(GstClockTime time) {
  return GST_CLOCK_TIME_IS_VALID(time) ? static_cast<int64_t>(time) : -1;
}

GstElement* make_element(const char* factory) { return gst_element_factory_make(factory, nullptr); }

}  // namespace

int64_t RtpTimeline::to_ns(uint32_t rtp_timestamp, int64_t arrival_us, bool& discontinuity) {
  discontinuity = false;
  const int64_t rate = clock_rate_;
  if (!started_) {
    started_ = true;
    last_ticks_ = kTimelineStartSeconds * rate;
  } else {
    // Modular difference: a wrap of the 32-bit timestamp is a small step forward.
    const auto step = static_cast<int64_t>(static_cast<int32_t>(rtp_timestamp - last_rtp_));
    const int64_t waited = (arrival_us - last_arrival_us_) * rate / 1'000'000;
    if (step > waited + rate || step < -rate) {
      last_ticks_ += std::max<int64_t>(waited, 0);
      discontinuity = true;
    } else {
      last_ticks_ += step;
    }
  }
  last_rtp_ = rtp_timestamp;
  last_arrival_us_ = arrival_us;
  return last_ticks_ * 1'000'000'000 / rate;
}

struct RtpVideoDepacketizer::State {
  CaptureListener* listener = nullptr;
  RtspVideoStream stream;
  RtpTimeline timeline{90000};
  VideoCodec codec = VideoCodec::kH264;
  GstPtr<GstElement> bin;
  GstPtr<GstPad> source_pad;  // ours, feeds the depayloader
  GstPtr<GstPad> sink_pad;    // ours, takes the parser's access units
  bool pending_discontinuity = true;
  uint64_t units = 0;
  bool have_track = false;
  std::vector<uint8_t> codec_config;

  // Set on this thread by the pads' callbacks and the bus's sync handler.
  std::optional<Error> error;

  ~State() {
    if (bin) gst_element_set_state(bin.get(), GST_STATE_NULL);
    if (source_pad) gst_pad_set_active(source_pad.get(), FALSE);
    if (sink_pad) gst_pad_set_active(sink_pad.get(), FALSE);
  }

  void fail(ErrorKind kind, std::string message) {
    if (!error) error = make_error(kind, std::move(message));
  }

  void on_caps(GstCaps* caps) {
    const GstStructure* structure = gst_caps_get_structure(caps, 0);
    const GValue* value = gst_structure_get_value(structure, "codec_data");
    if (value == nullptr || !GST_VALUE_HOLDS_BUFFER(value)) return;  // not negotiated yet
    GstBuffer* config = gst_value_get_buffer(value);
    GstMapInfo map;
    if (!gst_buffer_map(config, &map, GST_MAP_READ)) return;
    const bool changed = !have_track || map.size != codec_config.size() ||
                         !std::equal(codec_config.begin(), codec_config.end(), map.data);
    if (changed) {
      TrackInfo track;
      track.codec = codec;
      int width = 0;
      int height = 0;
      gst_structure_get_int(structure, "width", &width);
      gst_structure_get_int(structure, "height", &height);
      track.width = static_cast<uint32_t>(std::max(width, 0));
      track.height = static_cast<uint32_t>(std::max(height, 0));
      track.codec_config.assign(map.data, map.data + map.size);
      codec_config = track.codec_config;
      have_track = true;
      listener->on_track(track);
    }
    gst_buffer_unmap(config, &map);
  }

  GstFlowReturn on_buffer(GstBuffer* buffer) {
    BufferPtr owned(buffer);
    if (!have_track) {
      fail(ErrorKind::kInvalidArgument,
           "the camera's stream has no usable codec configuration (SPS/PPS)");
      return GST_FLOW_ERROR;
    }
    AccessUnit unit;
    unit.pts_ns = clock_time_or_unset(GST_BUFFER_PTS(buffer));
    unit.dts_ns = clock_time_or_unset(GST_BUFFER_DTS(buffer));
    unit.keyframe = !GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT);
    GstMapInfo map;
    if (!gst_buffer_map(buffer, &map, GST_MAP_READ)) return GST_FLOW_OK;
    unit.data.assign(map.data, map.data + map.size);
    gst_buffer_unmap(buffer, &map);
    ++units;
    listener->on_access_unit(std::move(unit));
    return GST_FLOW_OK;
  }
};

namespace {

RtpVideoDepacketizer::State* state_of(GstPad* pad) {
  return static_cast<RtpVideoDepacketizer::State*>(gst_pad_get_element_private(pad));
}

GstFlowReturn sink_chain(GstPad* pad, GstObject* /*parent*/, GstBuffer* buffer) {
  return state_of(pad)->on_buffer(buffer);
}

gboolean sink_event(GstPad* pad, GstObject* /*parent*/, GstEvent* event) {
  if (GST_EVENT_TYPE(event) == GST_EVENT_CAPS) {
    GstCaps* caps = nullptr;
    gst_event_parse_caps(event, &caps);
    state_of(pad)->on_caps(caps);
  }
  gst_event_unref(event);
  return TRUE;
}

// The sink pad accepts exactly what the recorder stores: length-prefixed access units with their
// codec configuration record (avcC / hvcC) in the caps.
gboolean sink_query(GstPad* pad, GstObject* parent, GstQuery* query) {
  switch (GST_QUERY_TYPE(query)) {
    case GST_QUERY_CAPS: {
      GstCaps* filter = nullptr;
      gst_query_parse_caps(query, &filter);
      CapsPtr caps(gst_pad_get_pad_template_caps(pad));
      if (filter != nullptr) {
        caps.reset(gst_caps_intersect_full(filter, caps.get(), GST_CAPS_INTERSECT_FIRST));
      }
      gst_query_set_caps_result(query, caps.get());
      return TRUE;
    }
    case GST_QUERY_ACCEPT_CAPS: {
      GstCaps* caps = nullptr;
      gst_query_parse_accept_caps(query, &caps);
      CapsPtr template_caps(gst_pad_get_pad_template_caps(pad));
      gst_query_set_accept_caps_result(query, gst_caps_can_intersect(caps, template_caps.get()));
      return TRUE;
    }
    default:
      return gst_pad_query_default(pad, parent, query);
  }
}

GstBusSyncReply on_bus_message(GstBus* /*bus*/, GstMessage* message, gpointer user_data) {
  if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR) {
    auto* state = static_cast<RtpVideoDepacketizer::State*>(user_data);
    GError* raw_error = nullptr;
    gst_message_parse_error(message, &raw_error, nullptr);
    GErrorPtr error(raw_error);
    state->fail(ErrorKind::kUnavailable,
                std::string("the camera's video could not be depacketised: ") +
                    (error ? error->message : "unknown error"));
  }
  return GST_BUS_DROP;
}

}  // namespace

Result<std::unique_ptr<RtpVideoDepacketizer>> RtpVideoDepacketizer::create(
    const RtspVideoStream& stream, CaptureListener& listener) {
  ensure_gstreamer_initialised();
  std::unique_ptr<RtpVideoDepacketizer> self(new RtpVideoDepacketizer());
  self->state_ = std::make_unique<State>();
  State& state = *self->state_;
  state.listener = &listener;
  state.stream = stream;
  state.timeline = RtpTimeline(stream.clock_rate);

  const char* depay_name = nullptr;
  const char* parse_name = nullptr;
  const char* timestamper_name = nullptr;
  const char* sink_caps = nullptr;
  if (stream.encoding_name == "H264") {
    state.codec = VideoCodec::kH264;
    depay_name = "rtph264depay";
    parse_name = "h264parse";
    timestamper_name = "h264timestamper";
    sink_caps = "video/x-h264,stream-format=avc,alignment=au";
  } else if (stream.encoding_name == "H265") {
    state.codec = VideoCodec::kH265;
    depay_name = "rtph265depay";
    parse_name = "h265parse";
    timestamper_name = "h265timestamper";
    sink_caps = "video/x-h265,stream-format=hvc1,alignment=au";
  } else {
    return make_error(ErrorKind::kInvalidArgument,
                      "unsupported codec '" + stream.encoding_name +
                          "': Yardwatch records H.264 and H.265 without transcoding");
  }
  CapsPtr rtp_caps(gst_caps_from_string(stream.rtp_caps.c_str()));
  if (!rtp_caps) {
    return make_error(ErrorKind::kInvalidArgument,
                      "the camera's stream description cannot be turned into RTP caps");
  }

  GstElement* depay = make_element(depay_name);
  GstElement* parse = make_element(parse_name);
  // Computes decode times from the parsed stream (B-frames) and fills in what the parser leaves
  // unset; without a decode time, a stream with B-frames cannot be muxed.
  GstElement* timestamper = make_element(timestamper_name);
  if (depay == nullptr || parse == nullptr || timestamper == nullptr) {
    for (GstElement* element : {depay, parse, timestamper}) {
      if (element != nullptr) gst_object_unref(gst_object_ref_sink(element));
    }
    return make_error(ErrorKind::kInternal,
                      "a GStreamer element is missing (install gstreamer1.0-plugins-good and "
                      "-bad)");
  }
  state.bin.reset(GST_ELEMENT(gst_object_ref_sink(gst_bin_new("camera"))));
  // A bus of its own, read synchronously: an element's error is known as soon as the push that
  // caused it returns.
  GstPtr<GstBus> bus(gst_bus_new());
  gst_bus_set_sync_handler(bus.get(), on_bus_message, &state, nullptr);
  gst_element_set_bus(state.bin.get(), bus.get());
  gst_bin_add_many(GST_BIN(state.bin.get()), depay, parse, timestamper, nullptr);
  if (!gst_element_link_many(depay, parse, timestamper, nullptr)) {
    return make_error(ErrorKind::kInternal, "could not link the depacketising chain");
  }

  GstPtr<GstPadTemplate> source_template(GST_PAD_TEMPLATE(gst_object_ref_sink(
      gst_pad_template_new("src", GST_PAD_SRC, GST_PAD_ALWAYS, rtp_caps.get()))));
  CapsPtr stored_caps(gst_caps_from_string(sink_caps));
  GstPtr<GstPadTemplate> sink_template(GST_PAD_TEMPLATE(gst_object_ref_sink(
      gst_pad_template_new("sink", GST_PAD_SINK, GST_PAD_ALWAYS, stored_caps.get()))));
  state.source_pad.reset(
      GST_PAD(gst_object_ref_sink(gst_pad_new_from_template(source_template.get(), "src"))));
  state.sink_pad.reset(
      GST_PAD(gst_object_ref_sink(gst_pad_new_from_template(sink_template.get(), "sink"))));
  gst_pad_set_element_private(state.sink_pad.get(), &state);
  gst_pad_set_chain_function(state.sink_pad.get(), sink_chain);
  gst_pad_set_event_function(state.sink_pad.get(), sink_event);
  gst_pad_set_query_function(state.sink_pad.get(), sink_query);

  GstPtr<GstPad> depay_sink(gst_element_get_static_pad(depay, "sink"));
  GstPtr<GstPad> chain_source(gst_element_get_static_pad(timestamper, "src"));
  if (gst_pad_link(state.source_pad.get(), depay_sink.get()) != GST_PAD_LINK_OK ||
      gst_pad_link(chain_source.get(), state.sink_pad.get()) != GST_PAD_LINK_OK) {
    return make_error(ErrorKind::kInternal, "could not link the depacketising chain's pads");
  }
  gst_pad_set_active(state.sink_pad.get(), TRUE);
  if (gst_element_set_state(state.bin.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    return make_error(ErrorKind::kInternal, "could not start the depacketising chain");
  }
  gst_pad_set_active(state.source_pad.get(), TRUE);

  GstPad* source = state.source_pad.get();
  gst_pad_push_event(source, gst_event_new_stream_start("yardwatch-camera"));
  gst_pad_push_event(source, gst_event_new_caps(rtp_caps.get()));
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  gst_pad_push_event(source, gst_event_new_segment(&segment));
  if (state.error) return *state.error;
  return self;
}

RtpVideoDepacketizer::~RtpVideoDepacketizer() = default;

Status RtpVideoDepacketizer::push(std::span<const uint8_t> packet, int64_t arrival_us) {
  State& state = *state_;
  if (packet.size() < kRtpHeaderBytes || (packet[0] >> 6) != 2) return {};
  if ((packet[1] & 0x7F) != state.stream.payload_type) return {};
  bool discontinuity = false;
  const int64_t pts =
      state.timeline.to_ns(bytes::load_u32_be(packet.data() + 4), arrival_us, discontinuity);
  GstBuffer* buffer = gst_buffer_new_allocate(nullptr, packet.size(), nullptr);
  gst_buffer_fill(buffer, 0, packet.data(), packet.size());
  GST_BUFFER_PTS(buffer) = static_cast<GstClockTime>(pts);
  if (discontinuity || state.pending_discontinuity) {
    GST_BUFFER_FLAG_SET(buffer, GST_BUFFER_FLAG_DISCONT);
    state.pending_discontinuity = false;
  }
  const GstFlowReturn flow = gst_pad_push(state.source_pad.get(), buffer);
  if (state.error) return *state.error;
  if (flow != GST_FLOW_OK) {
    return make_error(ErrorKind::kUnavailable,
                      std::string("the camera's video could not be depacketised (") +
                          gst_flow_get_name(flow) + ")");
  }
  return {};
}

uint64_t RtpVideoDepacketizer::units_delivered() const { return state_->units; }

}  // namespace yardwatch::recorder
