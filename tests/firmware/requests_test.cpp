// The register of data subjects' requests (R7): deadlines of 4 weeks from receipt, one extension
// to at most 12 weeks, the due list at fixed (simulated) dates, minimal storage once closed, the
// purge 2 years later, and who may read and manage it.

#include "yardwatch/firmware/requests.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "retention_fixture.h"

using namespace yardwatch;
using namespace yardwatch::firmware;
using namespace yardwatch::testing;

namespace {

int64_t at(const char* iso) { return hal::parse_iso8601_utc_us(iso).value(); }

NewSubjectRequest new_request(const std::string& reference, RequestKind kind, int64_t received) {
  NewSubjectRequest request;
  request.reference = reference;
  request.kind = kind;
  request.requester_name = "J. Jansen (vader van Sam, groep 5)";
  request.requester_contact = "j.jansen@example.org";
  request.description = "wil de beelden van het schoolplein van 2 oktober zien";
  request.received_utc_us = received;
  return request;
}

std::vector<std::string> references(const std::vector<SubjectRequest>& requests) {
  std::vector<std::string> out;
  for (const auto& request : requests) out.push_back(request.reference);
  return out;
}

}  // namespace

TEST_CASE("R7: a request is due 4 weeks after receipt, extendable once to at most 12 weeks",
          "[firmware][requests][R7]") {
  RetentionFixture f(at("2026-10-12T09:00:00Z"));
  const int64_t yard = f.camera("yard");
  (void)yard;
  const auto director = f.person("directeur", Role::kDirector);

  auto request = new_request("AVG-2026-7", RequestKind::kAccess, at("2026-10-05T14:30:00Z"));
  request.footage = {{"yard", at("2026-10-02T10:00:00Z"), at("2026-10-02T10:30:00Z")}};
  auto added = f.requests().add(director, request);
  REQUIRE(added.ok());
  const SubjectRequest& r = added.value();
  CHECK(r.deadline_utc_us == at("2026-11-02T14:30:00Z"));  // received + 28 days
  CHECK(r.open());
  CHECK_FALSE(r.overdue);
  CHECK_FALSE(r.due_soon);
  REQUIRE(r.footage.size() == 1);
  CHECK(r.footage[0].camera == "yard");
  CHECK(r.registered_by == "directeur");

  // Beyond 12 weeks from receipt: refused, and nothing changes.
  auto too_far = f.requests().extend(director, "AVG-2026-7", at("2026-12-28T14:30:01Z"),
                                     "footage of three cameras to go through");
  REQUIRE_FALSE(too_far.ok());
  CHECK(too_far.error().kind == ErrorKind::kInvalidArgument);
  CHECK(too_far.error().message.find("12 weeks") != std::string::npos);
  CHECK(too_far.error().message.find("2026-12-28T14:30:00Z") != std::string::npos);
  // Not earlier than the current deadline, and not without a reason.
  CHECK_FALSE(f.requests()
                  .extend(director, "AVG-2026-7", at("2026-11-01T00:00:00Z"),
                          "more "
                          "time")
                  .ok());
  CHECK_FALSE(f.requests().extend(director, "AVG-2026-7", at("2026-12-01T00:00:00Z"), "").ok());
  CHECK(f.requests().get(director, "AVG-2026-7").value().deadline_utc_us ==
        at("2026-11-02T14:30:00Z"));

  // Exactly 12 weeks is the limit.
  auto extended = f.requests().extend(director, "AVG-2026-7", at("2026-12-28T14:30:00Z"),
                                      "footage of three cameras to go through");
  REQUIRE(extended.ok());
  CHECK(extended.value().deadline_utc_us == at("2026-12-28T14:30:00Z"));
  CHECK(extended.value().extended_utc_us == at("2026-10-12T09:00:00Z"));
  CHECK(extended.value().extension_reason == "footage of three cameras to go through");
  CHECK(extended.value().extended_by == "directeur");

  // Once only.
  auto again = f.requests().extend(director, "AVG-2026-7", at("2026-12-20T00:00:00Z"),
                                   "still more time needed");
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().kind == ErrorKind::kFailedPrecondition);
  CHECK(again.error().message.find("only once") != std::string::npos);

  // An extension must be decided within the first term.
  REQUIRE(f.requests()
              .add(director,
                   new_request("AVG-2026-8", RequestKind::kErasure, at("2026-09-01T08:00:00Z")))
              .ok());
  auto late = f.requests().extend(director, "AVG-2026-8", at("2026-11-20T00:00:00Z"),
                                  "the school was closed for the holidays");
  REQUIRE_FALSE(late.ok());
  CHECK(late.error().message.find("passed on 2026-09-29T08:00:00Z") != std::string::npos);

  // Every decision is audited under the reference, allowed or refused.
  auto extends = f.entries("request_extend");
  REQUIRE(extends.size() == 6);
  CHECK(extends[3].event.allowed);
  CHECK(extends[3].event.object_id == "AVG-2026-7");
  CHECK(extends[3].event.reason == "footage of three cameras to go through");
  CHECK(nlohmann::json::parse(extends[3].event.details)["deadline"] == "2026-12-28T14:30:00Z");
  for (size_t i : {0, 1, 2, 4, 5}) CHECK_FALSE(extends[i].event.allowed);
  CHECK(f.audit().verify().value().ok);
}

