// Answering a data subject's request from the web admin (R7): a director restricts, lifts and
// erases the footage a request concerns and links an existing hold or restriction to it — each
// the firmware's SubjectFootageService or RequestService with the request's reference, over real
// TLS against a real appliance (SQLite file on disk, real encrypted segments).

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "../recorder/recorded_footage.h"
#include "web_fixture.h"
#include "yardwatch/hal/clock.h"

using namespace yardwatch;
using nlohmann::json;
using yardwatch::testing::entries_of;
using yardwatch::testing::error_code;
using yardwatch::testing::error_message;
using yardwatch::testing::WebFixture;

namespace {

constexpr int64_t kMinuteUs = 60'000'000LL;
constexpr int64_t kDayUs = 24 * 60 * kMinuteUs;

// A camera "schoolplein" with one real two-second segment at `t0`.
struct Footage {
  recorder::Camera camera;
  recorder::SegmentRow segment;
};

Footage record_footage(WebFixture& web, int64_t t0) {
  auto& app = *web.appliance;
  recorder::test::FootageStore store(app.catalog(), app.storage(), app.keys());
  const auto stream = recorder::test::encode_stream(recorder::VideoCodec::kH264, 50, 25, 160, 120);
  Footage footage;
  footage.camera = store.add_camera("schoolplein");
  footage.segment = store.write_segment(footage.camera, stream, 0, 50, t0);
  return footage;
}

// Registers a request of `kind` concerning [from, to) of "schoolplein"; returns its id.
int64_t register_request(const WebFixture& web, const std::string& reference,
                         const std::string& kind, int64_t from, int64_t to) {
  const int64_t now = web.appliance->clock().now_utc_us();
  json body{{"reference", reference},
            {"kind", kind},
            {"requester_name", "Parent of pupil 4A"},
            {"received", hal::format_iso8601_utc(now - kDayUs)},
            {"footage", json::array({json{{"camera", "schoolplein"},
                                          {"from", hal::format_iso8601_utc(from)},
                                          {"to", hal::format_iso8601_utc(to)}}})}};
  auto added = web.request("POST", "/api/v1/requests", web.headers("director"), body.dump());
  REQUIRE(added);
  INFO(added->body);
  REQUIRE(added->status == 201);
  return json::parse(added->body)["id"].get<int64_t>();
}

// Footage recorded ten minutes ago (at t0) and a request of `kind` concerning [from, to) around
// it; `path` is the request's route.
struct RequestScene {
  int64_t t0 = 0;
  int64_t from = 0;
  int64_t to = 0;
  Footage footage;
  std::string path;
};

RequestScene request_scene(WebFixture& web, const std::string& reference, const std::string& kind) {
  RequestScene scene;
  scene.t0 = web.appliance->clock().now_utc_us() - 10 * kMinuteUs;
  scene.footage = record_footage(web, scene.t0);
  scene.from = scene.t0 - kMinuteUs;
  scene.to = scene.t0 + 5 * kMinuteUs;
  scene.path = "/api/v1/requests/" +
               std::to_string(register_request(web, reference, kind, scene.from, scene.to));
  return scene;
}

json range_body(int64_t from, int64_t to) {
  return json{{"camera", "schoolplein"},
              {"from", hal::format_iso8601_utc(from)},
              {"to", hal::format_iso8601_utc(to)}};
}

bool segment_exists(WebFixture& web, int64_t camera_id, int64_t from, int64_t to) {
  auto rows = web.appliance->catalog().segments_overlapping(camera_id, from, to);
  REQUIRE(rows.ok());
  return !rows.value().empty();
}

// Every entry of `action` that was allowed names the reference as its purpose.
size_t allowed_with_reference(const WebFixture& web, const std::string& action,
                              const std::string& reference) {
  size_t count = 0;
  for (const auto& entry : entries_of(web, action)) {
    if (entry.event.allowed && entry.event.purpose == reference &&
        entry.actor.name == "dirk-director") {
      ++count;
    }
  }
  return count;
}

}  // namespace

