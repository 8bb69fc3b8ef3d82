#include "clip.h"

#include <gst/app/gstappsink.h>

#include <string>

namespace yardwatch::camsim {

namespace {

// The encoder half of the clip pipeline. No B-frames (a camera streaming live has none, and they
// would make DTS differ from PTS); scene-cut detection off so keyframes fall exactly every GOP and
// the looped clip stays GOP-aligned; one slice per picture (zerolatency would slice each picture
// by the number of cores, so the stream would differ from machine to machine); the parser
// re-inserts the parameter sets before every keyframe (config-interval=-1) so a client joining at
// any keyframe can decode.
std::string encoder_description(const ClipSettings& settings) {
  const std::string gop = std::to_string(settings.gop_frames);
  const std::string bitrate = std::to_string(settings.bitrate_kbps);
  switch (settings.codec) {
    case Codec::kH264:
      return "x264enc tune=zerolatency speed-preset=ultrafast bframes=0 key-int-max=" + gop +
             " bitrate=" + bitrate +
             " option-string=\"scenecut=0:sliced-threads=0\""
             " ! h264parse config-interval=-1"
             " ! video/x-h264,stream-format=byte-stream,alignment=au";
    case Codec::kH265:
      // x265's keyframes are CRA (open GOP) by default; a recorder that starts at one could not
      // decode the pictures before it, so ask for closed GOPs with IDR keyframes.
      return "x265enc tune=zerolatency speed-preset=ultrafast key-int-max=" + gop +
             " bitrate=" + bitrate +
             " option-string=\"bframes=0:scenecut=0:open-gop=0:min-keyint=" + gop +
             ":repeat-headers=1\""
             " ! h265parse config-interval=-1"
             " ! video/x-h265,stream-format=byte-stream,alignment=au";
    case Codec::kJpeg:
      // Every JPEG frame stands alone; the bitrate option does not apply.
      return "jpegenc quality=50 ! image/jpeg";
  }
  return {};
}

// Scans an Annex B byte-stream access unit for the NAL unit types it contains.
std::vector<uint32_t> nal_unit_types(GstBuffer* buffer, Codec codec) {
  std::vector<uint32_t> types;
  GstMapInfo map;
  if (!gst_buffer_map(buffer, &map, GST_MAP_READ)) return types;
  const uint8_t* data = map.data;
  const size_t size = map.size;
  for (size_t i = 0; i + 3 < size; ++i) {
    if (data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1) {
      const uint8_t header = data[i + 3];
      types.push_back(codec == Codec::kH264 ? (header & 0x1fU) : ((header >> 1U) & 0x3fU));
      i += 3;
    }
  }
  gst_buffer_unmap(buffer, &map);
  return types;
}

bool has_parameter_sets(GstBuffer* buffer, Codec codec) {
  const std::vector<uint32_t> types = nal_unit_types(buffer, codec);
  auto contains = [&types](uint32_t type) {
    for (uint32_t t : types) {
      if (t == type) return true;
    }
    return false;
  };
  if (codec == Codec::kH264) return contains(7) && contains(8);  // SPS, PPS
  return contains(32) && contains(33) && contains(34);           // VPS, SPS, PPS
}

Error gst_error(const std::string& what, GError* error) {
  return make_error(ErrorKind::kInternal,
                    what + ": " + (error != nullptr ? error->message : "unknown error"));
}

// Pops an error message off the bus, if the pipeline posted one.
std::optional<std::string> pipeline_error(GstElement* pipeline) {
  GObjectPtr<GstBus> bus(gst_element_get_bus(pipeline));
  MessagePtr message(gst_bus_pop_filtered(bus.get(), GST_MESSAGE_ERROR));
  if (!message) return std::nullopt;
  GError* raw_error = nullptr;
  gchar* raw_debug = nullptr;
  gst_message_parse_error(message.get(), &raw_error, &raw_debug);
  GErrorPtr error(raw_error);
  GCharPtr debug(raw_debug);
  return std::string(error->message) + (debug ? std::string(" (") + debug.get() + ")" : "");
}

}  // namespace

std::string_view codec_name(Codec codec) {
  switch (codec) {
    case Codec::kH264:
      return "h264";
    case Codec::kH265:
      return "h265";
    case Codec::kJpeg:
      return "jpeg";
  }
  return "unknown";
}

std::optional<Codec> parse_codec(std::string_view name) {
  for (Codec codec : {Codec::kH264, Codec::kH265, Codec::kJpeg}) {
    if (name == codec_name(codec)) return codec;
  }
  return std::nullopt;
}

Result<Clip> encode_clip(const ClipSettings& settings) {
  const uint32_t frame_count = settings.gop_frames * settings.gop_count;
  // A scrolling SMPTE pattern: it moves (so the picture is visibly live and the encoder has work
  // to do, which brings the stream close to the requested bitrate) and needs no extra plugins.
  const std::string description =
      "videotestsrc pattern=smpte horizontal-speed=4 num-buffers=" + std::to_string(frame_count) +
      " ! video/x-raw,format=I420,width=" + std::to_string(settings.width) +
      ",height=" + std::to_string(settings.height) + ",framerate=" + std::to_string(settings.fps) +
      "/1 ! " + encoder_description(settings) +
      " ! appsink name=sink sync=false enable-last-sample=false";

  GError* raw_error = nullptr;
  GstElement* parsed = gst_parse_launch(description.c_str(), &raw_error);
  GErrorPtr error(raw_error);
  if (parsed == nullptr) {
    return gst_error("cannot build the " + std::string(codec_name(settings.codec)) +
                         " encoder (is its GStreamer plugin installed?)",
                     error.get());
  }
  PipelinePtr pipeline(GST_ELEMENT(gst_object_ref_sink(parsed)));
  GObjectPtr<GstElement> sink(gst_bin_get_by_name(GST_BIN(pipeline.get()), "sink"));

  if (gst_element_set_state(pipeline.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    return make_error(ErrorKind::kInternal,
                      "cannot start the " + std::string(codec_name(settings.codec)) +
                          " encoder: " + pipeline_error(pipeline.get()).value_or("no details"));
  }

  Clip clip;
  clip.codec = settings.codec;
  clip.fps = settings.fps;
  clip.gop_frames = settings.gop_frames;
  clip.access_units.reserve(frame_count);
  // Give up if the encoder makes no progress for this long (1080p H.265 at ultrafast still does
  // dozens of frames per second on two cores).
  constexpr int kMaxIdlePolls = 60;
  constexpr GstClockTime kPollInterval = 500 * GST_MSECOND;
  int idle_polls = 0;
  while (!gst_app_sink_is_eos(GST_APP_SINK(sink.get()))) {
    SamplePtr sample(gst_app_sink_try_pull_sample(GST_APP_SINK(sink.get()), kPollInterval));
    if (!sample) {
      if (auto message = pipeline_error(pipeline.get())) {
        return make_error(ErrorKind::kInternal, "encoding the " +
                                                    std::string(codec_name(settings.codec)) +
                                                    " clip failed: " + *message);
      }
      if (++idle_polls > kMaxIdlePolls) {
        return make_error(ErrorKind::kInternal,
                          "the " + std::string(codec_name(settings.codec)) + " encoder stalled");
      }
      continue;
    }
    idle_polls = 0;
    if (!clip.caps) clip.caps.reset(gst_caps_copy(gst_sample_get_caps(sample.get())));
    clip.access_units.emplace_back(gst_buffer_ref(gst_sample_get_buffer(sample.get())));
  }
  if (auto message = pipeline_error(pipeline.get())) {
    return make_error(
        ErrorKind::kInternal,
        "encoding the " + std::string(codec_name(settings.codec)) + " clip failed: " + *message);
  }
  if (clip.access_units.size() != frame_count || !clip.caps) {
    return make_error(ErrorKind::kInternal, "the " + std::string(codec_name(settings.codec)) +
                                                " encoder produced " +
                                                std::to_string(clip.access_units.size()) + " of " +
                                                std::to_string(frame_count) + " frames");
  }

  // The loop and the per-camera phases rely on keyframes exactly at GOP boundaries, and joining
  // clients rely on parameter sets in every keyframe; check rather than trust encoder settings.
  for (size_t i = 0; i < clip.frame_count(); i += settings.gop_frames) {
    if (!clip.is_keyframe(i)) {
      return make_error(ErrorKind::kInternal, "the encoder did not put a keyframe at frame " +
                                                  std::to_string(i) + " of the clip");
    }
    if (settings.codec != Codec::kJpeg &&
        !has_parameter_sets(clip.access_units[i].get(), settings.codec)) {
      return make_error(ErrorKind::kInternal, "the keyframe at frame " + std::to_string(i) +
                                                  " of the clip carries no in-band parameter sets");
    }
  }
  // Timestamps are rewritten per camera when the frames are pushed; drop the encoder's so
  // nothing downstream can mistake them for the live ones.
  for (auto& unit : clip.access_units) {
    if (!gst_buffer_is_writable(unit.get())) unit.reset(gst_buffer_make_writable(unit.release()));
    GST_BUFFER_PTS(unit.get()) = GST_CLOCK_TIME_NONE;
    GST_BUFFER_DTS(unit.get()) = GST_CLOCK_TIME_NONE;
    GST_BUFFER_OFFSET(unit.get()) = GST_BUFFER_OFFSET_NONE;
    GST_BUFFER_OFFSET_END(unit.get()) = GST_BUFFER_OFFSET_NONE;
  }
  return clip;
}

}  // namespace yardwatch::camsim
