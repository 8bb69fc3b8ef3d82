// Incident holds (R2, DESIGN §5): who may place, request, confirm, reject, extend and release
// them, what they keep, the review-by rules, and that every step is audited in the same
// transaction as its effect. Real catalog, real segment files, simulated clock.

#include "yardwatch/firmware/holds.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "retention_fixture.h"

using namespace yardwatch;
using namespace yardwatch::firmware;
using namespace yardwatch::testing;

namespace {

const int64_t kStart = hal::parse_iso8601_utc_us("2026-10-05T09:00:00Z").value();

struct People {
  Principal director;
  Principal viewer;  // assigned to "yard" only
  Principal admin;
  Principal privacy;
};

People people(RetentionFixture& f, int64_t yard) {
  return People{f.person("directeur", Role::kDirector),
                f.person("conciergejan", Role::kViewer, {yard}),
                f.person("beheerder", Role::kAdmin), f.person("fg", Role::kPrivacyOfficer)};
}

}  // namespace

TEST_CASE("R2: a director's hold keeps footage past retention until released, every step audited",
          "[firmware][holds][R2][R6]") {
  RetentionFixture f(kStart);
  const int64_t yard = f.camera("yard");
  const int64_t gate = f.camera("gate");
  const auto who = people(f, yard);
  std::vector<recorder::SegmentRow> yard_rows;
  for (int i = 0; i < 4; ++i) yard_rows.push_back(f.segment(yard, kStart + i * kHourUs));
  const auto gate_row = f.segment(gate, kStart);

  // Hold the middle two hours of both cameras.
  auto hold = f.holds().place(
      who.director, f.hold_spec({"yard", "gate"}, kStart + kHourUs, kStart + 3 * kHourUs));
  REQUIRE(hold.ok());
  CHECK(hold.value().state == HoldState::kActive);
  CHECK(hold.value().cameras == std::vector<std::string>{"gate", "yard"});
  CHECK(hold.value().created_by == "directeur");
  CHECK_FALSE(hold.value().pending_until_utc_us);
  auto placed = f.entries("hold_place");
  REQUIRE(placed.size() == 1);
  CHECK(placed[0].actor.name == "directeur");
  CHECK(placed[0].event.object_id == std::to_string(hold.value().id));
  CHECK(placed[0].event.camera == "gate,yard");
  CHECK(placed[0].event.range_from_utc_us == kStart + kHourUs);
  CHECK(placed[0].event.purpose == "fight at the bicycle shed, parents informed");
  CHECK(nlohmann::json::parse(placed[0].event.details)["case"] == "2026-017");

  // 29 days on: the sweep takes only what the hold does not touch.
  f.clock().advance_us(29 * kDayUs);
  auto sweep = f.retention().sweep();
  REQUIRE(sweep.ok());
  CHECK_FALSE(sweep.value().refused);
  CHECK(f.gone(yard_rows[0]));
  CHECK(f.exists(yard_rows[1]));
  CHECK(f.exists(yard_rows[2]));
  CHECK(f.gone(yard_rows[3]));
  CHECK(f.gone(gate_row));  // gate's footage was 0–1 h: outside the hold

  // A viewer may not release; a director does, and the next sweep takes the rest.
  auto denied = f.holds().release(who.viewer, hold.value().id);
  REQUIRE_FALSE(denied.ok());
  CHECK(denied.error().kind == ErrorKind::kPermissionDenied);
  auto released = f.holds().release(who.director, hold.value().id, "case closed");
  REQUIRE(released.ok());
  CHECK(released.value().state == HoldState::kReleased);
  CHECK(released.value().released_by == "directeur");
  CHECK(f.entries("hold_release").size() == 2);  // the denial and the release
  CHECK(f.exists(yard_rows[1]));                 // nothing is deleted by the release itself
  REQUIRE(f.retention().sweep().ok());
  CHECK(f.gone(yard_rows[1]));
  CHECK(f.gone(yard_rows[2]));
  CHECK(f.check().empty());
  // A released hold cannot be released again or extended.
  CHECK(f.holds().release(who.director, hold.value().id).error().kind ==
        ErrorKind::kFailedPrecondition);
  CHECK_FALSE(
      f.holds().extend(who.director, hold.value().id, f.clock().now_utc_us() + kDayUs).ok());
  CHECK(f.audit().verify().value().ok);
}

