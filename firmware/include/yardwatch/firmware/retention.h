#pragma once

// Retention as the appliance runs it (R2, R3, DESIGN §5; recorder/design/retention.md): the
// sweep that deletes expired footage with a deletion receipt per camera in the audit journal,
// the clock guard's alarm and audit entries, deleting the oldest footage early when the disk
// runs short (and stopping the lowest-priority camera when only protected footage is left),
// and what `yardwatch status` shows about it. The acts are the appliance's own (actor
// `system`); holds and restrictions (holds.h, subject_footage.h) are people's decisions.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "yardwatch/firmware/audit.h"
#include "yardwatch/firmware/holds.h"
#include "yardwatch/hal/clock.h"
#include "yardwatch/hal/storage.h"
#include "yardwatch/recorder/catalog.h"
#include "yardwatch/recorder/retention.h"

namespace yardwatch::firmware {

// Alarm kinds (the `alarms` table; shown by `yardwatch status`).
constexpr const char* kAlarmRetentionClock = "retention_clock";      // the sweep refuses
constexpr const char* kAlarmRetentionReduced = "retention_reduced";  // deleted early for space
constexpr const char* kAlarmRecordingPaused = "recording_paused";    // per camera, for space

// What one sweep or space deletion took from one camera (also its audit receipt).
struct DeletionReceipt {
  int64_t camera_id = 0;
  std::string camera;
  int64_t segments = 0;
  uint64_t bytes = 0;
  int64_t from_utc_us = 0;
  int64_t to_utc_us = 0;
};

struct SweepOptions {
  // A sweep asked for by a person (`yardwatch retention sweep`): a refusal is audited every
  // time, not only when the reason changes.
  bool manual = false;
  // Test seam (crash tests): see recorder::DeletionObserver. Also told kMarked.
  recorder::DeletionObserver observer;
};

struct SweepReport {
  recorder::ClockVerdict clock;
  bool refused = false;  // the clock guard refused: nothing was deleted
  std::vector<DeletionReceipt> deleted;
  std::vector<int64_t> expired_requests;  // hold requests that lapsed after 72 hours
  recorder::FinishReport finished;        // garbage rows finished (this sweep's and older)
};

// The free space below which the oldest footage is deleted early: by default 1 GiB plus two
// minutes of every recording camera's measured bitrate.
struct SpaceReserve {
  uint64_t base_bytes = uint64_t{1} << 30;
  int64_t bitrate_seconds = 120;
};

struct PressureOutcome {
  uint64_t free_bytes = 0;
  uint64_t reserve_bytes = 0;
  std::vector<DeletionReceipt> deleted;
  std::optional<int> effective_retention_days;  // after deleting early
  // Only protected footage is left and space is still short: stop recording this camera (the
  // lowest-priority one still recording; never the last one). The alarm and the audit entry
  // are written; the daemon stops it.
  std::optional<int64_t> pause_camera_id;
  std::string pause_reason;
  // Free space is back above the reserve: record these again (alarms cleared, audited).
  std::vector<int64_t> resume_camera_ids;
};

struct CameraRetention {
  int64_t camera_id = 0;
  std::string camera;
  int retention_days = 28;
  int effective_retention_days = 28;  // lower while footage deleted early for space is missing
  int priority = 50;
  std::optional<int64_t> space_deleted_through_utc_us;
};

struct RetentionStatus {
  recorder::ClockVerdict clock;
  std::vector<CameraRetention> cameras;
  std::vector<Hold> overdue_holds;
  int64_t active_holds = 0;
  int64_t pending_requests = 0;
  int64_t restrictions_in_force = 0;
};

class RetentionService {
 public:
  RetentionService(recorder::Catalog& catalog, const hal::Storage& storage, const hal::Clock& clock,
                   AuditJournal& audit, HoldService& holds);

  // The sweep and disk pressure refuse with kUnavailable, deleting nothing, while the data
  // volume is missing, swapped or read-only (hal::Storage::check_volume).
  //
  // The sweep (yardwatchd every minute; `yardwatch retention sweep`). If the clock guard does
  // not trust the clock: nothing is deleted, the `retention_clock` alarm says why, and a
  // `retention_sweep_refused` entry too (when the reason is new, or always for a manual
  // sweep). Otherwise: lapsed hold requests expire, every expired unprotected segment is
  // marked and one `retention_sweep` receipt per camera that lost footage is written in the
  // same transaction, then the deletions are finished (recorder::finish_deletions).
  Result<SweepReport> sweep(const SweepOptions& options = {});

  // Disk pressure (yardwatchd, every few seconds). `paused`: cameras the daemon stopped for
  // space. Deleting early needs no trusted clock: it goes by age order, not by date.
  Result<PressureOutcome> relieve_disk_pressure(const SpaceReserve& reserve,
                                                const std::map<int64_t, std::string>& paused);
  // The reserve for the cameras recording now (removed and paused ones do not count).
  Result<uint64_t> reserve_bytes(const SpaceReserve& reserve,
                                 const std::map<int64_t, std::string>& paused);

  // A person at the console confirms the clock (recorder::ClockGuard::trust_clock); audited
  // `clock_trusted` with what was accepted.
  Result<recorder::ClockVerdict> trust_clock(const Actor& by);

  Result<RetentionStatus> status();

 private:
  [[nodiscard]] Status require_volume() const;
  Status clear_reduced_retention_alarm(int64_t now);

  recorder::Catalog& catalog_;
  const hal::Storage& storage_;
  const hal::Clock& clock_;
  AuditJournal& audit_;
  HoldService& holds_;
  recorder::ClockGuard guard_;
  std::optional<int64_t> last_pause_monotonic_us_;
  std::optional<int64_t> last_fruitless_monotonic_us_;
};

}  // namespace yardwatch::firmware
