// Accounts, roles and the audited door to footage, driven through the real CLI against a real
// recording (issue #3's "Tests must show").

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "appliance_fixture.h"
#include "yardwatch/firmware/totp.h"

using namespace yardwatch::testing;
using nlohmann::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

const std::string kAdminPassword = "Beheer-wachtwoord-2026";
const std::string kDirectorTemporary = "tijdelijk-wachtwoord-1";
const std::string kDirectorPassword = "Schoolhoofd-geheim-2026!";
const std::string kViewerTemporary = "tijdelijk-wachtwoord-2";
const std::string kViewerPassword = "Conciërge-geheim-2026!";

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string totp_now(const std::string& secret_base32, int64_t offset_seconds = 0) {
  auto secret = yardwatch::firmware::base32_decode(secret_base32);
  REQUIRE(secret.ok());
  return yardwatch::firmware::totp_at(secret.value(), unix_now() + offset_seconds);
}

json audit_entries(const ApplianceFixture& appliance, const std::string& action) {
  return appliance.cli_json({"audit", "list", "--action", action})["entries"];
}

}  // namespace

TEST_CASE("R4: setup code, personal accounts, roles, TOTP and the audited door to footage",
          "[integration][accounts][R4][R6]") {
  TempDir work("yw-accounts");
  CamSimOptions sim;
  CamSim cameras(sim, work.path());
  ApplianceFixture appliance(work.path());

  // No account exists before the setup code is used; a wrong code creates nothing.
  CHECK(appliance.cli_json({"user", "list"})["accounts"].empty());
  auto wrong = appliance.cli({"user", "create-first-admin", "--name", "beheerder", "--setup-code",
                              "AAAA-BBBB-CCCC-DDDD", "--password-stdin"},
                             kAdminPassword + "\n");
  CHECK(wrong.exit_code != 0);
  CHECK(appliance.cli_json({"user", "list"})["accounts"].empty());
  auto first = appliance.cli({"user", "create-first-admin", "--name", "beheerder", "--setup-code",
                              appliance.setup_code(), "--password-stdin"},
                             kAdminPassword + "\n");
  INFO(first.err);
  REQUIRE(first.exit_code == 0);
  auto reuse = appliance.cli({"user", "create-first-admin", "--name", "tweede", "--setup-code",
                              appliance.setup_code(), "--password-stdin"},
                             kAdminPassword + "\n");
  CHECK(reuse.exit_code != 0);
  CHECK(appliance.cli_json({"user", "list"})["accounts"].size() == 1);

  appliance.add_camera("yard", cameras.url(1));
  appliance.add_camera("gate", cameras.url(2), "entrance");
  REQUIRE(appliance
              .cli({"user", "add", "--name", "directeur", "--role", "director", "--password-stdin"},
                   kDirectorTemporary + "\n")
              .exit_code == 0);
  REQUIRE(appliance
              .cli({"user", "add", "--name", "conciergejan", "--role", "viewer", "--cameras",
                    "yard", "--password-stdin"},
                   kViewerTemporary + "\n")
              .exit_code == 0);
  auto weak = appliance.cli(
      {"user", "add", "--name", "kort", "--role", "viewer", "--password-stdin"}, "kort123\n");
  CHECK(weak.exit_code != 0);
  CHECK(weak.err.find("12 characters") != std::string::npos);

  appliance.start_daemon({"--segment-seconds", "3"});
  REQUIRE(appliance.wait_for_state("yard", "recording", 20s));
  REQUIRE(appliance.wait_for_state("gate", "recording", 20s));
  std::this_thread::sleep_for(8s);
  REQUIRE(appliance.stop_daemon() == 0);
  const json yard = appliance.segments("yard");
  const json gate = appliance.segments("gate");
  REQUIRE_FALSE(yard.empty());
  REQUIRE_FALSE(gate.empty());
  const std::string yard_id = std::to_string(yard[0]["id"].get<int64_t>());
  const std::string gate_id = std::to_string(gate[0]["id"].get<int64_t>());

  auto view = [&](const std::string& user, const std::string& password, const std::string& id,
                  const std::string& purpose, const std::string& totp = "") {
    std::vector<std::string> args = {"segment",          "cat",       "--id", id, "--user", user,
                                     "--password-stdin", "--purpose", purpose};
    if (!totp.empty()) args.insert(args.end(), {"--totp", totp});
    return appliance.cli(args, password + "\n");
  };

  // A temporary password must be changed before anything else.
  auto temporary = view("conciergejan", kViewerTemporary, yard_id, "check the yard camera");
  CHECK(temporary.exit_code != 0);
  CHECK(temporary.err.find("temporary password") != std::string::npos);
  REQUIRE(appliance
              .cli({"user", "passwd", "--user", "conciergejan"},
                   kViewerTemporary + "\n" + kViewerPassword + "\n")
              .exit_code == 0);
  REQUIRE(appliance
              .cli({"user", "passwd", "--user", "directeur"},
                   kDirectorTemporary + "\n" + kDirectorPassword + "\n")
              .exit_code == 0);

  SECTION("a viewer sees only assigned cameras; every denial is audited") {
    auto denied = view("conciergejan", kViewerPassword, gate_id, "looking at the gate");
    CHECK(denied.exit_code != 0);
    CHECK(denied.out.empty());
    CHECK(denied.err.find("not assigned") != std::string::npos);
    bool audited = false;
    for (const auto& entry : audit_entries(appliance, "view_recorded")) {
      if (entry["actor"] == "conciergejan" && entry["outcome"] == "denied" &&
          entry["object_id"] == gate_id) {
        audited = true;
      }
    }
    CHECK(audited);
    auto no_purpose = view("conciergejan", kViewerPassword, yard_id, "x");
    CHECK(no_purpose.exit_code != 0);
    CHECK(no_purpose.err.find("purpose") != std::string::npos);
    auto allowed = view("conciergejan", kViewerPassword, yard_id, "bicycle theft on Monday");
    INFO(allowed.err);
    CHECK(allowed.exit_code == 0);
    CHECK(allowed.out.size() > 1000);
  }

  SECTION(
      "a director needs TOTP and a purpose; the viewing is audited with camera, range and "
      "purpose; TOTP codes cannot be replayed") {
    auto no_totp = view("directeur", kDirectorPassword, gate_id, "incident at the gate");
    CHECK(no_totp.exit_code != 0);
    CHECK(no_totp.err.find("TOTP") != std::string::npos);

    auto enrol =
        appliance.cli({"user", "totp-enrol", "--user", "directeur", "--password-stdin", "--json"},
                      kDirectorPassword + "\n");
    INFO(enrol.err);
    REQUIRE(enrol.exit_code == 0);
    const std::string secret = json::parse(enrol.out)["secret"];
    CHECK(json::parse(enrol.out)["uri"].get<std::string>().rfind("otpauth://totp/", 0) == 0);
    REQUIRE(appliance
                .cli({"user", "totp-confirm", "--user", "directeur", "--password-stdin", "--code",
                      totp_now(secret)},
                     kDirectorPassword + "\n")
                .exit_code == 0);

    auto without_code = view("directeur", kDirectorPassword, gate_id, "incident at the gate");
    CHECK(without_code.exit_code != 0);
    const std::string code = totp_now(secret, 30);  // the next step: later than the one used
    auto viewed = view("directeur", kDirectorPassword, gate_id, "incident at the gate", code);
    INFO(viewed.err);
    REQUIRE(viewed.exit_code == 0);
    CHECK(viewed.out.size() > 1000);
    bool audited = false;
    for (const auto& entry : audit_entries(appliance, "view_recorded")) {
      if (entry["actor"] == "directeur" && entry["outcome"] == "allowed") {
        CHECK(entry["camera"] == "gate");
        CHECK(entry["purpose"] == "incident at the gate");
        CHECK(entry["object_id"] == gate_id);
        CHECK(entry["from"] == gate[0]["start"]);
        CHECK(entry["to"] == gate[0]["end"]);
        audited = true;
      }
    }
    CHECK(audited);
    auto replayed = view("directeur", kDirectorPassword, gate_id, "incident at the gate", code);
    CHECK(replayed.exit_code != 0);  // the same code twice: refused
    CHECK(replayed.out.empty());
    // Three steps ahead is outside the ±1 window whatever the clock does meanwhile.
    auto too_far =
        view("directeur", kDirectorPassword, gate_id, "incident at the gate", totp_now(secret, 90));
    CHECK(too_far.exit_code != 0);
  }

  SECTION("passwords are stored only as Argon2id hashes") {
    for (const auto& entry : fs::recursive_directory_iterator(work.path())) {
      if (!entry.is_regular_file()) continue;
      const std::string bytes = read_file(entry.path());
      for (const auto& password : {kAdminPassword, kDirectorPassword, kViewerPassword,
                                   kDirectorTemporary, kViewerTemporary}) {
        INFO(entry.path() << " contains a password");
        CHECK(bytes.find(password) == std::string::npos);
      }
    }
    auto hashes = run_command({"/usr/bin/sqlite3", (appliance.data_dir() / "catalog.db").string(),
                               "SELECT password_hash FROM accounts"});
    REQUIRE(hashes.exit_code == 0);
    size_t lines = 0;
    for (size_t at = 0; (at = hashes.out.find("$argon2id$", at)) != std::string::npos; ++at)
      ++lines;
    CHECK(lines == 3);
  }

  SECTION("brute force: after 5 failures the account is locked, even for the right password") {
    for (int attempt = 0; attempt < 6; ++attempt) {
      auto failed = view("conciergejan", "wrong-password-" + std::to_string(attempt), yard_id,
                         "guessing passwords");
      CHECK(failed.exit_code != 0);
    }
    auto locked = view("conciergejan", kViewerPassword, yard_id, "bicycle theft on Monday");
    CHECK(locked.exit_code != 0);
    CHECK(locked.err.find("too many failed sign-ins") != std::string::npos);
    CHECK_FALSE(audit_entries(appliance, "login_lockout").empty());
    bool alarm = false;
    const json status = appliance.status();
    for (const auto& a : status["alarms"]) alarm = alarm || a["kind"] == "login_lockout";
    INFO(status.dump(2));
    CHECK(alarm);
  }

  SECTION("last-admin protection and audited console changes") {
    auto demote = appliance.cli({"user", "set-role", "--name", "beheerder", "--role", "viewer"});
    CHECK(demote.exit_code != 0);
    CHECK(demote.err.find("last active admin") != std::string::npos);
    auto disable = appliance.cli({"user", "disable", "--name", "beheerder"});
    CHECK(disable.exit_code != 0);
    REQUIRE(appliance.cli({"user", "disable", "--name", "conciergejan"}).exit_code == 0);
    auto disabled = view("conciergejan", kViewerPassword, yard_id, "bicycle theft on Monday");
    CHECK(disabled.exit_code != 0);
    const json changes = audit_entries(appliance, "account_disable");
    REQUIRE_FALSE(changes.empty());
    CHECK(changes.back()["actor"] == "console");
  }

  auto verify = appliance.cli({"audit", "verify"});
  INFO(verify.out << verify.err);
  CHECK(verify.exit_code == 0);
}

TEST_CASE("a wrong setup code is throttled", "[integration][accounts]") {
  TempDir work("yw-setup");
  ApplianceFixture appliance(work.path());
  std::string last_error;
  for (int attempt = 0; attempt < 7; ++attempt) {
    auto wrong = appliance.cli({"user", "create-first-admin", "--name", "beheerder", "--setup-code",
                                "WRNG-CODE-" + std::to_string(1000 + attempt), "--password-stdin"},
                               kAdminPassword + "\n");
    CHECK(wrong.exit_code != 0);
    last_error = wrong.err;
  }
  CHECK(last_error.find("too many") != std::string::npos);
  // Even the right code waits out the back-off.
  auto right = appliance.cli({"user", "create-first-admin", "--name", "beheerder", "--setup-code",
                              appliance.setup_code(), "--password-stdin"},
                             kAdminPassword + "\n");
  CHECK(right.exit_code != 0);
  CHECK(appliance.cli_json({"user", "list"})["accounts"].empty());
}
