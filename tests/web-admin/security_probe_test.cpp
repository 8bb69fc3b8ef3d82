// The web admin's security probe: every route, every role, hostile input, forged requests and
// the response headers, against a real HTTPS server in this process.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <stdexcept>

#include "web_fixture.h"
#include "yardwatch/firmware/audit.h"

using namespace yardwatch;
using yardwatch::testing::WebFixture;
using yardwatch::web_admin::Access;
using yardwatch::web_admin::Route;

namespace {

const std::vector<std::string> kRoles = {"admin", "director", "viewer", "privacy_officer"};

std::string route_key(const Route& route) {
  return std::string(web_admin::method_name(route.method)) + " " + route.pattern;
}

// A concrete path for a route pattern: ids that do not exist (999), an unknown viewing, an
// existing account name, an existing asset.
std::string example_path(const std::string& pattern, const std::string& id = "999") {
  std::string path = pattern;
  auto replace_all = [&path](const std::string& from, const std::string& to) {
    for (size_t at = path.find(from); at != std::string::npos;
         at = path.find(from, at + to.size())) {
      path.replace(at, from.size(), to);
    }
  };
  replace_all(R"((\d{1,18}))", id);
  replace_all(R"((\d{4}-\d{2}))", "2026-11");
  replace_all("[.]", ".");
  replace_all("([0-9a-f]{32})", std::string(32, '0'));
  replace_all("([0-9A-Za-z-]{8,64})", std::string(16, '0'));
  replace_all("([A-Za-z0-9._-]{1,64})", "vera-viewer");
  replace_all(R"(((?:[A-Za-z0-9_-]+/){0,3}[A-Za-z0-9_-]+\.[a-z]{2,4}))", "js/boot.js");
  REQUIRE(path.find('(') == std::string::npos);
  return path;
}

// Who may call each route: DESIGN §6 written out by hand, independent of the router's table.
// A route missing here fails the test, so a new route cannot be added without deciding this.
const std::map<std::string, std::set<std::string>>& expected_roles() {
  const std::set<std::string> all(kRoles.begin(), kRoles.end());
  const std::set<std::string> admin = {"admin"};
  static const std::map<std::string, std::set<std::string>> table = {
      {"GET /api/v1/session", all},
      {"DELETE /api/v1/session", all},
      {"POST /api/v1/account/password", all},
      {"POST /api/v1/account/totp/begin", all},
      {"POST /api/v1/account/totp/confirm", all},
      {"PUT /api/v1/account/language", all},
      {"GET /api/v1/status", all},
      {"GET /metrics", admin},
      {"GET /api/v1/cameras", all},
      {R"(GET /api/v1/cameras/(\d{1,18}))", all},
      {"POST /api/v1/cameras", admin},
      {R"(PUT /api/v1/cameras/(\d{1,18}))", admin},
      {R"(DELETE /api/v1/cameras/(\d{1,18}))", admin},
      {R"(GET /api/v1/cameras/(\d{1,18})/timeline)", {"director", "viewer"}},
      {R"(GET /api/v1/cameras/(\d{1,18})/preview)", admin},
      {"POST /api/v1/viewings", {"admin", "director", "viewer"}},
      {"GET /api/v1/viewings/([0-9a-f]{32})", {"admin", "director", "viewer"}},
      {"DELETE /api/v1/viewings/([0-9a-f]{32})", {"admin", "director", "viewer"}},
      {R"(GET /api/v1/viewings/([0-9a-f]{32})/segments/(\d{1,18}))", {"director", "viewer"}},
      {"GET /api/v1/viewings/([0-9a-f]{32})/live/init", {"admin", "director", "viewer"}},
      {"GET /api/v1/viewings/([0-9a-f]{32})/live/next", {"admin", "director", "viewer"}},
      {"GET /api/v1/exports/media", {"director"}},
      {"GET /api/v1/exports", {"director"}},
      {"POST /api/v1/exports", {"director"}},
      {"GET /api/v1/exports/([0-9A-Za-z-]{8,64})/receipt", {"director"}},
      {"GET /api/v1/exports/([0-9A-Za-z-]{8,64})/receipt.pdf", {"director"}},
      {"GET /api/v1/holds", {"director", "viewer", "privacy_officer"}},
      {R"(GET /api/v1/holds/(\d{1,18}))", {"director", "viewer", "privacy_officer"}},
      {"POST /api/v1/holds", {"director"}},
      {"POST /api/v1/holds/requests", {"director", "viewer"}},
      {R"(POST /api/v1/holds/(\d{1,18})/confirm)", {"director"}},
      {R"(POST /api/v1/holds/(\d{1,18})/reject)", {"director"}},
      {R"(POST /api/v1/holds/(\d{1,18})/extend)", {"director"}},
      {R"(POST /api/v1/holds/(\d{1,18})/release)", {"director"}},
      {"GET /api/v1/requests", {"director", "privacy_officer"}},
      {R"(GET /api/v1/requests/(\d{1,18}))", {"director", "privacy_officer"}},
      {"POST /api/v1/requests", {"director"}},
      {R"(POST /api/v1/requests/(\d{1,18})/extend)", {"director"}},
      {R"(POST /api/v1/requests/(\d{1,18})/close)", {"director"}},
      {R"(POST /api/v1/requests/(\d{1,18})/restrictions)", {"director"}},
      {R"(POST /api/v1/requests/(\d{1,18})/restrictions/(\d{1,18})/lift)", {"director"}},
      {R"(POST /api/v1/requests/(\d{1,18})/erasures)", {"director"}},
      {R"(POST /api/v1/requests/(\d{1,18})/links)", {"director"}},
      {"GET /api/v1/restrictions", {"director", "privacy_officer"}},
      {"GET /api/v1/breaches", {"director", "privacy_officer"}},
      {R"(GET /api/v1/breaches/(\d{1,18}))", {"director", "privacy_officer"}},
      {"POST /api/v1/breaches", {"director"}},
      {R"(POST /api/v1/breaches/(\d{1,18})/decision)", {"director"}},
      {"GET /api/v1/subject-exports", {"director", "privacy_officer"}},
      {"GET /api/v1/subject-exports/frame", {"director"}},
      {"POST /api/v1/subject-exports/drafts", {"director"}},
      {"GET /api/v1/subject-exports/drafts/([0-9A-Za-z-]{8,64})", {"director"}},
      {"GET /api/v1/subject-exports/drafts/([0-9A-Za-z-]{8,64})/video", {"director"}},
      {"POST /api/v1/subject-exports/drafts/([0-9A-Za-z-]{8,64})/review", {"director"}},
      {"DELETE /api/v1/subject-exports/drafts/([0-9A-Za-z-]{8,64})", {"director"}},
      {"POST /api/v1/subject-exports/drafts/([0-9A-Za-z-]{8,64})/release", {"director"}},
      {"GET /api/v1/accounts", admin},
      {"POST /api/v1/accounts", admin},
      {"PUT /api/v1/accounts/([A-Za-z0-9._-]{1,64})", admin},
      {"GET /api/v1/audit", all},
      {"GET /api/v1/audit/export", {"director", "privacy_officer"}},
      {"GET /api/v1/audit/verify", {"admin", "director", "privacy_officer"}},
      {R"(GET /ui/app/((?:[A-Za-z0-9_-]+/){0,3}[A-Za-z0-9_-]+\.[a-z]{2,4}))", all},
      // The compliance reports (R9, the access review): directors and privacy officers.
      {"GET /api/v1/reports/kwaliteitskaart[.]html", {"director", "privacy_officer"}},
      {"GET /api/v1/reports/kwaliteitskaart[.]pdf", {"director", "privacy_officer"}},
      {R"(GET /api/v1/reports/access-review/(\d{4}-\d{2})[.]html)",
       {"director", "privacy_officer"}},
      {R"(GET /api/v1/reports/access-review/(\d{4}-\d{2})[.]pdf)", {"director", "privacy_officer"}},
      {R"(GET /api/v1/reports/access-review/(\d{4}-\d{2})[.]json)",
       {"director", "privacy_officer"}},
  };
  return table;
}

const std::set<std::string>& public_routes() {
  static const std::set<std::string> routes = {
      "GET /healthz",
      "GET /",
      R"(GET /ui/public/((?:[A-Za-z0-9_-]+/){0,3}[A-Za-z0-9_-]+\.[a-z]{2,4}))",
      "GET /api/v1/setup",
      "POST /api/v1/setup/first-admin",
      "POST /api/v1/session",
  };
  return routes;
}

// "{}" where the route takes a body; nothing where it takes none (a body there is a 413).
std::string small_body(const Route& route) { return route.max_body_bytes > 0 ? "{}" : ""; }

std::string error_code(const std::string& body) {
  auto parsed = nlohmann::json::parse(body, nullptr, false);
  if (parsed.is_discarded() || !parsed.contains("error")) return "";
  return parsed["error"].value("code", "");
}

// Nothing internal in a response: no SQL, no paths of the appliance, no file contents.
void check_nothing_leaked(const WebFixture& web, const std::string& body) {
  for (const std::string& secret :
       {std::string("sqlite"), std::string("SQLITE"), std::string("syntax error"),
        std::string("root:x:0"), web.appliance->data_dir().string(),
        web.appliance->key_dir().string(), std::string("BEGIN PRIVATE")}) {
    INFO("response: " << body.substr(0, 300));
    CHECK(body.find(secret) == std::string::npos);
  }
}

}  // namespace

