// `yardwatch report kwaliteitskaart|access-review` and `yardwatch cameras describe|still` through
// the real binary on a real data directory (R9 and the monthly access review).

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "appliance_fixture.h"

using namespace yardwatch::testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string kPassword = "Schoolhoofd-bewaart-2026!";

void add_person(ApplianceFixture& appliance, const std::string& name, const std::string& role) {
  const std::string temporary = "tijdelijk-wachtwoord-9";
  REQUIRE(appliance
              .cli({"user", "add", "--name", name, "--role", role, "--password-stdin"},
                   temporary + "\n")
              .exit_code == 0);
  REQUIRE(appliance.cli({"user", "passwd", "--user", name}, temporary + "\n" + kPassword + "\n")
              .exit_code == 0);
}

CommandResult as(const ApplianceFixture& appliance, const std::string& user,
                 std::vector<std::string> args,
                 const std::map<std::string, std::string>& env = {}) {
  args.insert(args.end(), {"--user", user, "--password-stdin"});
  return appliance.cli_env(args, env, kPassword + "\n");
}

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE(
    "R9: yardwatch report kwaliteitskaart writes the card as PDF and HTML, for the right "
    "people",
    "[integration][report][R9]") {
  TempDir root("yw-report-cli");
  ApplianceFixture appliance(root.path());
  REQUIRE(appliance.cli({"setting", "set", "policy.require_totp", "0"}).exit_code == 0);
  REQUIRE(appliance.cli({"setting", "set", "policy.dpia_date", "2024-05-01"}).exit_code == 0);
  appliance.add_camera("schoolplein", "rtsp://127.0.0.1:1/a");
  appliance.add_camera("fietsenstalling", "rtsp://127.0.0.1:1/b", "bicycle_shed");
  add_person(appliance, "directeur", "director");
  add_person(appliance, "fg", "privacy_officer");
  add_person(appliance, "conciergejan", "viewer");

  // A still, made by GStreamer's JPEG encoder; attached by the director (the spelling).
  const fs::path still = root.path() / "still.jpg";
  REQUIRE(run_command({"/usr/bin/gst-launch-1.0", "-q", "videotestsrc", "num-buffers=1", "!",
                       "video/x-raw,width=320,height=240", "!", "jpegenc", "!", "filesink",
                       "location=" + still.string()})
              .exit_code == 0);
  auto attached = as(appliance, "directeur", {"cameras", "still", "schoolplein", "--image", still});
  INFO(attached.err);
  REQUIRE(attached.exit_code == 0);
  REQUIRE(as(appliance, "directeur",
             {"camera", "describe", "schoolplein", "--purpose", "vernieling na schooltijd",
              "--placement", "gevel gymzaal, 4 m hoog"})
              .exit_code == 0);
  // Not a JPEG, not a director: refused.
  const fs::path text_file = root.path() / "not.jpg";
  write_file(text_file, "hallo");
  CHECK(as(appliance, "directeur", {"cameras", "still", "schoolplein", "--image", text_file})
            .exit_code != 0);
  CHECK(as(appliance, "fg", {"cameras", "still", "schoolplein", "--remove"}).exit_code != 0);

  const fs::path pdf = root.path() / "kaart.pdf";
  auto written = as(appliance, "fg", {"report", "kwaliteitskaart", "--out", pdf.string()});
  INFO(written.err);
  REQUIRE(written.exit_code == 0);
  auto text = run_command({"/usr/bin/pdftotext", pdf.string(), "-"});
  REQUIRE(text.exit_code == 0);
  for (const char* expected : {"schoolplein", "fietsenstalling", "vernieling na schooltijd",
                               "2024-05-01", "2027-05-01", "Kwaliteitskaart"}) {
    INFO(expected);
    CHECK(text.out.find(expected) != std::string::npos);
  }

  // The console, in English, as HTML.
  const fs::path html = root.path() / "card.html";
  REQUIRE(appliance.cli({"report", "kwaliteitskaart", "--out", html.string(), "--lang", "en"})
              .exit_code == 0);
  const std::string page = read(html);
  CHECK(page.find("<html lang=\"en\">") != std::string::npos);
  CHECK(page.find("data-field=\"purpose\">vernieling na schooltijd<") != std::string::npos);
  CHECK(page.find("data:image/jpeg;base64,") != std::string::npos);

  // A viewer gets nothing, and no file.
  const fs::path refused = root.path() / "refused.pdf";
  CHECK(as(appliance, "conciergejan", {"report", "kwaliteitskaart", "--out", refused.string()})
            .exit_code != 0);
  CHECK_FALSE(fs::exists(refused));
  CHECK(appliance.cli({"report", "kwaliteitskaart", "--out", (root.path() / "x.txt").string()})
            .exit_code != 0);

  const json entries = appliance.cli_json({"audit", "list", "--action", "report_kwaliteitskaart"});
  int allowed = 0;
  int denied = 0;
  for (const auto& entry : entries["entries"]) {
    (entry["outcome"] == "allowed" ? allowed : denied)++;
  }
  CHECK(allowed == 2);
  CHECK(denied == 1);
}

TEST_CASE("yardwatch report access-review --json gives the month's review",
          "[integration][report]") {
  TempDir root("yw-review-cli");
  ApplianceFixture appliance(root.path());
  REQUIRE(appliance.cli({"setting", "set", "policy.require_totp", "0"}).exit_code == 0);
  appliance.add_camera("schoolplein", "rtsp://127.0.0.1:1/a");
  add_person(appliance, "fg", "privacy_officer");
  add_person(appliance, "conciergejan", "viewer");

  // Three years on: the viewer has not signed in since the account was made.
  const std::map<std::string, std::string> later{{"YARDWATCH_SIM_NOW", "2030-04-02T08:00:00Z"}};
  auto result =
      as(appliance, "fg", {"report", "access-review", "--month", "2030-03", "--json"}, later);
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  const json review = json::parse(result.out);
  CHECK(review["month"] == "2030-03");
  CHECK(review["from"] == "2030-03-01T00:00:00Z");
  CHECK(review["to"] == "2030-04-01T00:00:00Z");
  CHECK(review["reference_time"] == "2030-04-01T00:00:00Z");
  CHECK(review["viewings"].is_array());
  CHECK(review["exports"].is_array());
  CHECK(review["long_holds"].is_array());
  std::set<std::string> unused;
  for (const auto& account : review["unused_accounts"]) {
    unused.insert(account["account"].get<std::string>());
    CHECK(account["unused_days"].get<int>() >= 90);
  }
  CHECK(unused.count("conciergejan") == 1);
  CHECK(unused.count("fg") == 0);  // signed in just now, after the month
  CHECK(review["totals"]["unused_accounts"] == review["unused_accounts"].size());

  CHECK(as(appliance, "conciergejan", {"report", "access-review", "--month", "2030-03", "--json"},
           later)
            .exit_code != 0);
  CHECK(as(appliance, "fg", {"report", "access-review", "--month", "2031-01", "--json"}, later)
            .exit_code != 0);
  const fs::path pdf = root.path() / "review.pdf";
  REQUIRE(as(appliance, "fg",
             {"report", "access-review", "--month", "2030-03", "--out", pdf.string()}, later)
              .exit_code == 0);
  auto text = run_command({"/usr/bin/pdftotext", pdf.string(), "-"});
  // The viewer's refused attempt above was a sign-in after the month: no longer unused.
  CHECK(text.out.find("Maandelijkse toegangscontrole 2030-03") != std::string::npos);
  CHECK(text.out.find("conciergejan") == std::string::npos);
}
