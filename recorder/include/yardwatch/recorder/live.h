#pragma once

// Live view: a bounded per-camera fan-out of the recorder's newest fMP4 fragments, kept in
// memory only. The recording thread publishes (a short lock and a pointer swap; it never waits
// for a viewer); viewers poll for the fragment after the one they have. Nothing here reads the
// disk, and nothing here knows about people: the firmware decides who may look.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "yardwatch/recorder/fmp4.h"

namespace yardwatch::recorder {

struct LiveFragment {
  uint64_t sequence = 0;          // 1, 2, … per feed; a new track does not reset it
  uint64_t track_generation = 0;  // which init section the fragment belongs to
  int64_t utc_start_us = 0;
  std::shared_ptr<const std::vector<uint8_t>> bytes;  // moof + mdat
};

struct LiveInit {
  uint64_t track_generation = 0;
  std::shared_ptr<const std::vector<uint8_t>> bytes;  // ftyp + moov
};

class LiveFeed {
 public:
  static constexpr size_t kKeptFragments = 6;
  // A viewer that asked within this long keeps the feed publishing.
  static constexpr int64_t kInterestUs = 20'000'000;

  // Recording side.
  void publish_track(const TrackInfo& track);
  void publish_fragment(int64_t utc_start_us, std::span<const uint8_t> bytes);
  void publish_fragment(int64_t utc_start_us, const std::vector<uint8_t>& bytes) {
    publish_fragment(utc_start_us, std::span<const uint8_t>(bytes));
  }
  // Whether anyone watched recently: publishing copies nothing when no one does.
  [[nodiscard]] bool wanted(int64_t monotonic_now_us) const;

  // Viewing side. `monotonic_now_us` marks interest.
  std::optional<LiveInit> init(int64_t monotonic_now_us);
  // The oldest kept fragment after `after` (0: the newest one), waiting up to `wait` for one.
  std::optional<LiveFragment> next_after(uint64_t after, int64_t monotonic_now_us,
                                         std::chrono::milliseconds wait);

 private:
  mutable std::mutex mutex_;
  std::condition_variable arrived_;
  std::optional<LiveInit> init_;
  std::deque<LiveFragment> fragments_;
  uint64_t next_sequence_ = 1;
  uint64_t track_generation_ = 0;
  int64_t interest_until_us_ = 0;
};

// All cameras' feeds, by camera id. Shared by the recorder (publishes) and the web admin
// (through the firmware's viewing service).
class LiveHub {
 public:
  std::shared_ptr<LiveFeed> feed(int64_t camera_id);

 private:
  std::mutex mutex_;
  std::map<int64_t, std::shared_ptr<LiveFeed>> feeds_;
};

}  // namespace yardwatch::recorder
