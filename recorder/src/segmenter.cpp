#include "yardwatch/recorder/segmenter.h"

#include <algorithm>
#include <cstdlib>

namespace yardwatch::recorder {

namespace {
constexpr int64_t kTimescale = 90000;
constexpr int64_t kReanchorThresholdUs = 1'000'000;
// Invented decode times may run at most this far ahead of the stream's own (1 s at 90 kHz).
constexpr int64_t kMaxInventedLeadTicks = kTimescale;

int64_t ticks_to_us(int64_t ticks) { return ticks * 1'000'000 / kTimescale; }
}  // namespace

Segmenter::Segmenter(const hal::Clock& clock, SegmenterConfig config, FragmentSink sink)
    : clock_(clock), config_(config), sink_(std::move(sink)) {}

int64_t Segmenter::to_ticks(int64_t ns) const { return ns / 1000 * kTimescale / 1'000'000; }

void Segmenter::on_track(const TrackInfo& track) {
  track_ = track;
  fragment_.clear();
  last_.reset();
  waiting_for_keyframe_ = true;
  force_new_segment_ = true;
  anchor_dts_ticks_.reset();
}

void Segmenter::on_access_unit(AccessUnit&& unit) {
  if (!track_) return;
  if (waiting_for_keyframe_) {
    if (!unit.keyframe) return;  // a segment must start with a decodable picture
    waiting_for_keyframe_ = false;
  }
  // Decode time: DTS, else PTS, else (or when it does not advance) the previous one plus the
  // previous frame duration. Streams from real cameras do lose timestamps now and then.
  int64_t raw_ns = unit.dts_ns >= 0 ? unit.dts_ns : unit.pts_ns;
  int64_t dts_ticks = raw_ns >= 0 ? to_ticks(raw_ns) : -1;
  if (last_ && (dts_ticks < 0 || dts_ticks <= last_->dts_ticks)) {
    // Once the invented time line is a second ahead of the stream's, step by one tick until the
    // stream catches up. Otherwise a burst of units sharing one timestamp after a long step feeds
    // that step back as the frame duration and the time line runs away (measured: 12x real time,
    // segments ending minutes in the future).
    const bool far_ahead = dts_ticks >= 0 && last_->dts_ticks - dts_ticks >= kMaxInventedLeadTicks;
    dts_ticks = last_->dts_ticks + (far_ahead ? 1 : last_duration_ticks_);
  } else if (!last_ && dts_ticks < 0) {
    dts_ticks = last_dts_ticks_ + last_duration_ticks_;
  }
  int32_t composition_offset = 0;
  if (unit.pts_ns >= 0 && raw_ns == unit.dts_ns && unit.dts_ns >= 0) {
    composition_offset = static_cast<int32_t>(to_ticks(unit.pts_ns) - dts_ticks);
  }

  if (last_) {
    const int64_t duration = dts_ticks - last_->dts_ticks;
    last_->sample.duration =
        static_cast<uint32_t>(std::clamp<int64_t>(duration, 1, kTimescale * 10));
    // A one-tick step is the catching up above, not the stream's frame rate.
    if (last_->sample.duration > 1) last_duration_ticks_ = last_->sample.duration;
    fragment_.push_back(std::move(*last_));
    last_.reset();
  }
  // Cut before this unit if it is a keyframe, or if the fragment has grown long enough.
  if (!fragment_.empty()) {
    const int64_t fragment_ticks = dts_ticks - fragment_.front().dts_ticks;
    if (unit.keyframe || ticks_to_us(fragment_ticks) >= config_.max_fragment_us) {
      emit_fragment(dts_ticks);
    }
  }
  PendingSample pending;
  pending.sample.data = std::move(unit.data);
  pending.sample.keyframe = unit.keyframe;
  pending.sample.composition_offset = composition_offset;
  pending.dts_ticks = dts_ticks;
  last_dts_ticks_ = dts_ticks;
  last_ = std::move(pending);
}

void Segmenter::flush() {
  if (last_) {
    last_->sample.duration = last_duration_ticks_;
    const int64_t end = last_->dts_ticks + last_duration_ticks_;
    fragment_.push_back(std::move(*last_));
    last_.reset();
    emit_fragment(end);
  }
}

void Segmenter::emit_fragment(int64_t end_dts_ticks) {
  if (fragment_.empty()) return;
  const int64_t now_us = clock_.now_utc_us();
  const int64_t first_dts = fragment_.front().dts_ticks;
  const int64_t duration_us = ticks_to_us(end_dts_ticks - first_dts);

  // Wall-clock time of this fragment: the fragment ends about now (its end is the arrival of
  // the unit that closed it).
  if (!anchor_dts_ticks_) {
    anchor_dts_ticks_ = first_dts;
    anchor_utc_us_ = now_us - duration_us;
  }
  int64_t utc_start = anchor_utc_us_ + ticks_to_us(first_dts - *anchor_dts_ticks_);
  if (std::llabs(utc_start + duration_us - now_us) > kReanchorThresholdUs) {
    utc_start = now_us - duration_us;
    anchor_dts_ticks_ = first_dts;
    anchor_utc_us_ = utc_start;
  }
  if (utc_start < not_before_utc_us_) {
    utc_start = not_before_utc_us_;
    anchor_dts_ticks_ = first_dts;
    anchor_utc_us_ = utc_start;
  }

  Fragment fragment;
  const bool starts_with_keyframe = fragment_.front().sample.keyframe;
  fragment.starts_segment =
      starts_with_keyframe &&
      (force_new_segment_ || utc_start - segment_started_utc_us_ >= config_.segment_duration_us);
  if (fragment.starts_segment) {
    force_new_segment_ = false;
    segment_start_dts_ticks_ = first_dts;
    segment_started_utc_us_ = utc_start;
    sequence_number_ = 0;
  }
  {
    std::vector<Sample> samples;
    samples.reserve(fragment_.size());
    for (auto& pending : fragment_) {
      // Decode times restart at zero in every segment, so each segment file plays on its own.
      pending.sample.decode_time = pending.dts_ticks - segment_start_dts_ticks_;
      samples.push_back(std::move(pending.sample));
    }
    fragment_.clear();
    fragment.info.utc_start_us = utc_start;
    fragment.info.duration_us = duration_us;
    fragment.info.decode_time = samples.front().decode_time;
    fragment.info.sample_count = static_cast<uint32_t>(samples.size());
    fragment.bytes = build_media_fragment(++sequence_number_, samples);
    // The access units are freed here, before the sink encrypts: a GOP is about 1 MB at
    // 4 Mbit/s, and holding it during the sink's own copies adds that to every camera's peak.
  }
  not_before_utc_us_ = utc_start + duration_us;
  ++fragments_emitted_;
  sink_(std::move(fragment));
}

}  // namespace yardwatch::recorder
