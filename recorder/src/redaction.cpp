#include "yardwatch/recorder/redaction.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/video/video.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>
#include <opencv2/video/background_segm.hpp>
#include <opencv2/video/tracking.hpp>
#include <optional>
#include <thread>

#include "gst_ptr.h"
#include "yardwatch/hal/clock.h"
#include "yardwatch/recorder/mp4_remux.h"

// Design: recorder/design/redaction.md.

namespace yardwatch::recorder {

namespace {

// Detectors work on a copy at most this wide (faces of 20 px and more at 640 px still count).
constexpr int kWorkWidth = 640;
// The background model needs a few frames; until then every moving-region test says "all of it".
constexpr uint64_t kMotionWarmupFrames = 5;
// The people detector is slow; it runs on every n-th frame and its boxes are kept that long.
constexpr uint64_t kPeopleEvery = 3;
// Boxes grow by this fraction on every side before blurring (a face detector's box is tight).
constexpr double kFaceMargin = 0.25;
constexpr double kMotionMinAreaFraction = 0.0015;

// ---- the stored segment: top-level boxes ----

struct Box {
  std::string type;
  std::span<const uint8_t> bytes;  // the whole box
};

uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

uint64_t be64(const uint8_t* p) { return (uint64_t{be32(p)} << 32) | be32(p + 4); }

Result<std::vector<Box>> top_level_boxes(std::span<const uint8_t> data) {
  std::vector<Box> boxes;
  size_t offset = 0;
  while (offset < data.size()) {
    if (data.size() - offset < 8) return make_error(ErrorKind::kDataLoss, "truncated box header");
    uint64_t size = be32(data.data() + offset);
    std::string type(reinterpret_cast<const char*>(data.data() + offset + 4), 4);
    if (size == 1) {
      if (data.size() - offset < 16) return make_error(ErrorKind::kDataLoss, "truncated box");
      size = be64(data.data() + offset + 8);
    } else if (size == 0) {
      size = data.size() - offset;
    }
    if (size < 8 || size > data.size() - offset) {
      return make_error(ErrorKind::kDataLoss, "box '" + type + "' runs past the end");
    }
    boxes.push_back({type, data.subspan(offset, static_cast<size_t>(size))});
    offset += static_cast<size_t>(size);
  }
  return boxes;
}

// The avcC / hvcC payload inside the sample entry box ('avc1'/'hvc1': 8-byte header, then 78
// bytes of VisualSampleEntry, then child boxes).
Result<std::vector<uint8_t>> codec_config(const InitInfo& init) {
  const auto& entry = init.sample_entry;
  const std::string wanted = init.codec == VideoCodec::kH264 ? "avcC" : "hvcC";
  size_t offset = 86;
  while (offset + 8 <= entry.size()) {
    const uint32_t size = be32(entry.data() + offset);
    if (size < 8 || size > entry.size() - offset) break;
    if (std::memcmp(entry.data() + offset + 4, wanted.data(), 4) == 0) {
      return std::vector<uint8_t>(entry.begin() + static_cast<std::ptrdiff_t>(offset + 8),
                                  entry.begin() + static_cast<std::ptrdiff_t>(offset + size));
    }
    offset += size;
  }
  return make_error(ErrorKind::kDataLoss, "the sample entry has no " + wanted + " box");
}

// One access unit to decode, with its wall-clock times.
struct SourceSample {
  std::span<const uint8_t> data;
  int64_t dts_utc_us = 0;
  int64_t pts_utc_us = 0;
  int64_t duration_us = 0;
  bool keyframe = false;
};

struct Source {
  InitInfo init;
  std::vector<uint8_t> config;
  std::vector<SourceSample> samples;  // decode order, from the first keyframe
  int fps = 25;
};

int64_t ticks_to_us(int64_t ticks, uint32_t timescale) {
  return ticks * 1'000'000 / static_cast<int64_t>(timescale);
}

Result<Source> parse_sources(std::span<const RedactionSegment> segments) {
  if (segments.empty()) return make_error(ErrorKind::kInvalidArgument, "no footage to redact");
  Source source;
  std::vector<uint32_t> durations;
  for (size_t s = 0; s < segments.size(); ++s) {
    YW_ASSIGN_OR_RETURN(auto boxes, top_level_boxes(segments[s].mp4));
    size_t init_end = 0;
    while (init_end < boxes.size() && boxes[init_end].type != "moof") ++init_end;
    if (init_end == 0 || boxes[init_end - 1].type != "moov") {
      return make_error(ErrorKind::kDataLoss, "a segment does not start with ftyp and moov");
    }
    const uint8_t* init_begin = boxes.front().bytes.data();
    const size_t init_bytes = static_cast<size_t>(boxes[init_end - 1].bytes.data() +
                                                  boxes[init_end - 1].bytes.size() - init_begin);
    YW_ASSIGN_OR_RETURN(auto init, parse_init_section({init_begin, init_bytes}));
    if (s == 0) {
      source.init = init;
      YW_ASSIGN_OR_RETURN(source.config, codec_config(init));
    } else if (init.sample_entry != source.init.sample_entry) {
      return make_error(ErrorKind::kInvalidArgument,
                        "the segments differ in codec or picture size; redact them separately");
    }
    if (init.timescale == 0) return make_error(ErrorKind::kDataLoss, "timescale 0");
    std::optional<uint64_t> first_decode_time;
    for (size_t i = init_end; i < boxes.size(); ++i) {
      if (boxes[i].type != "moof") continue;
      if (i + 1 >= boxes.size() || boxes[i + 1].type != "mdat") {
        return make_error(ErrorKind::kDataLoss, "a fragment has no mdat");
      }
      const uint8_t* begin = boxes[i].bytes.data();
      const std::span<const uint8_t> fragment(
          begin,
          static_cast<size_t>(boxes[i + 1].bytes.data() + boxes[i + 1].bytes.size() - begin));
      YW_ASSIGN_OR_RETURN(auto parsed, parse_media_fragment(fragment, init));
      if (!first_decode_time) first_decode_time = parsed.base_decode_time;
      uint64_t decode_time = parsed.base_decode_time;
      for (const auto& sample : parsed.samples) {
        const int64_t dts_ticks = static_cast<int64_t>(decode_time - *first_decode_time);
        SourceSample out;
        out.data = fragment.subspan(static_cast<size_t>(sample.offset), sample.size);
        out.dts_utc_us = segments[s].start_utc_us + ticks_to_us(dts_ticks, init.timescale);
        out.pts_utc_us = segments[s].start_utc_us +
                         ticks_to_us(dts_ticks + sample.composition_offset, init.timescale);
        out.duration_us = ticks_to_us(sample.duration, init.timescale);
        out.keyframe = sample.keyframe;
        decode_time += sample.duration;
        if (source.samples.empty() && !out.keyframe) continue;  // decoding starts at a keyframe
        if (sample.duration > 0) durations.push_back(sample.duration);
        source.samples.push_back(out);
      }
      ++i;
    }
  }
  if (source.samples.empty()) {
    return make_error(ErrorKind::kInvalidArgument, "the footage holds no keyframe to start from");
  }
  if (!durations.empty()) {
    std::nth_element(durations.begin(),
                     durations.begin() + static_cast<std::ptrdiff_t>(durations.size() / 2),
                     durations.end());
    const double fps = static_cast<double>(source.init.timescale) / durations[durations.size() / 2];
    source.fps = std::clamp(static_cast<int>(fps + 0.5), 1, 120);
  }
  return source;
}

// ---- GStreamer ----

std::once_flag gst_once;
void ensure_gst() {
  std::call_once(gst_once, [] { gst_init(nullptr, nullptr); });
}

Result<GstPtr<GstElement>> launch(const std::string& description) {
  GError* raw_error = nullptr;
  GstElement* pipeline = gst_parse_launch(description.c_str(), &raw_error);
  GErrorPtr error(raw_error);
  if (pipeline == nullptr || error) {
    if (pipeline != nullptr) gst_object_unref(pipeline);
    return make_error(ErrorKind::kUnavailable,
                      std::string("a GStreamer element is missing: ") +
                          (error ? error->message : "gst_parse_launch failed"));
  }
  return GstPtr<GstElement>(GST_ELEMENT(gst_object_ref_sink(pipeline)));
}

GstPtr<GstElement> by_name(GstElement* pipeline, const char* name) {
  return GstPtr<GstElement>(gst_bin_get_by_name(GST_BIN(pipeline), name));
}

// The first error on the bus, or nullopt.
std::optional<std::string> bus_error(GstElement* pipeline) {
  GstPtr<GstBus> bus(gst_element_get_bus(pipeline));
  MessagePtr message(gst_bus_pop_filtered(bus.get(), GST_MESSAGE_ERROR));
  if (!message) return std::nullopt;
  GError* raw = nullptr;
  gst_message_parse_error(message.get(), &raw, nullptr);
  GErrorPtr error(raw);
  return std::string(error ? error->message : "unknown GStreamer error");
}

// Stops a pipeline when it goes out of scope.
struct PipelineGuard {
  GstElement* pipeline;
  ~PipelineGuard() { gst_element_set_state(pipeline, GST_STATE_NULL); }
};

// Decodes the source into BGR frames, pulled one at a time. A thread feeds the decoder.
class Decoder {
 public:
  static Result<std::unique_ptr<Decoder>> start(const Source& source, int64_t until_utc_us) {
    const bool h264 = source.init.codec == VideoCodec::kH264;
    const std::string description =
        std::string("appsrc name=src format=time block=true max-bytes=4000000 ! ") +
        (h264 ? "h264parse ! avdec_h264" : "h265parse ! avdec_h265") +
        " ! videoconvert ! video/x-raw,format=BGR ! appsink name=sink sync=false max-buffers=4";
    YW_ASSIGN_OR_RETURN(auto pipeline, launch(description));
    auto decoder = std::unique_ptr<Decoder>(new Decoder(source, std::move(pipeline)));
    decoder->src_ = by_name(decoder->pipeline_.get(), "src");
    decoder->sink_ = by_name(decoder->pipeline_.get(), "sink");
    BufferPtr config(gst_buffer_new_memdup(source.config.data(), source.config.size()));
    CapsPtr caps(gst_caps_new_simple(h264 ? "video/x-h264" : "video/x-h265", "stream-format",
                                     G_TYPE_STRING, h264 ? "avc" : "hvc1", "alignment",
                                     G_TYPE_STRING, "au", "codec_data", GST_TYPE_BUFFER,
                                     config.get(), nullptr));
    gst_app_src_set_caps(GST_APP_SRC(decoder->src_.get()), caps.get());
    if (gst_element_set_state(decoder->pipeline_.get(), GST_STATE_PLAYING) ==
        GST_STATE_CHANGE_FAILURE) {
      return make_error(ErrorKind::kUnavailable, "the decoder did not start");
    }
    decoder->origin_utc_us_ = source.samples.front().dts_utc_us;
    decoder->feeder_ = std::thread([d = decoder.get(), until_utc_us] { d->feed(until_utc_us); });
    return decoder;
  }