TEST_CASE(
    "R7: a director restricts, lifts and erases a request's footage over the API, each audited "
    "with the request's reference and listed as its actions",
    "[web][requests][R7]") {
  WebFixture web;
  const auto [t0, from, to, footage, path] = request_scene(web, "AVG-2026-20", "erasure");
  const auto director = web.headers("director");

  // Restrict: the footage can no longer be viewed.
  json restrict_body = range_body(from, to);
  restrict_body["reason"] = "contested until the erasure is decided";
  auto restricted = web.request("POST", path + "/restrictions", director, restrict_body.dump());
  REQUIRE(restricted);
  INFO(restricted->body);
  REQUIRE(restricted->status == 201);
  const json restriction = json::parse(restricted->body);
  CHECK(restriction["request"] == "AVG-2026-20");
  CHECK(restriction["camera"] == "schoolplein");
  CHECK(restriction["in_force"] == true);
  CHECK(restriction["reason"] == "contested until the erasure is decided");
  CHECK(allowed_with_reference(web, "footage_restrict", "AVG-2026-20") == 1);

  json viewing{{"camera_id", footage.camera.id},
               {"kind", "recorded"},
               {"from", hal::format_iso8601_utc(from)},
               {"to", hal::format_iso8601_utc(to)},
               {"purpose", "checking the request's footage"}};
  auto opened = web.request("POST", "/api/v1/viewings", director, viewing.dump());
  REQUIRE(opened);
  INFO(opened->body);
  REQUIRE(opened->status == 201);
  const json view = json::parse(opened->body);
  REQUIRE(view["segments"].size() == 1);
  auto shown = web.request("GET", view["segments"][0]["url"].get<std::string>(), director);
  REQUIRE(shown);
  CHECK(shown->status == 403);
  CHECK(error_message(shown->body).find("restricted") != std::string::npos);

  // The list of restrictions: directors and privacy officers.
  for (const std::string role : {"director", "privacy_officer"}) {
    INFO(role);
    auto listed = web.request("GET", "/api/v1/restrictions", web.headers(role));
    REQUIRE(listed);
    REQUIRE(listed->status == 200);
    const json list = json::parse(listed->body)["restrictions"];
    REQUIRE(list.size() == 1);
    CHECK(list[0]["id"] == restriction["id"]);
  }

  // Erasing restricted footage is refused, and nothing is deleted.
  auto refused = web.request("POST", path + "/erasures", director, range_body(from, to).dump());
  REQUIRE(refused);
  CHECK(refused->status == 409);
  CHECK(error_message(refused->body).find("restriction") != std::string::npos);
  CHECK(segment_exists(web, footage.camera.id, from, to));

  // Lift it under the request's reference.
  const std::string lift_path =
      path + "/restrictions/" + std::to_string(restriction["id"].get<int64_t>()) + "/lift";
  auto lifted = web.request("POST", lift_path, director, "{}");
  REQUIRE(lifted);
  INFO(lifted->body);
  REQUIRE(lifted->status == 200);
  CHECK(json::parse(lifted->body)["in_force"] == false);
  CHECK(json::parse(lifted->body)["lift_request"] == "AVG-2026-20");
  CHECK(allowed_with_reference(web, "footage_unrestrict", "AVG-2026-20") == 1);
  auto in_force = web.request("GET", "/api/v1/restrictions", director);
  REQUIRE(in_force);
  CHECK(json::parse(in_force->body)["restrictions"].empty());
  auto all = web.request("GET", "/api/v1/restrictions?state=all", director);
  REQUIRE(all);
  CHECK(json::parse(all->body)["restrictions"].size() == 1);

  // Erase: the segment is gone, the receipt says what went.
  auto erased = web.request("POST", path + "/erasures", director, range_body(from, to).dump());
  REQUIRE(erased);
  INFO(erased->body);
  REQUIRE(erased->status == 200);
  const json receipt = json::parse(erased->body);
  CHECK(receipt["segments"] == 1);
  CHECK(receipt["request"] == "AVG-2026-20");
  CHECK(receipt["deleted_from"] == hal::format_iso8601_utc(footage.segment.start_utc_us));
  CHECK_FALSE(segment_exists(web, footage.camera.id, from, to));
  CHECK(allowed_with_reference(web, "footage_erase", "AVG-2026-20") == 1);

  // The register lists what was done, oldest first.
  auto request = web.request("GET", path, director);
  REQUIRE(request);
  const json actions = json::parse(request->body)["actions"];
  REQUIRE(actions.size() == 3);
  CHECK(actions[0]["kind"] == "restriction");
  CHECK(actions[1]["kind"] == "restriction_lifted");
  CHECK(actions[2]["kind"] == "erasure");
  CHECK(actions[2]["linked_by"] == "dirk-director");
}

