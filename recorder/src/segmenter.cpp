#include "yardwatch/recorder/segmenter.h"

#include <algorithm>
#include <cstdlib>

namespace yardwatch::recorder {

namespace {
constexpr int64_t kTimescale = 90000;
constexpr int64_t kReanchorThresholdUs = 1'000'000;
// Invented decode times may run at most this far ahead of the stream's own (1 s at 90 kHz).
constexpr int64_t kMaxInventedLeadTicks = kTimescale;
// A fragment's header is sized before its samples are known: for twice the samples of the last
// fragment, at least this many; more samples cost one move of the collected bytes.
constexpr size_t kMinExpectedSamples = 64;
// A collecting buffer this much larger than the fragment it held (after a bitrate drop, or one
// huge GOP) is given back rather than kept for the camera's lifetime.
constexpr size_t kShrinkFactor = 4;
constexpr size_t kShrinkAboveBytes = 1u << 20;

int64_t ticks_to_us(int64_t ticks) { return ticks * 1'000'000 / kTimescale; }
}  // namespace

Segmenter::Segmenter(const hal::Clock& clock, SegmenterConfig config, FragmentSink sink)
    : clock_(clock), config_(config), sink_(std::move(sink)) {
  reset_buffer();
}

void Segmenter::reset_buffer() {
  const size_t expected = std::max(kMinExpectedSamples, 2 * last_fragment_samples_);
  reserved_ = SegmentWriter::kSealHeadroom + fragment_header_bytes(expected, 0);
  buffer_.clear();  // keeps the capacity: the next fragment is usually as large as this one
  buffer_.resize(reserved_);
}

int64_t Segmenter::to_ticks(int64_t ns) const { return ns / 1000 * kTimescale / 1'000'000; }

void Segmenter::on_track(const TrackInfo& track) {
  track_ = track;
  fragment_.clear();
  last_.reset();
  reset_buffer();
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
    last_->entry.duration =
        static_cast<uint32_t>(std::clamp<int64_t>(duration, 1, kTimescale * 10));
    // A one-tick step is the catching up above, not the stream's frame rate.
    if (last_->entry.duration > 1) last_duration_ticks_ = last_->entry.duration;
    fragment_.push_back(*last_);
    last_.reset();
  }
  // Cut before this unit if it is a keyframe, or if the fragment has grown long enough.
  if (!fragment_.empty()) {
    const int64_t fragment_ticks = dts_ticks - fragment_.front().dts_ticks;
    if (unit.keyframe || ticks_to_us(fragment_ticks) >= config_.max_fragment_us) {
      emit_fragment(dts_ticks);
    }
  }
  // Its bytes go straight into the fragment being collected (after any cut above), and the
  // access unit's own copy is freed at once.
  PendingSample pending;
  pending.entry.size = static_cast<uint32_t>(unit.data.size());
  pending.entry.keyframe = unit.keyframe;
  pending.entry.composition_offset = composition_offset;
  pending.dts_ticks = dts_ticks;
  buffer_.insert(buffer_.end(), unit.data.begin(), unit.data.end());
  std::vector<uint8_t>().swap(unit.data);
  last_dts_ticks_ = dts_ticks;
  last_ = pending;
}

void Segmenter::flush() {
  if (last_) {
    last_->entry.duration = last_duration_ticks_;
    const int64_t end = last_->dts_ticks + last_duration_ticks_;
    fragment_.push_back(*last_);
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
  const bool starts_with_keyframe = fragment_.front().entry.keyframe;
  fragment.starts_segment =
      starts_with_keyframe &&
      (force_new_segment_ || utc_start - segment_started_utc_us_ >= config_.segment_duration_us);
  if (fragment.starts_segment) {
    force_new_segment_ = false;
    segment_start_dts_ticks_ = first_dts;
    segment_started_utc_us_ = utc_start;
    sequence_number_ = 0;
  }

  std::vector<SampleEntry> entries;
  entries.reserve(fragment_.size());
  for (const PendingSample& pending : fragment_) entries.push_back(pending.entry);
  // Decode times restart at zero in every segment, so each segment file plays on its own.
  const int64_t decode_time = first_dts - segment_start_dts_ticks_;
  const std::vector<uint8_t> header =
      build_fragment_header(++sequence_number_, decode_time, entries);
  // The header goes right in front of the sample bytes, with the vault's headroom before it.
  const size_t needed = SegmentWriter::kSealHeadroom + header.size();
  if (needed > reserved_) {
    buffer_.insert(buffer_.begin(), needed - reserved_, 0);
    reserved_ = needed;
  }
  const size_t begin = reserved_ - header.size();
  std::copy(header.begin(), header.end(), buffer_.begin() + static_cast<std::ptrdiff_t>(begin));
  if (buffer_.capacity() < buffer_.size() + SegmentWriter::kSealTailroom) {
    buffer_.reserve(buffer_.size() + SegmentWriter::kSealTailroom);
  }
  const size_t used = buffer_.size();
  fragment.buffer = std::move(buffer_);
  fragment.begin = begin;
  fragment.info.utc_start_us = utc_start;
  fragment.info.duration_us = duration_us;
  fragment.info.decode_time = decode_time;
  fragment.info.sample_count = static_cast<uint32_t>(fragment_.size());
  last_fragment_samples_ = fragment_.size();
  fragment_.clear();
  not_before_utc_us_ = utc_start + duration_us;
  ++fragments_emitted_;
  sink_(std::move(fragment));

  // Whatever buffer the sink left (usually this one, now holding ciphertext) collects the next
  // fragment.
  buffer_ = std::move(fragment.buffer);
  if (buffer_.capacity() > kShrinkAboveBytes && buffer_.capacity() > kShrinkFactor * used) {
    std::vector<uint8_t>().swap(buffer_);
  }
  reset_buffer();
}

}  // namespace yardwatch::recorder