TEST_CASE("every route declares who may call it and only the sign-in pages are public", "[web]") {
  WebFixture web;
  std::set<std::string> seen;
  for (const auto& route : web.server->router().routes()) {
    const std::string key = route_key(route);
    INFO(key);
    CHECK(seen.insert(key).second);  // no route declared twice
    CHECK(!route.summary.empty());
    if (route.access.kind() == Access::Kind::kPublic) {
      CHECK(public_routes().count(key) == 1);
      continue;
    }
    REQUIRE(expected_roles().count(key) == 1);
    for (const auto& role : kRoles) {
      INFO(role);
      CHECK(route.access.allows(*firmware::parse_role(role)) ==
            (expected_roles().at(key).count(role) == 1));
    }
  }
  CHECK(seen.size() == expected_roles().size() + public_routes().size());
}

TEST_CASE("every route refuses a request without a session (401), except the public ones",
          "[web]") {
  WebFixture web;
  for (const auto& route : web.server->router().routes()) {
    const std::string method(web_admin::method_name(route.method));
    const std::string path = example_path(route.pattern);
    INFO(method << " " << path);
    auto response = web.request(method, path, {{"Origin", web.origin()}}, small_body(route));
    REQUIRE(response);
    if (route.access.kind() == Access::Kind::kPublic) {
      CHECK(response->status != 401);
    } else {
      CHECK(response->status == 401);
      CHECK(error_code(response->body) == "signed_out");
    }
    // A forged or stale cookie is no better.
    auto forged = web.request(
        method, path,
        {{"Origin", web.origin()}, {"Cookie", "__Host-yw_session=" + std::string(43, 'A')}},
        small_body(route));
    REQUIRE(forged);
    if (route.access.kind() != Access::Kind::kPublic) CHECK(forged->status == 401);
  }
  auto health = web.request("GET", "/healthz", {});
  REQUIRE(health);
  CHECK(health->status == 200);
  CHECK(health->body == "ok\n");
}