TEST_CASE("R7: the due list at fixed simulated dates, on the dashboard for its readers only",
          "[firmware][requests][R7]") {
  RetentionFixture f(at("2026-11-02T12:00:00Z"));
  const auto director = f.person("directeur", Role::kDirector);
  const auto privacy = f.person("fg", Role::kPrivacyOfficer);
  const auto viewer = f.person("conciergejan", Role::kViewer);
  const auto admin = f.person("beheerder", Role::kAdmin);
  // Deadlines: A 2026-10-30 (overdue), B 2026-11-06 (4 days), C 2026-11-09T12:00 (exactly 7
  // days), D 2026-11-20 (18 days), E extended from 2026-11-05 to 2026-12-01 (29 days).
  REQUIRE(f.requests()
              .add(director, new_request("A", RequestKind::kAccess, at("2026-10-02T00:00:00Z")))
              .ok());
  REQUIRE(f.requests()
              .add(director, new_request("D", RequestKind::kAccess, at("2026-10-23T00:00:00Z")))
              .ok());
  REQUIRE(f.requests()
              .add(director, new_request("B", RequestKind::kObjection, at("2026-10-09T00:00:00Z")))
              .ok());
  REQUIRE(f.requests()
              .add(director, new_request("C", RequestKind::kErasure, at("2026-10-12T12:00:00Z")))
              .ok());
  REQUIRE(
      f.requests()
          .add(director, new_request("E", RequestKind::kRestriction, at("2026-10-08T00:00:00Z")))
          .ok());
  REQUIRE(f.requests()
              .extend(director, "E", at("2026-12-01T00:00:00Z"), "waiting for the police")
              .ok());

  RequestFilter due;
  due.due_only = true;
  auto list = f.requests().list(director, due);
  REQUIRE(list.ok());
  CHECK(references(list.value()) == std::vector<std::string>{"A", "B", "C"});
  CHECK(list.value()[0].overdue);
  CHECK_FALSE(list.value()[0].due_soon);
  CHECK(list.value()[1].due_soon);
  CHECK(list.value()[2].due_soon);
  // Every open request, earliest deadline first.
  CHECK(references(f.requests().list(privacy).value()) ==
        std::vector<std::string>{"A", "B", "C", "D", "E"});

  // The dashboard: directors and privacy officers see what is due; nobody else sees anything.
  CHECK(references(f.requests().due_visible_to(director).value()) ==
        std::vector<std::string>{"A", "B", "C"});
  CHECK(references(f.requests().due_visible_to(privacy).value()) ==
        std::vector<std::string>{"A", "B", "C"});
  CHECK(f.requests().due_visible_to(viewer).value().empty());
  CHECK(f.requests().due_visible_to(admin).value().empty());

  // Eleven days later B and C are overdue too, D is due; E (extended) still is not; A is
  // answered and leaves the list.
  f.clock().advance_us(11 * kDayUs);  // 2026-11-13T12:00Z
  REQUIRE(f.requests().close(director, "A", RequestOutcome::kGranted, "footage shown").ok());
  list = f.requests().list(director, due);
  CHECK(references(list.value()) == std::vector<std::string>{"B", "C", "D"});
  CHECK(list.value()[0].overdue);
  CHECK(list.value()[1].overdue);
  CHECK(list.value()[2].due_soon);
  CHECK(references(f.requests().due_visible_to(director).value()) ==
        std::vector<std::string>{"B", "C", "D"});
  RequestFilter everything;
  everything.include_closed = true;
  CHECK(references(f.requests().list(director, everything).value()) ==
        std::vector<std::string>{"B", "C", "D", "E", "A"});
}

