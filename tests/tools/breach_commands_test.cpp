// `yardwatch breaches` and `yardwatch dpia status` through the real binary at fixed simulated
// dates (YARDWATCH_SIM_NOW): the register fed by a lock-out at the console and by hand, the
// decision by a signed-in director, who may read and manage it, the 72-hour deadline (R8); the
// DPIA reminder's states (R10); and a factory reset that reaches the next database's register.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "appliance_fixture.h"

using namespace yardwatch::testing;
using nlohmann::json;

namespace {

const std::string kPassword = "Schoolhoofd-bewaart-2026!";

CommandResult as(const ApplianceFixture& appliance, const std::string& user,
                 std::vector<std::string> args, const std::string& now) {
  return appliance.cli_as(user, kPassword, std::move(args), sim_now(now));
}

std::vector<std::string> kinds(const json& list) {
  std::vector<std::string> out;
  for (const auto& entry : list) out.push_back(entry["kind"]);
  return out;
}

json audit_of(const ApplianceFixture& appliance, const std::string& action) {
  return appliance.cli_json({"audit", "list", "--action", action})["entries"];
}

}  // namespace

TEST_CASE("R8: yardwatch breaches registers, lists, shows and decides with the 72-hour deadline",
          "[tools][breaches][R8]") {
  TempDir root("yw-breaches-cli");
  ApplianceFixture appliance(root.path());
  REQUIRE(appliance.cli({"setting", "set", "policy.require_totp", "0"}).exit_code == 0);
  appliance.add_person("directeur", "director", kPassword);
  appliance.add_person("fg", "privacy_officer", kPassword);
  appliance.add_person("conciergejan", "viewer", kPassword);

  // A lock-out at the console registers itself.
  for (int i = 0; i < 6; ++i) {
    (void)appliance.cli_env({"breaches", "list", "--user", "conciergejan", "--password-stdin"},
                            sim_now("2030-05-06T08:00:00Z"), "fout-wachtwoord\n");
  }
  json open = ok_json(as(appliance, "fg", {"breaches", "list", "--open"}, "2030-05-06T09:00:00Z"));
  REQUIRE(kinds(open) == std::vector<std::string>{"login_lockout"});
  const int64_t lockout_id = open[0]["id"];
  CHECK(open[0]["source"] == "alarm");
  CHECK(open[0]["registered_by"] == "system");
  CHECK(open[0]["decision"].is_null());
  // Detected at 08:00 (plus the seconds the sign-ins took), read at 09:00: 71 hours left.
  CHECK(open[0]["hours_left"].get<int64_t>() >= 70);
  CHECK(open[0]["hours_left"].get<int64_t>() <= 71);
  CHECK(open[0]["overdue"] == false);

  // A director registers an incident by hand; the deadline is 72 h after detection.
  json added = ok_json(
      as(appliance, "directeur",
         {"breaches", "add", "--description",
          "Laptop met geëxporteerde beelden gestolen uit de auto van de conciërge",
          "--personal-data", "yes", "--encrypted", "partly", "--detected", "2030-05-06T07:30:00Z"},
         "2030-05-06T10:00:00Z"));
  CHECK(added["source"] == "manual");
  CHECK(added["kind"] == "manual");
  CHECK(added["detected"] == "2030-05-06T07:30:00Z");
  CHECK(added["deadline"] == "2030-05-09T07:30:00Z");
  CHECK(added["registered_by"] == "directeur");
  CHECK(added["personal_data"] == "yes");
  CHECK(added["encrypted_inaccessible"] == "partly");
  const int64_t manual_id = added["id"];

  // Bad input: a clear error, nothing registered.
  auto short_text = as(appliance, "directeur",
                       {"breaches", "add", "--description", "kort", "--personal-data", "no"},
                       "2030-05-06T10:00:00Z");
  CHECK(short_text.exit_code == 1);
  CHECK(short_text.err.find("at least 10 characters") != std::string::npos);
  CHECK(as(appliance, "directeur",
           {"breaches", "add", "--description", "iets in de toekomst gemeld", "--personal-data",
            "no", "--detected", "2030-05-07T10:00:00Z"},
           "2030-05-06T10:00:00Z")
            .exit_code == 1);
  CHECK(as(appliance, "directeur",
           {"breaches", "add", "--description", "een geldige beschrijving", "--personal-data",
            "misschien"},
           "2030-05-06T10:00:00Z")
            .exit_code != 0);

  // Only directors register and decide; privacy officers read; viewers do not even read.
  auto officer_adds = as(
      appliance, "fg",
      {"breaches", "add", "--description", "een incident van de FG zelf", "--personal-data", "no"},
      "2030-05-06T10:00:00Z");
  CHECK(officer_adds.exit_code == 1);
  CHECK(officer_adds.err.find("permission denied") != std::string::npos);
  CHECK(as(appliance, "fg",
           {"breaches", "decide", std::to_string(manual_id), "--no-report", "--reasoning",
            "de FG mag niet beslissen"},
           "2030-05-06T10:00:00Z")
            .exit_code == 1);
  CHECK(as(appliance, "conciergejan", {"breaches", "list"}, "2030-05-06T10:00:00Z").exit_code == 1);
  const json all = ok_json(as(appliance, "fg", {"breaches", "list"}, "2030-05-06T10:00:00Z"));
  CHECK(all.size() == 2);
  CHECK(all[0]["id"] == lockout_id);  // newest detection first

  // The director decides: both flags, or neither, is refused before anything changes.
  CHECK(as(appliance, "directeur",
           {"breaches", "decide", std::to_string(manual_id), "--report", "--no-report",
            "--reasoning", "beide tegelijk kan niet"},
           "2030-05-06T11:00:00Z")
            .exit_code != 0);
  auto neither = as(
      appliance, "directeur",
      {"breaches", "decide", std::to_string(manual_id), "--reasoning", "geen keuze gemaakt hier"},
      "2030-05-06T11:00:00Z");
  CHECK(neither.exit_code == 1);
  CHECK(neither.err.find("--report or --no-report") != std::string::npos);
  json decided = ok_json(
      as(appliance, "directeur",
         {"breaches", "decide", std::to_string(manual_id), "--report", "--reasoning",
          "Beelden van leerlingen onversleuteld op de laptop", "--reference", "AP-2030-0042"},
         "2030-05-06T11:00:00Z"));
  CHECK(decided["decision"] == "report");
  CHECK(decided["decided_by"] == "directeur");
  CHECK(decided["decided"].get<std::string>().starts_with("2030-05-06T11:00:0"));
  CHECK(decided["report_reference"] == "AP-2030-0042");
  const json decisions = audit_of(appliance, "breach_decide");
  REQUIRE(decisions.size() >= 1);
  CHECK(decisions.back()["actor"] == "directeur");
  CHECK(decisions.back()["outcome"] == "allowed");
  CHECK(decisions.back()["details"]["within_deadline"] == true);

  // Three days later the undecided lock-out is overdue; the decided entry is off the open list.
  open =
      ok_json(as(appliance, "directeur", {"breaches", "list", "--open"}, "2030-05-09T09:00:00Z"));
  REQUIRE(kinds(open) == std::vector<std::string>{"login_lockout"});
  CHECK(open[0]["overdue"] == true);
  CHECK(open[0]["hours_left"].get<int64_t>() < 0);

  // `show`, signed in or as the console; an unknown id is a clear error. Every read is audited.
  const json shown = ok_json(
      as(appliance, "fg", {"breaches", "show", std::to_string(manual_id)}, "2030-05-09T09:00:00Z"));
  CHECK(shown["reasoning"] == "Beelden van leerlingen onversleuteld op de laptop");
  auto console = appliance.cli_env({"breaches", "show", std::to_string(lockout_id), "--json"},
                                   sim_now("2030-05-09T09:00:00Z"));
  CHECK(ok_json(console)["kind"] == "login_lockout");
  auto unknown = appliance.cli_env({"breaches", "show", "999"}, sim_now("2030-05-09T09:00:00Z"));
  CHECK(unknown.exit_code == 1);
  CHECK(unknown.err.find("no breach register entry 999") != std::string::npos);
  const json reads = audit_of(appliance, "breach_register_read");
  bool console_read = false;
  for (const auto& entry : reads) console_read |= entry["actor"] == "console";
  CHECK(console_read);
}