TEST_CASE("every route answers each role as the role matrix says, and denials are audited",
          "[web]") {
  WebFixture web;
  for (const auto& route : web.server->router().routes()) {
    if (route.access.kind() == Access::Kind::kPublic) continue;
    const std::string key = route_key(route);
    if (key == "DELETE /api/v1/session") continue;  // signs out: tested on its own below
    const std::string method(web_admin::method_name(route.method));
    for (const auto& role : kRoles) {
      const std::string path = example_path(route.pattern);
      INFO(key << " as " << role);
      auto response = web.request(method, path, web.headers(role), small_body(route));
      REQUIRE(response);
      INFO(response->status << " " << response->body.substr(0, 200));
      const bool route_denied = response->status == 403 &&
                                error_code(response->body) == "forbidden" &&
                                response->body.find("may not") != std::string::npos;
      CHECK(response->status != 401);
      CHECK(response->status < 500);
      CHECK(route_denied == (expected_roles().at(key).count(role) == 0));
      check_nothing_leaked(web, response->body);
    }
  }
  auto journal = web.services->audit.list({});
  REQUIRE(journal.ok());
  bool viewer_denied_accounts = false;
  for (const auto& entry : journal.value()) {
    if (entry.actor.name == "vera-viewer" && entry.event.action == "http_request" &&
        !entry.event.allowed && entry.event.object_id == "GET /api/v1/accounts") {
      viewer_denied_accounts = true;
    }
  }
  CHECK(viewer_denied_accounts);

  auto signed_out = web.request("DELETE", "/api/v1/session", web.headers("viewer"));
  REQUIRE(signed_out);
  CHECK(signed_out->status == 200);
  auto after = web.request("GET", "/api/v1/session", web.headers("viewer"));
  REQUIRE(after);
  CHECK(after->status == 401);
}

