// The privacy desk in the web admin (issue #8): the request register (R7), the breach register
// (R8), the dashboard's DPIA warning (R10) and open breaches, and the four-eyes prompt for
// recorded footage and police exports — each role against each route, CSRF, the 12-week limit,
// and the audit entries — over real TLS against a real appliance (SQLite file on disk).

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "../recorder/recorded_footage.h"
#include "web_fixture.h"
#include "yardwatch/firmware/clock_log.h"
#include "yardwatch/firmware/settings.h"
#include "yardwatch/firmware/throttle.h"
#include "yardwatch/hal/clock.h"

using namespace yardwatch;
using nlohmann::json;
using yardwatch::testing::entries_of;
using yardwatch::testing::error_code;
using yardwatch::testing::error_message;
using yardwatch::testing::WebFixture;

namespace {

constexpr int64_t kHourUs = 3600'000'000LL;
constexpr int64_t kDayUs = 24 * kHourUs;
constexpr const char* kPassword = "the-final-password-42";
const std::vector<uint8_t> kVerifyPage = {'<', 'h', 't', 'm', 'l', '>'};

json request_body(const WebFixture& web, const std::string& reference) {
  const int64_t now = web.appliance->clock().now_utc_us();
  return json{{"reference", reference},
              {"kind", "access"},
              {"requester_name", "Parent of pupil 7B"},
              {"requester_contact", "parent@example.org"},
              {"description", "wants to see footage of the schoolyard on Monday"},
              {"received", hal::format_iso8601_utc(now - 2 * kDayUs)},
              {"footage",
               json::array({json{{"camera", "cam1"},
                                 {"from", hal::format_iso8601_utc(now - 3 * kDayUs)},
                                 {"to", hal::format_iso8601_utc(now - 3 * kDayUs + kHourUs)}}})}};
}

// A second account of `role`, signed in once to set its own password (as the fixture's are).
void add_account(WebFixture& web, const std::string& name, firmware::Role role,
                 const std::vector<std::string>& cameras = {}) {
  REQUIRE(web.services->accounts
              .add_account(firmware::Actor::console(), name, role, cameras, "temporary-password-1")
              .ok());
  REQUIRE(web.services->accounts
              .change_password({name, "temporary-password-1", "", "console"}, kPassword)
              .ok());
}

void four_eyes_on(WebFixture& web) {
  REQUIRE(firmware::set_setting(web.appliance->catalog(), web.services->audit,
                                firmware::Actor::console(), firmware::kFourEyesSetting, "1")
              .ok());
}

json viewing_body(const WebFixture& web, int64_t camera_id) {
  const int64_t now = web.appliance->clock().now_utc_us();
  return json{{"camera_id", camera_id},
              {"kind", "recorded"},
              {"from", hal::format_iso8601_utc(now - 2 * kHourUs)},
              {"to", hal::format_iso8601_utc(now)},
              {"purpose", "incident at the bicycle shed on Monday"}};
}

json second_person(const std::string& name, const std::string& password) {
  return json{{"name", name}, {"password", password}, {"totp", ""}};
}

}  // namespace