TEST_CASE("R2: viewers only request holds, for their own cameras, and a request keeps footage 72 h",
          "[firmware][holds][R2][R4]") {
  RetentionFixture f(kStart);
  const int64_t yard = f.camera("yard");
  f.camera("gate");
  const auto who = people(f, yard);
  // Footage already 30 days old: without a hold the next sweep takes it.
  const auto old_yard = f.segment(yard, kStart - 30 * kDayUs);

  auto placed = f.holds().place(who.viewer, f.hold_spec({"yard"}, kStart - 31 * kDayUs, kStart));
  REQUIRE_FALSE(placed.ok());
  CHECK(placed.error().kind == ErrorKind::kPermissionDenied);
  auto other_camera =
      f.holds().request(who.viewer, f.hold_spec({"gate"}, kStart - 31 * kDayUs, kStart));
  REQUIRE_FALSE(other_camera.ok());
  CHECK(other_camera.error().message.find("not assigned") != std::string::npos);
  for (const auto& nobody : {who.admin, who.privacy}) {
    CHECK(f.holds().request(nobody, f.hold_spec({"yard"}, kStart - kDayUs, kStart)).error().kind ==
          ErrorKind::kPermissionDenied);
  }
  int denials = 0;
  const auto all_entries = f.audit().list({}).value();
  for (const auto& entry : all_entries) denials += entry.event.allowed ? 0 : 1;
  CHECK(denials == 4);

  auto request = f.holds().request(
      who.viewer, f.hold_spec({"yard"}, kStart - 31 * kDayUs, kStart, "melding 12"));
  REQUIRE(request.ok());
  CHECK(request.value().state == HoldState::kPending);
  CHECK(request.value().pending_until_utc_us == kStart + kHoldRequestLifetimeUs);
  CHECK(f.entries("hold_request").back().actor.name == "conciergejan");

  // The request keeps the footage while pending…
  f.clock().advance_us(71 * kHourUs);
  REQUIRE(f.retention().sweep().ok());
  CHECK(f.exists(old_yard));
  // …and nobody decided within 72 hours: it expires, and the footage goes.
  f.clock().advance_us(2 * kHourUs);
  auto sweep = f.retention().sweep();
  REQUIRE(sweep.ok());
  CHECK(sweep.value().expired_requests == std::vector<int64_t>{request.value().id});
  CHECK(f.gone(old_yard));
  auto expired = f.entries("hold_request_expired");
  REQUIRE(expired.size() == 1);
  CHECK(expired[0].actor.name == "system");
  CHECK(f.holds().get(who.director, request.value().id).value().state == HoldState::kExpired);

  // A second request: the viewer cannot confirm it; a director confirms it and it stays.
  const auto footage = f.segment(yard, f.clock().now_utc_us() - 2 * kDayUs);
  auto second = f.holds().request(
      who.viewer, f.hold_spec({"yard"}, footage.start_utc_us, footage.end_utc_us, "melding 13"));
  REQUIRE(second.ok());
  CHECK(f.holds().confirm(who.viewer, second.value().id).error().kind ==
        ErrorKind::kPermissionDenied);
  auto confirmed = f.holds().confirm(who.director, second.value().id);
  REQUIRE(confirmed.ok());
  CHECK(confirmed.value().state == HoldState::kActive);
  CHECK(confirmed.value().decided_by == "directeur");
  CHECK_FALSE(confirmed.value().pending_until_utc_us);
  CHECK(f.entries("hold_confirm").size() == 2);
  f.clock().advance_us(40 * kDayUs);
  REQUIRE(f.retention().sweep().ok());
  CHECK(f.exists(footage));

  // A third is rejected, with a reason, and stops keeping anything at once.
  auto third = f.holds().request(
      who.viewer, f.hold_spec({"yard"}, footage.start_utc_us, footage.end_utc_us, "melding 14"));
  REQUIRE(third.ok());
  CHECK_FALSE(f.holds().reject(who.director, third.value().id, "").ok());
  auto rejected = f.holds().reject(who.director, third.value().id, "no incident on the footage");
  REQUIRE(rejected.ok());
  CHECK(rejected.value().state == HoldState::kRejected);
  CHECK(rejected.value().decision_note == "no incident on the footage");
  CHECK(f.holds().confirm(who.director, third.value().id).error().kind ==
        ErrorKind::kFailedPrecondition);
  CHECK(f.audit().verify().value().ok);
}

