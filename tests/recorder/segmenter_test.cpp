#include "yardwatch/recorder/segmenter.h"

#include <catch2/catch.hpp>

using namespace yardwatch;
using namespace yardwatch::recorder;

namespace {

constexpr int64_t kStart = 1'795'600'800'000'000LL;  // 2026-11-25T10:00:00Z
constexpr int64_t kFrameNs = 40'000'000;             // 25 fps

struct Harness {
  hal::SimulatedClock clock{kStart};
  std::vector<Fragment> fragments;
  Segmenter segmenter;
  int64_t frame = 0;

  explicit Harness(SegmenterConfig config = {})
      : segmenter(clock, config, [this](Fragment&& f) { fragments.push_back(std::move(f)); }) {
    TrackInfo track;
    track.width = 640;
    track.height = 360;
    track.codec_config = {1, 2, 3};
    segmenter.on_track(track);
  }

  // Feeds one frame "arriving now"; keyframe every `gop` frames.
  void feed(int gop, bool with_timestamps = true) {
    AccessUnit unit;
    unit.data = {0, 0, 0, 1, static_cast<uint8_t>(frame & 0xff)};
    unit.keyframe = frame % gop == 0;
    if (with_timestamps) {
      unit.pts_ns = frame * kFrameNs;
      unit.dts_ns = frame * kFrameNs;
    }
    clock.advance_us(kFrameNs / 1000);
    ++frame;
    segmenter.on_access_unit(std::move(unit));
  }
};

}  // namespace

