// The register of data subjects' requests through the real `yardwatch` binary (R7): fixed
// simulated dates (YARDWATCH_SIM_NOW) for the deadline, the extension and the due list; the
// privacy officer reads, only directors manage; closing drops who asked; the purge 2 years on.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "appliance_fixture.h"
#include "yardwatch/hal/clock.h"

using namespace yardwatch::testing;
using nlohmann::json;
namespace hal = yardwatch::hal;

namespace {

const std::string kPassword = "Schoolhoofd-bewaart-2026!";

CommandResult as(const ApplianceFixture& appliance, const std::string& user,
                 std::vector<std::string> args, const std::string& now) {
  return appliance.cli_as(user, kPassword, std::move(args), sim_now(now));
}

std::vector<std::string> references(const json& list) {
  std::vector<std::string> out;
  for (const auto& r : list) out.push_back(r["reference"]);
  return out;
}

}  // namespace

TEST_CASE(
    "R7: yardwatch requests keeps the deadlines, the due list and the register at fixed dates",
    "[integration][requests][R7]") {
  TempDir root("yw-requests");
  ApplianceFixture appliance(root.path());
  REQUIRE(appliance.cli({"setting", "set", "policy.require_totp", "0"}).exit_code == 0);
  appliance.add_camera("schoolplein", "rtsp://127.0.0.1:1/none");
  appliance.add_person("directeur", "director", kPassword);
  appliance.add_person("fg", "privacy_officer", kPassword);
  appliance.add_person("conciergejan", "viewer", kPassword);

  // Registered on 4 March 2030: due 4 weeks after receipt.
  auto added =
      ok_json(as(appliance, "directeur",
                 {"requests", "add", "--reference", "AVG-2030-1", "--kind", "inzage", "--name",
                  "J. Jansen", "--contact", "j.jansen@example.org", "--description",
                  "beelden schoolplein 1 maart", "--received", "2030-03-04T09:00:00Z", "--footage",
                  "schoolplein=2030-03-01T10:00:00Z/2030-03-01T10:30:00Z"},
                 "2030-03-04T10:00:00Z"));
  CHECK(added["kind"] == "access");
  CHECK(added["deadline"] == "2030-04-01T09:00:00Z");
  CHECK(added["status"] == "open");
  CHECK(added["footage"][0]["camera"] == "schoolplein");
  ok_json(as(appliance, "directeur",
             {"requests", "add", "--reference", "AVG-2030-2", "--kind", "bezwaar", "--name",
              "P. de Vries", "--received", "2030-03-20T09:00:00Z"},
             "2030-03-20T10:00:00Z"));

  // The due list at fixed dates.
  auto due = [&](const std::string& now) {
    return ok_json(as(appliance, "fg", {"requests", "list", "--due"}, now));
  };
  CHECK(due("2030-03-21T12:00:00Z").empty());
  const json week_before = due("2030-03-26T12:00:00Z");
  CHECK(references(week_before) == std::vector<std::string>{"AVG-2030-1"});
  CHECK(week_before[0]["status"] == "due");
  // One extension, at most 12 weeks after receipt (12 June 2030), before the first deadline.
  auto beyond = as(appliance, "directeur",
                   {"requests", "extend", "--reference", "AVG-2030-2", "--deadline",
                    "2030-06-12T09:00:01Z", "--reason", "veel beelden, meerdere camera's"},
                   "2030-04-01T10:00:00Z");
  CHECK(beyond.exit_code == 1);
  CHECK(beyond.err.find("12 weeks") != std::string::npos);
  auto extended =
      ok_json(as(appliance, "directeur",
                 {"requests", "extend", "--reference", "AVG-2030-2", "--deadline",
                  "2030-06-12T09:00:00Z", "--reason", "veel beelden, meerdere camera's"},
                 "2030-04-01T10:00:00Z"));
  CHECK(extended["deadline"] == "2030-06-12T09:00:00Z");
  CHECK(extended["extended_by"] == "directeur");
  CHECK(as(appliance, "directeur",
           {"requests", "extend", "--reference", "AVG-2030-2", "--deadline", "2030-06-12T09:00:00Z",
            "--reason", "nog een keer"},
           "2030-04-02T10:00:00Z")
            .exit_code == 1);
  auto late = as(appliance, "directeur",
                 {"requests", "extend", "--reference", "AVG-2030-1", "--deadline",
                  "2030-05-01T09:00:00Z", "--reason", "te laat bedacht"},
                 "2030-04-12T10:00:00Z");
  CHECK(late.exit_code == 1);
  CHECK(late.err.find("passed") != std::string::npos);
  const json later = due("2030-04-12T12:00:00Z");
  CHECK(references(later) == std::vector<std::string>{"AVG-2030-1"});  // AVG-2030-2 was extended
  CHECK(later[0]["status"] == "overdue");

  // The privacy officer reads but does not manage; a viewer does not even read.
  CHECK(as(appliance, "fg",
           {"requests", "close", "--reference", "AVG-2030-1", "--outcome", "granted"},
           "2030-04-12T12:00:00Z")
            .exit_code == 1);
  auto viewer = as(appliance, "conciergejan", {"requests", "list"}, "2030-04-12T12:00:00Z");
  CHECK(viewer.exit_code == 1);

  // Closing drops who asked; the register keeps what it needs.
  auto closed = ok_json(as(appliance, "directeur",
                           {"requests", "close", "--reference", "AVG-2030-1", "--outcome",
                            "granted", "--note", "beelden getoond op school"},
                           "2030-04-12T13:00:00Z"));
  CHECK(closed["status"] == "closed");
  CHECK(closed["requester"].is_null());
  CHECK(closed["contact"].is_null());
  CHECK(closed["description"].is_null());
  CHECK(closed["received"] == "2030-03-04T09:00:00Z");
  const json shown = ok_json(as(appliance, "fg", {"requests", "show", "--reference", "AVG-2030-1"},
                                "2030-04-13T09:00:00Z"));
  CHECK(shown["outcome"] == "granted");
  CHECK(shown["closed_by"] == "directeur");

  const json june = due("2030-06-06T12:00:00Z");
  CHECK(references(june) == std::vector<std::string>{"AVG-2030-2"});
  CHECK(june[0]["status"] == "due");

  // Two years after closing the register forgets it; the open one stays.
  const json early =
      ok_json(appliance.cli_env({"requests", "purge", "--json"}, sim_now("2032-04-10T13:00:00Z")));
  CHECK(early["removed"] == 0);
  const json purged =
      ok_json(appliance.cli_env({"requests", "purge", "--json"}, sim_now("2032-04-12T13:00:01Z")));
  CHECK(purged["removed"] == 1);
  CHECK(purged["references"] == json::array({"AVG-2030-1"}));
  const json all =
      ok_json(as(appliance, "fg", {"requests", "list", "--all"}, "2032-04-12T14:00:00Z"));
  CHECK(references(all) == std::vector<std::string>{"AVG-2030-2"});

  // Everything is in the journal, by reference, and the journal verifies.
  auto journal = appliance.cli_json({"audit", "list", "--action", "request_register"});
  CHECK(journal.dump().find("AVG-2030-1") != std::string::npos);
  CHECK(journal.dump().find("Jansen") == std::string::npos);
  CHECK(appliance.cli({"audit", "verify"}).exit_code == 0);
}
