// Retention in the recorder (recorder/design/retention.md) on a real SQLite catalog and real
// encrypted segment files: which segments expire, cryptographic deletion (no key bytes left
// anywhere), crashes in the middle of a deletion (a real SIGKILL in a child process), erasure
// and space deletion around protected ranges, and the clock guard.

#include "yardwatch/recorder/retention.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>
#include <set>

#include "segment_fixture.h"
#include "test_support.h"
#include "yardwatch/hal/clock.h"
#include "yardwatch/hal/key_store.h"
#include "yardwatch/hal/storage.h"
#include "yardwatch/recorder/catalog.h"
#include "yardwatch/recorder/data_dir.h"
#include "yardwatch/recorder/recovery.h"

namespace yardwatch::recorder {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

constexpr int64_t kMinute = 60'000'000;
constexpr int64_t kHour = 60 * kMinute;
const int64_t kT0 = hal::parse_iso8601_utc_us("2026-09-01T08:00:00Z").value();

class Fixture {
 public:
  Fixture() {
    data_ = dir_ / "data";
    fs::create_directories(segments_root(data_));
    auto keys = hal::FileKeyStore::create(dir_ / "keys");
    REQUIRE(keys.ok());
    keys_ = std::move(keys).value();
    storage_ = std::make_unique<hal::DirectoryStorage>(data_);
    open();
  }

  void open() {
    auto catalog = Catalog::open(catalog_path(data_), true);
    REQUIRE(catalog.ok());
    catalog_ = std::move(catalog).value();
  }
  void close() { catalog_.reset(); }

  Catalog& catalog() { return *catalog_; }
  const hal::Storage& storage() const { return *storage_; }
  const hal::KeyStore& keys() const { return *keys_; }
  const fs::path& data() const { return data_; }

  int64_t camera(const std::string& name, int retention_days = 28) {
    CameraSpec spec;
    spec.name = name;
    spec.url = "rtsp://127.0.0.1:1/" + name;
    spec.zone = "schoolyard";
    spec.retention_days = retention_days;
    auto added = catalog_->add_camera(spec, kT0 - 100 * kHour);
    REQUIRE(added.ok());
    return added.value().id;
  }

  SegmentRow segment(int64_t camera_id, int64_t start, int64_t duration = kHour) {
    return testing::write_test_segment(*catalog_, *storage_, *keys_, camera_id, start, duration);
  }

  bool file_exists(const SegmentRow& row) const {
    return fs::exists(segment_path(data_, row.camera_id, row.id));
  }
  bool row_exists(const SegmentRow& row) {
    auto found = catalog_->segment(row.id);
    REQUIRE(found.ok());
    return found.value().has_value();
  }
  // The segment is really gone: no row, no file.
  bool gone(const SegmentRow& row) { return !row_exists(row) && !file_exists(row); }
  bool intact(const SegmentRow& row) {
    auto found = catalog_->segment(row.id);
    REQUIRE(found.ok());
    return found.value().has_value() && found.value()->state == SegmentState::kComplete &&
           file_exists(row);
  }

  std::vector<CheckViolation> check(bool running = false) {
    auto violations = check_data_dir(*catalog_, *storage_, *keys_, running);
    REQUIRE(violations.ok());
    for (const auto& v : violations.value()) UNSCOPED_INFO("rule " << v.rule << ": " << v.detail);
    return violations.value();
  }

  // Marks what expired at `now` and finishes the deletion.
  DeletionPlan sweep(int64_t now) {
    auto plan = mark_expired(*catalog_, now);
    REQUIRE(plan.ok());
    auto finished = finish_deletions(*catalog_, *storage_);
    REQUIRE(finished.ok());
    CHECK(finished.value().checkpoint_complete);
    return plan.value();
  }