TEST_CASE("R7: a director registers, extends once and closes a request over the API",
          "[web][requests][R7]") {
  WebFixture web;
  const auto director = web.headers("director");
  auto added =
      web.request("POST", "/api/v1/requests", director, request_body(web, "AVG-2026-01").dump());
  REQUIRE(added);
  INFO(added->body);
  REQUIRE(added->status == 201);
  const json request = json::parse(added->body);
  const std::string path = "/api/v1/requests/" + std::to_string(request["id"].get<int64_t>());
  CHECK(request["status"] == "open");
  CHECK(request["registered_by"] == "dirk-director");
  CHECK(request["footage"][0]["camera"] == "cam1");
  const int64_t received =
      hal::parse_iso8601_utc_us(request["received"].get<std::string>()).value();
  CHECK(hal::parse_iso8601_utc_us(request["deadline"].get<std::string>()).value() ==
        received + 28 * kDayUs);

  // A second request with the same reference is a conflict.
  auto twice =
      web.request("POST", "/api/v1/requests", director, request_body(web, "AVG-2026-01").dump());
  REQUIRE(twice);
  CHECK(twice->status == 409);

  // It is in the open list; the due list (7 days) does not have it yet (26 days left).
  auto open = web.request("GET", "/api/v1/requests", director);
  REQUIRE(open);
  REQUIRE(open->status == 200);
  CHECK(json::parse(open->body)["requests"].size() == 1);
  auto due = web.request("GET", "/api/v1/requests?state=due", director);
  REQUIRE(due);
  CHECK(json::parse(due->body)["requests"].empty());

  // Beyond 12 weeks after receipt: refused with a message that says so, nothing changes.
  auto too_far =
      web.request("POST", path + "/extend", director,
                  json{{"weeks", 13}, {"reason", "footage of three cameras to review"}}.dump());
  REQUIRE(too_far);
  CHECK(too_far->status == 400);
  CHECK(error_message(too_far->body).find("within 12 weeks of receipt") != std::string::npos);
  // Without a reason: refused.
  auto no_reason = web.request("POST", path + "/extend", director, json{{"weeks", 8}}.dump());
  REQUIRE(no_reason);
  CHECK(no_reason->status == 400);

  auto extended =
      web.request("POST", path + "/extend", director,
                  json{{"weeks", 12}, {"reason", "footage of three cameras to review"}}.dump());
  REQUIRE(extended);
  INFO(extended->body);
  REQUIRE(extended->status == 200);
  const json after = json::parse(extended->body);
  CHECK(hal::parse_iso8601_utc_us(after["deadline"].get<std::string>()).value() ==
        received + 84 * kDayUs);
  CHECK(after["extended_by"] == "dirk-director");
  CHECK(after["extension_reason"] == "footage of three cameras to review");
  auto again =
      web.request("POST", path + "/extend", director,
                  json{{"weeks", 10}, {"reason", "once more, which is not allowed"}}.dump());
  REQUIRE(again);
  CHECK(again->status == 409);
  CHECK(error_message(again->body).find("only once") != std::string::npos);

  auto closed = web.request("POST", path + "/close", director,
                            json{{"outcome", "granted"}, {"note", "footage shown"}}.dump());
  REQUIRE(closed);
  REQUIRE(closed->status == 200);
  const json done = json::parse(closed->body);
  CHECK(done["status"] == "closed");
  CHECK(done["outcome"] == "granted");
  CHECK(done["requester_name"] == "");  // minimised once closed
  CHECK(done["closed_by"] == "dirk-director");
  auto all = web.request("GET", "/api/v1/requests?state=all", director);
  REQUIRE(all);
  CHECK(json::parse(all->body)["requests"].size() == 1);
  CHECK(json::parse(web.request("GET", "/api/v1/requests", director)->body)["requests"].empty());

  CHECK(entries_of(web, "request_register").size() == 2);  // one allowed, one refused
  const auto extends = entries_of(web, "request_extend");
  int allowed = 0;
  for (const auto& entry : extends) allowed += entry.event.allowed ? 1 : 0;
  CHECK(allowed == 1);
  CHECK(extends.size() == 3);
}

