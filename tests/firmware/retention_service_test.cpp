// The retention service as yardwatchd runs it: deletion receipts, the clock guard's alarm and
// audit entries (a jump while running, on the in-process simulated clock), disk pressure
// (oldest unprotected first, protected never, the lowest-priority camera stopped when only
// protected footage is left), camera retention changes, and the schema.

#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>

#include "retention_fixture.h"
#include "yardwatch/firmware/cameras.h"
#include "yardwatch/firmware/retention.h"
#include "yardwatch/firmware/schema.h"

using namespace yardwatch;
using namespace yardwatch::firmware;
using namespace yardwatch::testing;
using nlohmann::json;

namespace {

const int64_t kStart = hal::parse_iso8601_utc_us("2026-10-05T09:00:00Z").value();

// A data volume of a given size: free space is the capacity minus the segment files on disk and
// whatever else `fill` claims (another program, a filler file).
class SmallDisk final : public hal::Storage {
 public:
  SmallDisk(const hal::Storage& real, uint64_t capacity) : real_(real), capacity_(capacity) {}
  void fill(uint64_t bytes) { other_ = bytes; }
  uint64_t used() const {
    uint64_t total = other_;
    for (const auto& entry :
         std::filesystem::recursive_directory_iterator(recorder::segments_root(data_dir()))) {
      if (entry.is_regular_file()) total += entry.file_size();
    }
    return total;
  }
  [[nodiscard]] const std::filesystem::path& data_dir() const override { return real_.data_dir(); }
  [[nodiscard]] Result<uint64_t> free_bytes() const override {
    const uint64_t in_use = used();
    return in_use >= capacity_ ? 0 : capacity_ - in_use;
  }
  [[nodiscard]] Result<uint64_t> total_bytes() const override { return capacity_; }
  [[nodiscard]] Status sync_file(int fd) const override { return real_.sync_file(fd); }
  [[nodiscard]] Status sync_directory(const std::filesystem::path& directory) const override {
    return real_.sync_directory(directory);
  }
  [[nodiscard]] hal::VolumeHealth check_volume() const override { return real_.check_volume(); }

 private:
  const hal::Storage& real_;
  uint64_t capacity_;
  uint64_t other_ = 0;
};

}  // namespace

TEST_CASE("R2: each sweep writes one deletion receipt per camera that lost footage",
          "[firmware][retention][R2][R6]") {
  RetentionFixture f(kStart);
  const int64_t yard = f.camera("yard");
  const int64_t gate = f.camera("gate", 7);
  for (int i = 0; i < 3; ++i) f.segment(yard, kStart + i * kHourUs);
  for (int i = 0; i < 2; ++i) f.segment(gate, kStart + i * kHourUs);

  f.clock().advance_us(8 * kDayUs);
  auto first = f.retention().sweep();
  REQUIRE(first.ok());
  REQUIRE(first.value().deleted.size() == 1);
  CHECK(first.value().deleted[0].camera == "gate");
  CHECK(first.value().deleted[0].segments == 2);
  CHECK(first.value().deleted[0].from_utc_us == kStart);
  CHECK(first.value().deleted[0].to_utc_us == kStart + 2 * kHourUs);
  CHECK(first.value().finished.rows_removed == 2);

  // Nothing expired: no receipt at all.
  REQUIRE(f.retention().sweep().ok());
  CHECK(f.entries("retention_sweep").size() == 1);

  f.clock().advance_us(21 * kDayUs);
  auto second = f.retention().sweep();
  REQUIRE(second.ok());
  REQUIRE(second.value().deleted.size() == 1);
  CHECK(second.value().deleted[0].camera == "yard");
  auto receipts = f.entries("retention_sweep");
  REQUIRE(receipts.size() == 2);
  for (const auto& receipt : receipts) {
    CHECK(receipt.actor.name == "system");
    CHECK(receipt.event.object_type == "camera");
    CHECK(receipt.event.range_from_utc_us == kStart);
  }
  CHECK(receipts[0].event.camera == "gate");
  CHECK(json::parse(receipts[0].event.details)["segments"] == 2);
  CHECK(json::parse(receipts[0].event.details)["retention_days"] == 7);
  CHECK(receipts[1].event.camera == "yard");
  CHECK(json::parse(receipts[1].event.details)["segments"] == 3);
  CHECK(receipts[1].event.range_to_utc_us == kStart + 3 * kHourUs);
  CHECK(f.check().empty());
  (void)gate;
  (void)yard;
}