 private:
  TempDir dir_{"yw-retention"};
  fs::path data_;
  std::unique_ptr<hal::FileKeyStore> keys_;
  std::unique_ptr<hal::DirectoryStorage> storage_;
  std::unique_ptr<Catalog> catalog_;
};

std::set<int64_t> ids_of(const DeletionPlan& plan) {
  std::set<int64_t> ids;
  for (const auto& segment : plan.segments) ids.insert(segment.id);
  return ids;
}

}  // namespace

TEST_CASE("R2: the sweep deletes exactly what expired and nothing a protected range touches",
          "[recorder][retention][R2]") {
  Fixture f;
  const int64_t yard = f.camera("yard", 28);
  const int64_t gate = f.camera("gate", 7);
  const auto s1 = f.segment(yard, kT0);
  const auto s2 = f.segment(yard, kT0 + kHour);
  const auto s3 = f.segment(yard, kT0 + 2 * kHour);
  const auto s4 = f.segment(yard, kT0 + 3 * kHour);
  const auto s5 = f.segment(yard, kT0 + 10 * kDayUs);
  const auto g1 = f.segment(gate, kT0);
  const auto g2 = f.segment(gate, kT0 + 5 * kDayUs);
  // A hold from the middle of s2 to the middle of s3: both are kept whole.
  auto hold =
      f.catalog().add_protected_range(yard, kT0 + 90 * kMinute, kT0 + 150 * kMinute, "hold:1", kT0);
  REQUIRE(hold.ok());

  // Eight days later only the 7-day camera's first segment has expired.
  auto plan = f.sweep(kT0 + 4 * kHour + 8 * kDayUs);
  CHECK(ids_of(plan) == std::set<int64_t>{g1.id});
  CHECK(f.gone(g1));
  CHECK(f.intact(g2));
  for (const auto& row : {s1, s2, s3, s4, s5}) CHECK(f.intact(row));

  // 28 days after s4 ended: s1 and s4 go, s2 and s3 stay for the hold, s5 is young.
  const int64_t later = kT0 + 4 * kHour + 28 * kDayUs + kMinute;
  plan = f.sweep(later);
  CHECK(ids_of(plan) == std::set<int64_t>{s1.id, s4.id, g2.id});
  const auto receipts = plan.per_camera();
  REQUIRE(receipts.size() == 2);
  CHECK(receipts[0].camera_id == yard);
  CHECK(receipts[0].segments == 2);
  CHECK(receipts[0].from_utc_us == s1.start_utc_us);
  CHECK(receipts[0].to_utc_us == s4.end_utc_us);
  CHECK(receipts[0].bytes == s1.bytes + s4.bytes);
  CHECK(receipts[1].camera_id == gate);
  CHECK(f.gone(s1));
  CHECK(f.gone(s4));
  CHECK(f.intact(s2));
  CHECK(f.intact(s3));
  CHECK(f.intact(s5));
  CHECK(f.check().empty());

  // The same sweep again finds nothing; once the hold goes, s2 and s3 go too.
  CHECK(f.sweep(later).empty());
  REQUIRE(f.catalog().remove_protected_range(hold.value()).ok());
  plan = f.sweep(later);
  CHECK(ids_of(plan) == std::set<int64_t>{s2.id, s3.id});
  CHECK(f.gone(s2));
  CHECK(f.gone(s3));
  CHECK(f.intact(s5));
  CHECK(f.check().empty());
}

