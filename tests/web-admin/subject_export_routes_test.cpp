// The subject export routes (R7 over firmware::SubjectExportService): role denials, CSRF and
// Origin, bad input, and the review gate — over real TLS against a real appliance (SQLite file on
// disk) with a real encrypted H.264 segment.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "../recorder/recorded_footage.h"
#include "web_fixture.h"
#include "yardwatch/firmware/four_eyes.h"
#include "yardwatch/firmware/requests.h"
#include "yardwatch/firmware/settings.h"
#include "yardwatch/hal/clock.h"

using namespace yardwatch;
using nlohmann::json;
using yardwatch::testing::WebFixture;

namespace {

constexpr int64_t kSecond = 1'000'000;

std::string error_code(const std::string& body) {
  auto parsed = json::parse(body, nullptr, false);
  if (parsed.is_discarded() || !parsed.contains("error")) return "";
  return parsed["error"].value("code", "");
}

struct Footage {
  int64_t start = 0;
};

// A camera "yard" with 4 s of real footage, and an open access request "AVG-2026-7".
Footage add_footage_and_request(WebFixture& web) {
  recorder::test::FootageStore store(web.appliance->catalog(), web.appliance->storage(),
                                     web.appliance->keys());
  const auto stream = recorder::test::encode_stream(recorder::VideoCodec::kH264, 100, 25, 160, 120);
  const auto yard = store.add_camera("yard");
  Footage footage;
  footage.start = web.appliance->clock().now_utc_us() - 60 * kSecond;
  store.write_segment(yard, stream, 0, 100, footage.start);
  auto director = web.services->accounts.find(web.account_of_role.at("director")).value();
  firmware::Principal principal;
  principal.account_id = director.id;
  principal.name = director.name;
  principal.role = firmware::Role::kDirector;
  for (const auto& [reference, kind] : {std::pair{"AVG-2026-7", firmware::RequestKind::kAccess},
                                        std::pair{"AVG-2026-8", firmware::RequestKind::kErasure}}) {
    firmware::NewSubjectRequest request;
    request.reference = reference;
    request.kind = kind;
    request.requester_name = "J. Jansen";
    request.received_utc_us = footage.start;
    REQUIRE(web.services->requests.add(principal, request).ok());
  }
  return footage;
}

json draft_body(const Footage& footage, const std::string& reference = "AVG-2026-7") {
  return json{{"request_reference", reference},
              {"camera", "yard"},
              {"from", hal::format_iso8601_utc(footage.start + kSecond)},
              {"to", hal::format_iso8601_utc(footage.start + 2 * kSecond)},
              {"selection",
               {{"at", hal::format_iso8601_utc(footage.start + kSecond)},
                {"x", 0.1},
                {"y", 0.1},
                {"width", 0.3},
                {"height", 0.4}}},
              {"blur_outside_selection", true}};
}

}  // namespace