TEST_CASE("a viewer gets 403 for another camera's objects by id, and each refusal is audited",
          "[web]") {
  WebFixture web;
  const auto viewer = web.headers("viewer");
  const std::string cam2 = std::to_string(web.camera2);
  auto camera = web.request("GET", "/api/v1/cameras/" + cam2, viewer);
  REQUIRE(camera);
  CHECK(camera->status == 403);
  auto listed = web.request("GET", "/api/v1/cameras", viewer);
  REQUIRE(listed);
  auto cameras = nlohmann::json::parse(listed->body)["cameras"];
  REQUIRE(cameras.size() == 1);
  CHECK(cameras[0]["name"] == "cam1");
  CHECK_FALSE(cameras[0].contains("url"));  // only admins see stream URLs

  const auto range = std::string("from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z");
  auto timeline = web.request("GET", "/api/v1/cameras/" + cam2 + "/timeline?" + range, viewer);
  REQUIRE(timeline);
  CHECK(timeline->status == 403);

  const int64_t now = web.appliance->clock().now_utc_us();
  const nlohmann::json open_body = {{"camera_id", web.camera1},
                                    {"kind", "recorded"},
                                    {"from", hal::format_iso8601_utc(now - 3600'000'000LL)},
                                    {"to", hal::format_iso8601_utc(now)},
                                    {"purpose", "checking the bicycle shed"}};
  auto opened = web.request("POST", "/api/v1/viewings", viewer, open_body.dump());
  REQUIRE(opened);
  REQUIRE(opened->status == 201);
  const std::string viewing = nlohmann::json::parse(opened->body)["id"];
  auto other = web.request(
      "GET", "/api/v1/viewings/" + viewing + "/segments/" + std::to_string(web.segment2), viewer);
  REQUIRE(other);
  CHECK(other->status == 403);
  // Another person cannot use the viewing at all.
  auto stolen = web.request(
      "GET", "/api/v1/viewings/" + viewing + "/segments/" + std::to_string(web.segment1),
      web.headers("director"));
  REQUIRE(stolen);
  CHECK(stolen->status == 404);
  // Without a purpose nothing opens.
  auto no_purpose = open_body;
  no_purpose["purpose"] = "";
  auto refused = web.request("POST", "/api/v1/viewings", viewer, no_purpose.dump());
  REQUIRE(refused);
  CHECK(refused->status == 400);

  auto journal = web.services->audit.list({});
  REQUIRE(journal.ok());
  std::set<std::string> denied;
  for (const auto& entry : journal.value()) {
    if (!entry.event.allowed) {
      denied.insert(entry.actor.name + " " + entry.event.action + " " + entry.event.camera);
    }
  }
  CHECK(denied.count("vera-viewer camera_read cam2") == 1);
  CHECK(denied.count("vera-viewer timeline_read cam2") == 1);
  CHECK(denied.count("vera-viewer view_recorded cam2") == 1);
  CHECK(denied.count("dirk-director viewing_use cam1") == 1);
  CHECK(denied.count("vera-viewer viewing_open cam1") == 1);  // the one without a purpose
}