  ~Decoder() {
    stop_ = true;
    gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
    if (feeder_.joinable()) feeder_.join();
  }
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  struct Frame {
    cv::Mat bgr;  // owned copy
    int64_t utc_us = 0;
    int64_t duration_us = 0;
  };

  // The next frame; nullopt at the end. kDataLoss when the footage does not decode.
  Result<std::optional<Frame>> next() {
    SamplePtr sample(gst_app_sink_pull_sample(GST_APP_SINK(sink_.get())));
    if (!sample) {
      if (auto error = bus_error(pipeline_.get())) {
        return make_error(ErrorKind::kDataLoss, "the footage does not decode: " + *error);
      }
      return std::optional<Frame>();
    }
    GstVideoInfo info;
    if (!gst_video_info_from_caps(&info, gst_sample_get_caps(sample.get()))) {
      return make_error(ErrorKind::kDataLoss, "the decoder gave frames without a format");
    }
    GstBuffer* buffer = gst_sample_get_buffer(sample.get());
    GstMapInfo map;
    if (!gst_buffer_map(buffer, &map, GST_MAP_READ)) {
      return make_error(ErrorKind::kInternal, "cannot map a decoded frame");
    }
    const int width = GST_VIDEO_INFO_WIDTH(&info);
    const int height = GST_VIDEO_INFO_HEIGHT(&info);
    const auto stride = static_cast<size_t>(GST_VIDEO_INFO_PLANE_STRIDE(&info, 0));
    Frame frame;
    if (map.size >= stride * static_cast<size_t>(height)) {
      cv::Mat view(height, width, CV_8UC3, map.data, stride);
      frame.bgr = view.clone();
    }
    gst_buffer_unmap(buffer, &map);
    if (frame.bgr.empty()) return make_error(ErrorKind::kDataLoss, "a decoded frame is short");
    frame.utc_us = origin_utc_us_ + static_cast<int64_t>(GST_BUFFER_PTS(buffer) / 1000);
    frame.duration_us = GST_BUFFER_DURATION_IS_VALID(buffer)
                            ? static_cast<int64_t>(GST_BUFFER_DURATION(buffer) / 1000)
                            : 0;
    return std::optional<Frame>(std::move(frame));
  }

