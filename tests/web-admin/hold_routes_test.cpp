// The hold routes (issue #6 over firmware::HoldService): each role against each route, the
// object-level checks (a viewer and another camera's hold), CSRF and Origin, and bad input —
// over real TLS against a real appliance (SQLite file on disk).

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>

#include "web_fixture.h"
#include "yardwatch/firmware/holds.h"
#include "yardwatch/hal/clock.h"

using namespace yardwatch;
using nlohmann::json;
using yardwatch::testing::error_code;
using yardwatch::testing::error_message;
using yardwatch::testing::WebFixture;

namespace {

constexpr int64_t kHourUs = 3600'000'000LL;
constexpr int64_t kDayUs = 24 * kHourUs;

json hold_body(const WebFixture& web, const std::string& camera,
               const std::string& case_reference = "2026-051") {
  const int64_t now = web.appliance->clock().now_utc_us();
  return json{{"cameras", {camera}},
              {"from", hal::format_iso8601_utc(now - 2 * kHourUs)},
              {"to", hal::format_iso8601_utc(now - kHourUs)},
              {"reason", "fight near the bicycle shed, parents informed"},
              {"case_reference", case_reference},
              {"review_by", hal::format_iso8601_utc(now + 30 * kDayUs)}};
}

// Audit entries of one action, as "actor outcome object camera".
std::set<std::string> journal(const WebFixture& web, const std::string& action) {
  auto entries = web.services->audit.list({});
  REQUIRE(entries.ok());
  std::set<std::string> found;
  for (const auto& entry : entries.value()) {
    if (entry.event.action != action) continue;
    found.insert(entry.actor.name + " " + (entry.event.allowed ? "allowed" : "denied") + " " +
                 entry.event.object_id + " " + entry.event.camera);
  }
  return found;
}

}  // namespace

