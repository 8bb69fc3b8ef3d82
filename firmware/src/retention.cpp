#include "yardwatch/firmware/retention.h"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>

#include "yardwatch/recorder/sqlite.h"

namespace yardwatch::firmware {

namespace {

using nlohmann::json;
using recorder::kDayUs;
using recorder::sql::Transaction;

constexpr int64_t kPauseIntervalUs = 60'000'000;

int effective_days(const recorder::Camera& camera, int64_t now) {
  const int retention = camera.spec.retention_days;
  if (!camera.space_deleted_through_utc_us) return retention;
  const int64_t kept = now - *camera.space_deleted_through_utc_us;
  if (kept >= int64_t{retention} * kDayUs) return retention;
  return static_cast<int>(std::max<int64_t>(0, kept / kDayUs));
}

// One audit entry per camera that lost footage: the deletion receipt. Called inside the
// transaction that marked the segments, so the receipt and the deletion commit together.
Result<std::vector<DeletionReceipt>> write_receipts(recorder::Catalog& catalog, AuditJournal& audit,
                                                    const recorder::DeletionPlan& plan,
                                                    const std::string& action,
                                                    const std::string& reason, const json& extra) {
  std::vector<DeletionReceipt> receipts;
  for (const auto& deletion : plan.per_camera()) {
    YW_ASSIGN_OR_RETURN(auto camera, catalog.camera_by_id(deletion.camera_id));
    DeletionReceipt receipt{deletion.camera_id, camera.spec.name,     deletion.segments,
                            deletion.bytes,     deletion.from_utc_us, deletion.to_utc_us};
    AuditEvent event;
    event.action = action;
    event.object_type = "camera";
    event.object_id = camera.spec.name;
    event.camera = camera.spec.name;
    event.range_from_utc_us = deletion.from_utc_us;
    event.range_to_utc_us = deletion.to_utc_us;
    event.reason = reason;
    json details = extra;
    details["segments"] = deletion.segments;
    details["bytes"] = deletion.bytes;
    details["retention_days"] = camera.spec.retention_days;
    event.details = details.dump();
    YW_TRY(audit.append(Actor::system(), event));
    receipts.push_back(std::move(receipt));
  }
  return receipts;
}

Status audit_system(AuditJournal& audit, const std::string& action, const std::string& reason,
                    const json& details, const std::string& camera = "") {
  AuditEvent event;
  event.action = action;
  event.object_type = camera.empty() ? "system" : "camera";
  event.object_id = camera;
  event.camera = camera;
  event.reason = reason;
  event.details = details.dump();
  YW_TRY(audit.append(Actor::system(), event));
  return {};
}

json clock_details(const recorder::ClockVerdict& verdict) {
  json details{{"problem", std::string(recorder::clock_problem_name(verdict.problem))},
               {"now", hal::format_iso8601_utc(verdict.now_utc_us)},
               {"drift_seconds", verdict.drift_us / 1'000'000}};
  details["newest_footage"] = verdict.newest_footage_utc_us
                                  ? json(hal::format_iso8601_utc(*verdict.newest_footage_utc_us))
                                  : json(nullptr);
  return details;
}

}  // namespace

RetentionService::RetentionService(recorder::Catalog& catalog, const hal::Storage& storage,
                                   const hal::Clock& clock, AuditJournal& audit, HoldService& holds)
    : catalog_(catalog),
      storage_(storage),
      clock_(clock),
      audit_(audit),
      holds_(holds),
      guard_(catalog, clock) {}

// Retention deletes nothing on a data volume that is missing, swapped or read-only
// (hal::Storage::check_volume): its catalog and files are not the ones the decision is about.
Status RetentionService::require_volume() const {
  if (const hal::VolumeHealth volume = storage_.check_volume(); !volume.writable()) {
    return make_error(ErrorKind::kUnavailable,
                      "data volume " + std::string(hal::volume_state_name(volume.state)) + ": " +
                          volume.message + "; retention deletes nothing until it is back");
  }
  return {};
}

Result<SweepReport> RetentionService::sweep(const SweepOptions& options) {
  YW_TRY(require_volume());
  SweepReport report;
  YW_ASSIGN_OR_RETURN(report.clock, guard_.check());
  const int64_t now = report.clock.now_utc_us;
  if (!report.clock.trusted()) {
    report.refused = true;
    std::lock_guard lock(catalog_.mutex());
    YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(catalog_.database()));
    YW_ASSIGN_OR_RETURN(bool changed,
                        catalog_.set_alarm(kAlarmRetentionClock, std::nullopt,
                                           "retention paused: " + report.clock.reason, now));
    if (changed || options.manual) {
      YW_TRY(audit_system(audit_, "retention_sweep_refused", report.clock.reason,
                          clock_details(report.clock)));
    }
    YW_TRY(transaction.commit());
    return report;
  }
  {
    std::lock_guard lock(catalog_.mutex());
    YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(catalog_.database()));
    YW_ASSIGN_OR_RETURN(bool cleared,
                        catalog_.clear_open_alarm(kAlarmRetentionClock, std::nullopt, now));
    if (cleared || report.clock.set_by_synchronisation) {
      YW_TRY(audit_system(audit_, "retention_resumed",
                          report.clock.set_by_synchronisation
                              ? "the clock was set when it became synchronised; that jump was "
                                "accepted and the clock is trusted again"
                              : "the clock is trusted again",
                          clock_details(report.clock)));
    }
    YW_TRY(transaction.commit());
  }

  YW_ASSIGN_OR_RETURN(auto expired, holds_.expire_requests());
  for (const auto& hold : expired) report.expired_requests.push_back(hold.id);

  {
    std::lock_guard lock(catalog_.mutex());
    YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(catalog_.database()));
    YW_ASSIGN_OR_RETURN(auto plan, recorder::mark_expired(catalog_, now));
    YW_ASSIGN_OR_RETURN(report.deleted,
                        write_receipts(catalog_, audit_, plan, "retention_sweep",
                                       "older than the camera's retention term and not held or "
                                       "restricted",
                                       json{{"now", hal::format_iso8601_utc(now)}}));
    YW_TRY(transaction.commit());
  }
  if (options.observer && !options.observer(recorder::DeletionStep::kMarked, 0)) {
    report.finished.abandoned = true;
    return report;
  }
  YW_ASSIGN_OR_RETURN(report.finished,
                      recorder::finish_deletions(catalog_, storage_, options.observer));
  YW_TRY(clear_reduced_retention_alarm(now));
  return report;
}