TEST_CASE(
    "R7: the privacy officer reads the register, viewers and admins get 403, changes need "
    "CSRF",
    "[web][requests][R7]") {
  WebFixture web;
  const auto director = web.headers("director");
  auto added =
      web.request("POST", "/api/v1/requests", director, request_body(web, "AVG-2026-02").dump());
  REQUIRE(added);
  REQUIRE(added->status == 201);
  const std::string path =
      "/api/v1/requests/" + std::to_string(json::parse(added->body)["id"].get<int64_t>());

  const auto officer = web.headers("privacy_officer");
  auto read = web.request("GET", path, officer);
  REQUIRE(read);
  CHECK(read->status == 200);
  CHECK(json::parse(read->body)["reference"] == "AVG-2026-02");
  for (const auto& [method, target] : std::vector<std::pair<std::string, std::string>>{
           {"POST", "/api/v1/requests"}, {"POST", path + "/extend"}, {"POST", path + "/close"}}) {
    INFO(target);
    auto refused = web.request(method, target, officer,
                               json{{"weeks", 8}, {"reason", "officer tries"}}.dump());
    REQUIRE(refused);
    CHECK(refused->status == 403);
  }
  for (const std::string role : {"viewer", "admin"}) {
    INFO(role);
    for (const std::string& target :
         std::vector<std::string>{"/api/v1/requests", path, "/api/v1/breaches"}) {
      auto refused = web.request("GET", target, web.headers(role));
      REQUIRE(refused);
      CHECK(refused->status == 403);
    }
  }
  // A change without the CSRF token, or from another origin, changes nothing.
  auto without_csrf = director;
  without_csrf.erase("X-CSRF-Token");
  auto foreign = director;
  foreign.erase("Origin");
  foreign.emplace("Origin", "https://evil.example");
  for (const auto& headers : {without_csrf, foreign}) {
    auto forged =
        web.request("POST", path + "/close", headers, json{{"outcome", "refused"}}.dump());
    REQUIRE(forged);
    CHECK(forged->status == 403);
    auto forged_breach =
        web.request("POST", "/api/v1/breaches", headers,
                    json{{"detected", hal::format_iso8601_utc(web.appliance->clock().now_utc_us())},
                         {"description", "a forged registration"}}
                        .dump());
    REQUIRE(forged_breach);
    CHECK(forged_breach->status == 403);
  }
  CHECK(json::parse(web.request("GET", path, director)->body)["status"] == "open");
  CHECK(json::parse(web.request("GET", "/api/v1/breaches", director)->body)["breaches"].empty());
}

TEST_CASE(
    "R8: a director registers a breach and records the decision, the privacy officer only "
    "reads",
    "[web][breaches][R8]") {
  WebFixture web;
  const auto director = web.headers("director");
  const int64_t now = web.appliance->clock().now_utc_us();
  auto registered =
      web.request("POST", "/api/v1/breaches", director,
                  json{{"detected", hal::format_iso8601_utc(now - 2 * kHourUs)},
                       {"description", "a printed still of the schoolyard was found in the street"},
                       {"personal_data", "yes"},
                       {"encrypted_inaccessible", "no"}}
                      .dump());
  REQUIRE(registered);
  INFO(registered->body);
  REQUIRE(registered->status == 201);
  const json breach = json::parse(registered->body);
  const std::string path = "/api/v1/breaches/" + std::to_string(breach["id"].get<int64_t>());
  CHECK(breach["source"] == "manual");
  CHECK(breach["personal_data"] == "yes");
  CHECK(breach["decision"].is_null());
  CHECK(hal::parse_iso8601_utc_us(breach["deadline"].get<std::string>()).value() ==
        hal::parse_iso8601_utc_us(breach["detected"].get<std::string>()).value() + 72 * kHourUs);
  CHECK(breach["overdue"] == false);

  // The dashboard of a director and of the privacy officer lists it as open; a viewer's not.
  for (const std::string role : {"director", "privacy_officer"}) {
    auto status = web.request("GET", "/api/v1/status", web.headers(role));
    REQUIRE(status);
    CHECK(json::parse(status->body)["breaches_open"].size() == 1);
  }
  auto viewer_status = web.request("GET", "/api/v1/status", web.headers("viewer"));
  REQUIRE(viewer_status);
  CHECK(json::parse(viewer_status->body)["breaches_open"].empty());
  CHECK(json::parse(viewer_status->body)["dpia"].is_null());

  const auto officer = web.headers("privacy_officer");
  // The session tells the UI what to offer: the officer reads, the director also decides.
  for (const auto& [role, decides] :
       std::vector<std::pair<std::string, bool>>{{"privacy_officer", false}, {"director", true}}) {
    auto session = web.request("GET", "/api/v1/session", web.headers(role));
    REQUIRE(session);
    const json permissions = json::parse(session->body)["permissions"];
    CHECK(permissions["read_breaches"] == true);
    CHECK(permissions["manage_breaches"] == decides);
    CHECK(permissions["manage_subject_requests"] == decides);
  }
  auto officer_list = web.request("GET", "/api/v1/breaches", officer);
  REQUIRE(officer_list);
  CHECK(officer_list->status == 200);
  CHECK(json::parse(officer_list->body)["breaches"].size() == 1);
  auto officer_decides = web.request(
      "POST", path + "/decision", officer,
      json{{"decision", "not_report"}, {"reasoning", "the officer may not decide"}}.dump());
  REQUIRE(officer_decides);
  CHECK(officer_decides->status == 403);
  for (const std::string role : {"viewer", "admin"}) {
    auto refused = web.request("GET", path, web.headers(role));
    REQUIRE(refused);
    CHECK(refused->status == 403);
  }

  auto bad = web.request("POST", path + "/decision", director,
                         json{{"decision", "maybe"}, {"reasoning", "not a valid decision"}}.dump());
  REQUIRE(bad);
  CHECK(bad->status == 400);
  auto decided =
      web.request("POST", path + "/decision", director,
                  json{{"decision", "report"},
                       {"reasoning", "a recognisable child on a still outside the school"},
                       {"report_reference", "AP-2026-123"}}
                      .dump());
  REQUIRE(decided);
  INFO(decided->body);
  REQUIRE(decided->status == 200);
  const json after = json::parse(decided->body);
  CHECK(after["decision"] == "report");
  CHECK(after["decided_by"] == "dirk-director");
  CHECK(after["reasoning"] == "a recognisable child on a still outside the school");
  CHECK(after["report_reference"] == "AP-2026-123");
  CHECK_FALSE(after["decided"].is_null());
  auto status = web.request("GET", "/api/v1/status", director);
  REQUIRE(status);
  CHECK(json::parse(status->body)["breaches_open"].empty());
  auto read_back = web.request("GET", path, officer);
  REQUIRE(read_back);
  CHECK(json::parse(read_back->body)["decided_by"] == "dirk-director");

  bool decision_audited = false;
  for (const auto& entry : entries_of(web, "breach_decide")) {
    if (entry.event.allowed && entry.actor.name == "dirk-director") decision_audited = true;
  }
  CHECK(decision_audited);
}