TEST_CASE("state changes need the CSRF token and a same-origin Origin", "[web]") {
  WebFixture web;
  for (const auto& route : web.server->router().routes()) {
    if (!web_admin::changes_state(route.method)) continue;
    const std::string method(web_admin::method_name(route.method));
    const std::string path = example_path(route.pattern);
    INFO(method << " " << path);
    // The admin's session, or the director's where the admin may not.
    std::string role = "admin";
    if (route.access.kind() != Access::Kind::kPublic) {
      for (const auto& candidate : kRoles) {
        if (route.access.allows(*firmware::parse_role(candidate))) {
          role = candidate;
          break;
        }
      }
    }
    auto foreign = web.headers(role);
    for (auto& [name, value] : foreign) {
      if (name == "Origin") value = "https://evil.example";
    }
    auto cross_site = web.request(method, path, foreign, small_body(route));
    REQUIRE(cross_site);
    CHECK(cross_site->status == 403);
    CHECK(error_code(cross_site->body) == "origin");

    httplib::Headers no_origin;
    for (const auto& [name, value] : web.headers(role)) {
      if (name != "Origin") no_origin.emplace(name, value);
    }
    auto missing_origin = web.request(method, path, no_origin, small_body(route));
    REQUIRE(missing_origin);
    CHECK(missing_origin->status == 403);

    if (route.access.kind() == Access::Kind::kPublic) continue;
    httplib::Headers no_token;
    for (const auto& [name, value] : web.headers(role)) {
      if (name != "X-CSRF-Token") no_token.emplace(name, value);
    }
    auto without = web.request(method, path, no_token, small_body(route));
    REQUIRE(without);
    CHECK(without->status == 403);
    CHECK(error_code(without->body) == "csrf");
    auto wrong = no_token;
    wrong.emplace("X-CSRF-Token", web.sessions.at(role == "admin" ? "director" : "admin").csrf);
    auto with_wrong = web.request(method, path, wrong, small_body(route));
    REQUIRE(with_wrong);
    CHECK(with_wrong->status == 403);
    CHECK(error_code(with_wrong->body) == "csrf");
  }
}

