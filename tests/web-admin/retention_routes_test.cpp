// Holds in the web admin (issue #4 into issue #6's routes): a camera's time line carries its
// held, requested and restricted spans, and the dashboard the overdue holds — each only for the
// people who may read them.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "web_fixture.h"
#include "yardwatch/hal/clock.h"

using namespace yardwatch;
using nlohmann::json;

TEST_CASE("the time line shows held, requested and restricted spans, the dashboard overdue holds",
          "[web][holds]") {
  testing::WebFixture web;
  auto& services = *web.services;
  auto principal = [&](const std::string& role) {
    auto signed_in = services.accounts.authenticate(
        {web.account_of_role.at(role), "the-final-password-42", "", "console"});
    REQUIRE(signed_in.ok());
    return signed_in.value();
  };
  const auto director = principal("director");
  const auto viewer = principal("viewer");  // assigned cam1
  const int64_t now = web.appliance->clock().now_utc_us();
  const int64_t day_start = now - 3 * 3600'000'000LL;

  firmware::HoldSpec spec;
  spec.cameras = {"cam1"};
  spec.from_utc_us = day_start;
  spec.to_utc_us = day_start + 3600'000'000LL;
  spec.reason = "ball through the window, parents informed";
  spec.case_reference = "2026-044";
  spec.review_by_utc_us = now + 10 * 24 * 3600'000'000LL;
  auto hold = services.holds.place(director, spec);
  REQUIRE(hold.ok());
  spec.from_utc_us = day_start + 2 * 3600'000'000LL;
  spec.to_utc_us = now;
  spec.case_reference = "melding 7";
  REQUIRE(services.holds.request(viewer, spec).ok());
  firmware::NewSubjectRequest subject_request;
  subject_request.reference = "AVG-2026-1";
  subject_request.kind = firmware::RequestKind::kRestriction;
  subject_request.requester_name = "a parent";
  subject_request.received_utc_us = now;
  REQUIRE(services.requests.add(director, subject_request).ok());
  REQUIRE(services.subject_footage
              .restrict_range(director, "cam1", day_start + 1800'000'000LL,
                              day_start + 2400'000'000LL, "AVG-2026-1", "contested")
              .ok());

  const std::string path = "/api/v1/cameras/" + std::to_string(web.camera1) +
                           "/timeline?from=" + hal::format_iso8601_utc(day_start) +
                           "&to=" + hal::format_iso8601_utc(now);
  for (const std::string role : {"director", "viewer"}) {
    INFO(role);
    auto response = web.request("GET", path, web.headers(role));
    REQUIRE(response);
    REQUIRE(response->status == 200);
    const json holds = json::parse(response->body)["holds"];
    REQUIRE(holds.size() == 3);
    CHECK(holds[0]["kind"] == "hold");
    CHECK(holds[0]["id"] == hold.value().id);
    CHECK(holds[0]["reference"] == "2026-044");
    CHECK(holds[0]["reason"] == "ball through the window, parents informed");
    CHECK(holds[0]["from_us"] == day_start);
    CHECK(holds[1]["kind"] == "restriction");
    CHECK(holds[1]["reason"] == "contested");
    CHECK(holds[2]["kind"] == "hold_request");
  }

  // Nothing overdue yet. A hold placed a month ago with a review-by date ten days later is
  // overdue now: directors, privacy officers and (it is on cam1) the viewer see it, admins not.
  auto status = web.request("GET", "/api/v1/status", web.headers("director"));
  REQUIRE(status);
  CHECK(json::parse(status->body)["holds_overdue"].empty());
  const int64_t day = 24 * 3600'000'000LL;
  hal::SimulatedClock month_ago(now - 30 * day);
  firmware::HoldService then(web.appliance->catalog(), month_ago, services.audit);
  spec.from_utc_us = now - 32 * day;
  spec.to_utc_us = now - 31 * day;
  spec.case_reference = "2026-031";
  spec.review_by_utc_us = now - 20 * day;
  auto old_hold = then.place(director, spec);
  REQUIRE(old_hold.ok());
  for (const auto& [role, shown] : std::vector<std::pair<std::string, size_t>>{
           {"director", 1}, {"privacy_officer", 1}, {"viewer", 1}, {"admin", 0}}) {
    INFO(role);
    auto response = web.request("GET", "/api/v1/status", web.headers(role));
    REQUIRE(response);
    REQUIRE(response->status == 200);
    const json overdue = json::parse(response->body)["holds_overdue"];
    REQUIRE(overdue.size() == shown);
    if (shown == 1) {
      CHECK(overdue[0]["id"] == old_hold.value().id);
      CHECK(overdue[0]["case"] == "2026-031");
      CHECK(overdue[0]["camera"] == "cam1");
      CHECK(overdue[0]["reason"] == spec.reason);
    }
  }
}

TEST_CASE(
    "R7: the dashboard shows the data subjects' requests that are due, to directors and privacy "
    "officers only",
    "[web][requests][R7]") {
  testing::WebFixture web;
  auto& services = *web.services;
  auto signed_in = services.accounts.authenticate(
      {web.account_of_role.at("director"), "the-final-password-42", "", "console"});
  REQUIRE(signed_in.ok());
  const auto director = signed_in.value();
  const int64_t now = web.appliance->clock().now_utc_us();
  const int64_t day = 24 * 3600'000'000LL;
  // Received 30, 25 and 1 day(s) ago: overdue, due in 3 days, due in 27 days (not shown).
  for (const auto& [reference, age] : std::vector<std::pair<std::string, int64_t>>{
           {"AVG-late", 30}, {"AVG-soon", 25}, {"AVG-new", 1}}) {
    firmware::NewSubjectRequest request;
    request.reference = reference;
    request.kind = firmware::RequestKind::kAccess;
    request.requester_name = "a parent";
    request.received_utc_us = now - age * day;
    REQUIRE(services.requests.add(director, request).ok());
  }
  for (const auto& [role, shown] : std::vector<std::pair<std::string, size_t>>{
           {"director", 2}, {"privacy_officer", 2}, {"viewer", 0}, {"admin", 0}}) {
    INFO(role);
    auto response = web.request("GET", "/api/v1/status", web.headers(role));
    REQUIRE(response);
    REQUIRE(response->status == 200);
    const json due = json::parse(response->body)["requests_due"];
    REQUIRE(due.size() == shown);
    if (shown == 2) {
      CHECK(due[0]["reference"] == "AVG-late");
      CHECK(due[0]["overdue"] == true);
      CHECK(due[0]["deadline"] == hal::format_iso8601_utc(now - 2 * day));
      CHECK(due[1]["reference"] == "AVG-soon");
      CHECK(due[1]["overdue"] == false);
      CHECK(due[1]["kind"] == "access");
      CHECK(response->body.find("a parent") == std::string::npos);
    }
  }
}