TEST_CASE("R10: the dashboard warns directors and privacy officers of a DPIA due within 30 days",
          "[web][dpia][R10]") {
  WebFixture web;
  // No date: the appliance cannot show a DPIA was done, and warns.
  auto unknown = web.request("GET", "/api/v1/status", web.headers("director"));
  REQUIRE(unknown);
  CHECK(json::parse(unknown->body)["dpia"]["state"] == "unknown");
  CHECK(json::parse(unknown->body)["dpia"]["warning"] == true);

  // A DPIA done three years minus 10 days ago: due soon.
  const auto now_days =
      std::chrono::floor<std::chrono::days>(std::chrono::sys_time<std::chrono::microseconds>(
          std::chrono::microseconds(web.appliance->clock().now_utc_us())));
  const std::chrono::year_month_day today{now_days};
  const std::chrono::year_month_day done{std::chrono::sys_days(std::chrono::year_month_day(
      today.year() - std::chrono::years(3), today.month(), std::chrono::day(1)))};
  const std::chrono::year_month_day soon{std::chrono::sys_days(done) + std::chrono::days(20)};
  REQUIRE(
      web.services->dpia
          .set_date(
              web.services->accounts.authenticate({"dirk-director", kPassword, "", "test"}).value(),
              firmware::format_civil_date(soon))
          .ok());
  for (const std::string role : {"director", "privacy_officer"}) {
    auto status = web.request("GET", "/api/v1/status", web.headers(role));
    REQUIRE(status);
    const json dpia = json::parse(status->body)["dpia"];
    INFO(dpia.dump());
    CHECK(dpia["state"] == "due_soon");
    CHECK(dpia["warning"] == true);
    CHECK(dpia["date"] == firmware::format_civil_date(soon));
  }
  for (const std::string role : {"viewer", "admin"}) {
    auto status = web.request("GET", "/api/v1/status", web.headers(role));
    REQUIRE(status);
    CHECK(json::parse(status->body)["dpia"].is_null());
  }
}