TEST_CASE("R2: retention ends exactly at the term, and touching a protected range is not overlap",
          "[recorder][retention][R2]") {
  Fixture f;
  const int64_t yard = f.camera("yard", 7);
  const auto before = f.segment(yard, kT0 - kHour);          // ends where the hold starts
  const auto inside = f.segment(yard, kT0);                  // inside the hold
  const auto after = f.segment(yard, kT0 + kHour);           // starts where the hold ends
  const auto straddling = f.segment(yard, kT0 + 3 * kHour);  // overlaps the second hold's start
  REQUIRE(f.catalog().add_protected_range(yard, kT0, kT0 + kHour, "hold:1", kT0).ok());
  REQUIRE(f.catalog()
              .add_protected_range(yard, kT0 + 3 * kHour + kMinute, kT0 + 5 * kHour, "hold:2", kT0)
              .ok());

  // At exactly end + 7 days the last segment is not yet older than the term.
  const int64_t term_of_after = after.end_utc_us + 7 * kDayUs;
  auto plan = f.sweep(term_of_after);
  CHECK(ids_of(plan) == std::set<int64_t>{before.id});
  plan = f.sweep(term_of_after + 1);
  CHECK(ids_of(plan) == std::set<int64_t>{after.id});
  plan = f.sweep(straddling.end_utc_us + 30 * kDayUs);
  CHECK(plan.empty());
  CHECK(f.intact(inside));
  CHECK(f.intact(straddling));
  CHECK(f.check().empty());
}

TEST_CASE("R3: after a deletion the key bytes are found nowhere in the data directory",
          "[recorder][retention][R3]") {
  Fixture f;
  const int64_t yard = f.camera("yard", 1);
  std::vector<SegmentRow> old_rows;
  for (int i = 0; i < 6; ++i) old_rows.push_back(f.segment(yard, kT0 + i * kHour));
  const auto young = f.segment(yard, kT0 + 10 * kDayUs);
  // The search works: before the sweep every wrapped key is in the catalog or its WAL.
  for (const auto& row : old_rows) {
    INFO("segment " << row.id);
    REQUIRE(row.wrapped_key.size() >= 32);
    CHECK_FALSE(testing::files_containing(f.data(), row.wrapped_key).empty());
  }

  auto plan = f.sweep(kT0 + 3 * kDayUs);
  CHECK(plan.segments.size() == old_rows.size());
  for (const auto& row : old_rows) {
    INFO("segment " << row.id);
    CHECK(f.gone(row));
    const auto found = testing::files_containing(f.data(), row.wrapped_key);
    for (const auto& path : found) UNSCOPED_INFO("key bytes still in " << path);
    CHECK(found.empty());
  }
  // The segment that stays keeps its key, and it still decrypts.
  CHECK_FALSE(testing::files_containing(f.data(), young.wrapped_key).empty());
  CHECK(f.check().empty());
  // …also after the catalog is closed and opened again (nothing comes back from a journal).
  f.close();
  f.open();
  for (const auto& row : old_rows)
    CHECK(testing::files_containing(f.data(), row.wrapped_key).empty());
}

namespace {

// Runs a sweep in a child process that SIGKILLs itself right after `step` (a real crash: no
// destructor, no SQLite close), and returns the rows it had marked.
void crash_child_at(Fixture& f, DeletionStep step, int64_t now) {
  f.close();  // SQLite connections must not cross a fork
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    auto catalog = Catalog::open(catalog_path(f.data()), false);
    if (!catalog.ok()) ::_exit(10);
    auto plan = mark_expired(*catalog.value(), now);
    if (!plan.ok() || plan.value().empty()) ::_exit(11);
    if (step == DeletionStep::kMarked) ::raise(SIGKILL);
    auto finished =
        finish_deletions(*catalog.value(), f.storage(), [step](DeletionStep at, int64_t) {
          if (at == step) ::raise(SIGKILL);
          return true;
        });
    ::_exit(finished.ok() ? 12 : 13);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  INFO("child exit status " << status);
  REQUIRE(WIFSIGNALED(status));
  REQUIRE(WTERMSIG(status) == SIGKILL);
  f.open();
}

}  // namespace

