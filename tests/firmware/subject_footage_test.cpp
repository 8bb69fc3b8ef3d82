// A data subject's rights over recorded footage (R7): erasure of a range now (never of held
// footage), and restriction (not viewable, not exportable, not deleted until lifted). Directors
// only; every act carries the request reference and is audited.

#include "yardwatch/firmware/subject_footage.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "retention_fixture.h"

using namespace yardwatch;
using namespace yardwatch::firmware;
using namespace yardwatch::testing;

namespace {
const int64_t kStart = hal::parse_iso8601_utc_us("2026-10-05T09:00:00Z").value();
}  // namespace

TEST_CASE("R7: erasure deletes whole segments now, with the request reference, never held footage",
          "[firmware][subject][R7]") {
  RetentionFixture f(kStart);
  const int64_t yard = f.camera("yard");
  const auto director = f.person("directeur", Role::kDirector);
  const auto viewer = f.person("conciergejan", Role::kViewer, {yard});
  std::vector<recorder::SegmentRow> rows;
  for (int i = 0; i < 5; ++i) rows.push_back(f.segment(yard, kStart - kDayUs + i * kHourUs));
  const int64_t t = kStart - kDayUs;
  for (const char* reference : {"AVG-2", "AVG-3", "AVG-4"}) f.request(director, reference);

  // Not a viewer's decision.
  auto by_viewer = f.subject().erase(viewer, "yard", t, t + kHourUs, "AVG-1");
  REQUIRE_FALSE(by_viewer.ok());
  CHECK(by_viewer.error().kind == ErrorKind::kPermissionDenied);
  CHECK(f.exists(rows[0]));

  // A hold over part of the range refuses all of it.
  auto hold = f.holds().place(director, f.hold_spec({"yard"}, t + 3 * kHourUs + kMinuteUs,
                                                    t + 3 * kHourUs + 2 * kMinuteUs, "2026-9"));
  REQUIRE(hold.ok());
  auto refused = f.subject().erase(director, "yard", t + 2 * kHourUs, t + 5 * kHourUs, "AVG-2");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::kFailedPrecondition);
  CHECK(refused.error().message.find("hold " + std::to_string(hold.value().id)) !=
        std::string::npos);
  CHECK(refused.error().message.find("nothing was deleted") != std::string::npos);
  for (const auto& row : rows) CHECK(f.exists(row));

  // From the middle of the first segment to the middle of the second: both go whole, now.
  auto receipt =
      f.subject().erase(director, "yard", t + 30 * kMinuteUs, t + 90 * kMinuteUs, "AVG-3");
  REQUIRE(receipt.ok());
  CHECK(receipt.value().segments == 2);
  CHECK(receipt.value().deleted_from_utc_us == rows[0].start_utc_us);
  CHECK(receipt.value().deleted_to_utc_us == rows[1].end_utc_us);
  CHECK(receipt.value().bytes == rows[0].bytes + rows[1].bytes);
  CHECK(f.gone(rows[0]));
  CHECK(f.gone(rows[1]));
  CHECK(f.exists(rows[2]));
  for (const auto& row : {rows[0], rows[1]}) {
    CHECK(files_containing(f.data_dir(), row.wrapped_key).empty());
  }
  auto entries = f.entries("footage_erase");
  REQUIRE(entries.size() == 3);
  CHECK_FALSE(entries[0].event.allowed);
  CHECK_FALSE(entries[1].event.allowed);
  CHECK(entries[1].event.purpose == "AVG-2");
  CHECK(entries[2].event.allowed);
  CHECK(entries[2].event.purpose == "AVG-3");
  CHECK(entries[2].event.camera == "yard");
  CHECK(nlohmann::json::parse(entries[2].event.details)["segments"] == 2);
  CHECK(f.check().empty());

  // A request reference is required; an empty range deletes nothing but is recorded.
  CHECK_FALSE(f.subject().erase(director, "yard", t, t + kHourUs, "").ok());
  auto nothing = f.subject().erase(director, "yard", t - 9 * kDayUs, t - 8 * kDayUs, "AVG-4");
  REQUIRE(nothing.ok());
  CHECK(nothing.value().segments == 0);
  CHECK(f.audit().verify().value().ok);
}