TEST_CASE("bodies larger than a route accepts get 413, beyond 64 KiB before they are read",
          "[web]") {
  WebFixture web;
  for (const auto& route : web.server->router().routes()) {
    if (!web_admin::changes_state(route.method)) continue;
    const std::string method(web_admin::method_name(route.method));
    INFO(method << " " << route.pattern);
    const std::string body(route.max_body_bytes + 1, 'x');
    auto response = web.request(method, example_path(route.pattern), web.headers("admin"), body);
    REQUIRE(response);
    CHECK(response->status == 413);
    // The connection stays usable after a refused body within the server's bound.
    auto after = web.request("GET", "/api/v1/status", web.headers("admin"));
    REQUIRE(after);
    CHECK(after->status == 200);
  }
  // Far beyond any route: refused before the body is read. The server answers 413 and closes
  // the connection while the client may still be sending, so the client may see only the close.
  auto huge =
      web.request("POST", "/api/v1/session", {{"Origin", web.origin()}}, std::string(1 << 20, '{'));
  if (huge) CHECK(huge->status == 413);
  auto health = web.request("GET", "/healthz", {});
  REQUIRE(health);
  CHECK(health->status == 200);
  // A request line or a header beyond 8 KiB, or too many headers, is refused.
  auto long_line =
      web.request("GET", "/api/v1/status?x=" + std::string(9000, 'a'), web.headers("admin"));
  if (long_line) CHECK(long_line->status >= 400);
  auto long_header = web.headers("admin");
  long_header.emplace("X-Filler", std::string(9000, 'b'));
  auto refused_header = web.request("GET", "/api/v1/status", long_header);
  if (refused_header) CHECK(refused_header->status >= 400);
  auto many = web.headers("admin");
  for (int i = 0; i < 80; ++i) many.emplace("X-Filler-" + std::to_string(i), "1");
  auto too_many = web.request("GET", "/api/v1/status", many);
  REQUIRE(too_many);
  CHECK(too_many->status == 431);
  auto still_fine = web.request("GET", "/api/v1/status", web.headers("admin"));
  REQUIRE(still_fine);
  CHECK(still_fine->status == 200);
  // Deeply nested JSON within the size limit is refused by the parser's depth limit.
  auto deep = web.request("POST", "/api/v1/session", {{"Origin", web.origin()}},
                          std::string(100, '[') + std::string(100, ']'));
  REQUIRE(deep);
  CHECK(deep->status == 400);
}