TEST_CASE("R7: subject export routes refuse other roles, missing CSRF and a foreign Origin",
          "[web-admin][subject_exports][R7]") {
  WebFixture web;
  const Footage footage = add_footage_and_request(web);
  const std::string body = draft_body(footage).dump();
  for (const char* role : {"admin", "viewer", "privacy_officer"}) {
    INFO(role);
    auto reply = web.request("POST", "/api/v1/subject-exports/drafts", web.headers(role), body);
    REQUIRE(reply);
    CHECK(reply->status == 403);
    CHECK(error_code(reply->body) == "forbidden");
  }
  // The privacy officer reads the list of a request's subject exports; a viewer does not.
  CHECK(web.request("GET", "/api/v1/subject-exports?request=AVG-2026-7",
                    web.headers("privacy_officer"))
            ->status == 200);
  CHECK(web.request("GET", "/api/v1/subject-exports?request=AVG-2026-7", web.headers("viewer"))
            ->status == 403);
  // CSRF and Origin.
  auto no_csrf = web.headers("director");
  no_csrf.erase("X-CSRF-Token");
  auto reply = web.request("POST", "/api/v1/subject-exports/drafts", no_csrf, body);
  REQUIRE(reply);
  CHECK(reply->status == 403);
  CHECK(error_code(reply->body) == "csrf");
  auto foreign = web.headers("director");
  foreign.erase("Origin");
  foreign.emplace("Origin", "https://evil.example");
  reply = web.request("POST", "/api/v1/subject-exports/drafts", foreign, body);
  REQUIRE(reply);
  CHECK(reply->status == 403);
  CHECK(error_code(reply->body) == "origin");
  // Bad input: a box outside the picture, an oversized body.
  json outside = draft_body(footage);
  outside["selection"]["x"] = 0.9;
  reply = web.request("POST", "/api/v1/subject-exports/drafts", web.headers("director"),
                      outside.dump());
  REQUIRE(reply);
  CHECK(reply->status == 400);
  reply = web.request("POST", "/api/v1/subject-exports/drafts", web.headers("director"),
                      std::string(5000, ' '));
  REQUIRE(reply);
  CHECK(reply->status == 413);
  // An erasure request is not answered with an export.
  reply = web.request("POST", "/api/v1/subject-exports/drafts", web.headers("director"),
                      draft_body(footage, "AVG-2026-8").dump());
  REQUIRE(reply);
  CHECK(reply->status == 409);
  // Nothing was prepared: every audited attempt was refused.
  auto entries = web.services->audit.list({});
  REQUIRE(entries.ok());
  for (const auto& entry : entries.value()) {
    if (entry.event.action == "subject_export_prepare") CHECK_FALSE(entry.event.allowed);
  }
}

TEST_CASE("R7: the release route refuses a draft until every frame was reviewed",
          "[web-admin][subject_exports][R7]") {
  WebFixture web;
  const Footage footage = add_footage_and_request(web);
  const auto director = web.headers("director");

  auto frame = web.request("GET",
                           "/api/v1/subject-exports/frame?request=AVG-2026-7&camera=yard&at=" +
                               hal::format_iso8601_utc(footage.start + kSecond),
                           director);
  REQUIRE(frame);
  CHECK(frame->status == 200);
  CHECK(frame->get_header_value("Content-Type") == "image/jpeg");

  auto created =
      web.request("POST", "/api/v1/subject-exports/drafts", director, draft_body(footage).dump());
  REQUIRE(created);
  INFO(created->body);
  REQUIRE(created->status == 201);
  const json draft = json::parse(created->body);
  const std::string id = draft["id"];
  const uint64_t frames = draft["frames"];
  CHECK(frames == 25);
  const std::string base = "/api/v1/subject-exports/drafts/" + id;
  const std::string release_body = json{{"passphrase", "vier woorden als wachtwoordzin"},
                                        {"media_id", "dir:" + (web.dir / "stick").string()}}
                                       .dump();

  // Before the review: 409, and nothing on the stick.
  auto early = web.request("POST", base + "/release", director, release_body);
  REQUIRE(early);
  CHECK(early->status == 409);
  CHECK(std::filesystem::is_empty(web.dir / "stick"));
  // The video, then a review that misses the last frame: 409.
  auto video = web.request("GET", base + "/video", director);
  REQUIRE(video);
  CHECK(video->status == 200);
  CHECK(video->get_header_value("Content-Type") == "video/mp4");
  CHECK(video->body.size() == draft["mp4_bytes"].get<size_t>());
  auto partial =
      web.request("POST", base + "/review", director,
                  json{{"frames_shown", json::array({json::array({0, frames - 2})})}}.dump());
  REQUIRE(partial);
  CHECK(partial->status == 409);
  CHECK(web.request("POST", base + "/release", director, release_body)->status == 409);
  // A viewer cannot confirm or release.
  CHECK(web.request("POST", base + "/review", web.headers("viewer"),
                    json{{"frames_shown", json::array({json::array({0, frames - 1})})}}.dump())
            ->status == 403);
  // Every frame (in two ranges): reviewed, then released.
  auto reviewed = web.request(
      "POST", base + "/review", director,
      json{{"frames_shown", json::array({json::array({0, 9}), json::array({10, frames - 1})})}}
          .dump());
  REQUIRE(reviewed);
  INFO(reviewed->body);
  CHECK(reviewed->status == 200);
  CHECK(json::parse(reviewed->body)["reviewed_by"] == "dirk-director");
  auto released = web.request("POST", base + "/release", director, release_body);
  REQUIRE(released);
  INFO(released->body);
  REQUIRE(released->status == 201);
  const json record = json::parse(released->body);
  CHECK(record["state"] == "complete");
  CHECK(record["request_reference"] == "AVG-2026-7");
  CHECK(std::filesystem::exists(web.dir / "stick" / record["directory"].get<std::string>() /
                                "manifest.sig"));
  auto listed = web.request("GET", "/api/v1/subject-exports?request=AVG-2026-7", director);
  REQUIRE(listed);
  CHECK(json::parse(listed->body)["subject_exports"].size() == 1);
}