TEST_CASE(
    "a deletion killed between key removal and unlink, or unlink and row removal, is "
    "finished by recovery",
    "[recorder][retention][crash]") {
  const auto step =
      GENERATE(DeletionStep::kMarked, DeletionStep::kCheckpointed, DeletionStep::kFileUnlinked);
  INFO("killed after " << deletion_step_name(step));
  Fixture f;
  const int64_t yard = f.camera("yard", 1);
  std::vector<SegmentRow> rows;
  for (int i = 0; i < 4; ++i) rows.push_back(f.segment(yard, kT0 + i * kHour));
  const auto young = f.segment(yard, kT0 + 10 * kDayUs);

  crash_child_at(f, step, kT0 + 3 * kDayUs);
  // The crash left rows in `garbage` without their keys, and (at most) some files gone.
  auto garbage = f.catalog().segments_in_state(SegmentState::kGarbage);
  REQUIRE(garbage.ok());
  CHECK(garbage.value().size() == rows.size());
  for (const auto& row : garbage.value()) CHECK(row.wrapped_key.empty());
  const auto files_left = std::count_if(rows.begin(), rows.end(),
                                        [&](const SegmentRow& r) { return f.file_exists(r); });
  CHECK(files_left == (step == DeletionStep::kFileUnlinked ? 3 : 4));
  // What a half-done deletion looks like to the checker while nothing runs: rule 5.
  auto violations = f.check();
  CHECK(std::any_of(violations.begin(), violations.end(),
                    [](const CheckViolation& v) { return v.rule == 5; }));

  // The next start finishes it.
  auto report = recover_data_dir(f.catalog(), f.storage(), f.keys());
  REQUIRE(report.ok());
  CHECK(report.value().garbage_finished == static_cast<int>(rows.size()));
  for (const auto& row : rows) {
    CHECK(f.gone(row));
    CHECK(testing::files_containing(f.data(), row.wrapped_key).empty());
  }
  CHECK(f.intact(young));
  CHECK(f.check().empty());
}

TEST_CASE("the checker: a garbage row that still holds its key breaks rule 5",
          "[recorder][retention]") {
  Fixture f;
  const int64_t yard = f.camera("yard");
  const auto row = f.segment(yard, kT0);
  {
    std::lock_guard lock(f.catalog().mutex());
    auto update = f.catalog().database().prepare(
        "UPDATE segments SET state = 'garbage' WHERE id = ?1");  // what older code did
    REQUIRE(update.ok());
    REQUIRE(update.value().bind(1, row.id).run().ok());
  }
  auto violations = f.check(/*running=*/true);
  REQUIRE(violations.size() == 1);
  CHECK(violations[0].rule == 5);
  CHECK(violations[0].detail.find("still holds its wrapped key") != std::string::npos);
  // finish_deletions destroys such a key before anything else.
  auto finished = finish_deletions(f.catalog(), f.storage());
  REQUIRE(finished.ok());
  CHECK(finished.value().rows_removed == 1);
  CHECK(f.gone(row));
  CHECK(f.check().empty());
}

TEST_CASE("R7: erasing a range takes whole segments, never protected or growing ones",
          "[recorder][retention][R7]") {
  Fixture f;
  const int64_t yard = f.camera("yard");
  const auto a = f.segment(yard, kT0);
  const auto b = f.segment(yard, kT0 + kHour);
  const auto c = f.segment(yard, kT0 + 2 * kHour);
  const auto d = f.segment(yard, kT0 + 3 * kHour);
  REQUIRE(f.catalog()
              .add_protected_range(yard, kT0 + 3 * kHour + kMinute, kT0 + 4 * kHour,
                                   "restriction:4", kT0)
              .ok());

  // Refused where protected: nothing is marked.
  auto refused = mark_range(f.catalog(), yard, kT0 + 150 * kMinute, kT0 + 200 * kMinute);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::kFailedPrecondition);
  CHECK(refused.error().message.find("restriction:4") != std::string::npos);
  CHECK(f.intact(c));

  // From the middle of a to the middle of b: both go whole; touching c's start does not count.
  auto plan = mark_range(f.catalog(), yard, kT0 + 30 * kMinute, kT0 + 2 * kHour);
  REQUIRE(plan.ok());
  CHECK(ids_of(plan.value()) == std::set<int64_t>{a.id, b.id});
  REQUIRE(finish_deletions(f.catalog(), f.storage()).ok());
  CHECK(f.gone(a));
  CHECK(f.gone(b));
  CHECK(f.intact(c));
  CHECK(f.intact(d));

  // A segment still being recorded is never erased under the recorder's feet.
  auto open =
      testing::begin_test_segment(f.catalog(), f.storage(), f.keys(), yard, kT0 + 5 * kHour, kHour);
  auto growing = mark_range(f.catalog(), yard, kT0 + 5 * kHour, kT0 + 7 * kHour);
  REQUIRE_FALSE(growing.ok());
  CHECK(growing.error().message.find("still being recorded") != std::string::npos);
  CHECK(f.row_exists(open.row));
  CHECK_FALSE(mark_range(f.catalog(), yard, kT0, kT0).ok());
}