 private:
  Decoder(const Source& source, GstPtr<GstElement> pipeline)
      : source_(source), pipeline_(std::move(pipeline)) {}

  void feed(int64_t until_utc_us) {
    auto* src = GST_APP_SRC(src_.get());
    for (const auto& sample : source_.samples) {
      if (stop_) break;
      // Frames after the range are not needed, but a B-frame's reference may be: stop a GOP late.
      if (sample.keyframe && sample.dts_utc_us >= until_utc_us) break;
      GstBuffer* buffer = gst_buffer_new_memdup(sample.data.data(), sample.data.size());
      GST_BUFFER_DTS(buffer) = static_cast<GstClockTime>(sample.dts_utc_us - origin_utc_us_) * 1000;
      GST_BUFFER_PTS(buffer) = static_cast<GstClockTime>(sample.pts_utc_us - origin_utc_us_) * 1000;
      GST_BUFFER_DURATION(buffer) = static_cast<GstClockTime>(sample.duration_us) * 1000;
      if (!sample.keyframe) GST_BUFFER_FLAG_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT);
      if (gst_app_src_push_buffer(src, buffer) != GST_FLOW_OK) break;  // takes the buffer
    }
    gst_app_src_end_of_stream(src);
  }

  const Source& source_;
  GstPtr<GstElement> pipeline_;
  GstPtr<GstElement> src_;
  GstPtr<GstElement> sink_;
  int64_t origin_utc_us_ = 0;
  std::atomic<bool> stop_{false};
  std::thread feeder_;
};

// ---- the blurring ----

cv::Rect clip(const cv::Rect& box, const cv::Size& size) {
  return box & cv::Rect(0, 0, size.width, size.height);
}

cv::Rect grow(const cv::Rect& box, double margin) {
  const int dx = static_cast<int>(box.width * margin);
  const int dy = static_cast<int>(box.height * margin);
  return {box.x - dx, box.y - dy, box.width + 2 * dx, box.height + 2 * dy};
}

cv::Rect scale(const cv::Rect& box, double factor) {
  return {static_cast<int>(box.x * factor), static_cast<int>(box.y * factor),
          static_cast<int>(std::ceil(box.width * factor)),
          static_cast<int>(std::ceil(box.height * factor))};
}

// Irreversible smoothing: down to about 1/12 of the box's size by area averaging and back, then a
// Gaussian over it so no block edges remain.
void blur_region(cv::Mat& frame, const cv::Rect& region) {
  const cv::Rect r = clip(region, frame.size());
  if (r.width < 2 || r.height < 2) return;
  cv::Mat roi = frame(r);
  cv::Mat small;
  cv::resize(roi, small, cv::Size(std::max(1, r.width / 12), std::max(1, r.height / 12)), 0, 0,
             cv::INTER_AREA);
  cv::Mat smooth;
  cv::resize(small, smooth, roi.size(), 0, 0, cv::INTER_LINEAR);
  const int k = std::max(3, (std::min(r.width, r.height) / 8) | 1);
  cv::GaussianBlur(smooth, roi, cv::Size(k, k), 0);
}

class Redactor {
 public:
  static Result<std::unique_ptr<Redactor>> create(const RedactionOptions& options) {
    auto redactor = std::unique_ptr<Redactor>(new Redactor(options));
    try {
      for (const char* name : {"haarcascade_frontalface_alt2.xml", "haarcascade_profileface.xml"}) {
        const auto path = options.cascade_dir / name;
        cv::CascadeClassifier cascade;
        if (!std::filesystem::exists(path) || !cascade.load(path.string())) {
          return make_error(ErrorKind::kUnavailable,
                            "the face detector " + path.string() +
                                " is missing or unreadable (Debian package opencv-data)");
        }
        redactor->faces_.push_back(std::move(cascade));
      }
      redactor->people_.setSVMDetector(cv::HOGDescriptor::getDefaultPeopleDetector());
      redactor->motion_ = cv::createBackgroundSubtractorMOG2(200, 16, false);
    } catch (const cv::Exception& e) {
      return make_error(ErrorKind::kUnavailable, std::string("OpenCV: ") + e.what());
    }
    return redactor;
  }