TEST_CASE("R7: only directors manage the register, privacy officers read it, every access audited",
          "[firmware][requests][R7][R6]") {
  RetentionFixture f(at("2026-11-02T12:00:00Z"));
  const auto director = f.person("directeur", Role::kDirector);
  const auto privacy = f.person("fg", Role::kPrivacyOfficer);
  const auto viewer = f.person("conciergejan", Role::kViewer);
  const auto admin = f.person("beheerder", Role::kAdmin);
  const auto request = new_request("AVG-1", RequestKind::kAccess, at("2026-11-01T00:00:00Z"));

  for (const auto* who : {&privacy, &viewer, &admin}) {
    auto refused = f.requests().add(*who, request);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind == ErrorKind::kPermissionDenied);
  }
  REQUIRE(f.requests().add(director, request).ok());
  CHECK(f.requests().close(privacy, "AVG-1", RequestOutcome::kGranted).error().kind ==
        ErrorKind::kPermissionDenied);
  CHECK(f.requests()
            .extend(privacy, "AVG-1", at("2026-12-01T00:00:00Z"), "no reason at all")
            .error()
            .kind == ErrorKind::kPermissionDenied);
  // The privacy officer reads everything in the register, the requester's details included.
  auto read = f.requests().get(privacy, "AVG-1");
  REQUIRE(read.ok());
  CHECK(read.value().requester_name == "J. Jansen (vader van Sam, groep 5)");
  for (const auto* who : {&viewer, &admin}) {
    CHECK(f.requests().list(*who).error().kind == ErrorKind::kPermissionDenied);
    CHECK(f.requests().get(*who, "AVG-1").error().kind == ErrorKind::kPermissionDenied);
  }

  auto registered = f.entries("request_register");
  REQUIRE(registered.size() == 4);
  CHECK_FALSE(registered[0].event.allowed);
  CHECK(registered[3].event.allowed);
  CHECK(registered[3].event.purpose == "AVG-1");
  CHECK(registered[3].actor.name == "directeur");
  auto reads = f.entries("request_read");
  REQUIRE(reads.size() == 5);
  CHECK(reads[0].event.allowed);
  CHECK(reads[0].actor.name == "fg");
  for (size_t i = 1; i < reads.size(); ++i) CHECK_FALSE(reads[i].event.allowed);
  // The journal names the request by its reference, never who made it or how to reach them.
  const auto journal = f.audit().list({});
  REQUIRE(journal.ok());
  for (const auto& entry : journal.value()) {
    const std::string all =
        entry.event.details + entry.event.reason + entry.event.purpose + entry.event.object_id;
    CHECK(all.find("Jansen") == std::string::npos);
    CHECK(all.find("example.org") == std::string::npos);
  }
}