TEST_CASE("for space, the oldest unprotected footage of all cameras goes first, protected never",
          "[recorder][retention][space]") {
  Fixture f;
  const int64_t yard = f.camera("yard");
  const int64_t gate = f.camera("gate");
  const auto y1 = f.segment(yard, kT0);
  const auto g1 = f.segment(gate, kT0 + 10 * kMinute);
  const auto y2 = f.segment(yard, kT0 + kHour);
  const auto g2 = f.segment(gate, kT0 + kHour + 10 * kMinute);
  const auto y3 = f.segment(yard, kT0 + 2 * kHour);
  REQUIRE(f.catalog().add_protected_range(yard, kT0, kT0 + 30 * kMinute, "hold:1", kT0).ok());

  // Enough for two segments: g1 and y2 (y1 is older but held).
  auto plan = mark_oldest_for_space(f.catalog(), g1.bytes + 1);
  REQUIRE(plan.ok());
  std::vector<int64_t> order;
  for (const auto& s : plan.value().segments) order.push_back(s.id);
  CHECK(order == std::vector<int64_t>{g1.id, y2.id});
  REQUIRE(finish_deletions(f.catalog(), f.storage()).ok());
  // Asking for everything takes everything unprotected, oldest first, and leaves the hold.
  plan = mark_oldest_for_space(f.catalog(), UINT64_MAX);
  REQUIRE(plan.ok());
  order.clear();
  for (const auto& s : plan.value().segments) order.push_back(s.id);
  CHECK(order == std::vector<int64_t>{g2.id, y3.id});
  REQUIRE(finish_deletions(f.catalog(), f.storage()).ok());
  CHECK(f.intact(y1));
  for (const auto& row : {g1, y2, g2, y3}) CHECK(f.gone(row));
  CHECK(f.check().empty());
}