TEST_CASE(
    "R4: with four-eyes on, one person alone cannot open recorded footage, two can, and "
    "both are in the audit entry",
    "[web][four_eyes][R4]") {
  WebFixture web;
  add_account(web, "dora-director", firmware::Role::kDirector);
  four_eyes_on(web);
  const auto director = web.headers("director");
  json body = viewing_body(web, web.camera1);

  auto alone = web.request("POST", "/api/v1/viewings", director, body.dump());
  REQUIRE(alone);
  CHECK(alone->status == 403);
  CHECK(error_code(alone->body) == "four_eyes_required");

  body["second_person"] = second_person("dirk-director", kPassword);
  auto self = web.request("POST", "/api/v1/viewings", director, body.dump());
  REQUIRE(self);
  CHECK(self->status == 403);
  CHECK(error_code(self->body) == "four_eyes_refused");

  body["second_person"] = second_person("dora-director", "not-her-password-at-all");
  auto wrong = web.request("POST", "/api/v1/viewings", director, body.dump());
  REQUIRE(wrong);
  CHECK(wrong->status == 403);
  CHECK(error_code(wrong->body) == "four_eyes_refused");
  // The failed sign-in is on record as a sign-in of the second person.
  bool failed_login = false;
  for (const auto& entry : entries_of(web, "login")) {
    if (!entry.event.allowed && entry.event.object_id.find("dora-director") != std::string::npos) {
      failed_login = true;
    }
  }
  CHECK(failed_login);

  // A second person who may not see this camera (the privacy officer) is refused.
  body["second_person"] = second_person("pim-privacy", kPassword);
  auto officer = web.request("POST", "/api/v1/viewings", director, body.dump());
  REQUIRE(officer);
  CHECK(error_code(officer->body) == "four_eyes_refused");

  body["second_person"] = second_person("dora-director", kPassword);
  auto together = web.request("POST", "/api/v1/viewings", director, body.dump());
  REQUIRE(together);
  INFO(together->body);
  CHECK(together->status == 201);

  // A viewer assigned to the camera may be the second person too.
  body["second_person"] = second_person("vera-viewer", kPassword);
  auto with_viewer = web.request("POST", "/api/v1/viewings", director, body.dump());
  REQUIRE(with_viewer);
  CHECK(with_viewer->status == 201);
  // … but not for a camera she is not assigned.
  json other = viewing_body(web, web.camera2);
  other["second_person"] = second_person("vera-viewer", kPassword);
  auto unassigned = web.request("POST", "/api/v1/viewings", director, other.dump());
  REQUIRE(unassigned);
  CHECK(error_code(unassigned->body) == "four_eyes_refused");

  int denied = 0;
  std::set<std::string> approvers;
  for (const auto& entry : entries_of(web, "viewing_open")) {
    REQUIRE(entry.actor.name == "dirk-director");
    if (!entry.event.allowed) {
      CHECK(entry.event.reason.find("four-eyes") != std::string::npos);
      ++denied;
      continue;
    }
    auto details = json::parse(entry.event.details, nullptr, false);
    REQUIRE(details.contains("four_eyes"));
    approvers.insert(details["four_eyes"]["approved_by"].get<std::string>());
  }
  CHECK(denied == 5);
  CHECK(approvers == std::set<std::string>{"dora-director", "vera-viewer"});

  // The second person's password is not kept anywhere the appliance writes.
  auto all_entries = web.services->audit.list({});
  REQUIRE(all_entries.ok());
  for (const auto& entry : all_entries.value()) {
    CHECK(entry.event.details.find(kPassword) == std::string::npos);
    CHECK(entry.event.reason.find(kPassword) == std::string::npos);
  }
}