TEST_CASE(
    "R7: restricted footage cannot be viewed and is not deleted until the restriction is "
    "lifted",
    "[firmware][subject][R7][R4]") {
  RetentionFixture f(kStart);
  const int64_t yard = f.camera("yard", 7);
  const auto director = f.person("directeur", Role::kDirector);
  const auto viewer = f.person("conciergejan", Role::kViewer, {yard});
  const auto privacy = f.person("fg", Role::kPrivacyOfficer);
  const auto restricted_row = f.segment(yard, kStart - kDayUs);
  const auto free_row = f.segment(yard, kStart - kDayUs + 2 * kHourUs);
  f.request(director, "AVG-7", RequestKind::kRestriction);
  f.request(director, "AVG-8", RequestKind::kErasure);
  f.request(director, "AVG-7-decision", RequestKind::kObjection);

  CHECK(f.subject()
            .restrict_range(viewer, "yard", kStart - 2 * kDayUs, kStart, "AVG-7")
            .error()
            .kind == ErrorKind::kPermissionDenied);
  auto restriction =
      f.subject().restrict_range(director, "yard", restricted_row.start_utc_us + kMinuteUs,
                                 restricted_row.start_utc_us + 2 * kMinuteUs, "AVG-7",
                                 "contested: the person says it is not them");
  REQUIRE(restriction.ok());
  CHECK(restriction.value().in_force());

  // Not viewable, by anyone, and the denial is audited; the footage next to it is.
  auto view = f.footage().view_segment(viewer, restricted_row.id, "check after a complaint");
  REQUIRE_FALSE(view.ok());
  CHECK(view.error().kind == ErrorKind::kPermissionDenied);
  CHECK(view.error().message.find("AVG-7") != std::string::npos);
  CHECK_FALSE(f.footage().view_segment(director, restricted_row.id, "director looks").ok());
  auto views = f.entries("view_recorded");
  REQUIRE(views.size() == 2);
  CHECK_FALSE(views[0].event.allowed);
  CHECK(views[0].event.reason.find("restricted") != std::string::npos);
  CHECK(f.footage().view_segment(viewer, free_row.id, "check after a complaint").ok());
  // For other services (the police export): the restriction answers a plain question.
  auto in_force = restrictions_in_force(f.catalog(), yard, restricted_row.start_utc_us,
                                        restricted_row.end_utc_us);
  REQUIRE(in_force.value().size() == 1);
  CHECK(in_force.value()[0].request_reference == "AVG-7");

  // Not deleted by the sweep, nor by an erasure.
  f.clock().advance_us(10 * kDayUs);
  REQUIRE(f.retention().sweep().ok());
  CHECK(f.exists(restricted_row));
  CHECK(f.gone(free_row));
  auto erase = f.subject().erase(director, "yard", restricted_row.start_utc_us,
                                 restricted_row.end_utc_us, "AVG-8");
  REQUIRE_FALSE(erase.ok());
  CHECK(erase.error().message.find("lift it first") != std::string::npos);

  // Readers of the register: directors and privacy officers.
  CHECK(f.subject().list(privacy).value().size() == 1);
  CHECK(f.subject().list(viewer).error().kind == ErrorKind::kPermissionDenied);

  // Lifted: the footage ages out at the next sweep.
  CHECK_FALSE(f.subject().lift(director, restriction.value().id, "").ok());
  auto lifted = f.subject().lift(director, restriction.value().id, "AVG-7-decision");
  REQUIRE(lifted.ok());
  CHECK_FALSE(lifted.value().in_force());
  CHECK(lifted.value().lift_request_reference == "AVG-7-decision");
  CHECK(f.subject().lift(director, restriction.value().id, "again").error().kind ==
        ErrorKind::kFailedPrecondition);
  CHECK(f.subject().list(director).value().empty());
  CHECK(f.subject().list(director, true).value().size() == 1);
  REQUIRE(f.retention().sweep().ok());
  CHECK(f.gone(restricted_row));
  CHECK(f.entries("footage_restrict").size() == 2);
  CHECK(f.entries("footage_unrestrict").size() == 3);
  CHECK(f.check().empty());
  CHECK(f.audit().verify().value().ok);
}

TEST_CASE(
    "R7: an erasure or a restriction needs a registered request it answers, and is linked to it",
    "[firmware][subject][requests][R7]") {
  RetentionFixture f(kStart);
  const int64_t yard = f.camera("yard");
  const auto director = f.person("directeur", Role::kDirector);
  const auto row = f.segment(yard, kStart - kDayUs);
  const int64_t t = row.start_utc_us;

  // Not in the register: refused, audited, nothing deleted.
  auto unknown = f.subject().erase(director, "yard", t, t + kHourUs, "AVG-99");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().kind == ErrorKind::kFailedPrecondition);
  CHECK(unknown.error().message.find("not in the register") != std::string::npos);
  CHECK(unknown.error().message.find("nothing was deleted") != std::string::npos);
  CHECK(f.exists(row));
  CHECK_FALSE(f.subject().restrict_range(director, "yard", t, t + kMinuteUs, "AVG-99").ok());
  auto denials = f.entries("footage_erase");
  REQUIRE(denials.size() == 1);
  CHECK_FALSE(denials[0].event.allowed);
  CHECK(denials[0].event.purpose == "AVG-99");

  // An access request is answered by a subject export, not by an erasure.
  f.request(director, "AVG-10", RequestKind::kAccess);
  auto wrong_kind = f.subject().erase(director, "yard", t, t + kHourUs, "AVG-10");
  REQUIRE_FALSE(wrong_kind.ok());
  CHECK(wrong_kind.error().message.find("access request") != std::string::npos);
  CHECK(f.exists(row));

  // An objection may lead to a restriction and, later, to an erasure; both are linked.
  f.request(director, "AVG-11", RequestKind::kObjection);
  auto restriction = f.subject().restrict_range(director, "yard", t, t + kMinuteUs, "AVG-11",
                                                "assessing the objection");
  REQUIRE(restriction.ok());
  REQUIRE(f.subject().lift(director, restriction.value().id, "AVG-11").ok());
  auto erased = f.subject().erase(director, "yard", t, t + kHourUs, "AVG-11");
  REQUIRE(erased.ok());
  CHECK(f.gone(row));
  auto request = f.requests().get(director, "AVG-11");
  REQUIRE(request.ok());
  const auto& actions = request.value().actions;
  REQUIRE(actions.size() == 3);
  CHECK(actions[0].kind == RequestActionKind::kRestriction);
  CHECK(actions[0].object_id == std::to_string(restriction.value().id));
  CHECK(actions[1].kind == RequestActionKind::kRestrictionLifted);
  CHECK(actions[2].kind == RequestActionKind::kErasure);
  CHECK(actions[2].summary.find("camera yard, 1 segment(s) erased") != std::string::npos);
  CHECK(actions[2].linked_by == "directeur");

  // A closed request takes no new erasure or restriction.
  REQUIRE(f.requests().close(director, "AVG-11", RequestOutcome::kGranted).ok());
  auto after_close = f.subject().restrict_range(director, "yard", t, t + kMinuteUs, "AVG-11");
  REQUIRE_FALSE(after_close.ok());
  CHECK(after_close.error().message.find("closed") != std::string::npos);
  CHECK(f.audit().verify().value().ok);
}