TEST_CASE("path traversal and SQL metacharacters in every parameter get 4xx and leak nothing",
          "[web]") {
  WebFixture web;
  const std::vector<std::string> hostile = {
      "../../../../etc/passwd",    "..%2f..%2f..%2fetc%2fpasswd",
      "%2e%2e/%2e%2e/etc/passwd",  "1' OR '1'='1",
      "1; DROP TABLE accounts;--", "1%00",
      "<script>alert(1)</script>", "-1",
      "99999999999999999999999",   "1 UNION SELECT * FROM accounts"};
  const std::regex group(R"(\((?:[^()]|\([^()]*\))*\))");
  for (const auto& route : web.server->router().routes()) {
    const std::string method(web_admin::method_name(route.method));
    // Path parameters.
    const auto groups =
        std::distance(std::sregex_iterator(route.pattern.begin(), route.pattern.end(), group),
                      std::sregex_iterator());
    for (long g = 0; g < groups; ++g) {
      for (const auto& value : hostile) {
        long index = 0;
        std::string path;
        std::string rest = route.pattern;
        std::smatch match;
        while (std::regex_search(rest, match, group)) {
          path += match.prefix().str();
          path += index == g ? value : example_path(match.str());
          rest = match.suffix().str();
          ++index;
        }
        path += rest;
        INFO(method << " " << path);
        auto response = web.request(method, path, web.headers("director"), small_body(route));
        REQUIRE(response);
        CHECK(response->status >= 400);
        CHECK(response->status < 500);
        check_nothing_leaked(web, response->body);
      }
    }
  }
  // Query parameters.
  const std::string cam1 = std::to_string(web.camera1);
  const std::regex plain_name("[A-Za-z0-9._-]+");
  for (const auto& value : hostile) {
    // "-1" is a possible account name: a search for it is fine. Traversal and SQL are not.
    if (std::regex_match(value, plain_name)) continue;
    const std::string encoded = httplib::detail::encode_query_param(value);
    for (const std::string& path :
         {"/api/v1/cameras/" + cam1 + "/timeline?from=" + encoded + "&to=2026-01-01T00:00:00Z",
          "/api/v1/cameras/" + cam1 + "/timeline?from=2026-01-01T00:00:00Z&to=" + encoded,
          "/api/v1/audit?actor=" + encoded, "/api/v1/audit?action=" + encoded,
          "/api/v1/audit?camera=" + encoded, "/api/v1/audit?since=" + encoded,
          "/api/v1/holds?camera=" + encoded, "/api/v1/holds?state=" + encoded,
          "/api/v1/audit?limit=" + encoded, "/api/v1/audit?outcome=" + encoded,
          "/api/v1/audit?" + encoded + "=1",
          "/api/v1/viewings/" + std::string(32, '0') + "/live/next?after=" + encoded}) {
      INFO(path);
      auto response = web.request("GET", path, web.headers("director"));
      REQUIRE(response);
      CHECK(response->status >= 400);
      CHECK(response->status < 500);
      check_nothing_leaked(web, response->body);
    }
  }
  // JSON fields: identifiers are refused; free text (a purpose, a location) is kept verbatim,
  // never interpreted.
  for (const auto& value : hostile) {
    INFO(value);
    const std::vector<std::pair<std::string, nlohmann::json>> bodies = {
        {"POST /api/v1/cameras", {{"name", value}, {"url", value}, {"zone", value}}},
        {"POST /api/v1/accounts",
         {{"name", value}, {"role", value}, {"temporary_password", value}, {"cameras", {value}}}},
        {"POST /api/v1/viewings",
         {{"camera_id", 1}, {"kind", value}, {"purpose", value}, {"from", value}, {"to", value}}},
        {"PUT /api/v1/account/language", {{"language", value}}},
        {"POST /api/v1/account/totp/confirm", {{"code", value}}},
    };
    for (const auto& [route, body] : bodies) {
      const auto space = route.find(' ');
      const std::string role =
          route.find("cameras") != std::string::npos || route.find("accounts") != std::string::npos
              ? "admin"
              : "director";
      auto response = web.request(route.substr(0, space), route.substr(space + 1),
                                  web.headers(role), body.dump());
      REQUIRE(response);
      INFO(route << " " << response->status << " " << response->body);
      CHECK(response->status >= 400);
      CHECK(response->status < 500);
      check_nothing_leaked(web, response->body);
    }
  }
  // Sign-in with hostile names: refused as a wrong password, nothing leaked.
  for (const auto& value : hostile) {
    auto response = web.request("POST", "/api/v1/session", {{"Origin", web.origin()}},
                                nlohmann::json{{"name", value}, {"password", value}}.dump());
    REQUIRE(response);
    CHECK(response->status >= 400);
    CHECK(response->status < 500);
    check_nothing_leaked(web, response->body);
  }
  // The appliance is intact.
  auto accounts = web.services->accounts.list();
  REQUIRE(accounts.ok());
  CHECK(accounts->size() == 4);
  auto verified = web.services->audit.verify();
  REQUIRE(verified.ok());
  CHECK(verified->ok);
}

