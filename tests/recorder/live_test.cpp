#include "yardwatch/recorder/live.h"

#include <catch2/catch.hpp>
#include <thread>

using namespace yardwatch::recorder;

namespace {

TrackInfo small_track() {
  TrackInfo track;
  track.width = 320;
  track.height = 240;
  track.codec_config = {1, 0x42, 0, 0x1e, 0xff, 0xe0, 0x00};
  return track;
}

}  // namespace

TEST_CASE("the live feed keeps the newest fragments, in order, bounded", "[live]") {
  LiveFeed feed;
  CHECK_FALSE(feed.init(0).has_value());
  feed.publish_fragment(0, {9});  // before any track: nothing to attach it to
  CHECK_FALSE(feed.next_after(0, 0, std::chrono::milliseconds(0)).has_value());
  feed.publish_track(small_track());
  for (uint8_t i = 1; i <= 10; ++i) feed.publish_fragment(i, {i});
  // Asking for the newest gives the last one; a viewer behind gets the oldest kept one.
  auto newest = feed.next_after(0, 0, std::chrono::milliseconds(0));
  REQUIRE(newest);
  CHECK(newest->sequence == 10);
  auto behind = feed.next_after(1, 0, std::chrono::milliseconds(0));
  REQUIRE(behind);
  CHECK(behind->sequence == 10 - LiveFeed::kKeptFragments + 1);
  auto following = feed.next_after(7, 0, std::chrono::milliseconds(0));
  REQUIRE(following);
  CHECK(following->sequence == 8);
  CHECK(*following->bytes == std::vector<uint8_t>{8});
  CHECK_FALSE(feed.next_after(10, 0, std::chrono::milliseconds(0)).has_value());
  // A new track drops the old fragments (they cannot follow the new init section).
  const auto generation = feed.init(0)->track_generation;
  feed.publish_track(small_track());
  CHECK(feed.init(0)->track_generation == generation + 1);
  CHECK_FALSE(feed.next_after(10, 0, std::chrono::milliseconds(0)).has_value());
}

TEST_CASE("a viewer waiting for the next fragment wakes when it arrives", "[live]") {
  LiveFeed feed;
  feed.publish_track(small_track());
  std::thread recorder([&feed] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    feed.publish_fragment(1, {1});
  });
  auto next = feed.next_after(0, 0, std::chrono::seconds(5));
  recorder.join();
  REQUIRE(next);
  CHECK(next->sequence == 1);
}

TEST_CASE("the feed is wanted only while someone watched recently", "[live]") {
  LiveFeed feed;
  CHECK_FALSE(feed.wanted(0));
  (void)feed.init(1'000'000);
  CHECK(feed.wanted(1'000'000 + LiveFeed::kInterestUs - 1));
  CHECK_FALSE(feed.wanted(1'000'000 + LiveFeed::kInterestUs));
}
