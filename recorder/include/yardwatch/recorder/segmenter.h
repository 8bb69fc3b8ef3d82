#pragma once

// The segmenter turns a camera's access units into fMP4 fragments and decides where segments
// begin. Pure logic over timestamps: no GStreamer, no files, so it is tested exhaustively.
//
// Rules (recorder/design/crash_safety.md explains why):
//  - A fragment ends where a keyframe begins (GOP-aligned), or when it would exceed
//    `max_fragment_us`, so that the vault can flush at least every 2 s even for long GOPs.
//  - A segment begins only at a keyframe fragment, once the current segment is at least
//    `segment_duration_us` long (or when a new one is requested after a disruption).
//  - Wall-clock times are anchored to the clock at the first keyframe and follow the media
//    timestamps from there; if they drift more than 1 s from the clock, they are re-anchored.
//    They never go backwards and never before `not_before` (no overlapping segments).

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "yardwatch/hal/clock.h"
#include "yardwatch/recorder/capture.h"
#include "yardwatch/recorder/fmp4.h"
#include "yardwatch/recorder/segment_file.h"

namespace yardwatch::recorder {

struct Fragment {
  FragmentInfo info;
  // moof + mdat, at [begin, buffer.size()) of `buffer`. In front of `begin` there are at least
  // SegmentWriter::kSealHeadroom free bytes and behind the end capacity for kSealTailroom more, so
  // the vault frames and encrypts the fragment where it lies
  // (SegmentWriter::append_fragment_in_place): the sample data is copied once, from the access
  // unit into this buffer, and the segmenter reuses the buffer for the next fragment.
  std::vector<uint8_t> buffer;
  size_t begin = 0;
  bool starts_segment = false;  // begins with a keyframe and opens a new segment

  [[nodiscard]] std::span<const uint8_t> bytes() const {
    return {buffer.data() + begin, buffer.size() - begin};
  }
};

struct SegmenterConfig {
  int64_t segment_duration_us = 60'000'000;
  int64_t max_fragment_us = 2'000'000;
};

class Segmenter {
 public:
  // The sink may keep the fragment's buffer (move it away) or leave it, sealed or not: whatever
  // it leaves is reused for the next fragment.
  using FragmentSink = std::function<void(Fragment&&)>;

  Segmenter(const hal::Clock& clock, SegmenterConfig config, FragmentSink sink);

  // A new track (first connection, or changed caps): pending samples are dropped and the next
  // fragment starts a new segment at the next keyframe.
  void on_track(const TrackInfo& track);
  void on_access_unit(AccessUnit&& unit);
  // Emits the pending fragment (clean stop), giving its last sample the previous duration.
  void flush();
  // The next keyframe fragment starts a new segment.
  void request_new_segment() { force_new_segment_ = true; }
  // No fragment will carry a wall-clock time before this (the end of the camera's last segment).
  void set_not_before(int64_t utc_us) { not_before_utc_us_ = utc_us; }

  [[nodiscard]] const std::optional<TrackInfo>& track() const { return track_; }
  [[nodiscard]] uint64_t fragments_emitted() const { return fragments_emitted_; }

 private:
  struct PendingSample {
    SampleEntry entry;
    int64_t dts_ticks = 0;  // absolute, in the stream's 90 kHz time line
  };
  void emit_fragment(int64_t end_dts_ticks);
  int64_t to_ticks(int64_t ns) const;
  // Starts collecting the next fragment's sample bytes, leaving room in front for its header.
  void reset_buffer();

  const hal::Clock& clock_;
  SegmenterConfig config_;
  FragmentSink sink_;
  std::optional<TrackInfo> track_;
  std::vector<PendingSample> fragment_;
  // The fragment being collected: `reserved_` free bytes (for the moof and the vault's framing),
  // then the bytes of every sample in fragment_ and of last_.
  std::vector<uint8_t> buffer_;
  size_t reserved_ = 0;
  size_t last_fragment_samples_ = 0;
  std::optional<PendingSample> last_;  // waits for the next unit to learn its duration
  bool waiting_for_keyframe_ = true;
  bool force_new_segment_ = true;
  int64_t last_dts_ticks_ = 0;
  uint32_t last_duration_ticks_ = 3600;  // 40 ms at 90 kHz until the stream says otherwise
  int64_t segment_start_dts_ticks_ = 0;
  int64_t segment_started_utc_us_ = 0;
  uint32_t sequence_number_ = 0;
  std::optional<int64_t> anchor_dts_ticks_;
  int64_t anchor_utc_us_ = 0;
  int64_t not_before_utc_us_ = 0;
  uint64_t fragments_emitted_ = 0;
};

}  // namespace yardwatch::recorder