TEST_CASE(
    "R4: with four-eyes on, a police export over the API needs a second director and names "
    "both",
    "[web][four_eyes][R4]") {
  WebFixture web;
  web.services->exports.set_verify_page(kVerifyPage);
  add_account(web, "dora-director", firmware::Role::kDirector);
  auto& app = *web.appliance;
  const int64_t t0 = app.clock().now_utc_us() - 10 * 60'000'000LL;
  hal::SimulatedClock synced(t0 - 1'000'000, hal::SyncState::kSynchronised);
  REQUIRE(firmware::record_clock_state(app.catalog(), synced).ok());
  recorder::test::FootageStore store(app.catalog(), app.storage(), app.keys());
  const auto stream = recorder::test::encode_stream(recorder::VideoCodec::kH264, 50, 25, 160, 120);
  const auto yard = store.add_camera("schoolplein");
  store.write_segment(yard, stream, 0, 50, t0);
  four_eyes_on(web);

  const auto director = web.headers("director");
  auto media = web.request("GET", "/api/v1/exports/media", director);
  REQUIRE(media);
  const std::string media_id = json::parse(media->body)["media"][0]["id"];
  json body{{"cameras", {"schoolplein"}},
            {"from", hal::format_iso8601_utc(t0 - 60'000'000LL)},
            {"to", hal::format_iso8601_utc(t0 + 5 * 60'000'000LL)},
            {"case_reference", "PL0900-2026-1"},
            {"legal_basis", "vordering art. 126nd Sv, nr. 2026/77"},
            {"recipient", "Politie Midden-Nederland, agent Jansen"},
            {"passphrase", "correct horse battery staple 42"},
            {"media_id", media_id}};
  auto alone = web.request("POST", "/api/v1/exports", director, body.dump());
  REQUIRE(alone);
  INFO(alone->body);
  CHECK(alone->status == 403);
  CHECK(error_code(alone->body) == "four_eyes_required");

  body["second_person"] = second_person("dora-director", "a-wrong-password-0");
  auto wrong = web.request("POST", "/api/v1/exports", director, body.dump());
  REQUIRE(wrong);
  CHECK(error_code(wrong->body) == "four_eyes_refused");
  CHECK(std::filesystem::is_empty(web.dir / "stick"));

  body["second_person"] = second_person("dora-director", kPassword);
  auto together = web.request("POST", "/api/v1/exports", director, body.dump());
  REQUIRE(together);
  INFO(together->body);
  REQUIRE(together->status == 201);
  const std::string export_id = json::parse(together->body)["id"];
  bool both_named = false;
  for (const auto& entry : entries_of(web, "police_export")) {
    if (!entry.event.allowed || entry.actor.name != "dirk-director") continue;
    auto details = json::parse(entry.event.details, nullptr, false);
    if (details.contains("four_eyes") && details["four_eyes"]["approved_by"] == "dora-director") {
      both_named = true;
    }
  }
  CHECK(both_named);
}

TEST_CASE(
    "R4: the second person's failed sign-ins in the four-eyes prompt are throttled like any "
    "sign-in",
    "[web][four_eyes][R4]") {
  WebFixture web;
  add_account(web, "dora-director", firmware::Role::kDirector);
  four_eyes_on(web);
  const auto director = web.headers("director");
  json body = viewing_body(web, web.camera1);
  body["second_person"] = second_person("dora-director", "guessing-the-password");
  for (int attempt = 0; attempt <= firmware::kThrottleFreeFailures; ++attempt) {
    auto guess = web.request("POST", "/api/v1/viewings", director, body.dump());
    REQUIRE(guess);
    CHECK(error_code(guess->body) == "four_eyes_refused");
  }
  // Locked out: even the right password is refused now, before it is checked.
  body["second_person"] = second_person("dora-director", kPassword);
  auto right = web.request("POST", "/api/v1/viewings", director, body.dump());
  REQUIRE(right);
  CHECK(right->status == 403);
  CHECK(error_code(right->body) == "four_eyes_refused");
  CHECK(error_message(right->body).find("try again") != std::string::npos);
  // The lock-out is a security incident in the breach register (R8).
  auto status = web.request("GET", "/api/v1/status", director);
  REQUIRE(status);
  CHECK_FALSE(json::parse(status->body)["breaches_open"].empty());
}