TEST_CASE("every response carries the security headers, and the session cookie is locked down",
          "[web]") {
  WebFixture web(/*with_redirect=*/true);
  const std::vector<std::pair<std::string, std::string>> paths = {{"GET", "/"},
                                                                  {"GET", "/healthz"},
                                                                  {"GET", "/api/v1/status"},
                                                                  {"GET", "/no/such/page"},
                                                                  {"GET", "/ui/public/js/boot.js"},
                                                                  {"POST", "/api/v1/cameras"}};
  for (const auto& [method, path] : paths) {
    for (const bool signed_in : {false, true}) {
      INFO(method << " " << path << " signed in: " << signed_in);
      auto response = web.request(
          method, path,
          signed_in ? web.headers("admin") : httplib::Headers{{"Origin", web.origin()}}, "{}");
      REQUIRE(response);
      CHECK(response->get_header_value("Strict-Transport-Security").find("max-age=") == 0);
      const auto csp = response->get_header_value("Content-Security-Policy");
      CHECK(csp.find("script-src 'self'") != std::string::npos);
      CHECK(csp.find("frame-ancestors 'none'") != std::string::npos);
      CHECK(csp.find("unsafe-inline") == std::string::npos);
      CHECK(csp.find("unsafe-eval") == std::string::npos);
      CHECK(response->get_header_value("X-Content-Type-Options") == "nosniff");
      CHECK(response->get_header_value("Referrer-Policy") == "no-referrer");
      CHECK(response->get_header_value_count("Cache-Control") == 1);
    }
  }
  auto signed_in = web.request("POST", "/api/v1/session", {{"Origin", web.origin()}},
                               R"({"name":"dirk-director","password":"the-final-password-42"})");
  REQUIRE(signed_in);
  const auto cookie = signed_in->get_header_value("Set-Cookie");
  CHECK(cookie.rfind("__Host-", 0) == 0);
  for (const char* attribute : {"; Secure", "; HttpOnly", "; SameSite=Strict", "; Path=/"}) {
    CHECK(cookie.find(attribute) != std::string::npos);
  }
  CHECK(cookie.find("Domain") == std::string::npos);

  // Plain HTTP only redirects, to the console's front page.
  httplib::Client plain("127.0.0.1", web.server->redirect_port());
  auto redirected = plain.Get("/api/v1/status?x=<script>");
  REQUIRE(redirected);
  CHECK(redirected->status == 301);
  CHECK(redirected->get_header_value("Location") ==
        "https://127.0.0.1:" + std::to_string(web.server->port()) + "/");
}

TEST_CASE("metrics need an admin and hold no personal data", "[web]") {
  WebFixture web(/*with_redirect=*/false, /*with_metrics=*/true);
  auto anonymous = web.request("GET", "/metrics", {});
  REQUIRE(anonymous);
  CHECK(anonymous->status == 401);
  auto metrics = web.request("GET", "/metrics", web.headers("admin"));
  REQUIRE(metrics);
  CHECK(metrics->status == 200);
  CHECK(metrics->body.find("yardwatch_http_requests_total") != std::string::npos);
  CHECK(metrics->body.find("yardwatch_footage_bytes{camera_id=\"") != std::string::npos);
  for (const char* personal : {"anna-admin", "dirk-director", "vera-viewer", "pim-privacy", "cam1",
                               "cam2", "127.0.0.1", "rtsp://"}) {
    CHECK(metrics->body.find(personal) == std::string::npos);
  }
}

TEST_CASE("an exception in a handler becomes a plain 500 and the server carries on", "[web]") {
  WebFixture web;
  web.server->add_route_for_testing(
      {web_admin::Method::kGet, "/api/v1/test/throw", Access::signed_in(), 0,
       [](web_admin::Request&) -> web_admin::Reply {
         throw std::runtime_error("secret detail: /var/lib/yardwatch/catalog.db");
       },
       "throws"});
  web.server->add_route_for_testing({web_admin::Method::kGet, "/api/v1/test/throw-int",
                                     Access::signed_in(), 0,
                                     [](web_admin::Request&) -> web_admin::Reply { throw 42; },
                                     "throws something that is not an exception"});
  for (const char* path : {"/api/v1/test/throw", "/api/v1/test/throw-int"}) {
    INFO(path);
    auto response = web.request("GET", path, web.headers("director"));
    REQUIRE(response);
    CHECK(response->status == 500);
    CHECK(error_code(response->body) == "internal");
    CHECK(response->body.find("secret") == std::string::npos);
    CHECK(response->get_header_value("X-Content-Type-Options") == "nosniff");
  }
  auto still = web.request("GET", "/api/v1/status", web.headers("director"));
  REQUIRE(still);
  CHECK(still->status == 200);
  auto metrics = web.request("GET", "/metrics", web.headers("admin"));
  REQUIRE(metrics);
  CHECK(metrics->body.find("yardwatch_http_handler_exceptions_total 2") != std::string::npos);
}