  // Blurs `frame` in place. Returns whether the requester's box was kept.
  struct FrameResult {
    bool requester = false;
    bool lost = false;
  };
  Result<FrameResult> process(cv::Mat& frame, int64_t utc_us) {
    try {
      return process_frame(frame, utc_us);
    } catch (const cv::Exception& e) {
      return make_error(ErrorKind::kInternal, std::string("OpenCV: ") + e.what());
    }
  }

 private:
  explicit Redactor(const RedactionOptions& options) : options_(options) {}

  FrameResult process_frame(cv::Mat& frame, int64_t utc_us) {
    const double factor =
        frame.cols > kWorkWidth ? static_cast<double>(kWorkWidth) / frame.cols : 1.0;
    cv::Mat work;
    if (factor < 1.0) {
      cv::resize(frame, work, cv::Size(), factor, factor, cv::INTER_AREA);
    } else {
      work = frame;
    }
    cv::Mat gray;
    cv::cvtColor(work, gray, cv::COLOR_BGR2GRAY);

    // The requester: (re-)anchored at each selection, tracked in between.
    FrameResult result;
    while (next_selection_ < options_.selections.size() &&
           options_.selections[next_selection_].utc_us <= utc_us) {
      const FrameBox& box = options_.selections[next_selection_].box;
      const cv::Rect pixels(static_cast<int>(box.x * work.cols),
                            static_cast<int>(box.y * work.rows),
                            std::max(8, static_cast<int>(box.width * work.cols)),
                            std::max(8, static_cast<int>(box.height * work.rows)));
      tracker_ = cv::TrackerMIL::create();
      tracker_->init(work, clip(pixels, work.size()));
      tracked_ = clip(pixels, work.size());
      ++next_selection_;
      anchored_now_ = true;
    }
    std::optional<cv::Rect> keep;
    if (tracker_) {
      cv::Rect box = tracked_;
      const bool ok = anchored_now_ || tracker_->update(work, box);
      anchored_now_ = false;
      if (ok) {
        tracked_ = clip(box, work.size());
        if (tracked_.area() > 0) keep = tracked_;
      } else {
        tracker_.reset();  // lost: nobody is kept until the next selection
        result.lost = true;
      }
    }
    result.requester = keep.has_value();

    // What to blur, in work pixels. Detections live only in this function (R11).
    std::vector<cv::Rect> blur;
    cv::Mat equalized;
    cv::equalizeHist(gray, equalized);
    for (auto& cascade : faces_) {
      std::vector<cv::Rect> found;
      cascade.detectMultiScale(equalized, found, 1.1, 3, 0, cv::Size(20, 20));
      for (const auto& face : found) blur.push_back(grow(face, kFaceMargin));
    }
    if (frame_index_ % kPeopleEvery == 0) {
      people_boxes_.clear();
      if (work.cols >= 64 && work.rows >= 128) {
        std::vector<cv::Rect> found;
        people_.detectMultiScale(gray, found, 0, cv::Size(8, 8), cv::Size(), 1.05, 2);
        for (const auto& person : found) people_boxes_.push_back(grow(person, 0.1));
      }
    }
    blur.insert(blur.end(), people_boxes_.begin(), people_boxes_.end());
    cv::Mat blurred_gray;
    cv::GaussianBlur(gray, blurred_gray, cv::Size(5, 5), 0);
    cv::Mat mask;
    motion_->apply(blurred_gray, mask);
    const bool warming_up = frame_index_ < kMotionWarmupFrames;
    if (!warming_up) {
      cv::threshold(mask, mask, 127, 255, cv::THRESH_BINARY);
      cv::dilate(mask, mask, cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(9, 9)),
                 cv::Point(-1, -1), 2);
      std::vector<std::vector<cv::Point>> contours;
      cv::findContours(mask, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
      const double min_area = kMotionMinAreaFraction * work.cols * work.rows;
      for (const auto& contour : contours) {
        const cv::Rect region = cv::boundingRect(contour);
        if (region.area() >= min_area) blur.push_back(grow(region, 0.1));
      }
    }
    ++frame_index_;

    // Blur in the full-size frame; the requester's box is put back afterwards.
    const double back = 1.0 / factor;
    std::optional<cv::Rect> keep_full;
    cv::Mat kept;
    if (keep) {
      keep_full = clip(scale(*keep, back), frame.size());
      if (keep_full->area() > 0) kept = frame(*keep_full).clone();
    }
    if (options_.blur_outside_selection || warming_up) {
      // Everything (while the background model learns, whatever is selected stays sharp).
      blur_region(frame, cv::Rect(0, 0, frame.cols, frame.rows));
    } else {
      for (const auto& region : blur) blur_region(frame, scale(region, back));
    }
    if (!kept.empty()) kept.copyTo(frame(*keep_full));
    return result;
  }