TEST_CASE("R2: a director places, extends and releases a hold over the API, each step audited",
          "[web][holds][R2]") {
  WebFixture web;
  const auto director = web.headers("director");
  const int64_t now = web.appliance->clock().now_utc_us();

  auto placed = web.request("POST", "/api/v1/holds", director, hold_body(web, "cam1").dump());
  REQUIRE(placed);
  INFO(placed->body);
  REQUIRE(placed->status == 201);
  const json hold = json::parse(placed->body);
  const int64_t id = hold["id"];
  const std::string hold_path = "/api/v1/holds/" + std::to_string(id);
  CHECK(hold["state"] == "active");
  CHECK(hold["cameras"] == json::array({"cam1"}));
  CHECK(hold["case_reference"] == "2026-051");
  CHECK(hold["created_by"] == "dirk-director");
  CHECK(hold["overdue"] == false);
  CHECK(hold["pending_until"].is_null());
  // The firmware keeps the range: the recorder's protected range exists while it is active.
  auto kept = web.services->holds.oldest_open_start();
  REQUIRE(kept.ok());
  CHECK(kept.value() == hold["from_us"].get<int64_t>());

  // Everyone who reads holds finds it; the list filters by state and camera.
  for (const std::string role : {"director", "privacy_officer", "viewer"}) {
    INFO(role);
    auto shown = web.request("GET", hold_path, web.headers(role));
    REQUIRE(shown);
    CHECK(shown->status == 200);
    auto listed = web.request("GET", "/api/v1/holds?state=active&camera=cam1", web.headers(role));
    REQUIRE(listed);
    REQUIRE(listed->status == 200);
    CHECK(json::parse(listed->body)["holds"].size() == 1);
  }
  auto pending = web.request("GET", "/api/v1/holds?state=pending", director);
  REQUIRE(pending);
  CHECK(json::parse(pending->body)["holds"].empty());
  auto on_cam2 = web.request("GET", "/api/v1/holds?camera=cam2", director);
  REQUIRE(on_cam2);
  CHECK(json::parse(on_cam2->body)["holds"].empty());

  // Extend: a date means the end of that day; more than six months ahead is refused.
  const std::string too_far = hal::format_iso8601_utc(now + 200 * kDayUs).substr(0, 10);
  auto refused =
      web.request("POST", hold_path + "/extend", director, json{{"review_by", too_far}}.dump());
  REQUIRE(refused);
  CHECK(refused->status == 400);
  CHECK(error_message(refused->body).find("six months") != std::string::npos);
  const std::string later = hal::format_iso8601_utc(now + 90 * kDayUs).substr(0, 10);
  auto extended =
      web.request("POST", hold_path + "/extend", director, json{{"review_by", later}}.dump());
  REQUIRE(extended);
  INFO(extended->body);
  REQUIRE(extended->status == 200);
  CHECK(json::parse(extended->body)["review_by"] == later + "T23:59:59Z");

  // Confirming or rejecting an active hold is a conflict, not a change.
  auto confirm = web.request("POST", hold_path + "/confirm", director, "{}");
  REQUIRE(confirm);
  CHECK(confirm->status == 409);
  auto reject = web.request("POST", hold_path + "/reject", director,
                            json{{"reason", "not needed after all"}}.dump());
  REQUIRE(reject);
  CHECK(reject->status == 409);

  auto released = web.request("POST", hold_path + "/release", director,
                              json{{"note", "case closed by the police"}}.dump());
  REQUIRE(released);
  REQUIRE(released->status == 200);
  CHECK(json::parse(released->body)["state"] == "released");
  CHECK(json::parse(released->body)["released_by"] == "dirk-director");
  auto open_now = web.services->holds.oldest_open_start();
  REQUIRE(open_now.ok());
  CHECK_FALSE(open_now.value().has_value());
  auto again = web.request("POST", hold_path + "/release", director, "{}");
  REQUIRE(again);
  CHECK(again->status == 409);
  auto listed_released = web.request("GET", "/api/v1/holds?state=released", director);
  REQUIRE(listed_released);
  CHECK(json::parse(listed_released->body)["holds"].size() == 1);
  auto listed_open = web.request("GET", "/api/v1/holds", director);
  REQUIRE(listed_open);
  CHECK(json::parse(listed_open->body)["holds"].empty());

  const std::string object = std::to_string(id) + " cam1";
  CHECK(journal(web, "hold_place").count("dirk-director allowed " + object) == 1);
  CHECK(journal(web, "hold_extend").count("dirk-director allowed " + object) == 1);
  CHECK(journal(web, "hold_extend").count("dirk-director denied " + object) == 1);
  CHECK(journal(web, "hold_release").count("dirk-director allowed " + object) == 1);
}