Status RetentionService::clear_reduced_retention_alarm(int64_t now) {
  YW_ASSIGN_OR_RETURN(auto cameras, catalog_.cameras(false));
  for (const auto& camera : cameras) {
    if (effective_days(camera, now) < camera.spec.retention_days) return {};
  }
  std::lock_guard lock(catalog_.mutex());
  YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(catalog_.database()));
  YW_ASSIGN_OR_RETURN(bool cleared,
                      catalog_.clear_open_alarm(kAlarmRetentionReduced, std::nullopt, now));
  if (cleared) {
    YW_TRY(audit_system(audit_, "retention_restored",
                        "every camera keeps its full retention term again", json::object()));
  }
  return transaction.commit();
}

Result<uint64_t> RetentionService::reserve_bytes(const SpaceReserve& reserve,
                                                 const std::map<int64_t, std::string>& paused) {
  double total = static_cast<double>(reserve.base_bytes);
  YW_ASSIGN_OR_RETURN(auto cameras, catalog_.cameras(false));
  for (const auto& camera : cameras) {
    if (paused.count(camera.id) != 0) continue;
    YW_ASSIGN_OR_RETURN(auto rate, catalog_.recent_bytes_per_second(camera.id));
    if (rate) total += *rate * static_cast<double>(reserve.bitrate_seconds);
  }
  return static_cast<uint64_t>(total);
}