TEST_CASE("R7: a closed request keeps only what the register needs and is removed 2 years later",
          "[firmware][requests][R7]") {
  RetentionFixture f(at("2026-11-02T12:00:00Z"));
  const int64_t yard = f.camera("yard");
  const auto director = f.person("directeur", Role::kDirector);
  auto request = new_request("AVG-3", RequestKind::kErasure, at("2026-11-01T00:00:00Z"));
  request.footage = {{"yard", at("2026-10-30T10:00:00Z"), at("2026-10-30T11:00:00Z")}};
  REQUIRE(f.requests().add(director, request).ok());
  // Another requester, still open: their details stay.
  auto other = new_request("AVG-4", RequestKind::kAccess, at("2026-11-02T00:00:00Z"));
  other.requester_name = "P. de Vries";
  other.requester_contact = "06-12345678";
  REQUIRE(f.requests().add(director, other).ok());
  const auto row = f.segment(yard, at("2026-10-30T10:00:00Z"));
  REQUIRE(
      f.subject()
          .erase(director, "yard", at("2026-10-30T10:00:00Z"), at("2026-10-30T11:00:00Z"), "AVG-3")
          .ok());
  CHECK(f.gone(row));

  f.clock().advance_us(3 * kDayUs);
  auto closed = f.requests().close(director, "AVG-3", RequestOutcome::kGranted,
                                   "erased on 2026-11-02, requester informed by letter");
  REQUIRE(closed.ok());
  const SubjectRequest& c = closed.value();
  CHECK_FALSE(c.open());
  CHECK(c.outcome == RequestOutcome::kGranted);
  CHECK(c.requester_name.empty());
  CHECK(c.requester_contact.empty());
  CHECK(c.description.empty());
  CHECK(c.minimised_utc_us == c.closed_utc_us);
  // What the register needs stays: reference, kind, dates, footage, outcome, actions.
  CHECK(c.reference == "AVG-3");
  CHECK(c.kind == RequestKind::kErasure);
  CHECK(c.received_utc_us == at("2026-11-01T00:00:00Z"));
  REQUIRE(c.footage.size() == 1);
  REQUIRE(c.actions.size() == 1);
  CHECK(c.actions[0].kind == RequestActionKind::kErasure);
  CHECK(f.requests().close(director, "AVG-3", RequestOutcome::kRefused).error().kind ==
        ErrorKind::kFailedPrecondition);
  // The details are gone from the database file itself, not just hidden (secure_delete).
  f.restart();
  CHECK(files_containing(f.data_dir(), {'j', '.', 'j', 'a', 'n', 's', 'e', 'n', '@'}).size() == 0);

  // Not before 2 years after closing.
  f.clock().advance_us(kClosedRequestRetentionUs - kDayUs);
  auto early = f.requests().purge_closed();
  REQUIRE(early.ok());
  CHECK(early.value().requests == 0);
  CHECK(f.entries("requests_purged").empty());
  // Not on an unsynchronised clock (a jump ahead would purge early).
  f.clock().advance_us(2 * kDayUs);
  f.clock().set_sync_state(hal::SyncState::kUnsynchronised);
  CHECK(f.requests().purge_closed().error().kind == ErrorKind::kUnavailable);
  f.clock().set_sync_state(hal::SyncState::kSynchronised);
  auto purged = f.requests().purge_closed();
  REQUIRE(purged.ok());
  CHECK(purged.value().requests == 1);
  CHECK(purged.value().references == std::vector<std::string>{"AVG-3"});
  CHECK(f.requests().get(director, "AVG-3").error().kind == ErrorKind::kNotFound);
  // The open one stays, however old.
  CHECK(f.requests().get(director, "AVG-4").ok());
  auto entries = f.entries("requests_purged");
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].actor.name == "system");
  CHECK(nlohmann::json::parse(entries[0].event.details)["references"][0] == "AVG-3");
  CHECK(f.audit().verify().value().ok);
}