TEST_CASE(
    "R4: a viewer requests a hold for an assigned camera, a director confirms or rejects it, "
    "and another camera's hold is 403 and audited",
    "[web][holds][R4]") {
  WebFixture web;
  const auto viewer = web.headers("viewer");  // assigned cam1
  const auto director = web.headers("director");
  const int64_t now = web.appliance->clock().now_utc_us();

  auto requested =
      web.request("POST", "/api/v1/holds/requests", viewer, hold_body(web, "cam1", "m-7").dump());
  REQUIRE(requested);
  INFO(requested->body);
  REQUIRE(requested->status == 201);
  const json request = json::parse(requested->body);
  CHECK(request["state"] == "pending");
  CHECK(request["created_by"] == "vera-viewer");
  auto pending_until_parsed =
      hal::parse_iso8601_utc_us(request["pending_until"].get<std::string>());
  REQUIRE(pending_until_parsed.ok());
  const int64_t pending_until = pending_until_parsed.value();
  CHECK(pending_until >= now + 72 * kHourUs);
  CHECK(pending_until <= now + 72 * kHourUs + 60'000'000);
  const std::string request_path = "/api/v1/holds/" + std::to_string(request["id"].get<int64_t>());

  // Not for a camera that is not assigned, and never placed directly.
  auto other_camera =
      web.request("POST", "/api/v1/holds/requests", viewer, hold_body(web, "cam2").dump());
  REQUIRE(other_camera);
  CHECK(other_camera->status == 403);
  auto place = web.request("POST", "/api/v1/holds", viewer, hold_body(web, "cam1").dump());
  REQUIRE(place);
  CHECK(place->status == 403);
  CHECK(error_code(place->body) == "forbidden");
  // The viewer cannot decide on the own request either.
  for (const std::string action : {"confirm", "reject", "extend", "release"}) {
    INFO(action);
    auto decided = web.request("POST", request_path + "/" + action, viewer,
                               json{{"reason", "my own decision"}}.dump());
    REQUIRE(decided);
    CHECK(decided->status == 403);
  }

  // A director's hold on cam2: the viewer gets 403 for it by id and by camera, audited.
  auto on_cam2 = web.request("POST", "/api/v1/holds", director, hold_body(web, "cam2").dump());
  REQUIRE(on_cam2);
  REQUIRE(on_cam2->status == 201);
  const std::string cam2_id = std::to_string(json::parse(on_cam2->body)["id"].get<int64_t>());
  auto read_other = web.request("GET", "/api/v1/holds/" + cam2_id, viewer);
  REQUIRE(read_other);
  CHECK(read_other->status == 403);
  CHECK(read_other->body.find("2026-051") == std::string::npos);
  auto list_other = web.request("GET", "/api/v1/holds?camera=cam2", viewer);
  REQUIRE(list_other);
  CHECK(list_other->status == 403);
  auto own_list = web.request("GET", "/api/v1/holds?state=all", viewer);
  REQUIRE(own_list);
  REQUIRE(own_list->status == 200);
  const json own = json::parse(own_list->body)["holds"];
  REQUIRE(own.size() == 1);
  CHECK(own[0]["cameras"] == json::array({"cam1"}));
  // A hold that does not exist is 404 for everyone.
  auto missing = web.request("GET", "/api/v1/holds/999999", viewer);
  REQUIRE(missing);
  CHECK(missing->status == 404);

  // Admins read no case information at all.
  auto admin_list = web.request("GET", "/api/v1/holds", web.headers("admin"));
  REQUIRE(admin_list);
  CHECK(admin_list->status == 403);

  // The director confirms the request with a new review-by date; a second request is rejected.
  const std::string review_by = hal::format_iso8601_utc(now + 60 * kDayUs);
  auto confirmed = web.request("POST", request_path + "/confirm", director,
                               json{{"review_by", review_by}}.dump());
  REQUIRE(confirmed);
  INFO(confirmed->body);
  REQUIRE(confirmed->status == 200);
  CHECK(json::parse(confirmed->body)["state"] == "active");
  CHECK(json::parse(confirmed->body)["decided_by"] == "dirk-director");
  CHECK(json::parse(confirmed->body)["review_by"] == review_by);
  auto second =
      web.request("POST", "/api/v1/holds/requests", viewer, hold_body(web, "cam1", "m-8").dump());
  REQUIRE(second);
  REQUIRE(second->status == 201);
  const std::string second_path =
      "/api/v1/holds/" + std::to_string(json::parse(second->body)["id"].get<int64_t>());
  auto no_reason = web.request("POST", second_path + "/reject", director, "{}");
  REQUIRE(no_reason);
  CHECK(no_reason->status == 400);
  auto rejected = web.request("POST", second_path + "/reject", director,
                              json{{"reason", "the footage shows nothing of the incident"}}.dump());
  REQUIRE(rejected);
  REQUIRE(rejected->status == 200);
  CHECK(json::parse(rejected->body)["state"] == "rejected");
  CHECK(json::parse(rejected->body)["decision_note"] ==
        "the footage shows nothing of the incident");

  CHECK(journal(web, "hold_request").count("vera-viewer denied  cam2") == 1);
  CHECK(journal(web, "hold_read").count("vera-viewer denied " + cam2_id + " cam2") == 1);
  CHECK(journal(web, "hold_read").count("vera-viewer denied  cam2") == 1);
  CHECK(journal(web, "hold_confirm")
            .count("dirk-director allowed " + std::to_string(request["id"].get<int64_t>()) +
                   " cam1") == 1);
  bool route_denial_audited = false;
  auto entries = web.services->audit.list({});
  REQUIRE(entries.ok());
  for (const auto& entry : entries.value()) {
    if (entry.actor.name == "vera-viewer" && entry.event.action == "http_request" &&
        !entry.event.allowed && entry.event.object_id.find("/confirm") != std::string::npos) {
      route_denial_audited = true;
    }
  }
  CHECK(route_denial_audited);
}