  const RedactionOptions& options_;
  std::vector<cv::CascadeClassifier> faces_;
  cv::HOGDescriptor people_;
  cv::Ptr<cv::BackgroundSubtractor> motion_;
  std::vector<cv::Rect> people_boxes_;
  cv::Ptr<cv::Tracker> tracker_;
  cv::Rect tracked_;
  bool anchored_now_ = false;
  size_t next_selection_ = 0;
  uint64_t frame_index_ = 0;
};

// ---- the encoder ----

class Encoder {
 public:
  static Result<std::unique_ptr<Encoder>> start(int width, int height, int fps, int quantizer) {
    const std::string description =
        "appsrc name=src format=time ! videoconvert ! video/x-raw,format=I420 ! x264enc "
        "pass=quant quantizer=" +
        std::to_string(std::clamp(quantizer, 0, 51)) +
        " bframes=0 speed-preset=veryfast key-int-max=" + std::to_string(2 * fps) +
        " ! h264parse ! video/x-h264,stream-format=avc,alignment=au ! appsink name=sink "
        "sync=false";
    YW_ASSIGN_OR_RETURN(auto pipeline, launch(description));
    auto encoder = std::unique_ptr<Encoder>(new Encoder(std::move(pipeline)));
    encoder->src_ = by_name(encoder->pipeline_.get(), "src");
    encoder->sink_ = by_name(encoder->pipeline_.get(), "sink");
    gst_video_info_set_format(&encoder->info_, GST_VIDEO_FORMAT_BGR, static_cast<guint>(width),
                              static_cast<guint>(height));
    encoder->info_.fps_n = fps;
    encoder->info_.fps_d = 1;
    CapsPtr caps(gst_video_info_to_caps(&encoder->info_));
    gst_app_src_set_caps(GST_APP_SRC(encoder->src_.get()), caps.get());
    if (gst_element_set_state(encoder->pipeline_.get(), GST_STATE_PLAYING) ==
        GST_STATE_CHANGE_FAILURE) {
      return make_error(ErrorKind::kUnavailable, "the encoder did not start");
    }
    return encoder;
  }

