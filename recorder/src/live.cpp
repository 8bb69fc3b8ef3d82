#include "yardwatch/recorder/live.h"

namespace yardwatch::recorder {

void LiveFeed::publish_track(const TrackInfo& track) {
  auto bytes = std::make_shared<const std::vector<uint8_t>>(build_init_segment(track));
  std::lock_guard lock(mutex_);
  ++track_generation_;
  init_ = LiveInit{track_generation_, std::move(bytes)};
  // Fragments of the old track cannot follow the new init section.
  fragments_.clear();
}

void LiveFeed::publish_fragment(int64_t utc_start_us, std::span<const uint8_t> bytes) {
  auto copy = std::make_shared<const std::vector<uint8_t>>(bytes.begin(), bytes.end());
  {
    std::lock_guard lock(mutex_);
    if (!init_) return;
    fragments_.push_back(
        LiveFragment{next_sequence_++, track_generation_, utc_start_us, std::move(copy)});
    while (fragments_.size() > kKeptFragments) fragments_.pop_front();
  }
  arrived_.notify_all();
}

bool LiveFeed::wanted(int64_t monotonic_now_us) const {
  std::lock_guard lock(mutex_);
  return monotonic_now_us < interest_until_us_;
}

std::optional<LiveInit> LiveFeed::init(int64_t monotonic_now_us) {
  std::lock_guard lock(mutex_);
  interest_until_us_ = monotonic_now_us + kInterestUs;
  return init_;
}

std::optional<LiveFragment> LiveFeed::next_after(uint64_t after, int64_t monotonic_now_us,
                                                 std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  interest_until_us_ = monotonic_now_us + kInterestUs;
  auto find = [&]() -> std::optional<LiveFragment> {
    if (fragments_.empty()) return std::nullopt;
    if (after == 0) return fragments_.back();
    for (const auto& fragment : fragments_) {
      if (fragment.sequence > after) return fragment;
    }
    return std::nullopt;
  };
  std::optional<LiveFragment> found;
  arrived_.wait_for(lock, wait, [&] {
    found = find();
    return found.has_value();
  });
  return found;
}

std::shared_ptr<LiveFeed> LiveHub::feed(int64_t camera_id) {
  std::lock_guard lock(mutex_);
  auto& feed = feeds_[camera_id];
  if (!feed) feed = std::make_shared<LiveFeed>();
  return feed;
}

}  // namespace yardwatch::recorder