TEST_CASE("hold changes need the CSRF token and a same-origin Origin, and change nothing without",
          "[web][holds]") {
  WebFixture web;
  const auto director = web.headers("director");
  auto without_csrf = director;
  without_csrf.erase("X-CSRF-Token");
  auto wrong_csrf = without_csrf;
  wrong_csrf.emplace("X-CSRF-Token", std::string(43, 'B'));
  auto foreign = director;
  foreign.erase("Origin");
  foreign.emplace("Origin", "https://evil.example");
  auto no_origin = director;
  no_origin.erase("Origin");
  const std::string body = hold_body(web, "cam1").dump();
  for (const auto& [name, headers, code] :
       std::vector<std::tuple<std::string, httplib::Headers, std::string>>{
           {"no token", without_csrf, "csrf"},
           {"wrong token", wrong_csrf, "csrf"},
           {"foreign origin", foreign, "origin"},
           {"no origin", no_origin, "origin"}}) {
    INFO(name);
    for (const std::string path : {"/api/v1/holds", "/api/v1/holds/requests"}) {
      auto response = web.request("POST", path, headers, body);
      REQUIRE(response);
      CHECK(response->status == 403);
      CHECK(error_code(response->body) == code);
    }
  }
  auto holds = web.services->holds.open_counts();
  REQUIRE(holds.ok());
  CHECK(holds.value() == std::pair<int64_t, int64_t>{0, 0});

  // With both, the same request works; a forged release of it does not.
  auto placed = web.request("POST", "/api/v1/holds", director, body);
  REQUIRE(placed);
  REQUIRE(placed->status == 201);
  const std::string path =
      "/api/v1/holds/" + std::to_string(json::parse(placed->body)["id"].get<int64_t>());
  auto forged = web.request("POST", path + "/release", foreign, "{}");
  REQUIRE(forged);
  CHECK(forged->status == 403);
  auto still = web.request("GET", path, director);
  REQUIRE(still);
  CHECK(json::parse(still->body)["state"] == "active");
}