TEST_CASE(
    "R2: the review-by date is required and at most six months ahead, and overdue holds are "
    "flagged and audited daily but never released",
    "[firmware][holds][R2]") {
  RetentionFixture f(kStart);
  const int64_t yard = f.camera("yard");
  const auto who = people(f, yard);
  const auto row = f.segment(yard, kStart - kDayUs);

  auto spec = f.hold_spec({"yard"}, row.start_utc_us, row.end_utc_us);
  spec.review_by_utc_us = kStart;
  CHECK(f.holds().place(who.director, spec).error().message.find("future") != std::string::npos);
  spec.review_by_utc_us = kStart + kMaxReviewAheadUs + 1;
  CHECK(f.holds().place(who.director, spec).error().message.find("six months") !=
        std::string::npos);
  spec.review_by_utc_us = kStart + 10 * kDayUs;
  auto hold = f.holds().place(who.director, spec);
  REQUIRE(hold.ok());
  CHECK_FALSE(hold.value().overdue);

  // `--review-by` takes a date (the end of that day) or a timestamp.
  CHECK(parse_review_by("2027-03-01").value() ==
        hal::parse_iso8601_utc_us("2027-03-01T23:59:59Z").value());
  CHECK(parse_review_by("2027-03-01T12:00:00Z").value() ==
        hal::parse_iso8601_utc_us("2027-03-01T12:00:00Z").value());
  CHECK_FALSE(parse_review_by("1 March").ok());

  CHECK_FALSE(f.holds().audit_overdue_daily().value());
  f.clock().advance_us(11 * kDayUs);
  auto overdue = f.holds().overdue();
  REQUIRE(overdue.value().size() == 1);
  CHECK(overdue.value()[0].overdue);
  CHECK(f.holds().get(who.director, hold.value().id).value().overdue);
  CHECK(f.holds().audit_overdue_daily().value());
  CHECK_FALSE(f.holds().audit_overdue_daily().value());  // once a day
  f.clock().advance_us(kDayUs);
  CHECK(f.holds().audit_overdue_daily().value());
  auto entries = f.entries("holds_overdue");
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].actor.name == "system");
  CHECK(nlohmann::json::parse(entries[0].event.details)["holds"][0]["id"] == hold.value().id);
  // Overdue is not released: the sweep still keeps the footage, weeks later.
  f.clock().advance_us(30 * kDayUs);
  REQUIRE(f.retention().sweep().ok());
  CHECK(f.exists(row));
  CHECK(f.holds().get(who.director, hold.value().id).value().state == HoldState::kActive);

  // Extending: directors only, within six months of now.
  CHECK(
      f.holds().extend(who.viewer, hold.value().id, f.clock().now_utc_us() + kDayUs).error().kind ==
      ErrorKind::kPermissionDenied);
  CHECK_FALSE(
      f.holds().extend(who.director, hold.value().id, f.clock().now_utc_us() + 200 * kDayUs).ok());
  auto extended =
      f.holds().extend(who.director, hold.value().id, f.clock().now_utc_us() + 90 * kDayUs);
  REQUIRE(extended.ok());
  CHECK_FALSE(extended.value().overdue);
  CHECK(f.holds().overdue().value().empty());
  auto extend_entries = f.entries("hold_extend");
  CHECK(nlohmann::json::parse(extend_entries.back().event.details).contains("previous_review_by"));
}