TEST_CASE("R2: clock faults delete nothing, raise an alarm and say why in the audit journal",
          "[firmware][retention][R2][clock]") {
  RetentionFixture f(kStart);
  const int64_t yard = f.camera("yard", 1);
  const auto old_row = f.segment(yard, kStart - 3 * kDayUs);
  const auto newer_row = f.segment(yard, kStart - kHourUs);
  REQUIRE(f.retention().sweep().ok());  // the daemon's first sweep: the baseline
  CHECK(f.gone(old_row));

  SECTION("a jump of a year while running (the clock ahead)") {
    f.clock().advance_us(kMinuteUs);
    f.clock().jump_wall_clock_us(365 * kDayUs);
    auto refused = f.retention().sweep();
    REQUIRE(refused.ok());
    CHECK(refused.value().refused);
    CHECK(refused.value().clock.problem == recorder::ClockProblem::kJumped);
    CHECK(refused.value().deleted.empty());
    CHECK(f.exists(newer_row));
    CHECK(f.has_alarm(kAlarmRetentionClock));
    auto entries = f.entries("retention_sweep_refused");
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].event.reason.find("jumped ahead") != std::string::npos);
    CHECK(json::parse(entries[0].event.details)["problem"] == "jumped");
    // The daemon sweeps every minute: the same reason is not written again…
    f.clock().advance_us(kMinuteUs);
    REQUIRE(f.retention().sweep().value().refused);
    CHECK(f.entries("retention_sweep_refused").size() == 1);
    // …a sweep a person asks for is.
    SweepOptions manual;
    manual.manual = true;
    REQUIRE(f.retention().sweep(manual).value().refused);
    CHECK(f.entries("retention_sweep_refused").size() == 2);
    // A restart does not forget the jump (the latch is in the catalog).
    f.restart();
    CHECK(f.retention().sweep().value().refused);
    CHECK(f.exists(newer_row));
    // A person confirms the clock: audited, and the sweep deletes again.
    auto trusted = f.retention().trust_clock(Actor::console());
    REQUIRE(trusted.ok());
    CHECK(trusted.value().trusted());
    CHECK(f.entries("clock_trusted").size() == 1);
    auto resumed = f.retention().sweep();
    REQUIRE(resumed.ok());
    CHECK_FALSE(resumed.value().refused);
    CHECK(f.gone(newer_row));
    CHECK_FALSE(f.has_alarm(kAlarmRetentionClock));
    CHECK(f.entries("retention_resumed").size() == 1);
  }

  SECTION("an unsynchronised clock a year ahead") {
    f.clock().set_sync_state(hal::SyncState::kUnsynchronised);
    f.clock().advance_us(365 * kDayUs);
    auto refused = f.retention().sweep();
    REQUIRE(refused.ok());
    CHECK(refused.value().refused);
    CHECK(refused.value().clock.problem == recorder::ClockProblem::kUnsynchronised);
    CHECK(f.exists(newer_row));
    CHECK(f.has_alarm(kAlarmRetentionClock));
    CHECK(f.entries("retention_sweep_refused").size() == 1);
    f.clock().set_sync_state(hal::SyncState::kSynchronised);
    REQUIRE_FALSE(f.retention().sweep().value().refused);
    CHECK(f.gone(newer_row));
    CHECK_FALSE(f.has_alarm(kAlarmRetentionClock));
  }

  SECTION("a wall clock before the newest footage") {
    f.clock().jump_wall_clock_us(-5 * kMinuteUs);       // a small step back: not a jump
    f.segment(yard, f.clock().now_utc_us() + kHourUs);  // footage stamped an hour ahead
    auto refused = f.retention().sweep();
    REQUIRE(refused.ok());
    CHECK(refused.value().refused);
    CHECK(refused.value().clock.problem == recorder::ClockProblem::kBehindFootage);
    CHECK(f.exists(newer_row));
    CHECK(f.entries("retention_sweep_refused").back().event.reason.find("before the newest") !=
          std::string::npos);
  }
  CHECK(f.audit().verify().value().ok);
}