TEST_CASE("hold routes refuse bad input with a clear 400 and keep nothing", "[web][holds]") {
  WebFixture web;
  const auto director = web.headers("director");
  const int64_t now = web.appliance->clock().now_utc_us();
  const json good = hold_body(web, "cam1");
  auto with = [&](const std::string& field, const json& value) {
    json body = good;
    if (value.is_null()) {
      body.erase(field);
    } else {
      body[field] = value;
    }
    return body.dump();
  };
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"no cameras", with("cameras", json::array()), "cameras"},
      {"cameras not a list", with("cameras", "cam1"), "cameras"},
      {"camera not a name", with("cameras", json::array({42})), "cameras"},
      {"no from", with("from", nullptr), "from"},
      {"from not a time", with("from", "yesterday"), "from"},
      {"to before from", with("to", hal::format_iso8601_utc(now - 3 * kHourUs)), "range"},
      {"reason too short", with("reason", "bad"), "reason"},
      {"reason not text", with("reason", 12345), "reason"},
      {"no case", with("case_reference", nullptr), "case_reference"},
      {"case with a control character", with("case_reference", "2026\n051"), "case"},
      {"no review-by", with("review_by", nullptr), "review_by"},
      {"review-by not a date", with("review_by", "next week"), "review_by"},
      {"review-by in the past", with("review_by", hal::format_iso8601_utc(now - kDayUs)), "review"},
      {"review-by over six months", with("review_by", hal::format_iso8601_utc(now + 184 * kDayUs)),
       "six months"},
      {"not JSON", "{\"cameras\": [", "JSON"},
      {"not an object", "[1, 2]", "object"},
      {"nested too deeply", R"({"a":[[[[[[[[[[1]]]]]]]]]]})", "deeply"},
  };
  for (const std::string path : {"/api/v1/holds", "/api/v1/holds/requests"}) {
    for (const auto& [name, body, mentions] : cases) {
      INFO(path << ": " << name);
      auto response = web.request("POST", path, director, body);
      REQUIRE(response);
      INFO(response->body);
      CHECK(response->status == 400);
      CHECK(error_code(response->body) == "invalid");
      CHECK(error_message(response->body).find(mentions) != std::string::npos);
    }
  }
  // An unknown camera is 404; a body over the route's 4 KiB is 413 before it is read.
  auto unknown = web.request("POST", "/api/v1/holds", director, with("cameras", {"cam9"}));
  REQUIRE(unknown);
  CHECK(unknown->status == 404);
  auto large =
      web.request("POST", "/api/v1/holds", director, with("reason", std::string(5000, 'x')));
  REQUIRE(large);
  CHECK(large->status == 413);
  auto wrong_type = web.request("POST", "/api/v1/holds", director, good.dump(), "text/plain");
  REQUIRE(wrong_type);
  CHECK(wrong_type->status == 400);
  // The list's filters.
  for (const std::string query : {"state=closed", "state=", "camera=", "state=all&state=open"}) {
    INFO(query);
    auto response = web.request("GET", "/api/v1/holds?" + query, director);
    REQUIRE(response);
    CHECK(response->status == 400);
  }
  auto counts = web.services->holds.open_counts();
  REQUIRE(counts.ok());
  CHECK(counts.value() == std::pair<int64_t, int64_t>{0, 0});
}

TEST_CASE("the hold list filters overdue holds, and privacy officers are offered the holds page",
          "[web][holds]") {
  WebFixture web;
  auto signed_in = web.services->accounts.authenticate(
      {web.account_of_role.at("director"), "the-final-password-42", "", "console"});
  REQUIRE(signed_in.ok());
  const int64_t now = web.appliance->clock().now_utc_us();
  // A hold placed a month ago with a review-by date twenty days ago is overdue now.
  hal::SimulatedClock month_ago(now - 30 * kDayUs);
  firmware::HoldService then(web.appliance->catalog(), month_ago, web.services->audit);
  firmware::HoldSpec spec;
  spec.cameras = {"cam1"};
  spec.from_utc_us = now - 32 * kDayUs;
  spec.to_utc_us = now - 31 * kDayUs;
  spec.reason = "graffiti on the gym wall";
  spec.case_reference = "2026-031";
  spec.review_by_utc_us = now - 20 * kDayUs;
  auto old_hold = then.place(signed_in.value(), spec);
  REQUIRE(old_hold.ok());
  auto fresh =
      web.request("POST", "/api/v1/holds", web.headers("director"), hold_body(web, "cam1").dump());
  REQUIRE(fresh);
  REQUIRE(fresh->status == 201);

  for (const auto& [query, ids] : std::vector<std::pair<std::string, size_t>>{
           {"", 2}, {"?state=active", 2}, {"?state=overdue", 1}, {"?state=pending", 0}}) {
    INFO(query);
    auto listed = web.request("GET", "/api/v1/holds" + query, web.headers("privacy_officer"));
    REQUIRE(listed);
    REQUIRE(listed->status == 200);
    const json holds = json::parse(listed->body)["holds"];
    CHECK(holds.size() == ids);
    if (query == "?state=overdue" && holds.size() == 1) {
      CHECK(holds[0]["id"] == old_hold.value().id);
      CHECK(holds[0]["overdue"] == true);
    }
  }
  for (const auto& [role, reads] : std::vector<std::pair<std::string, bool>>{
           {"privacy_officer", true}, {"director", true}, {"viewer", false}, {"admin", false}}) {
    INFO(role);
    auto session = web.request("GET", "/api/v1/session", web.headers(role));
    REQUIRE(session);
    CHECK(json::parse(session->body)["permissions"]["read_subject_requests"] == reads);
  }
}
