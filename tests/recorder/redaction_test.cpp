// The redaction pipeline of subject exports (R7, R11; recorder/design/redaction.md) on a
// synthetic clip whose face boxes are known: drawn faces with fine texture, moving over a smooth
// yard, encoded to H.264 and packed as a stored segment (init + fragments) at test time. Every
// non-selected face must lose its high-frequency energy in every output frame; the requester's
// face, selected on one frame and tracked, must keep it; the output must pass ffprobe; redaction
// writes nothing to disk.

#include "yardwatch/recorder/redaction.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "synthetic_scene.h"
#include "test_support.h"
#include "yardwatch/recorder/fmp4.h"

using namespace yardwatch;
using namespace yardwatch::recorder;

namespace {

constexpr int kWidth = 320;
constexpr int kHeight = 240;
constexpr int kFps = 10;
constexpr int kFrames = 40;
constexpr int kGop = 10;
constexpr int kFaceW = 48;
constexpr int kFaceH = 56;
constexpr int64_t kStart = 1'790'000'000'000'000;  // 2026-09-21
constexpr int64_t kFrameUs = 1'000'000 / kFps;

// The known boxes: the requester and two other children, all moving (people in a yard move).
cv::Rect requester_box(int frame) { return {30 + 2 * frame, 100, kFaceW, kFaceH}; }
cv::Rect other_a_box(int frame) { return {230 - 2 * frame, 20 + frame, kFaceW, kFaceH}; }
cv::Rect other_b_box(int frame) { return {180 + frame, 170 - frame, kFaceW, kFaceH}; }
// A notice board on the fence: still, textured, not a person.
const cv::Rect kBoard{260, 190, 50, 40};

cv::Mat draw_frame(int i) {
  cv::Mat frame(kHeight, kWidth, CV_8UC3);
  testing::draw_yard(frame);
  for (int y = 0; y < kBoard.height; y += 5) {
    for (int x = 0; x < kBoard.width; x += 5) {
      const bool dark = ((x + y) / 5) % 2 == 0;
      cv::rectangle(frame, {kBoard.x + x, kBoard.y + y, 5, 5},
                    dark ? cv::Scalar(20, 20, 20) : cv::Scalar(235, 235, 235), cv::FILLED);
    }
  }
  testing::draw_face(frame, other_b_box(i), 3);
  testing::draw_face(frame, other_a_box(i), 2);
  testing::draw_face(frame, requester_box(i), 1);
  return frame;
}

// The high-frequency energy of a region: the mean squared Laplacian of its grey values.
double energy(const cv::Mat& frame, const cv::Rect& box) {
  const cv::Rect inner(box.x + 4, box.y + 4, box.width - 8, box.height - 8);
  cv::Mat gray;
  cv::cvtColor(frame(inner & cv::Rect(0, 0, frame.cols, frame.rows)), gray, cv::COLOR_BGR2GRAY);
  cv::Mat laplacian;
  cv::Laplacian(gray, laplacian, CV_64F);
  return cv::mean(laplacian.mul(laplacian))[0];
}

struct Pipeline {
  GstElement* pipeline = nullptr;
  explicit Pipeline(const std::string& description) {
    gst_init(nullptr, nullptr);
    GError* error = nullptr;
    pipeline = gst_parse_launch(description.c_str(), &error);
    if (error != nullptr) {
      const std::string message = error->message;
      g_error_free(error);
      FAIL("gst_parse_launch: " << message);
    }
  }
  ~Pipeline() {
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(pipeline);
  }
  GstElement* element(const char* name) const {
    GstElement* e = gst_bin_get_by_name(GST_BIN(pipeline), name);
    gst_object_unref(e);  // the bin keeps it
    return e;
  }
};

// The drawn clip as a stored segment: x264 (one keyframe per kGop frames) → fMP4 in memory.
std::vector<uint8_t> recorded_segment() {
  Pipeline p(
      "appsrc name=src format=time caps=video/x-raw,format=BGR,width=320,height=240,"
      "framerate=10/1 ! videoconvert ! x264enc pass=quant quantizer=12 bframes=0 "
      "speed-preset=ultrafast key-int-max=10 ! h264parse ! "
      "video/x-h264,stream-format=avc,alignment=au ! appsink name=sink sync=false");
  GstElement* src = p.element("src");
  REQUIRE(gst_element_set_state(p.pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  for (int i = 0; i < kFrames; ++i) {
    const cv::Mat frame = draw_frame(i);
    GstBuffer* buffer = gst_buffer_new_memdup(frame.data, frame.total() * frame.elemSize());
    GST_BUFFER_PTS(buffer) = static_cast<GstClockTime>(i) * GST_SECOND / kFps;
    GST_BUFFER_DURATION(buffer) = GST_SECOND / kFps;
    REQUIRE(gst_app_src_push_buffer(GST_APP_SRC(src), buffer) == GST_FLOW_OK);
  }
  gst_app_src_end_of_stream(GST_APP_SRC(src));
  TrackInfo track;
  track.width = kWidth;
  track.height = kHeight;
  std::vector<Sample> samples;
  for (;;) {
    GstSample* sample = gst_app_sink_pull_sample(GST_APP_SINK(p.element("sink")));
    if (sample == nullptr) break;
    if (track.codec_config.empty()) {
      const GstStructure* caps = gst_caps_get_structure(gst_sample_get_caps(sample), 0);
      GstBuffer* config = gst_value_get_buffer(gst_structure_get_value(caps, "codec_data"));
      GstMapInfo map;
      REQUIRE(gst_buffer_map(config, &map, GST_MAP_READ));
      track.codec_config.assign(map.data, map.data + map.size);
      gst_buffer_unmap(config, &map);
    }
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    GstMapInfo map;
    REQUIRE(gst_buffer_map(buffer, &map, GST_MAP_READ));
    Sample s;
    s.data.assign(map.data, map.data + map.size);
    gst_buffer_unmap(buffer, &map);
    s.decode_time = static_cast<int64_t>(samples.size()) * (90000 / kFps);
    s.duration = 90000 / kFps;
    s.keyframe = !GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT);
    samples.push_back(std::move(s));
    gst_sample_unref(sample);
  }
  REQUIRE(samples.size() == kFrames);
  std::vector<uint8_t> segment = build_init_segment(track);
  uint32_t sequence = 0;
  for (size_t i = 0; i < samples.size(); i += kGop) {
    REQUIRE(samples[i].keyframe);
    const std::span<const Sample> gop(samples.data() + i,
                                      std::min<size_t>(kGop, samples.size() - i));
    const auto fragment = build_media_fragment(++sequence, gop);
    segment.insert(segment.end(), fragment.begin(), fragment.end());
  }
  return segment;
}

// Decodes a progressive MP4 held in memory into BGR frames.
std::vector<cv::Mat> decode(const std::vector<uint8_t>& mp4) {
  Pipeline p(
      "appsrc name=src ! qtdemux ! h264parse ! avdec_h264 ! videoconvert ! "
      "video/x-raw,format=BGR,width=320,height=240 ! appsink name=sink sync=false");
  GstElement* src = p.element("src");
  g_object_set(src, "size", static_cast<gint64>(mp4.size()), nullptr);
  REQUIRE(gst_element_set_state(p.pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  REQUIRE(gst_app_src_push_buffer(GST_APP_SRC(src),
                                  gst_buffer_new_memdup(mp4.data(), mp4.size())) == GST_FLOW_OK);
  gst_app_src_end_of_stream(GST_APP_SRC(src));
  std::vector<cv::Mat> frames;
  for (;;) {
    GstSample* sample = gst_app_sink_pull_sample(GST_APP_SINK(p.element("sink")));
    if (sample == nullptr) break;
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    GstMapInfo map;
    REQUIRE(gst_buffer_map(buffer, &map, GST_MAP_READ));
    const size_t stride = (kWidth * 3 + 3) / 4 * 4;
    frames.push_back(cv::Mat(kHeight, kWidth, CV_8UC3, map.data, stride).clone());
    gst_buffer_unmap(buffer, &map);
    gst_sample_unref(sample);
  }
  return frames;
}

FrameBox fractions(const cv::Rect& box) {
  return {static_cast<double>(box.x) / kWidth, static_cast<double>(box.y) / kHeight,
          static_cast<double>(box.width) / kWidth, static_cast<double>(box.height) / kHeight};
}

size_t files_in(const std::filesystem::path& dir) {
  size_t n = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    (void)entry;
    ++n;
  }
  return n;
}

// TMPDIR pointed at an empty directory while a redaction runs, to see whether anything was put
// there (GStreamer and OpenCV would use it for scratch files).
class ScratchWatch {
 public:
  ScratchWatch() : dir_("yw-redaction-scratch") {
    const char* old = getenv("TMPDIR");
    if (old != nullptr) previous_ = old;
    setenv("TMPDIR", dir_.path().c_str(), 1);
  }
  ~ScratchWatch() {
    if (previous_) {
      setenv("TMPDIR", previous_->c_str(), 1);
    } else {
      unsetenv("TMPDIR");
    }
  }
  size_t files() const { return files_in(dir_.path()); }
  const std::filesystem::path& path() const { return dir_.path(); }

 private:
  testing::TempDir dir_;
  std::optional<std::string> previous_;
};

}  // namespace

TEST_CASE(
    "R7 R11: a subject export blurs every face but the tracked requester's, in every frame, "
    "and passes ffprobe",
    "[recorder][redaction][R7][R11]") {
  const auto segment = recorded_segment();
  const RedactionSegment source{segment, kStart};
  constexpr int kFirst = 5;  // the range starts half a second in: frames before it teach the models
  const int64_t from = kStart + kFirst * kFrameUs;
  const int64_t to = kStart + kFrames * kFrameUs;

  RedactionOptions options;
  options.selections = {{from, fractions(requester_box(kFirst))}};
  options.title = "camera schoolplein";
  options.comment = "subject export, request AVG-2026-7";
  ScratchWatch scratch;
  const auto cwd_files = files_in(std::filesystem::current_path());
  auto clip = redact(std::span<const RedactionSegment>(&source, 1), from, to, options);
  REQUIRE(clip.ok());
  // Nothing was written to disk: no scratch file, nothing beside the test.
  CHECK(scratch.files() == 0);
  CHECK(files_in(std::filesystem::current_path()) == cwd_files);

  const RedactedClip& c = clip.value();
  CHECK(c.frames == kFrames - kFirst);
  CHECK(c.width == kWidth);
  CHECK(c.height == kHeight);
  CHECK(c.start_utc_us == from);
  CHECK(c.end_utc_us == to);
  CHECK(c.frames_with_requester == c.frames);
  CHECK(c.frames_requester_lost == 0);

  // A standard MP4. (The test writes it out for ffprobe, after the checks above: the appliance
  // only ever writes it encrypted.)
  testing::TempDir out("yw-redaction-out");
  {
    std::ofstream file(out / "subject.mp4", std::ios::binary);
    file.write(reinterpret_cast<const char*>(c.mp4.data()),
               static_cast<std::streamsize>(c.mp4.size()));
  }
  auto probe = testing::run_command({"/usr/bin/ffprobe", "-v", "error", "-select_streams", "v:0",
                                     "-count_frames", "-show_entries",
                                     "stream=codec_name,width,height,nb_read_frames:format_tags",
                                     "-of", "json", (out / "subject.mp4").string()});
  REQUIRE(probe.exit_code == 0);
  INFO(probe.out << probe.err);
  const auto probed = nlohmann::json::parse(probe.out);
  const auto& stream = probed["streams"][0];
  CHECK(stream["codec_name"] == "h264");
  CHECK(stream["width"] == kWidth);
  CHECK(stream["height"] == kHeight);
  CHECK(stream["nb_read_frames"] == std::to_string(kFrames - kFirst));
  CHECK(probed["format"]["tags"]["comment"] == "subject export, request AVG-2026-7");

  // Frame by frame against the drawn original.
  const auto frames = decode(c.mp4);
  REQUIRE(frames.size() == static_cast<size_t>(kFrames - kFirst));
  for (size_t j = 0; j < frames.size(); ++j) {
    const int i = static_cast<int>(j) + kFirst;
    const cv::Mat original = draw_frame(i);
    INFO("frame " << i);
    const double requester =
        energy(frames[j], requester_box(i)) / energy(original, requester_box(i));
    const double a = energy(frames[j], other_a_box(i)) / energy(original, other_a_box(i));
    const double b = energy(frames[j], other_b_box(i)) / energy(original, other_b_box(i));
    const double board = energy(frames[j], kBoard) / energy(original, kBoard);
    CHECK(a < 0.1);
    CHECK(b < 0.1);
    CHECK(requester > 0.5);
    CHECK(board > 0.5);  // still and not a person: not blurred when only people are asked for
  }
}

TEST_CASE("R7: blur outside the selection leaves only the requester sharp",
          "[recorder][redaction][R7]") {
  const auto segment = recorded_segment();
  const RedactionSegment source{segment, kStart};
  RedactionOptions options;
  options.selections = {{kStart, fractions(requester_box(0))}};
  options.blur_outside_selection = true;
  auto clip = redact(std::span<const RedactionSegment>(&source, 1), kStart, kStart + 20 * kFrameUs,
                     options);
  REQUIRE(clip.ok());
  const auto frames = decode(clip.value().mp4);
  REQUIRE(frames.size() == 20);
  for (size_t i = 0; i < frames.size(); ++i) {
    const cv::Mat original = draw_frame(static_cast<int>(i));
    const int n = static_cast<int>(i);
    INFO("frame " << i);
    CHECK(energy(frames[i], kBoard) / energy(original, kBoard) < 0.1);
    CHECK(energy(frames[i], other_a_box(n)) / energy(original, other_a_box(n)) < 0.1);
    CHECK(energy(frames[i], requester_box(n)) / energy(original, requester_box(n)) > 0.5);
  }
}

TEST_CASE("R7: without a selection nobody is kept sharp", "[recorder][redaction][R7]") {
  const auto segment = recorded_segment();
  const RedactionSegment source{segment, kStart};
  auto clip = redact(std::span<const RedactionSegment>(&source, 1), kStart,
                     kStart + kFrames * kFrameUs, {});
  REQUIRE(clip.ok());
  CHECK(clip.value().frames_with_requester == 0);
  const auto frames = decode(clip.value().mp4);
  REQUIRE(frames.size() == kFrames);
  for (size_t i = 0; i < frames.size(); ++i) {
    const cv::Mat original = draw_frame(static_cast<int>(i));
    const int n = static_cast<int>(i);
    INFO("frame " << i);
    for (const auto& box : {requester_box(n), other_a_box(n), other_b_box(n)}) {
      CHECK(energy(frames[i], box) / energy(original, box) < 0.1);
    }
  }
}

TEST_CASE("redaction refuses bad footage, bad boxes and empty ranges with clear errors",
          "[recorder][redaction]") {
  const auto segment = recorded_segment();
  const RedactionSegment source{segment, kStart};
  const auto one = std::span<const RedactionSegment>(&source, 1);
  const int64_t to = kStart + kFrames * kFrameUs;

  RedactionOptions outside;
  outside.selections = {{kStart, {0.9, 0.5, 0.2, 0.2}}};
  auto bad_box = redact(one, kStart, to, outside);
  REQUIRE_FALSE(bad_box.ok());
  CHECK(bad_box.error().kind == ErrorKind::kInvalidArgument);

  auto empty = redact(one, to + 10'000'000, to + 20'000'000, {});
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.error().kind == ErrorKind::kInvalidArgument);
  CHECK(empty.error().message.find("no frame") != std::string::npos);

  std::vector<uint8_t> garbage(4096, 0x5A);
  const RedactionSegment junk{garbage, kStart};
  auto corrupt = redact(std::span<const RedactionSegment>(&junk, 1), kStart, to, {});
  REQUIRE_FALSE(corrupt.ok());
  CHECK(corrupt.error().kind == ErrorKind::kDataLoss);

  // A segment cut off in the middle of a fragment (a pulled disk, a torn copy): refused whole,
  // rather than redacting what happens to parse.
  std::vector<uint8_t> truncated(
      segment.begin(), segment.begin() + static_cast<std::ptrdiff_t>(segment.size() * 2 / 3));
  const RedactionSegment torn{truncated, kStart};
  auto cut = redact(std::span<const RedactionSegment>(&torn, 1), kStart, to, {});
  REQUIRE_FALSE(cut.ok());
  CHECK(cut.error().kind == ErrorKind::kDataLoss);

  RedactionOptions no_models;
  no_models.cascade_dir = "/nonexistent/haarcascades";
  auto missing = redact(one, kStart, to, no_models);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == ErrorKind::kUnavailable);
  CHECK(missing.error().message.find("opencv-data") != std::string::npos);

  int calls = 0;
  RedactionOptions cancelling;
  cancelling.progress = [&](uint64_t done) {
    ++calls;
    return done < 3;
  };
  auto cancelled = redact(one, kStart, to, cancelling);
  REQUIRE_FALSE(cancelled.ok());
  CHECK(cancelled.error().message == "cancelled");
  CHECK(calls == 3);
}

TEST_CASE("a still frame for drawing the requester's box", "[recorder][redaction]") {
  const auto segment = recorded_segment();
  const RedactionSegment source{segment, kStart};
  auto still = still_frame(source, kStart + 12 * kFrameUs + 1);
  REQUIRE(still.ok());
  CHECK(still.value().utc_us == kStart + 13 * kFrameUs);
  CHECK(still.value().width == kWidth);
  CHECK(still.value().height == kHeight);
  REQUIRE(still.value().jpeg.size() > 100);
  CHECK(still.value().jpeg[0] == 0xFF);
  CHECK(still.value().jpeg[1] == 0xD8);
}