TEST_CASE("holds: bad input is refused with a clear message and audited, changing nothing",
          "[firmware][holds]") {
  RetentionFixture f(kStart);
  const int64_t yard = f.camera("yard");
  const auto who = people(f, yard);
  auto spec = f.hold_spec({"yard"}, kStart - kDayUs, kStart);
  auto refused = [&](HoldSpec bad, const std::string& words) {
    auto result = f.holds().place(who.director, bad);
    REQUIRE_FALSE(result.ok());
    INFO(result.error().message);
    CHECK(result.error().message.find(words) != std::string::npos);
  };
  auto bad = spec;
  bad.cameras = {"yard", "nope"};
  refused(bad, "nope");
  bad = spec;
  bad.cameras.clear();
  refused(bad, "at least one camera");
  bad = spec;
  bad.to_utc_us = bad.from_utc_us;
  refused(bad, "end after it starts");
  bad = spec;
  bad.reason = "why";
  refused(bad, "reason");
  bad = spec;
  bad.reason = "line one\nline two of a reason";
  refused(bad, "reason");
  bad = spec;
  bad.case_reference = "";
  refused(bad, "case reference");
  bad = spec;
  bad.case_reference = std::string(501, 'x');
  refused(bad, "case reference");
  // Hostile text is data.
  spec.case_reference = "'); DROP TABLE holds; --";
  auto hold = f.holds().place(who.director, spec);
  REQUIRE(hold.ok());
  CHECK(f.holds().get(who.director, hold.value().id).value().case_reference == spec.case_reference);
  CHECK(f.holds().list(who.director).value().size() == 1);
  CHECK(f.entries("hold_place").size() == 8);  // seven denials, one hold
  CHECK(f.holds().get(who.director, 999).error().kind == ErrorKind::kNotFound);
}

TEST_CASE(
    "R4: directors and privacy officers read all holds, viewers those of their cameras, "
    "admins none",
    "[firmware][holds][R4]") {
  RetentionFixture f(kStart);
  const int64_t yard = f.camera("yard");
  const int64_t gate = f.camera("gate");
  const auto who = people(f, yard);
  auto on_yard = f.holds().place(who.director, f.hold_spec({"yard"}, kStart - kDayUs, kStart));
  auto on_gate = f.holds().place(who.director, f.hold_spec({"gate"}, kStart - kDayUs, kStart));
  REQUIRE(on_yard.ok());
  REQUIRE(on_gate.ok());
  CHECK(f.holds().list(who.director).value().size() == 2);
  CHECK(f.holds().list(who.privacy).value().size() == 2);
  auto viewer_list = f.holds().list(who.viewer);
  REQUIRE(viewer_list.value().size() == 1);
  CHECK(viewer_list.value()[0].id == on_yard.value().id);
  // A hold of another camera, asked for by id or by camera: refused and audited, without its
  // case or reason in the viewer's own journal.
  auto other = f.holds().get(who.viewer, on_gate.value().id);
  REQUIRE_FALSE(other.ok());
  CHECK(other.error().kind == ErrorKind::kPermissionDenied);
  const auto refused = f.entries("hold_read").back();
  CHECK_FALSE(refused.event.allowed);
  CHECK(refused.event.object_id == std::to_string(on_gate.value().id));
  CHECK(refused.event.camera == "gate");
  CHECK(refused.event.purpose.empty());
  CHECK(refused.event.details.find("case") == std::string::npos);
  CHECK(f.holds().get(who.viewer, 999).error().kind == ErrorKind::kNotFound);
  HoldFilter viewer_gate;
  viewer_gate.camera = "gate";
  auto by_camera = f.holds().list(who.viewer, viewer_gate);
  REQUIRE_FALSE(by_camera.ok());
  CHECK(by_camera.error().kind == ErrorKind::kPermissionDenied);
  CHECK_FALSE(f.entries("hold_read").back().event.allowed);
  CHECK(f.entries("hold_read").back().event.camera == "gate");
  HoldFilter viewer_yard;
  viewer_yard.camera = "yard";
  CHECK(f.holds().list(who.viewer, viewer_yard).value().size() == 1);
  auto admin = f.holds().list(who.admin);
  REQUIRE_FALSE(admin.ok());
  CHECK(admin.error().kind == ErrorKind::kPermissionDenied);
  CHECK_FALSE(f.entries("hold_read").back().event.allowed);
  HoldFilter only_gate;
  only_gate.camera = "gate";
  CHECK(f.holds().list(who.director, only_gate).value().size() == 1);
  // Closed holds only on request.
  REQUIRE(f.holds().release(who.director, on_gate.value().id).ok());
  CHECK(f.holds().list(who.director).value().size() == 1);
  HoldFilter all;
  all.include_closed = true;
  CHECK(f.holds().list(who.director, all).value().size() == 2);
  (void)gate;
}