Result<PressureOutcome> RetentionService::relieve_disk_pressure(
    const SpaceReserve& reserve, const std::map<int64_t, std::string>& paused) {
  YW_TRY(require_volume());  // another disk's free space says nothing about this one
  PressureOutcome outcome;
  YW_ASSIGN_OR_RETURN(outcome.free_bytes, storage_.free_bytes());
  YW_ASSIGN_OR_RETURN(outcome.reserve_bytes, reserve_bytes(reserve, paused));
  const int64_t now = clock_.now_utc_us();
  if (outcome.free_bytes >= outcome.reserve_bytes) {
    for (const auto& [camera_id, why] : paused) {
      std::lock_guard lock(catalog_.mutex());
      YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(catalog_.database()));
      YW_TRY(catalog_.clear_open_alarm(kAlarmRecordingPaused, camera_id, now));
      YW_ASSIGN_OR_RETURN(auto camera, catalog_.camera_by_id(camera_id));
      YW_TRY(audit_system(
          audit_, "recording_resumed", "free space is back above the reserve",
          json{{"free_bytes", outcome.free_bytes}, {"reserve_bytes", outcome.reserve_bytes}},
          camera.spec.name));
      YW_TRY(transaction.commit());
      outcome.resume_camera_ids.push_back(camera_id);
    }
    last_pause_monotonic_us_.reset();
    last_fruitless_monotonic_us_.reset();
    return outcome;
  }

  // When the last pass found nothing it may delete, the catalog holds only protected footage;
  // walking it again every few seconds would find the same, so that waits a minute.
  const int64_t monotonic = clock_.monotonic_us();
  const bool walk = !last_fruitless_monotonic_us_ ||
                    monotonic - *last_fruitless_monotonic_us_ >= kPauseIntervalUs;
  const uint64_t needed = outcome.reserve_bytes - outcome.free_bytes;
  recorder::DeletionPlan plan;
  if (walk) {
    std::lock_guard lock(catalog_.mutex());
    YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(catalog_.database()));
    YW_ASSIGN_OR_RETURN(plan, recorder::mark_oldest_for_space(catalog_, needed));
    if (!plan.empty()) {
      for (const auto& deletion : plan.per_camera()) {
        YW_TRY(catalog_.note_space_deletion(deletion.camera_id, deletion.to_utc_us));
      }
      int lowest = std::numeric_limits<int>::max();
      std::string lowest_camera;
      YW_ASSIGN_OR_RETURN(auto cameras, catalog_.cameras(true));
      for (const auto& camera : cameras) {
        const int days = effective_days(camera, now);
        if (days < camera.spec.retention_days && days < lowest) {
          lowest = days;
          lowest_camera = camera.spec.name;
        }
      }
      if (!lowest_camera.empty()) outcome.effective_retention_days = lowest;
      const std::string message =
          "disk pressure: the oldest footage that is not held or restricted is being deleted "
          "early to keep " +
          std::to_string(outcome.reserve_bytes >> 20) +
          " MiB free; the effective retention has dropped to " +
          (outcome.effective_retention_days ? std::to_string(*outcome.effective_retention_days)
                                            : std::string("?")) +
          " days (camera " + lowest_camera + ")";
      YW_TRY(catalog_.set_alarm(kAlarmRetentionReduced, std::nullopt, message, now));
      json extra{{"free_bytes", outcome.free_bytes}, {"reserve_bytes", outcome.reserve_bytes}};
      if (outcome.effective_retention_days) {
        extra["effective_retention_days"] = *outcome.effective_retention_days;
      }
      YW_ASSIGN_OR_RETURN(
          outcome.deleted,
          write_receipts(catalog_, audit_, plan, "footage_deleted_for_space", message, extra));
    }
    YW_TRY(transaction.commit());
  }
  if (!plan.empty()) YW_TRY(recorder::finish_deletions(catalog_, storage_));
  if (plan.bytes() >= needed) {
    last_fruitless_monotonic_us_.reset();
    return outcome;
  }
  if (walk && plan.empty()) last_fruitless_monotonic_us_ = monotonic;

  // Nothing more may go: everything left is held or restricted (or being recorded). Evidence is
  // never deleted for space; instead the lowest-priority camera stops, one per minute, the last
  // one never (it runs until the hard floor, --min-free-mb, stops it with a disk_full alarm).
  if (last_pause_monotonic_us_ && monotonic - *last_pause_monotonic_us_ < kPauseIntervalUs) {
    return outcome;
  }
  YW_ASSIGN_OR_RETURN(auto cameras, catalog_.cameras(false));
  std::vector<recorder::Camera> recording;
  for (const auto& camera : cameras) {
    if (paused.count(camera.id) == 0) recording.push_back(camera);
  }
  if (recording.size() <= 1) return outcome;
  const auto lowest = std::min_element(
      recording.begin(), recording.end(), [](const recorder::Camera& a, const recorder::Camera& b) {
        // Lowest priority first; among equals the most recently added.
        return a.spec.priority != b.spec.priority ? a.spec.priority < b.spec.priority : a.id > b.id;
      });
  outcome.pause_camera_id = lowest->id;
  outcome.pause_reason =
      "paused for space: the disk holds only held or restricted footage, which is never deleted "
      "for space; release holds, lift restrictions or add storage (lowest priority: " +
      std::to_string(lowest->spec.priority) + ")";
  {
    std::lock_guard lock(catalog_.mutex());
    YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(catalog_.database()));
    YW_TRY(catalog_.set_alarm(
        kAlarmRecordingPaused, lowest->id,
        "recording stopped on camera " + lowest->spec.name + ": " + outcome.pause_reason, now));
    YW_TRY(audit_system(audit_, "recording_paused_for_space", outcome.pause_reason,
                        json{{"free_bytes", outcome.free_bytes},
                             {"reserve_bytes", outcome.reserve_bytes},
                             {"priority", lowest->spec.priority}},
                        lowest->spec.name));
    YW_TRY(transaction.commit());
  }
  last_pause_monotonic_us_ = monotonic;
  return outcome;
}

