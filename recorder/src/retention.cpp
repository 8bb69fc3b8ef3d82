#include "yardwatch/recorder/retention.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <map>
#include <set>

#include "yardwatch/recorder/data_dir.h"

namespace yardwatch::recorder {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr const char* kMetaClockJump = "retention.clock_jump";
constexpr const char* kMetaClockTrusted = "retention.clock_trusted";

struct Interval {
  int64_t from = 0;
  int64_t to = 0;
};

// Union of the ranges (sorted by start), touching ones joined: a segment overlaps the union
// exactly when it overlaps one of the ranges.
std::vector<Interval> merge(const std::vector<ProtectedRange>& ranges) {
  std::vector<Interval> merged;
  for (const auto& range : ranges) {
    if (!merged.empty() && range.from_utc_us <= merged.back().to) {
      merged.back().to = std::max(merged.back().to, range.to_utc_us);
    } else {
      merged.push_back({range.from_utc_us, range.to_utc_us});
    }
  }
  return merged;
}

bool overlaps(const std::vector<Interval>& protected_ranges, int64_t start, int64_t end) {
  // Few ranges per camera: a linear walk is clearer than a search.
  return std::any_of(protected_ranges.begin(), protected_ranges.end(),
                     [&](const Interval& p) { return p.from < end && p.to > start; });
}

std::string human_duration(int64_t us) {
  const int64_t magnitude = std::llabs(us);
  if (magnitude >= kDayUs) return std::to_string(magnitude / kDayUs) + " days";
  if (magnitude >= 3600'000'000LL) return std::to_string(magnitude / 3600'000'000LL) + " hours";
  return std::to_string(magnitude / 60'000'000LL) + " minutes";
}

std::optional<std::pair<int64_t, int64_t>> parse_pair(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  char* end = nullptr;
  const long long first = std::strtoll(text->c_str(), &end, 10);
  if (end == text->c_str() || *end != ' ') return std::nullopt;
  const char* second_start = end + 1;
  const long long second = std::strtoll(second_start, &end, 10);
  if (end == second_start || *end != '\0') return std::nullopt;
  return std::make_pair(static_cast<int64_t>(first), static_cast<int64_t>(second));
}

std::string format_pair(int64_t first, int64_t second) {
  return std::to_string(first) + " " + std::to_string(second);
}

}  // namespace

uint64_t DeletionPlan::bytes() const {
  uint64_t total = 0;
  for (const auto& segment : segments) total += segment.bytes;
  return total;
}

std::vector<CameraDeletion> DeletionPlan::per_camera() const {
  std::map<int64_t, CameraDeletion> by_camera;
  for (const auto& segment : segments) {
    auto [it, inserted] = by_camera.try_emplace(segment.camera_id);
    CameraDeletion& receipt = it->second;
    if (inserted) {
      receipt.camera_id = segment.camera_id;
      receipt.from_utc_us = segment.start_utc_us;
      receipt.to_utc_us = segment.end_utc_us;
    }
    ++receipt.segments;
    receipt.bytes += segment.bytes;
    receipt.from_utc_us = std::min(receipt.from_utc_us, segment.start_utc_us);
    receipt.to_utc_us = std::max(receipt.to_utc_us, segment.end_utc_us);
  }
  std::vector<CameraDeletion> receipts;
  receipts.reserve(by_camera.size());
  for (auto& [id, receipt] : by_camera) receipts.push_back(receipt);
  return receipts;
}