TEST_CASE("R10: yardwatch dpia status says when the next DPIA is due, at fixed dates",
          "[tools][dpia][R10]") {
  TempDir root("yw-dpia-cli");
  ApplianceFixture appliance(root.path());
  auto status_on = [&](const std::string& now) {
    return appliance.cli_json({"dpia", "status"}, sim_now(now));
  };
  const json unknown = status_on("2030-01-01T12:00:00Z");
  CHECK(unknown["state"] == "unknown");
  CHECK(unknown["warning"] == true);
  CHECK(unknown["date"].is_null());
  CHECK(unknown["due"].is_null());
  auto text = appliance.cli_env({"dpia", "status"}, sim_now("2030-01-01T12:00:00Z"));
  CHECK(text.out.find("no DPIA date recorded") != std::string::npos);

  REQUIRE(appliance
              .cli_env({"setting", "set", "policy.dpia_date", "2027-03-01"},
                       sim_now("2030-01-01T12:00:00Z"))
              .exit_code == 0);
  const json current = status_on("2030-01-01T12:00:00Z");
  CHECK(current["state"] == "current");
  CHECK(current["warning"] == false);
  CHECK(current["date"] == "2027-03-01");
  CHECK(current["due"] == "2030-03-01");
  const json soon = status_on("2030-02-10T12:00:00Z");
  CHECK(soon["state"] == "due_soon");
  CHECK(soon["warning"] == true);
  CHECK(soon["days_left"] == 18);
  CHECK(
      appliance.cli_env({"dpia", "status"}, sim_now("2030-02-10T12:00:00Z")).out.find("WARNING") !=
      std::string::npos);
  const json overdue = status_on("2030-03-02T12:00:00Z");
  CHECK(overdue["state"] == "overdue");
  CHECK(overdue["days_left"].get<int64_t>() < 0);
}