Result<recorder::ClockVerdict> RetentionService::trust_clock(const Actor& by) {
  YW_ASSIGN_OR_RETURN(auto before, guard_.check());
  YW_ASSIGN_OR_RETURN(auto after, guard_.trust_clock());
  AuditEvent event;
  event.action = "clock_trusted";
  event.object_type = "system";
  event.reason = before.trusted() ? "the clock was already trusted" : before.reason;
  json details = clock_details(after);
  details["problem_before"] = std::string(recorder::clock_problem_name(before.problem));
  event.details = details.dump();
  YW_TRY(audit_.append(by, event));
  return after;
}

Result<RetentionStatus> RetentionService::status() {
  RetentionStatus status;
  YW_ASSIGN_OR_RETURN(status.clock, guard_.check());
  const int64_t now = status.clock.now_utc_us;
  YW_ASSIGN_OR_RETURN(auto cameras, catalog_.cameras(false));
  for (const auto& camera : cameras) {
    status.cameras.push_back(CameraRetention{
        camera.id, camera.spec.name, camera.spec.retention_days, effective_days(camera, now),
        camera.spec.priority, camera.space_deleted_through_utc_us});
  }
  YW_ASSIGN_OR_RETURN(status.overdue_holds, holds_.overdue());
  YW_ASSIGN_OR_RETURN(auto counts, holds_.open_counts());
  status.active_holds = counts.first;
  status.pending_requests = counts.second;
  std::lock_guard lock(catalog_.mutex());
  YW_ASSIGN_OR_RETURN(auto query, catalog_.database().prepare(
                                      "SELECT COUNT(*) FROM restrictions WHERE lifted_utc_us "
                                      "IS NULL"));
  YW_ASSIGN_OR_RETURN(bool has_row, query.step());
  status.restrictions_in_force = has_row ? query.column_int(0) : 0;
  return status;
}

}  // namespace yardwatch::firmware