Result<DeletionPlan> mark_expired(Catalog& catalog, int64_t now_utc_us) {
  std::lock_guard lock(catalog.mutex());
  YW_ASSIGN_OR_RETURN(auto transaction, sql::Transaction::begin(catalog.database()));
  YW_ASSIGN_OR_RETURN(auto cameras, catalog.cameras(/*include_removed=*/true));
  std::vector<int64_t> ids;
  for (const auto& camera : cameras) {
    const int64_t cutoff = now_utc_us - int64_t{camera.spec.retention_days} * kDayUs;
    YW_ASSIGN_OR_RETURN(auto ranges, catalog.protected_ranges(camera.id, kMin, cutoff));
    // The gaps between protected ranges, up to the cut-off: a segment lying wholly inside a gap
    // (start ≥ gap start, end ≤ gap end) touches no protected range. Each gap is one range scan
    // of the covering (camera, end, start) index.
    int64_t gap_from = kMin;
    auto collect_gap = [&](int64_t gap_to) -> Status {
      const int64_t end_before = std::min(cutoff, gap_to == kMax ? kMax : gap_to + 1);
      if (end_before <= gap_from) return {};
      YW_ASSIGN_OR_RETURN(
          auto found, catalog.complete_segments_within(camera.id, gap_from, gap_from, end_before));
      ids.insert(ids.end(), found.begin(), found.end());
      return {};
    };
    for (const Interval& range : merge(ranges)) {
      if (gap_from >= cutoff) break;
      YW_TRY(collect_gap(range.from));
      gap_from = range.to;
    }
    YW_TRY(collect_gap(kMax));
  }
  // Marked in rowid order: rows of different cameras share table pages (they were recorded side
  // by side), so camera by camera would read every page once per camera.
  std::sort(ids.begin(), ids.end());
  DeletionPlan plan;
  YW_ASSIGN_OR_RETURN(plan.segments, catalog.mark_garbage(ids));
  YW_TRY(transaction.commit());
  return plan;
}

Result<DeletionPlan> mark_oldest_for_space(Catalog& catalog, uint64_t bytes_wanted) {
  std::lock_guard lock(catalog.mutex());
  YW_ASSIGN_OR_RETURN(auto transaction, sql::Transaction::begin(catalog.database()));
  DeletionPlan plan;
  std::map<int64_t, std::vector<Interval>> protections;
  uint64_t bytes = 0;
  int64_t after_end = kMin;
  int64_t after_id = 0;
  constexpr int kPage = 256;
  while (bytes < bytes_wanted) {
    YW_ASSIGN_OR_RETURN(auto page, catalog.complete_segments_by_end(after_end, after_id, kPage));
    for (const auto& row : page) {
      after_end = row.end_utc_us;
      after_id = row.id;
      auto found = protections.find(row.camera_id);
      if (found == protections.end()) {
        YW_ASSIGN_OR_RETURN(auto ranges, catalog.protected_ranges(row.camera_id, kMin, kMax));
        found = protections.emplace(row.camera_id, merge(ranges)).first;
      }
      if (overlaps(found->second, row.start_utc_us, row.end_utc_us)) continue;
      YW_ASSIGN_OR_RETURN(auto marked, catalog.mark_garbage(row.id));
      if (!marked) continue;
      plan.segments.push_back(*marked);
      bytes += marked->bytes;
      if (bytes >= bytes_wanted) break;
    }
    if (page.size() < static_cast<size_t>(kPage)) break;
  }
  YW_TRY(transaction.commit());
  return plan;
}

Result<DeletionPlan> mark_range(Catalog& catalog, int64_t camera_id, int64_t from_utc_us,
                                int64_t to_utc_us) {
  if (to_utc_us <= from_utc_us) {
    return make_error(ErrorKind::kInvalidArgument, "the range must end after it starts");
  }
  std::lock_guard lock(catalog.mutex());
  YW_ASSIGN_OR_RETURN(auto transaction, sql::Transaction::begin(catalog.database()));
  YW_ASSIGN_OR_RETURN(auto rows, catalog.segments_overlapping(camera_id, from_utc_us, to_utc_us));
  // Segments go whole, so what must be free of protection is the range they really cover.
  const int64_t extent_from =
      std::min(from_utc_us, rows.empty() ? from_utc_us : rows.front().start_utc_us);
  int64_t extent_to = to_utc_us;
  for (const auto& row : rows) {
    if (row.state == SegmentState::kRecording) {
      return make_error(ErrorKind::kFailedPrecondition,
                        "the range includes footage that is still being recorded (segment " +
                            std::to_string(row.id) + "); nothing was deleted");
    }
    extent_to = std::max(extent_to, row.end_utc_us);
  }
  YW_ASSIGN_OR_RETURN(auto ranges, catalog.protected_ranges(camera_id, extent_from, extent_to));
  if (!ranges.empty()) {
    std::string owners;
    for (const auto& range : ranges) owners += (owners.empty() ? "" : ", ") + range.owner;
    return make_error(ErrorKind::kFailedPrecondition,
                      "the range (whole segments: " + hal::format_iso8601_utc(extent_from) +
                          " to " + hal::format_iso8601_utc(extent_to) + ") is protected (" +
                          owners + "); nothing was deleted");
  }
  DeletionPlan plan;
  for (const auto& row : rows) {
    YW_ASSIGN_OR_RETURN(auto marked, catalog.mark_garbage(row.id));
    if (marked) plan.segments.push_back(*marked);
  }
  YW_TRY(transaction.commit());
  return plan;
}