  ~Encoder() { gst_element_set_state(pipeline_.get(), GST_STATE_NULL); }
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;

  Status push(const cv::Mat& frame, int64_t pts_us, int64_t duration_us) {
    const auto stride = static_cast<size_t>(GST_VIDEO_INFO_PLANE_STRIDE(&info_, 0));
    GstBuffer* buffer = gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(&info_), nullptr);
    GstMapInfo map;
    if (buffer == nullptr || !gst_buffer_map(buffer, &map, GST_MAP_WRITE)) {
      if (buffer != nullptr) gst_buffer_unref(buffer);
      return make_error(ErrorKind::kResourceExhausted, "no memory for a frame");
    }
    const auto row = static_cast<size_t>(frame.cols) * 3;
    for (int y = 0; y < frame.rows; ++y) {
      std::memcpy(map.data + static_cast<size_t>(y) * stride, frame.ptr(y), row);
    }
    gst_buffer_unmap(buffer, &map);
    GST_BUFFER_PTS(buffer) = static_cast<GstClockTime>(pts_us) * 1000;
    GST_BUFFER_DURATION(buffer) = static_cast<GstClockTime>(duration_us) * 1000;
    if (gst_app_src_push_buffer(GST_APP_SRC(src_.get()), buffer) != GST_FLOW_OK) {
      return make_error(
          ErrorKind::kInternal,
          "the encoder refused a frame: " + bus_error(pipeline_.get()).value_or("flow error"));
    }
    return {};
  }

  struct Output {
    std::vector<uint8_t> config;
    uint32_t width = 0;
    uint32_t height = 0;
    std::vector<std::vector<uint8_t>> units;
    std::vector<int64_t> pts_us;
    std::vector<bool> keyframes;
  };

