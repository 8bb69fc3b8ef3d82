#pragma once

// Retention: deleting footage for good (R2, R3), and never because a clock is wrong
// (recorder/design/retention.md). Knows nothing about people: the caller says what to delete
// (what has expired, the oldest footage when space runs out, a range on request), and the
// protected ranges in the catalog (the firmware's holds and restrictions) keep what they touch.
//
// Deletion is cryptographic and in two phases, so that a caller's audit receipt commits with
// the decision and a crash at any point is finished at start-up:
//   1. mark_*  — inside the caller's sql::Transaction (holding catalog.mutex()): the rows become
//                `garbage` and their wrapped keys are overwritten (SQLite secure_delete).
//   2. finish_deletions — outside any transaction: a WAL checkpoint (TRUNCATE) takes the key
//                bytes out of the WAL file, then the files are unlinked, then the rows removed.
//                It finishes every `garbage` row, whoever marked it; recovery calls it too.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "yardwatch/hal/clock.h"
#include "yardwatch/hal/result.h"
#include "yardwatch/hal/storage.h"
#include "yardwatch/recorder/catalog.h"

namespace yardwatch::recorder {

constexpr int64_t kDayUs = 24LL * 3600 * 1'000'000;
// A wall clock that moved this much more (or less) than the monotonic clock while running has
// jumped: retention stops until it comes back or a person confirms it.
constexpr int64_t kClockJumpLimitUs = 10LL * 60 * 1'000'000;
// Footage may end a little after "now" (a fragment is stamped from its media time); more than
// this means the wall clock is behind the footage.
constexpr int64_t kFootageAheadSlackUs = 60LL * 1'000'000;

// What one deletion took from one camera: a deletion receipt.
struct CameraDeletion {
  int64_t camera_id = 0;
  int64_t segments = 0;
  uint64_t bytes = 0;
  int64_t from_utc_us = 0;  // start of the oldest deleted segment
  int64_t to_utc_us = 0;    // end of the newest
};

struct DeletionPlan {
  std::vector<MarkedSegment> segments;  // in the order they were marked

  [[nodiscard]] bool empty() const { return segments.empty(); }
  [[nodiscard]] uint64_t bytes() const;
  // One receipt per camera that lost footage, ordered by camera id.
  [[nodiscard]] std::vector<CameraDeletion> per_camera() const;
};

// Phase 1. Call inside the caller's transaction (catalog.mutex() held) so the decision and its
// audit entry commit together; alone, each call is its own transaction.
//
// Every complete segment whose end is older than its camera's retention at `now_utc_us`
// (end < now − retention_days) and that no protected range of its camera overlaps; a segment
// that overlaps one only in part is kept whole. Removed cameras' footage ages out the same way.
// For each camera the protected ranges split the expired time line into gaps and each gap is
// one indexed UPDATE over (camera, end): the cost follows what expires (plus the number of
// protected ranges), not the size of the catalog.
Result<DeletionPlan> mark_expired(Catalog& catalog, int64_t now_utc_us);
// Disk pressure: the oldest unprotected complete segments of all cameras (by end time) until
// their bytes reach `bytes_wanted` (fewer if that is all there is).
Result<DeletionPlan> mark_oldest_for_space(Catalog& catalog, uint64_t bytes_wanted);
// Erasure: every segment of the camera overlapping [from, to), whole. kFailedPrecondition, with
// nothing marked, where a protected range overlaps the range or any of those segments (a
// segment reaching into a held range is not erased either; the owner labels are in the
// message), or a segment in it is still being recorded.
Result<DeletionPlan> mark_range(Catalog& catalog, int64_t camera_id, int64_t from_utc_us,
                                int64_t to_utc_us);

enum class DeletionStep {
  kMarked,        // phase 1 committed: keys overwritten in the database (maybe still in the WAL)
  kCheckpointed,  // the WAL was copied back and truncated: the keys are gone
  kFileUnlinked,  // one file unlinked (segment id given)
  kRowsRemoved,   // the finished rows are gone
};
std::string_view deletion_step_name(DeletionStep step);

// Test seam for crash tests: called after each step; returning false abandons the deletion
// right there, as a crash would, leaving the state for recovery to finish.
using DeletionObserver = std::function<bool(DeletionStep step, int64_t segment_id)>;

struct FinishReport {
  int64_t files_removed = 0;  // files that existed and were unlinked
  int64_t rows_removed = 0;
  // false: a reader kept the WAL, so the rows stay `garbage` (keys already overwritten in the
  // database) and the next call tries again. Files are unlinked only after the checkpoint.
  bool checkpoint_complete = true;
  bool abandoned = false;  // the observer stopped it
};

// Phases 2–4 for every `garbage` row. kFailedPrecondition inside a transaction.
Result<FinishReport> finish_deletions(Catalog& catalog, const hal::Storage& storage,
                                      const DeletionObserver& observer = {});

// ---- The clock guard ----

enum class ClockProblem {
  kNone,
  kUnsynchronised,  // the clock says so itself (hal::Clock::sync_state)
  kJumped,          // the wall clock moved > 10 min against the monotonic clock while running
  kBehindFootage,   // the wall clock is before the newest footage
};
std::string_view clock_problem_name(ClockProblem problem);  // "none", "unsynchronised", …

struct ClockVerdict {
  ClockProblem problem = ClockProblem::kNone;
  std::string reason;  // a sentence for the alarm and the audit entry; empty when trusted
  int64_t now_utc_us = 0;
  int64_t drift_us = 0;  // wall minus monotonic time elapsed since the guard's baseline
  std::optional<int64_t> newest_footage_utc_us;
  // The clock jumped as it became synchronised: that is the clock being set, so it was
  // accepted as the new baseline.
  bool set_by_synchronisation = false;

  [[nodiscard]] bool trusted() const { return problem == ClockProblem::kNone; }
};

// Decides whether the wall clock may be used to delete footage. One guard lives as long as the
// process: its baseline (wall and monotonic time at construction) is what "jumped while
// running" is measured against. A jump is latched in the catalog (meta) so that a sweep by
// another process (the CLI) refuses too, until the wall clock returns to within the limit of
// the baseline (only the guard that saw the jump can tell) or a person confirms the clock with
// trust_clock(). An appliance switched off for weeks that comes back with a synchronised clock
// has seen no jump: it deletes its old footage normally.
class ClockGuard {
 public:
  ClockGuard(Catalog& catalog, const hal::Clock& clock);
  Result<ClockVerdict> check();
  // A person confirmed that the clock is right now: forgets a latched jump, takes this moment
  // as the baseline, and accepts footage stamped ahead of the clock by at most its present lead
  // (footage recorded while the clock was ahead stays stamped so, and the segmenter never
  // stamps new footage before the old). Persisted, so every process's guard honours it.
  Result<ClockVerdict> trust_clock();

 private:
  void rebaseline();
  Catalog& catalog_;
  const hal::Clock& clock_;
  int64_t base_wall_us_ = 0;
  int64_t base_monotonic_us_ = 0;
  bool seen_unsynchronised_ = false;
  bool jumped_here_ = false;
  bool trust_loaded_ = false;
  std::optional<std::string> seen_trust_;
};

}  // namespace yardwatch::recorder