std::string_view deletion_step_name(DeletionStep step) {
  switch (step) {
    case DeletionStep::kMarked:
      return "marked";
    case DeletionStep::kCheckpointed:
      return "checkpointed";
    case DeletionStep::kFileUnlinked:
      return "file_unlinked";
    case DeletionStep::kRowsRemoved:
      return "rows_removed";
  }
  return "unknown";
}

Result<FinishReport> finish_deletions(Catalog& catalog, const hal::Storage& storage,
                                      const DeletionObserver& observer) {
  FinishReport report;
  auto proceed = [&](DeletionStep step, int64_t segment_id) {
    if (observer && !observer(step, segment_id)) {
      report.abandoned = true;
      return false;
    }
    return true;
  };
  // A row marked by older code may still hold its key; overwrite it before anything else.
  YW_TRY(catalog.destroy_garbage_keys());
  YW_ASSIGN_OR_RETURN(auto garbage, catalog.garbage_segments());
  if (garbage.empty()) return report;

  // Step 2: until the WAL is checkpointed and truncated, the overwritten keys may still sit in
  // WAL frames of earlier transactions. The files wait for this: a crash before it leaves rows
  // to finish, never a file whose key might still be readable somewhere.
  YW_ASSIGN_OR_RETURN(bool checkpointed, catalog.checkpoint_wal());
  if (!checkpointed) {
    report.checkpoint_complete = false;
    return report;
  }
  if (!proceed(DeletionStep::kCheckpointed, 0)) return report;

  // Step 3: the files. A missing file is fine (a crash after its unlink) — but only on the right
  // volume: on a swapped disk the same paths name another disk's files, and under a missing one
  // they name the root filesystem's. The rows stay `garbage` (their keys are gone) until the
  // volume is back; the next call or recovery finishes them.
  if (const hal::VolumeHealth volume = storage.check_volume(); !volume.writable()) {
    return make_error(ErrorKind::kUnavailable, "data volume: " + volume.message +
                                                   "; no segment file is removed until the "
                                                   "right volume is back");
  }
  const fs::path& data_dir = storage.data_dir();
  std::set<fs::path> directories;
  std::vector<int64_t> ids;
  ids.reserve(garbage.size());
  for (const auto& [segment_id, camera_id] : garbage) {
    const fs::path path = segment_path(data_dir, camera_id, segment_id);
    std::error_code error;
    if (fs::remove(path, error)) {
      ++report.files_removed;
      directories.insert(path.parent_path());
    } else if (error) {
      // The row stays `garbage` (its key is gone); the next call or recovery tries again.
      continue;
    }
    ids.push_back(segment_id);
    if (!proceed(DeletionStep::kFileUnlinked, segment_id)) return report;
  }
  for (const auto& directory : directories) (void)storage.sync_directory(directory);

  // Step 4: the rows.
  YW_TRY(catalog.remove_garbage_rows(ids));
  report.rows_removed = static_cast<int64_t>(ids.size());
  (void)proceed(DeletionStep::kRowsRemoved, 0);
  return report;
}

std::string_view clock_problem_name(ClockProblem problem) {
  switch (problem) {
    case ClockProblem::kNone:
      return "none";
    case ClockProblem::kUnsynchronised:
      return "unsynchronised";
    case ClockProblem::kJumped:
      return "jumped";
    case ClockProblem::kBehindFootage:
      return "behind_footage";
  }
  return "unknown";
}

ClockGuard::ClockGuard(Catalog& catalog, const hal::Clock& clock)
    : catalog_(catalog), clock_(clock) {
  rebaseline();
}

void ClockGuard::rebaseline() {
  base_wall_us_ = clock_.now_utc_us();
  base_monotonic_us_ = clock_.monotonic_us();
}