  Result<Output> finish() {
    gst_app_src_end_of_stream(GST_APP_SRC(src_.get()));
    Output out;
    for (;;) {
      SamplePtr sample(gst_app_sink_pull_sample(GST_APP_SINK(sink_.get())));
      if (!sample) break;
      if (out.config.empty()) {
        const GstStructure* caps = gst_caps_get_structure(gst_sample_get_caps(sample.get()), 0);
        const GValue* codec_data = gst_structure_get_value(caps, "codec_data");
        if (codec_data == nullptr) {
          return make_error(ErrorKind::kInternal, "the encoder gave no codec data");
        }
        GstBuffer* config = gst_value_get_buffer(codec_data);
        GstMapInfo map;
        if (!gst_buffer_map(config, &map, GST_MAP_READ)) {
          return make_error(ErrorKind::kInternal, "cannot map the codec data");
        }
        out.config.assign(map.data, map.data + map.size);
        gst_buffer_unmap(config, &map);
        int w = 0;
        int h = 0;
        gst_structure_get_int(caps, "width", &w);
        gst_structure_get_int(caps, "height", &h);
        out.width = static_cast<uint32_t>(w);
        out.height = static_cast<uint32_t>(h);
      }
      GstBuffer* buffer = gst_sample_get_buffer(sample.get());
      GstMapInfo map;
      if (!gst_buffer_map(buffer, &map, GST_MAP_READ)) {
        return make_error(ErrorKind::kInternal, "cannot map an encoded frame");
      }
      out.units.emplace_back(map.data, map.data + map.size);
      gst_buffer_unmap(buffer, &map);
      out.pts_us.push_back(static_cast<int64_t>(GST_BUFFER_PTS(buffer) / 1000));
      out.keyframes.push_back(!GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT));
    }
    if (auto error = bus_error(pipeline_.get())) {
      return make_error(ErrorKind::kInternal, "the encoder failed: " + *error);
    }
    return out;
  }

 private:
  explicit Encoder(GstPtr<GstElement> pipeline) : pipeline_(std::move(pipeline)) {}
  GstPtr<GstElement> pipeline_;
  GstPtr<GstElement> src_;
  GstPtr<GstElement> sink_;
  GstVideoInfo info_{};
};

Status check_box(const FrameBox& box) {
  const bool inside = box.width > 0 && box.height > 0 && box.x >= 0 && box.y >= 0 &&
                      box.x + box.width <= 1.0 + 1e-9 && box.y + box.height <= 1.0 + 1e-9;
  if (!inside) {
    return make_error(ErrorKind::kInvalidArgument,
                      "the requester's box must lie inside the picture (fractions 0 … 1)");
  }
  return {};
}

}  // namespace