TEST_CASE(
    "R4 R7: with four-eyes on, a subject export is released only with a second director, "
    "and the audit entry names both",
    "[web-admin][subject_exports][four_eyes][R4][R7]") {
  WebFixture web;
  const Footage footage = add_footage_and_request(web);
  const auto director = web.headers("director");
  const std::string password = "the-final-password-42";  // the fixture's accounts' password
  REQUIRE(web.services->accounts
              .add_account(firmware::Actor::console(), "dora-director", firmware::Role::kDirector,
                           {}, "temporary-password-1")
              .ok());
  REQUIRE(web.services->accounts
              .change_password({"dora-director", "temporary-password-1", "", "console"}, password)
              .ok());
  REQUIRE(firmware::set_setting(web.appliance->catalog(), web.services->audit,
                                firmware::Actor::console(), firmware::kFourEyesSetting, "1")
              .ok());

  auto created =
      web.request("POST", "/api/v1/subject-exports/drafts", director, draft_body(footage).dump());
  REQUIRE(created);
  REQUIRE(created->status == 201);
  const json draft = json::parse(created->body);
  const uint64_t frames = draft["frames"];
  const std::string base = "/api/v1/subject-exports/drafts/" + draft["id"].get<std::string>();
  REQUIRE(web.request("GET", base + "/video", director)->status == 200);
  REQUIRE(web.request("POST", base + "/review", director,
                      json{{"frames_shown", json::array({json::array({0, frames - 1})})}}.dump())
              ->status == 200);
  json body = {{"passphrase", "vier woorden als wachtwoordzin"},
               {"media_id", "dir:" + (web.dir / "stick").string()}};

  auto alone = web.request("POST", base + "/release", director, body.dump());
  REQUIRE(alone);
  CHECK(alone->status == 403);
  CHECK(error_code(alone->body) == "four_eyes_required");
  body["second_person"] = {{"name", "dirk-director"}, {"password", password}, {"totp", ""}};
  auto self = web.request("POST", base + "/release", director, body.dump());
  REQUIRE(self);
  CHECK(self->status == 403);
  CHECK(error_code(self->body) == "four_eyes_refused");
  CHECK(std::filesystem::is_empty(web.dir / "stick"));

  body["second_person"] = {{"name", "dora-director"}, {"password", password}, {"totp", ""}};
  auto together = web.request("POST", base + "/release", director, body.dump());
  REQUIRE(together);
  INFO(together->body);
  REQUIRE(together->status == 201);
  auto entries = web.services->audit.list({});
  REQUIRE(entries.ok());
  bool named_both = false;
  for (const auto& entry : entries.value()) {
    if (entry.event.action.rfind("subject_export", 0) != 0 || !entry.event.allowed) continue;
    if (entry.actor.name != "dirk-director") continue;
    const json details = json::parse(entry.event.details, nullptr, false);
    if (!details.is_discarded() && details.contains("four_eyes") &&
        details["four_eyes"].value("approved_by", "") == "dora-director") {
      named_both = true;
    }
  }
  CHECK(named_both);
}