TEST_CASE("clock guard: unsynchronised, a jump while running, or behind the footage is refused",
          "[recorder][retention][clock]") {
  Fixture f;
  const int64_t yard = f.camera("yard");
  const auto newest = f.segment(yard, kT0);
  hal::SimulatedClock clock(newest.end_utc_us + 30 * kDayUs);
  ClockGuard guard(f.catalog(), clock);
  auto verdict = guard.check();
  REQUIRE(verdict.ok());
  CHECK(verdict.value().trusted());

  SECTION("an unsynchronised clock") {
    clock.set_sync_state(hal::SyncState::kUnsynchronised);
    verdict = guard.check();
    CHECK(verdict.value().problem == ClockProblem::kUnsynchronised);
    CHECK(verdict.value().reason.find("unsynchronised") != std::string::npos);
    clock.set_sync_state(hal::SyncState::kSynchronised);
    CHECK(guard.check().value().trusted());
  }

  SECTION("a jump of more than ten minutes is latched for every process until it comes back") {
    clock.advance_us(kHour);
    clock.jump_wall_clock_us(9 * kMinute);  // within the limit
    CHECK(guard.check().value().trusted());
    clock.jump_wall_clock_us(365 * kDayUs);
    verdict = guard.check();
    CHECK(verdict.value().problem == ClockProblem::kJumped);
    CHECK(verdict.value().reason.find("jumped ahead") != std::string::npos);
    // Another process (a new guard) sees the latch, though it saw no jump itself.
    CHECK(ClockGuard(f.catalog(), clock).check().value().problem == ClockProblem::kJumped);
    // The wall clock comes back: the guard that saw the jump releases the latch.
    clock.jump_wall_clock_us(-365 * kDayUs);
    CHECK(guard.check().value().trusted());
    CHECK(ClockGuard(f.catalog(), clock).check().value().trusted());
    // Backwards counts too.
    clock.jump_wall_clock_us(-20 * kMinute);  // 9 min ahead before: now 11 min behind
    verdict = guard.check();
    CHECK(verdict.value().problem == ClockProblem::kJumped);
    CHECK(verdict.value().reason.find("jumped back") != std::string::npos);
  }

  SECTION("a person confirms the clock after a jump") {
    clock.jump_wall_clock_us(2 * kDayUs);
    CHECK(guard.check().value().problem == ClockProblem::kJumped);
    ClockGuard console(f.catalog(), clock);
    REQUIRE(console.trust_clock().ok());
    // The daemon's guard takes the confirmation as its new baseline.
    CHECK(guard.check().value().trusted());
    clock.advance_us(kHour);
    CHECK(guard.check().value().trusted());
  }

  SECTION("a jump that comes with synchronisation is the clock being set") {
    clock.set_sync_state(hal::SyncState::kUnsynchronised);
    CHECK_FALSE(guard.check().value().trusted());
    clock.jump_wall_clock_us(3 * kHour);
    CHECK_FALSE(guard.check().value().trusted());
    clock.set_sync_state(hal::SyncState::kSynchronised);
    verdict = guard.check();
    CHECK(verdict.value().trusted());
    CHECK(verdict.value().set_by_synchronisation);
  }

  SECTION("a wall clock before the newest footage") {
    hal::SimulatedClock behind(newest.end_utc_us - kDayUs);
    ClockGuard fresh(f.catalog(), behind);
    verdict = fresh.check();
    CHECK(verdict.value().problem == ClockProblem::kBehindFootage);
    CHECK(verdict.value().newest_footage_utc_us == newest.end_utc_us);
    // A minute of slack for fragments stamped from media time…
    hal::SimulatedClock close(newest.end_utc_us - 30'000'000);
    CHECK(ClockGuard(f.catalog(), close).check().value().trusted());
    // …and a confirmed clock accepts the footage's present lead, not more.
    REQUIRE(fresh.trust_clock().value().trusted());
    CHECK(ClockGuard(f.catalog(), behind).check().value().trusted());
    f.segment(yard, newest.end_utc_us + kDayUs);  // recorded further ahead since
    CHECK(ClockGuard(f.catalog(), behind).check().value().problem == ClockProblem::kBehindFootage);
  }
}

TEST_CASE("clock guard: back after the summer holiday with a synchronised clock, it deletes",
          "[recorder][retention][clock]") {
  Fixture f;
  const int64_t yard = f.camera("yard");
  const auto june = f.segment(yard, kT0);
  // Switched off in June, switched on ten weeks later: a new process, no jump seen while
  // running, the clock synchronised.
  hal::SimulatedClock september(june.end_utc_us + 70 * kDayUs);
  ClockGuard guard(f.catalog(), september);
  auto verdict = guard.check();
  REQUIRE(verdict.ok());
  CHECK(verdict.value().trusted());
  auto plan = f.sweep(verdict.value().now_utc_us);
  CHECK(ids_of(plan) == std::set<int64_t>{june.id});
  CHECK(f.gone(june));
}

}  // namespace yardwatch::recorder
