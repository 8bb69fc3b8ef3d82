#include "web_fixture.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "yardwatch/firmware/cameras.h"
#include "yardwatch/firmware/settings.h"
#include "yardwatch/firmware/tls_certificate.h"
#include "yardwatch/recorder/sqlite.h"

namespace yardwatch::testing {

namespace {

constexpr const char* kPassword = "the-final-password-42";

int64_t add_segment_row(recorder::Catalog& catalog, int64_t camera_id, int64_t start) {
  // Catalog rows only: the tests here never decrypt (the browser tests play real footage).
  auto row = catalog.begin_segment({camera_id, start, "h264", 640, 360},
                                   [](int64_t) { return std::vector<uint8_t>(72, 0); });
  REQUIRE(row.ok());
  REQUIRE(
      catalog.complete_segment(row->id, {start + 4'000'000, 1000, 2, std::vector<uint8_t>(32, 0)})
          .ok());
  return row->id;
}

const std::vector<uint8_t> kVerifyPage = {'<', 'h', 't', 'm', 'l', '>'};

}  // namespace

WebFixture::WebFixture(bool with_redirect, bool with_metrics) {
  firmware::ApplianceOptions options;
  options.data_dir = dir / "data";
  options.key_dir = dir / "keys";
  auto made = firmware::Appliance::init(options);
  REQUIRE(made.ok());
  appliance = std::move(made).value();
  auto& app = *appliance;
  REQUIRE(firmware::ensure_tls_certificate(app.key_dir(), "test-device", app.clock().now_utc_us())
              .ok());
  services = std::make_unique<firmware::Services>(app);
  // TOTP flows are proven in the browser tests; here every role signs in with a password.
  REQUIRE(firmware::set_setting(app.catalog(), services->audit, firmware::Actor::console(),
                                "policy.require_totp", "0")
              .ok());
  for (const char* name : {"cam1", "cam2"}) {
    recorder::CameraSpec spec;
    spec.name = name;
    spec.url = std::string("rtsp://127.0.0.1:9/") + name;
    spec.zone = "schoolyard";
    auto camera = firmware::add_camera(app.catalog(), services->audit, app.clock(),
                                       firmware::Actor::console(), spec);
    REQUIRE(camera.ok());
    (name == std::string("cam1") ? camera1 : camera2) = camera->id;
  }
  const int64_t now = app.clock().now_utc_us();
  segment1 = add_segment_row(app.catalog(), camera1, now - 60'000'000);
  segment2 = add_segment_row(app.catalog(), camera2, now - 60'000'000);

  const std::map<std::string, std::string> accounts = {{"admin", "anna-admin"},
                                                       {"director", "dirk-director"},
                                                       {"viewer", "vera-viewer"},
                                                       {"privacy_officer", "pim-privacy"}};
  for (const auto& [role, name] : accounts) {
    std::vector<std::string> cameras;
    if (role == "viewer") cameras = {"cam1"};
    auto added = services->accounts.add_account(firmware::Actor::console(), name,
                                                *firmware::parse_role(role), cameras,
                                                "temporary-password-1");
    REQUIRE(added.ok());
    REQUIRE(
        services->accounts.change_password({name, "temporary-password-1", "", "console"}, kPassword)
            .ok());
    account_of_role[role] = name;
  }

  web_admin::ServerOptions server_options;
  server_options.listen = {"127.0.0.1", 0};
  if (with_redirect) server_options.redirect = web_admin::Endpoint{"127.0.0.1", 0};
  if (with_metrics) server_options.metrics = web_admin::Endpoint{"127.0.0.1", 0};
  const auto files = firmware::tls_files(app.key_dir());
  server_options.certificate = files.certificate;
  server_options.private_key = files.private_key;
  server_options.worker_threads = 4;
  server_options.recorder_running = false;
  std::filesystem::create_directories(dir / "stick");
  media = std::make_unique<hal::DirectoryMedia>(dir / "stick", "test stick");
  server_options.media = media.get();
  services->subject_exports.set_verify_page(kVerifyPage);
  auto created = web_admin::WebServer::create(app, *services, server_options);
  REQUIRE(created.ok());
  server = std::move(created).value();
  REQUIRE(server->start().ok());
  for (const auto& [role, name] : accounts) sessions[role] = sign_in(name, kPassword);
}

WebFixture::~WebFixture() {
  if (server) server->stop();
}

std::unique_ptr<httplib::SSLClient> WebFixture::client() const {
  auto client = std::make_unique<httplib::SSLClient>("127.0.0.1", server->port());
  client->enable_server_certificate_verification(false);
  client->set_read_timeout(10, 0);
  return client;
}

std::string WebFixture::origin() const {
  return "https://127.0.0.1:" + std::to_string(server->port());
}

httplib::Headers WebFixture::headers(const std::string& role) const {
  const auto& session = sessions.at(role);
  return {{"Cookie", session.cookie}, {"X-CSRF-Token", session.csrf}, {"Origin", origin()}};
}

httplib::Result WebFixture::request(const std::string& method, const std::string& path,
                                    const httplib::Headers& headers, const std::string& body,
                                    const std::string& content_type) const {
  auto c = client();
  if (method == "POST") return c->Post(path.c_str(), headers, body, content_type.c_str());
  if (method == "PUT") return c->Put(path.c_str(), headers, body, content_type.c_str());
  if (method == "DELETE") return c->Delete(path.c_str(), headers, body, content_type.c_str());
  REQUIRE(method == "GET");
  return c->Get(path.c_str(), headers);
}

WebSession WebFixture::sign_in(const std::string& name, const std::string& password) const {
  auto response = request("POST", "/api/v1/session", {{"Origin", origin()}},
                          nlohmann::json{{"name", name}, {"password", password}}.dump());
  REQUIRE(response);
  INFO(response->body);
  REQUIRE(response->status == 200);
  const std::string cookie = response->get_header_value("Set-Cookie");
  const auto end = cookie.find(';');
  REQUIRE(end != std::string::npos);
  return {cookie.substr(0, end),
          nlohmann::json::parse(response->body)["csrf_token"].get<std::string>()};
}

std::string error_code(const std::string& body) {
  auto parsed = nlohmann::json::parse(body, nullptr, false);
  if (parsed.is_discarded() || !parsed.contains("error")) return "";
  return parsed["error"].value("code", "");
}

std::string error_message(const std::string& body) {
  auto parsed = nlohmann::json::parse(body, nullptr, false);
  if (parsed.is_discarded() || !parsed.contains("error")) return "";
  return parsed["error"].value("message", "");
}

std::vector<firmware::AuditEntry> entries_of(const WebFixture& web, const std::string& action) {
  auto entries = web.services->audit.list({});
  REQUIRE(entries.ok());
  std::vector<firmware::AuditEntry> found;
  for (const auto& entry : entries.value()) {
    if (entry.event.action == action) found.push_back(entry);
  }
  return found;
}

}  // namespace yardwatch::testing