TEST_CASE("R7: bad requests get a clear error and change nothing", "[firmware][requests][R7]") {
  RetentionFixture f(at("2026-11-02T12:00:00Z"));
  f.camera("yard");
  const auto director = f.person("directeur", Role::kDirector);
  auto expect_refused = [&](NewSubjectRequest request, ErrorKind kind, const std::string& text) {
    auto added = f.requests().add(director, request);
    REQUIRE_FALSE(added.ok());
    CHECK(added.error().kind == kind);
    CHECK(added.error().message.find(text) != std::string::npos);
  };
  const auto good = new_request("AVG-5", RequestKind::kAccess, at("2026-11-01T00:00:00Z"));
  auto r = good;
  r.received_utc_us = at("2026-11-03T00:00:00Z");
  expect_refused(r, ErrorKind::kInvalidArgument, "future");
  r = good;
  r.reference = "";
  expect_refused(r, ErrorKind::kInvalidArgument, "reference");
  r = good;
  r.reference = "AVG\n5";
  expect_refused(r, ErrorKind::kInvalidArgument, "one line");
  r = good;
  r.requester_name = "   ";
  expect_refused(r, ErrorKind::kInvalidArgument, "name");
  r = good;
  r.requester_contact = std::string(201, 'x');
  expect_refused(r, ErrorKind::kInvalidArgument, "longer than 200");
  r = good;
  r.footage = {{"nowhere", at("2026-10-30T10:00:00Z"), at("2026-10-30T11:00:00Z")}};
  expect_refused(r, ErrorKind::kNotFound, "nowhere");
  r = good;
  r.footage = {{"yard", at("2026-10-30T11:00:00Z"), at("2026-10-30T10:00:00Z")}};
  expect_refused(r, ErrorKind::kInvalidArgument, "end after it starts");
  CHECK(f.requests().list(director).value().empty());
  REQUIRE(f.requests().add(director, good).ok());
  expect_refused(good, ErrorKind::kAlreadyExists, "already in the register");
  CHECK(f.requests().list(director).value().size() == 1);
  CHECK(f.requests()
            .extend(director, "AVG-404", at("2026-12-01T00:00:00Z"), "some reason")
            .error()
            .kind == ErrorKind::kNotFound);
}

TEST_CASE("R7: holds and restrictions are linked to a request by hand, once",
          "[firmware][requests][R7]") {
  RetentionFixture f(at("2026-11-02T12:00:00Z"));
  f.camera("yard");
  const auto director = f.person("directeur", Role::kDirector);
  REQUIRE(f.requests()
              .add(director, new_request("AVG-6", RequestKind::kAccess, at("2026-11-01T00:00:00Z")))
              .ok());
  auto hold = f.holds().place(director, f.hold_spec({"yard"}, at("2026-10-30T10:00:00Z"),
                                                    at("2026-10-30T11:00:00Z"), "AVG-6"));
  REQUIRE(hold.ok());
  auto linked = f.requests().link(director, "AVG-6", RequestActionKind::kHold, hold.value().id);
  REQUIRE(linked.ok());
  REQUIRE(linked.value().actions.size() == 1);
  CHECK(linked.value().actions[0].object_id == std::to_string(hold.value().id));
  CHECK(linked.value().actions[0].summary.find("case AVG-6") != std::string::npos);
  CHECK(f.requests()
            .link(director, "AVG-6", RequestActionKind::kHold, hold.value().id)
            .error()
            .kind == ErrorKind::kAlreadyExists);
  CHECK(f.requests().link(director, "AVG-6", RequestActionKind::kHold, 999).error().kind ==
        ErrorKind::kNotFound);
  CHECK(f.requests().link(director, "AVG-6", RequestActionKind::kErasure, 1).error().kind ==
        ErrorKind::kInvalidArgument);
  CHECK(f.entries("request_link").size() == 4);
}
