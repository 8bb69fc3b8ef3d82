// The report routes (R9 and the monthly access review) over real TLS against a real appliance:
// directors and privacy officers download the kwaliteitskaart and the access review; viewers and
// admins get 403, and each attempt — allowed or denied — is in the audit journal.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "web_fixture.h"
#include "yardwatch/firmware/access_review.h"

using namespace yardwatch;
using nlohmann::json;
using yardwatch::testing::WebFixture;

TEST_CASE("R9: the report routes serve directors and privacy officers only, audited") {
  WebFixture web;
  const std::string month =
      firmware::month_of(web.appliance->clock().now_utc_us()).name;  // the month running now
  struct Case {
    std::string path;
    std::string content_type;
  };
  const std::vector<Case> routes = {
      {"/api/v1/reports/kwaliteitskaart.html?lang=en", "text/html; charset=utf-8"},
      {"/api/v1/reports/kwaliteitskaart.pdf", "application/pdf"},
      {"/api/v1/reports/access-review/" + month + ".json", "application/json"},
      {"/api/v1/reports/access-review/" + month + ".pdf?lang=en", "application/pdf"},
      {"/api/v1/reports/access-review/" + month + ".html", "text/html; charset=utf-8"}};
  for (const auto& route : routes) {
    for (const std::string role : {"director", "privacy_officer"}) {
      INFO(route.path << " as " << role);
      auto reply = web.request("GET", route.path, web.headers(role));
      REQUIRE(reply);
      CHECK(reply->status == 200);
      CHECK(reply->get_header_value("Content-Type") == route.content_type);
      CHECK(reply->get_header_value("Cache-Control") == "no-store");
    }
    for (const std::string role : {"viewer", "admin"}) {
      INFO(route.path << " as " << role);
      auto reply = web.request("GET", route.path, web.headers(role));
      REQUIRE(reply);
      CHECK(reply->status == 403);
    }
  }
  auto card = web.request("GET", "/api/v1/reports/kwaliteitskaart.html?lang=en",
                          web.headers("privacy_officer"));
  CHECK(card->body.find("data-camera=\"cam1\"") != std::string::npos);
  CHECK(card->body.find("<html lang=\"en\">") != std::string::npos);
  CHECK(card->get_header_value("Content-Security-Policy").find("script-src") == std::string::npos);
  auto review = web.request("GET", "/api/v1/reports/access-review/" + month + ".json",
                            web.headers("director"));
  CHECK(json::parse(review->body)["month"] == month);
  CHECK(web.request("GET", "/api/v1/reports/kwaliteitskaart.html?lang=fr", web.headers("director"))
            ->status == 400);
  CHECK(web.request("GET", "/api/v1/reports/access-review/2026-13.json", web.headers("director"))
            ->status == 400);

  firmware::AuditFilter filter;
  std::map<std::string, std::pair<int, int>> outcomes;  // role → (allowed, denied)
  for (const char* action : {"report_kwaliteitskaart", "report_access_review"}) {
    filter.action = action;
    auto entries = web.services->audit.list(filter);
    REQUIRE(entries.ok());
    for (const auto& entry : entries.value()) {
      auto& [allowed, denied] = outcomes[entry.actor.role];
      (entry.event.allowed ? allowed : denied)++;
    }
  }
  CHECK(outcomes["director"].first == 6);
  CHECK(outcomes["privacy_officer"].first == 6);
  // The router refuses viewers and admins before the service: audited as a denied request of
  // the report's route.
  filter.action = "http_request";
  auto requests = web.services->audit.list(filter);
  REQUIRE(requests.ok());
  std::map<std::string, int> denied;
  for (const auto& entry : requests.value()) {
    if (!entry.event.allowed &&
        entry.event.object_id.find("/api/v1/reports/") != std::string::npos) {
      ++denied[entry.actor.role];
    }
  }
  CHECK(denied["viewer"] == 5);
  CHECK(denied["admin"] == 5);
}