TEST_CASE(
    "a hold placed inside a caller's transaction commits or rolls back with it (the "
    "police export's use)",
    "[firmware][holds]") {
  RetentionFixture f(kStart);
  const int64_t yard = f.camera("yard");
  const auto who = people(f, yard);
  const auto row = f.segment(yard, kStart - 40 * kDayUs);
  auto spec = f.hold_spec({"yard"}, row.start_utc_us, row.end_utc_us, "PL0900-2026-123");
  spec.reason = "police export";
  const size_t entries_before = f.audit().list({}).value().size();
  {
    std::lock_guard lock(f.catalog().mutex());
    auto outer = recorder::sql::Transaction::begin(f.catalog().database());
    REQUIRE(outer.ok());
    auto restricted = restrictions_in_force(f.catalog(), yard, row.start_utc_us, row.end_utc_us);
    REQUIRE(restricted.ok());
    CHECK(restricted.value().empty());
    REQUIRE(f.holds().place(who.director, spec).ok());
    // the export fails afterwards: the outer transaction is not committed
  }
  CHECK(f.holds().list(who.director).value().empty());
  CHECK(f.catalog().protected_ranges(yard, INT64_MIN, INT64_MAX).value().empty());
  CHECK(f.audit().list({}).value().size() == entries_before);
  {
    std::lock_guard lock(f.catalog().mutex());
    auto outer = recorder::sql::Transaction::begin(f.catalog().database());
    REQUIRE(f.holds().place(who.director, spec).ok());
    REQUIRE(outer.value().commit().ok());
  }
  auto holds = f.holds().list(who.director);
  REQUIRE(holds.value().size() == 1);
  CHECK(holds.value()[0].reason == "police export");
  CHECK(f.entries("hold_place").size() == 1);
  REQUIRE(f.retention().sweep().ok());
  CHECK(f.exists(row));
  CHECK(f.audit().verify().value().ok);
}

TEST_CASE(
    "a camera's time line shows held, requested and restricted spans, and the oldest open hold "
    "bounds audit pruning",
    "[firmware][holds]") {
  RetentionFixture f(kStart);
  const int64_t yard = f.camera("yard");
  f.camera("gate");
  const auto who = people(f, yard);
  f.request(who.director, "AVG-2026-4", RequestKind::kRestriction);
  CHECK_FALSE(f.holds().oldest_open_start().value());
  const int64_t day = kStart - 3 * kDayUs;
  auto active =
      f.holds().place(who.director, f.hold_spec({"yard"}, day + kHourUs, day + 2 * kHourUs));
  auto pending =
      f.holds().request(who.viewer, f.hold_spec({"yard"}, day + 5 * kHourUs, day + 6 * kHourUs));
  auto restriction = f.subject().restrict_range(who.director, "yard", day + 3 * kHourUs,
                                                day + 4 * kHourUs, "AVG-2026-4");
  auto elsewhere = f.holds().place(who.director, f.hold_spec({"gate"}, day - 9 * kDayUs, day));
  REQUIRE(active.ok());
  REQUIRE(pending.ok());
  REQUIRE(restriction.ok());
  REQUIRE(elsewhere.ok());
  auto spans = f.holds().timeline(who.director, "yard", day, day + kDayUs);
  REQUIRE(spans.ok());
  REQUIRE(spans.value().size() == 3);
  CHECK(spans.value()[0].kind == "hold");
  CHECK(spans.value()[0].id == active.value().id);
  CHECK(spans.value()[1].kind == "restriction");
  CHECK(spans.value()[1].reference == "AVG-2026-4");
  CHECK(spans.value()[2].kind == "hold_request");
  CHECK(f.holds().timeline(who.viewer, "yard", day, day + kDayUs).value().size() == 3);
  CHECK(f.holds().timeline(who.viewer, "gate", day, day + kDayUs).error().kind ==
        ErrorKind::kPermissionDenied);
  CHECK(f.holds().timeline(who.admin, "yard", day, day + kDayUs).error().kind ==
        ErrorKind::kPermissionDenied);
  CHECK(f.holds().oldest_open_start().value() == day - 9 * kDayUs);
  REQUIRE(f.holds().release(who.director, elsewhere.value().id).ok());
  CHECK(f.holds().oldest_open_start().value() == day + kHourUs);
  CHECK(f.holds().open_counts().value() == std::make_pair(int64_t{1}, int64_t{1}));
}