TEST_CASE(
    "R7: erasing held footage from the web admin is refused with the firmware's reason and "
    "deletes nothing, and the hold can be linked to the request",
    "[web][requests][R7]") {
  WebFixture web;
  const auto [t0, from, to, footage, path] = request_scene(web, "AVG-2026-21", "erasure");
  const auto director = web.headers("director");

  auto signed_in = web.services->accounts.authenticate(
      {web.account_of_role.at("director"), "the-final-password-42", "", "console"});
  REQUIRE(signed_in.ok());
  firmware::HoldSpec spec;
  spec.cameras = {"schoolplein"};
  spec.from_utc_us = t0;
  spec.to_utc_us = t0 + kMinuteUs;
  spec.reason = "fight at the gate, police informed";
  spec.case_reference = "2026-090";
  spec.review_by_utc_us = web.appliance->clock().now_utc_us() + 10 * kDayUs;
  auto hold = web.services->holds.place(signed_in.value(), spec);
  REQUIRE(hold.ok());

  auto refused = web.request("POST", path + "/erasures", director, range_body(from, to).dump());
  REQUIRE(refused);
  INFO(refused->body);
  CHECK(refused->status == 409);
  CHECK(error_code(refused->body) == "precondition");
  CHECK(error_message(refused->body).find("held footage cannot be erased") != std::string::npos);
  CHECK(error_message(refused->body).find("nothing was deleted") != std::string::npos);
  CHECK(segment_exists(web, footage.camera.id, from, to));
  bool denial_audited = false;
  for (const auto& entry : entries_of(web, "footage_erase")) {
    if (!entry.event.allowed && entry.event.purpose == "AVG-2026-21") denial_audited = true;
  }
  CHECK(denial_audited);

  // Linking the hold by hand; linking needs exactly one of hold and restriction.
  auto both = web.request("POST", path + "/links", director,
                          json{{"hold", hold.value().id}, {"restriction", 1}}.dump());
  REQUIRE(both);
  CHECK(both->status == 400);
  auto unknown = web.request("POST", path + "/links", director, json{{"hold", 9999}}.dump());
  REQUIRE(unknown);
  CHECK(unknown->status == 404);
  auto linked =
      web.request("POST", path + "/links", director, json{{"hold", hold.value().id}}.dump());
  REQUIRE(linked);
  INFO(linked->body);
  REQUIRE(linked->status == 200);
  const json actions = json::parse(linked->body)["actions"];
  REQUIRE(actions.size() == 1);
  CHECK(actions[0]["kind"] == "hold");
  CHECK(actions[0]["object_id"] == std::to_string(hold.value().id));
  CHECK(allowed_with_reference(web, "request_link", "AVG-2026-21") == 1);
}

TEST_CASE(
    "R7: only directors restrict, erase, lift and link from the web admin, privacy officers "
    "read the restrictions, and refused or bad requests change nothing",
    "[web][requests][R7]") {
  WebFixture web;
  const auto [t0, from, to, footage, path] = request_scene(web, "AVG-2026-22", "objection");

  for (const std::string role : {"privacy_officer", "viewer", "admin"}) {
    INFO(role);
    for (const std::string suffix :
         {"/restrictions", "/erasures", "/restrictions/1/lift", "/links"}) {
      INFO(suffix);
      json body = range_body(from, to);
      body["hold"] = 1;
      auto refused = web.request("POST", path + suffix, web.headers(role), body.dump());
      REQUIRE(refused);
      CHECK(refused->status == 403);
    }
  }
  for (const std::string role : {"viewer", "admin"}) {
    auto refused = web.request("GET", "/api/v1/restrictions", web.headers(role));
    REQUIRE(refused);
    CHECK(refused->status == 403);
  }
  // Without the CSRF token nothing is erased.
  auto without_csrf = web.headers("director");
  without_csrf.erase("X-CSRF-Token");
  auto forged = web.request("POST", path + "/erasures", without_csrf, range_body(from, to).dump());
  REQUIRE(forged);
  CHECK(forged->status == 403);
  CHECK(segment_exists(web, footage.camera.id, from, to));

  const auto director = web.headers("director");
  // Bad input: a clear 400 naming the field.
  json no_camera = range_body(from, to);
  no_camera.erase("camera");
  auto missing = web.request("POST", path + "/erasures", director, no_camera.dump());
  REQUIRE(missing);
  CHECK(missing->status == 400);
  CHECK(error_message(missing->body).find("camera") != std::string::npos);
  auto bad_state = web.request("GET", "/api/v1/restrictions?state=lifted", director);
  REQUIRE(bad_state);
  CHECK(bad_state->status == 400);
  auto no_request =
      web.request("POST", "/api/v1/requests/999/erasures", director, range_body(from, to).dump());
  REQUIRE(no_request);
  CHECK(no_request->status == 404);
  CHECK(segment_exists(web, footage.camera.id, from, to));

  // An access request is not answered by erasing: the firmware refuses.
  const int64_t access = register_request(web, "AVG-2026-23", "access", from, to);
  auto wrong_kind = web.request("POST", "/api/v1/requests/" + std::to_string(access) + "/erasures",
                                director, range_body(from, to).dump());
  REQUIRE(wrong_kind);
  CHECK(wrong_kind->status == 409);
  CHECK(segment_exists(web, footage.camera.id, from, to));
  auto none = web.request("GET", "/api/v1/restrictions?state=all", web.headers("privacy_officer"));
  REQUIRE(none);
  REQUIRE(none->status == 200);
  CHECK(json::parse(none->body)["restrictions"].empty());
}