Result<ClockVerdict> ClockGuard::check() {
  ClockVerdict verdict;
  YW_ASSIGN_OR_RETURN(auto trust, catalog_.meta(kMetaClockTrusted));
  if (!trust_loaded_ || trust != seen_trust_) {
    // A person confirmed the clock (maybe in another process) since the last check.
    if (trust_loaded_) {
      rebaseline();
      jumped_here_ = false;
    }
    trust_loaded_ = true;
    seen_trust_ = trust;
  }
  const hal::SyncState sync = clock_.sync_state();
  verdict.now_utc_us = clock_.now_utc_us();
  const int64_t monotonic = clock_.monotonic_us();
  verdict.drift_us = (verdict.now_utc_us - base_wall_us_) - (monotonic - base_monotonic_us_);
  if (sync == hal::SyncState::kUnsynchronised) seen_unsynchronised_ = true;

  if (std::llabs(verdict.drift_us) > kClockJumpLimitUs) {
    if (sync == hal::SyncState::kUnsynchronised) {
      // Nothing is deleted while unsynchronised anyway; the jump is judged once it is not.
    } else if (seen_unsynchronised_ && sync == hal::SyncState::kSynchronised) {
      // Unsynchronised before, synchronised now: the jump is the clock being set. Nothing was
      // deleted meanwhile, and the footage check below still applies.
      rebaseline();
      verdict.set_by_synchronisation = true;
      verdict.drift_us = 0;
      if (jumped_here_) {
        jumped_here_ = false;
        YW_TRY(catalog_.erase_meta(kMetaClockJump));
      }
    } else if (!jumped_here_) {
      jumped_here_ = true;
      YW_TRY(catalog_.set_meta(kMetaClockJump, format_pair(verdict.now_utc_us, verdict.drift_us)));
    }
  } else if (jumped_here_) {
    // The wall clock is back on the monotonic time line.
    jumped_here_ = false;
    YW_TRY(catalog_.erase_meta(kMetaClockJump));
  }
  if (sync == hal::SyncState::kSynchronised) seen_unsynchronised_ = false;

  YW_ASSIGN_OR_RETURN(verdict.newest_footage_utc_us, catalog_.newest_footage_end());
  if (sync == hal::SyncState::kUnsynchronised) {
    verdict.problem = ClockProblem::kUnsynchronised;
    verdict.reason =
        "the clock reports itself unsynchronised: retention deletes nothing until it is "
        "synchronised";
    return verdict;
  }
  YW_ASSIGN_OR_RETURN(auto jump_text, catalog_.meta(kMetaClockJump));
  if (auto jump = parse_pair(jump_text)) {
    verdict.problem = ClockProblem::kJumped;
    verdict.reason = "the wall clock jumped " + std::string(jump->second > 0 ? "ahead" : "back") +
                     " by " + human_duration(jump->second) + " against the monotonic clock at " +
                     hal::format_iso8601_utc(jump->first) +
                     ": retention deletes nothing until the clock is confirmed "
                     "(yardwatch retention trust-clock)";
    return verdict;
  }
  const int64_t accepted_lead = parse_pair(trust).value_or(std::make_pair(0, 0)).second;
  if (verdict.newest_footage_utc_us &&
      *verdict.newest_footage_utc_us >
          verdict.now_utc_us + kFootageAheadSlackUs + std::max<int64_t>(0, accepted_lead)) {
    verdict.problem = ClockProblem::kBehindFootage;
    verdict.reason = "the wall clock (" + hal::format_iso8601_utc(verdict.now_utc_us) +
                     ") is before the newest footage (" +
                     hal::format_iso8601_utc(*verdict.newest_footage_utc_us) +
                     "): retention deletes nothing until the clock is right again (or is "
                     "confirmed with yardwatch retention trust-clock)";
  }
  return verdict;
}

Result<ClockVerdict> ClockGuard::trust_clock() {
  const int64_t now = clock_.now_utc_us();
  YW_ASSIGN_OR_RETURN(auto newest, catalog_.newest_footage_end());
  const int64_t lead = newest ? std::max<int64_t>(0, *newest - now) : 0;
  {
    std::lock_guard lock(catalog_.mutex());
    YW_ASSIGN_OR_RETURN(auto transaction, sql::Transaction::begin(catalog_.database()));
    YW_TRY(catalog_.set_meta(kMetaClockTrusted, format_pair(now, lead)));
    YW_TRY(catalog_.erase_meta(kMetaClockJump));
    YW_TRY(transaction.commit());
  }
  rebaseline();
  jumped_here_ = false;
  seen_unsynchronised_ = false;
  YW_ASSIGN_OR_RETURN(seen_trust_, catalog_.meta(kMetaClockTrusted));
  trust_loaded_ = true;
  return check();
}

}  // namespace yardwatch::recorder