TEST_CASE("R8: a factory reset is in the breach register of the next database, at its own time",
          "[tools][breaches][R8][fault]") {
  TempDir root("yw-reset-breach");
  ApplianceFixture appliance(root.path());
  appliance.add_person("directeur", "director", kPassword);
  // The reset at 07:08:09; the appliance is provisioned again the next day.
  auto reset = appliance.cli_env({"factory-reset", "--yes-destroy-all-keys-and-footage"},
                                 sim_now("2030-05-06T07:08:09Z"));
  INFO(reset.err);
  REQUIRE(reset.exit_code == 0);
  CHECK(reset.out.find("breach register") != std::string::npos);
  auto init = appliance.cli_env({"init"}, sim_now("2030-05-07T10:00:00Z"));
  INFO(init.err);
  REQUIRE(init.exit_code == 0);
  CHECK_FALSE(std::filesystem::exists(appliance.data_dir() / "factory-reset.json"));

  const json entries = appliance.cli_json({"breaches", "list"}, sim_now("2030-05-07T10:05:00Z"));
  REQUIRE(kinds(entries) == std::vector<std::string>{"factory_reset"});
  const json& entry = entries[0];
  // The simulated clock runs on from YARDWATCH_SIM_NOW while the command works.
  CHECK(entry["detected"].get<std::string>().starts_with("2030-05-06T07:08:09"));
  CHECK(entry["deadline"].get<std::string>().starts_with("2030-05-09T07:08:09"));
  CHECK(entry["source"] == "alarm");
  CHECK(entry["personal_data"] == "yes");
  CHECK(entry["encrypted_inaccessible"] == "yes");
  CHECK(entry["description"].get<std::string>().find("reset at 2030-05-06T07:08:09") !=
        std::string::npos);
  CHECK(entry["decision"].is_null());
  // Opening the appliance again registers nothing more.
  CHECK(appliance.cli_json({"breaches", "list"}, sim_now("2030-05-07T10:06:00Z")).size() == 1);
}