TEST_CASE(
    "disk pressure: oldest unprotected footage first, protected never, then the "
    "lowest-priority camera stops",
    "[firmware][retention][space]") {
  RetentionFixture f(kStart);
  const int64_t yard = f.camera("yard", 28, 80);
  const int64_t gate = f.camera("gate", 28, 20);
  const int64_t side = f.camera("side", 28, 20);  // same priority as gate, added later
  const auto director = f.person("directeur", Role::kDirector);
  std::vector<recorder::SegmentRow> rows;  // oldest first, cameras interleaved
  for (int i = 0; i < 4; ++i) {
    for (int64_t camera : {yard, gate, side}) {
      rows.push_back(f.segment(camera, kStart - 10 * kDayUs + i * kHourUs +
                                           (camera == yard   ? 0
                                            : camera == gate ? 1
                                                             : 2) *
                                               kMinuteUs));
    }
  }
  // A hold on yard's first two hours.
  REQUIRE(f.holds()
              .place(director, f.hold_spec({"yard"}, kStart - 10 * kDayUs,
                                           kStart - 10 * kDayUs + 90 * kMinuteUs))
              .ok());
  const uint64_t segment_bytes = rows[0].bytes;
  SmallDisk disk(f.storage(), 1 << 20);
  RetentionService service(f.catalog(), disk, f.clock(), f.audit(), f.holds());
  const SpaceReserve reserve{200'000, 0};
  std::map<int64_t, std::string> paused;

  // Plenty of room: nothing happens.
  auto calm = service.relieve_disk_pressure(reserve, paused);
  REQUIRE(calm.ok());
  CHECK(calm.value().deleted.empty());

  // Another program takes the space: two segments' worth must go, the oldest unprotected.
  disk.fill((1 << 20) - disk.used() - 200'000 + 2 * segment_bytes - 10);
  auto relieved = service.relieve_disk_pressure(reserve, paused);
  REQUIRE(relieved.ok());
  CHECK(f.exists(rows[0]));  // yard, held
  CHECK(f.gone(rows[1]));    // gate, oldest unprotected
  CHECK(f.gone(rows[2]));    // side
  CHECK(f.exists(rows[3]));  // yard's second hour: held
  CHECK(f.exists(rows[4]));
  REQUIRE(relieved.value().effective_retention_days);
  CHECK(*relieved.value().effective_retention_days == 9);
  CHECK(f.has_alarm(kAlarmRetentionReduced));
  const auto alarms = f.catalog().open_alarms().value();
  for (const auto& alarm : alarms) {
    if (alarm.kind == kAlarmRetentionReduced) {
      CHECK(alarm.message.find("effective retention has dropped to 9 days") != std::string::npos);
    }
  }
  auto receipts = f.entries("footage_deleted_for_space");
  REQUIRE(receipts.size() == 2);
  CHECK(json::parse(receipts[0].event.details)["effective_retention_days"] == 9);
  auto status = service.status();
  REQUIRE(status.ok());
  REQUIRE(status.value().cameras.size() == 3);  // by name: gate, side, yard
  CHECK(status.value().cameras[0].camera == "gate");
  CHECK(status.value().cameras[0].effective_retention_days == 9);
  CHECK(status.value().cameras[1].effective_retention_days == 9);
  CHECK(status.value().cameras[2].camera == "yard");
  CHECK(status.value().cameras[2].effective_retention_days == 28);  // yard lost nothing

  // Far too little space: everything unprotected goes, the held footage stays, and the
  // lowest-priority camera (side: gate's priority, added later) stops.
  disk.fill((1 << 20) - 50'000);
  auto squeezed = service.relieve_disk_pressure(reserve, paused);
  REQUIRE(squeezed.ok());
  CHECK(f.exists(rows[0]));
  CHECK(f.exists(rows[3]));
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i != 0 && i != 3) CHECK(f.gone(rows[i]));
  }
  REQUIRE(squeezed.value().pause_camera_id);
  CHECK(*squeezed.value().pause_camera_id == side);
  paused[side] = squeezed.value().pause_reason;
  CHECK(f.entries("recording_paused_for_space").size() == 1);
  CHECK(f.entries("recording_paused_for_space")[0].event.camera == "side");
  // Within the minute nothing more is stopped; after it, gate; yard, the last, never.
  f.clock().advance_us(30'000'000);
  CHECK_FALSE(service.relieve_disk_pressure(reserve, paused).value().pause_camera_id);
  f.clock().advance_us(31'000'000);
  auto next = service.relieve_disk_pressure(reserve, paused);
  REQUIRE(next.value().pause_camera_id);
  CHECK(*next.value().pause_camera_id == gate);
  paused[gate] = next.value().pause_reason;
  f.clock().advance_us(120'000'000);
  CHECK_FALSE(service.relieve_disk_pressure(reserve, paused).value().pause_camera_id);
  CHECK(f.exists(rows[0]));
  CHECK(f.exists(rows[3]));

  // Room again: both record again, their alarms cleared.
  disk.fill(0);
  auto back = service.relieve_disk_pressure(reserve, paused);
  REQUIRE(back.ok());
  CHECK(back.value().resume_camera_ids.size() == 2);
  CHECK_FALSE(f.has_alarm(kAlarmRecordingPaused));
  CHECK(f.entries("recording_resumed").size() == 2);

  // Once the early-deleted footage would have aged out anyway, the retention is whole again.
  f.clock().advance_us(20 * kDayUs);
  REQUIRE(service.sweep().ok());
  CHECK_FALSE(f.has_alarm(kAlarmRetentionReduced));
  CHECK(f.entries("retention_restored").size() == 1);
  CHECK(f.exists(rows[0]));  // still held
  CHECK(f.check().empty());
  CHECK(f.audit().verify().value().ok);
}

TEST_CASE("R2: a camera's retention may be shortened (next sweep) but not set past 28 days",
          "[firmware][retention][R2]") {
  RetentionFixture f(kStart);
  const int64_t yard = f.camera("yard");
  const auto row = f.segment(yard, kStart - 10 * kDayUs);
  REQUIRE(f.retention().sweep().ok());
  CHECK(f.exists(row));
  auto longer = update_camera(f.catalog(), f.audit(), Actor::console(), "yard", {29, std::nullopt});
  REQUIRE_FALSE(longer.ok());
  CHECK(longer.error().message.find("R2") != std::string::npos);
  CHECK(update_camera(f.catalog(), f.audit(), Actor::console(), "yard", {std::nullopt, 101})
            .error()
            .message.find("priority") != std::string::npos);
  auto shorter = update_camera(f.catalog(), f.audit(), Actor::console(), "yard", {7, 90});
  REQUIRE(shorter.ok());
  CHECK(shorter.value().spec.retention_days == 7);
  CHECK(f.catalog().camera_by_name("yard").value().spec.priority == 90);
  auto edits = f.entries("camera_edit");
  REQUIRE(edits.size() == 3);
  CHECK_FALSE(edits[0].event.allowed);
  CHECK(json::parse(edits[2].event.details)["previous_retention_days"] == 28);
  REQUIRE(f.retention().sweep().ok());
  CHECK(f.gone(row));
}

TEST_CASE("a catalog a recorder test made without the firmware's tables is never an appliance's",
          "[firmware][retention][schema]") {
  TempDir dir;
  {
    auto recorder_only = recorder::Catalog::open(dir / "catalog.db", true);
    REQUIRE(recorder_only.ok());
    CHECK(recorder_only.value()->protected_ranges(1, 0, 1).ok());
  }
  auto as_appliance = recorder::Catalog::open(dir / "catalog.db", false, firmware_migrations());
  REQUIRE_FALSE(as_appliance.ok());
  CHECK(as_appliance.error().kind == ErrorKind::kFailedPrecondition);
  // The appliance's own catalog reaches the newest version of both libraries' steps.
  auto appliance = recorder::Catalog::open(dir / "other.db", true, firmware_migrations());
  REQUIRE(appliance.ok());
  CHECK(appliance.value()->database().user_version().value() ==
        recorder::Catalog::latest_version(firmware_migrations()));
}