Result<RedactedClip> redact(std::span<const RedactionSegment> segments, int64_t from_utc_us,
                            int64_t to_utc_us, const RedactionOptions& options) {
  if (to_utc_us <= from_utc_us) {
    return make_error(ErrorKind::kInvalidArgument, "the range must end after it starts");
  }
  for (size_t i = 0; i < options.selections.size(); ++i) {
    YW_TRY(check_box(options.selections[i].box));
    if (i > 0 && options.selections[i].utc_us < options.selections[i - 1].utc_us) {
      return make_error(ErrorKind::kInvalidArgument, "the selections must be in time order");
    }
  }
  ensure_gst();
  YW_ASSIGN_OR_RETURN(auto source, parse_sources(segments));
  YW_ASSIGN_OR_RETURN(auto redactor, Redactor::create(options));
  YW_ASSIGN_OR_RETURN(auto decoder, Decoder::start(source, to_utc_us));
  std::unique_ptr<Encoder> encoder;
  RedactedClip clip;
  int64_t first_utc = 0;
  int64_t last_utc = 0;
  int64_t last_duration = 0;
  const int64_t frame_us = 1'000'000 / source.fps;
  for (;;) {
    YW_ASSIGN_OR_RETURN(auto frame, decoder->next());
    if (!frame) break;
    // Frames before the range teach the detectors and the tracker; they are not output.
    YW_ASSIGN_OR_RETURN(auto result, redactor->process(frame->bgr, frame->utc_us));
    if (frame->utc_us < from_utc_us) continue;
    if (frame->utc_us >= to_utc_us) break;
    if (!encoder) {
      YW_ASSIGN_OR_RETURN(
          encoder, Encoder::start(frame->bgr.cols, frame->bgr.rows, source.fps, options.quantizer));
      first_utc = frame->utc_us;
      clip.width = static_cast<uint32_t>(frame->bgr.cols);
      clip.height = static_cast<uint32_t>(frame->bgr.rows);
    }
    if (result.requester) ++clip.frames_with_requester;
    if (!options.selections.empty() && options.selections.front().utc_us <= frame->utc_us &&
        !result.requester) {
      ++clip.frames_requester_lost;
    }
    last_duration = frame->duration_us > 0 ? frame->duration_us : frame_us;
    YW_TRY(encoder->push(frame->bgr, frame->utc_us - first_utc, last_duration));
    last_utc = frame->utc_us;
    ++clip.frames;
    if (options.progress && !options.progress(clip.frames)) {
      return make_error(ErrorKind::kFailedPrecondition, "cancelled");
    }
  }
  if (!encoder) {
    return make_error(ErrorKind::kInvalidArgument, "no frame of the footage lies in " +
                                                       hal::format_iso8601_utc(from_utc_us) +
                                                       " – " + hal::format_iso8601_utc(to_utc_us));
  }
  YW_ASSIGN_OR_RETURN(auto out, encoder->finish());
  if (out.units.size() != clip.frames) {
    return make_error(ErrorKind::kInternal, "the encoder gave " + std::to_string(out.units.size()) +
                                                " frames for " + std::to_string(clip.frames));
  }

  // A progressive MP4 like the police export's, with the new codec configuration.
  TrackInfo track;
  track.codec = VideoCodec::kH264;
  track.width = out.width;
  track.height = out.height;
  track.codec_config = out.config;
  track.timescale = 90000;
  YW_ASSIGN_OR_RETURN(auto init, parse_init_section(build_init_segment(track)));
  std::vector<Mp4Sample> samples;
  uint64_t total = 0;
  for (size_t i = 0; i < out.units.size(); ++i) {
    const int64_t next_us =
        i + 1 < out.units.size() ? out.pts_us[i + 1] : out.pts_us[i] + last_duration;
    Mp4Sample sample;
    sample.size = static_cast<uint32_t>(out.units[i].size());
    sample.duration =
        static_cast<uint32_t>(std::max<int64_t>(1, (next_us - out.pts_us[i]) * 9 / 100));
    sample.keyframe = out.keyframes[i];
    samples.push_back(sample);
    total += sample.size;
  }
  Mp4Metadata metadata;
  metadata.creation_utc_us = first_utc;
  metadata.title = options.title;
  metadata.comment = options.comment;
  metadata.encoder = "Yardwatch subject export (others blurred, re-encoded)";
  const uint32_t count = static_cast<uint32_t>(samples.size());
  clip.mp4 =
      build_progressive_mp4_header(init, samples, std::span<const uint32_t>(&count, 1), metadata);
  clip.mp4.reserve(clip.mp4.size() + total);
  for (const auto& unit : out.units) clip.mp4.insert(clip.mp4.end(), unit.begin(), unit.end());
  clip.start_utc_us = first_utc;
  clip.end_utc_us = last_utc + last_duration;
  clip.duration_us = clip.end_utc_us - clip.start_utc_us;
  return clip;
}

Result<StillFrame> still_frame(const RedactionSegment& segment, int64_t at_utc_us) {
  ensure_gst();
  YW_ASSIGN_OR_RETURN(auto source, parse_sources(std::span<const RedactionSegment>(&segment, 1)));
  YW_ASSIGN_OR_RETURN(auto decoder, Decoder::start(source, at_utc_us + 10'000'000));
  std::optional<Decoder::Frame> chosen;
  for (;;) {
    YW_ASSIGN_OR_RETURN(auto frame, decoder->next());
    if (!frame) break;
    const bool reached = frame->utc_us >= at_utc_us;
    chosen = std::move(frame);
    if (reached) break;
  }
  if (!chosen) return make_error(ErrorKind::kInvalidArgument, "the segment has no frame");
  StillFrame still;
  try {
    if (!cv::imencode(".jpg", chosen->bgr, still.jpeg, {cv::IMWRITE_JPEG_QUALITY, 90})) {
      return make_error(ErrorKind::kInternal, "cannot encode the still");
    }
  } catch (const cv::Exception& e) {
    return make_error(ErrorKind::kInternal, std::string("OpenCV: ") + e.what());
  }
  still.utc_us = chosen->utc_us;
  still.width = static_cast<uint32_t>(chosen->bgr.cols);
  still.height = static_cast<uint32_t>(chosen->bgr.rows);
  return still;
}

}  // namespace yardwatch::recorder