TEST_CASE("fragments are cut at keyframes (one GOP each)", "[recorder][segmenter]") {
  Harness h;
  for (int i = 0; i < 25 * 3 + 1; ++i) h.feed(25);  // three GOPs and the next keyframe
  REQUIRE(h.fragments.size() == 3);
  for (const auto& fragment : h.fragments) {
    CHECK(fragment.info.sample_count == 25);
    CHECK(fragment.info.duration_us == 1'000'000);
  }
  CHECK(h.fragments[0].starts_segment);
  CHECK_FALSE(h.fragments[1].starts_segment);
  // Consecutive fragments are contiguous in wall-clock time.
  CHECK(h.fragments[1].info.utc_start_us ==
        h.fragments[0].info.utc_start_us + h.fragments[0].info.duration_us);
  // The first fragment ends when the unit that closed it arrived.
  CHECK(h.fragments[0].info.utc_start_us + h.fragments[0].info.duration_us == kStart + 26 * 40'000);
}

TEST_CASE("long GOPs are split so the vault can flush every 2 s", "[recorder][segmenter]") {
  Harness h;
  for (int i = 0; i < 250 + 1; ++i) h.feed(250);  // a 10 s GOP
  REQUIRE(h.fragments.size() == 5);
  for (const auto& fragment : h.fragments) CHECK(fragment.info.duration_us <= 2'000'000);
  CHECK(h.fragments[0].starts_segment);
  for (size_t i = 1; i < h.fragments.size(); ++i) CHECK_FALSE(h.fragments[i].starts_segment);
}

TEST_CASE("segments roll at the first keyframe after the segment duration",
          "[recorder][segmenter]") {
  SegmenterConfig config;
  config.segment_duration_us = 5'000'000;
  Harness h(config);
  for (int i = 0; i < 25 * 12 + 1; ++i) h.feed(50);  // 2 s GOPs for 12 s
  REQUIRE(h.fragments.size() == 6);
  std::vector<bool> starts;
  for (const auto& f : h.fragments) starts.push_back(f.starts_segment);
  CHECK(starts == std::vector<bool>{true, false, false, true, false, false});
  // Decode times restart at zero in a new segment.
  CHECK(h.fragments[3].info.decode_time == 0);
  CHECK(h.fragments[4].info.decode_time == 2 * 90000);
}

TEST_CASE("units before the first keyframe are dropped", "[recorder][segmenter]") {
  Harness h;
  h.frame = 5;  // join mid-GOP
  for (int i = 0; i < 20 + 25 + 1; ++i) h.feed(25);
  REQUIRE(h.fragments.size() == 1);
  CHECK(h.fragments[0].info.sample_count == 25);
  CHECK(h.fragments[0].starts_segment);
}

TEST_CASE("missing timestamps are filled from the frame rate", "[recorder][segmenter]") {
  Harness h;
  for (int i = 0; i < 10; ++i) h.feed(25);
  for (int i = 0; i < 15; ++i) h.feed(25, false);  // the parser lost them
  h.feed(25);
  REQUIRE(h.fragments.size() == 1);
  CHECK(h.fragments[0].info.sample_count == 25);
  CHECK(h.fragments[0].info.duration_us == 1'000'000);
}

TEST_CASE("wall-clock times never go back before not_before (no overlaps)",
          "[recorder][segmenter]") {
  Harness h;
  h.segmenter.set_not_before(kStart + 3'600'000'000LL);  // the last segment ended in the future
  for (int i = 0; i < 26; ++i) h.feed(25);
  REQUIRE(h.fragments.size() == 1);
  CHECK(h.fragments[0].info.utc_start_us == kStart + 3'600'000'000LL);
}

TEST_CASE("a wall-clock jump re-anchors the fragment times", "[recorder][segmenter]") {
  Harness h;
  for (int i = 0; i < 26; ++i) h.feed(25);
  h.clock.jump_wall_clock_us(600'000'000);  // NTP steps the clock 10 minutes forward
  for (int i = 0; i < 25; ++i) h.feed(25);
  REQUIRE(h.fragments.size() == 2);
  const auto& second = h.fragments[1].info;
  CHECK(second.utc_start_us + second.duration_us == h.clock.now_utc_us());
}

TEST_CASE("flush emits the last partial fragment", "[recorder][segmenter]") {
  Harness h;
  for (int i = 0; i < 30; ++i) h.feed(25);
  REQUIRE(h.fragments.size() == 1);
  h.segmenter.flush();
  REQUIRE(h.fragments.size() == 2);
  CHECK(h.fragments[1].info.sample_count == 5);
  CHECK(h.fragments[1].info.duration_us == 200'000);
}

TEST_CASE("a burst of units sharing one timestamp does not make the time line run away",
          "[recorder][segmenter]") {
  // After a network stall the jitter buffer hands over a long step and then dozens of frames
  // with one timestamp. The step must not become the "frame duration" of the invented times.
  Harness h;
  for (int i = 0; i < 50; ++i) h.feed(25);
  const int64_t after_stall_ns = (h.frame + 125) * kFrameNs;  // a 5 s stall
  for (int i = 0; i < 40; ++i) {
    AccessUnit unit;
    unit.data = {0, 0, 0, 1, 0x41};
    unit.keyframe = false;
    unit.pts_ns = after_stall_ns;
    unit.dts_ns = after_stall_ns;
    h.clock.advance_us(40'000);
    h.segmenter.on_access_unit(std::move(unit));
  }
  h.frame += 125 + 40;
  for (int i = 0; i < 51; ++i) h.feed(25);
  int64_t total_us = 0;
  for (const auto& fragment : h.fragments) total_us += fragment.info.duration_us;
  // Real media time: 50 + 125 (stall) + 40 + 50 frames ≈ 10.6 s. Invented times may overshoot by
  // one step and then wait (1-tick steps) for the stream to catch up; a runaway adds 40 × 5 s.
  INFO("media time " << total_us << " us in " << h.fragments.size() << " fragments");
  CHECK(total_us <= (50 + 125 + 40 + 50) * 40'000 + 2'000'000);
}

TEST_CASE("fragments are the reference fMP4 bytes, with room for the vault to seal them in place",
          "[recorder][segmenter]") {
  // Samples of varied sizes and GOPs of 3, 200 (more samples than the header room first
  // reserved for) and 25 frames, at 100 fps so the 200-frame GOP stays one 2 s fragment.
  SegmenterConfig config;
  config.max_fragment_us = 2'000'000;
  std::vector<Sample> fed;
  std::vector<Fragment> fragments;
  hal::SimulatedClock clock{kStart};
  Segmenter segmenter(clock, config, [&](Fragment&& f) {
    // What the vault needs around the fragment.
    CHECK(f.begin >= SegmentWriter::kSealHeadroom);
    CHECK(f.buffer.capacity() >= f.buffer.size() + SegmentWriter::kSealTailroom);
    fragments.push_back(f);
    // Like the vault, scribble over the buffer the segmenter takes back: the next fragment
    // must not depend on what was left in it.
    std::fill(f.buffer.begin(), f.buffer.end(), 0xA5);
  });
  TrackInfo track;
  track.codec_config = {1, 2, 3};
  segmenter.on_track(track);
  constexpr int64_t kFrame100Ns = 10'000'000;
  const std::vector<int> gops = {3, 200, 25, 25};
  int64_t frame = 0;
  for (int gop : gops) {
    for (int i = 0; i < gop; ++i, ++frame) {
      AccessUnit unit;
      unit.data.assign(static_cast<size_t>(10 + (frame * 37) % 900), static_cast<uint8_t>(frame));
      unit.keyframe = i == 0;
      unit.pts_ns = unit.dts_ns = frame * kFrame100Ns;
      Sample sample;
      sample.data = unit.data;
      sample.keyframe = unit.keyframe;
      sample.duration = 900;
      fed.push_back(sample);
      clock.advance_us(kFrame100Ns / 1000);
      segmenter.on_access_unit(std::move(unit));
    }
  }
  REQUIRE(fragments.size() == 3);  // the last GOP is still open
  size_t first = 0;
  for (size_t k = 0; k < fragments.size(); ++k) {
    const size_t count = fragments[k].info.sample_count;
    CHECK(count == static_cast<size_t>(gops[k]));
    std::vector<Sample> samples(fed.begin() + static_cast<std::ptrdiff_t>(first),
                                fed.begin() + static_cast<std::ptrdiff_t>(first + count));
    samples[0].decode_time = fragments[k].info.decode_time;
    const std::vector<uint8_t> expected =
        build_media_fragment(static_cast<uint32_t>(k + 1), samples);
    const auto bytes = fragments[k].bytes();
    INFO("fragment " << k);
    CHECK(std::vector<uint8_t>(bytes.begin(), bytes.end()) == expected);
    first += count;
  }
}
