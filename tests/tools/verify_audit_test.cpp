// `yardwatch-verify --audit` as a privacy officer or auditor uses it: the real binary, run on an
// export written by the journal of a real appliance, then on edited copies of that export.

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.h"
#include "yardwatch/firmware/appliance.h"
#include "yardwatch/firmware/audit.h"
#include "yardwatch/firmware/audit_format.h"
#include "yardwatch/hal/clock.h"

namespace yardwatch::testing {
namespace {

namespace fs = std::filesystem;
namespace format = firmware::audit_format;

std::vector<std::string> read_lines(const fs::path& path) {
  std::ifstream input(path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(input, line)) lines.push_back(line);
  return lines;
}

void write_lines(const fs::path& path, const std::vector<std::string>& lines) {
  std::ofstream output(path, std::ios::trunc);
  for (const auto& line : lines) output << line << "\n";
}

// Replaces the first occurrence of `from` in `line`; the test fails if it is not there.
std::string replaced(std::string line, const std::string& from, const std::string& to) {
  const auto at = line.find(from);
  REQUIRE(at != std::string::npos);
  return line.replace(at, from.size(), to);
}

CommandResult verify(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {binary_path("yardwatch-verify").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv);
}

// An appliance with a few audited events, exported the way `yardwatch audit export` does.
struct Exported {
  TempDir dir{"yw-verify-audit"};
  fs::path file;
  std::string fingerprint;

  Exported() {
    auto appliance = firmware::Appliance::init({dir / "data", dir / "keys", "host-sim"});
    REQUIRE(appliance.ok());
    auto& app = *appliance.value();
    firmware::AuditJournal journal(app.catalog(), app.clock(), app.keys());
    const firmware::Actor anna{3, "anna", "director", "10.0.0.7"};
    for (int i = 1; i <= 6; ++i) {
      firmware::AuditEvent event;
      event.action = i % 2 == 0 ? "view_recorded" : "login";
      event.camera = i % 2 == 0 ? "yard" : "";
      event.purpose = "purpose " + std::to_string(i) + "\nforged line \"quoted\"";
      event.details = R"({"n":)" + std::to_string(i) + R"(,"text":"a\u0000b"})";
      REQUIRE(journal.append(anna, event).ok());
      if (i == 3) REQUIRE(journal.checkpoint().ok());
    }
    file = dir / "audit.jsonl";
    REQUIRE(journal.export_jsonl(file).ok());
    fingerprint = format::key_fingerprint(app.keys().signing_public_key());
  }

  // A copy of the export with `edit` applied to its lines.
  template <typename Edit>
  fs::path edited(const std::string& name, Edit edit) const {
    auto lines = read_lines(file);
    edit(lines);
    const fs::path path = dir / name;
    write_lines(path, lines);
    return path;
  }
};

// An export of a pruned journal: entries 1–20 a month apart from 2025-11-25 (signed every 5),
// pruned at day 1095 with the 2-year term, so 1–12 are gone and 13–20 remain, then the
// journal_pruned entry 21 (signed by the pruning).
struct PrunedExport {
  static constexpr int64_t kStart = 1'764'064'800'000'000;  // 2025-11-25T10:00:00Z
  static constexpr int64_t kDay = 24LL * 3600 * 1'000'000;
  TempDir dir{"yw-verify-pruned"};
  fs::path file;

  PrunedExport() {
    auto appliance = firmware::Appliance::init({dir / "data", dir / "keys", "host-sim"});
    REQUIRE(appliance.ok());
    auto& app = *appliance.value();
    hal::SimulatedClock clock(kStart);
    firmware::AuditJournal journal(app.catalog(), clock, app.keys());
    for (int k = 1; k <= 20; ++k) {
      clock.advance_us(30 * kDay);
      firmware::AuditEvent event;
      event.action = "login";
      event.details = R"({"k":)" + std::to_string(k) + "}";
      REQUIRE(journal.append(firmware::Actor{3, "anna", "director", "10.0.0.7"}, event).ok());
      if (k % 5 == 0) REQUIRE(journal.checkpoint().ok());
    }
    clock.advance_us(kStart + 1095 * kDay - clock.now_utc_us());
    auto pruned = journal.prune();
    REQUIRE(pruned.ok());
    REQUIRE(pruned.value().through_seq == 12);
    file = dir / "audit.jsonl";
    REQUIRE(journal.export_jsonl(file).ok());
  }

  template <typename Edit>
  fs::path edited(const std::string& name, Edit edit) const {
    auto lines = read_lines(file);
    edit(lines);
    const fs::path path = dir / name;
    write_lines(path, lines);
    return path;
  }
};

}  // namespace

TEST_CASE("yardwatch-verify --audit accepts an intact export and states what it proves",
          "[tools][audit]") {
  Exported exported;
  const auto result = verify({"--audit", exported.file.string()});
  INFO(result.out << result.err);
  CHECK(result.exit_code == 0);
  CHECK(result.out.find("OK: entries 1–6") != std::string::npos);
  CHECK(result.out.find("device key fingerprint: " + exported.fingerprint) != std::string::npos);
  CHECK(result.out.find("the fingerprint matches the one on the handover form") !=
        std::string::npos);

  const auto expected =
      verify({"--audit", exported.file.string(), "--expect-fingerprint", exported.fingerprint});
  INFO(expected.out << expected.err);
  CHECK(expected.exit_code == 0);
  CHECK(expected.out.find("matches the expected fingerprint") != std::string::npos);
}

TEST_CASE("yardwatch-verify --audit refuses a key with the wrong fingerprint", "[tools][audit]") {
  Exported exported;
  const auto result = verify({"--audit", exported.file.string(), "--expect-fingerprint",
                              "0000 1111 2222 3333 4444 5555 6666 7777"});
  INFO(result.out << result.err);
  CHECK(result.exit_code == 1);
  CHECK(result.out.find("not by the expected") != std::string::npos);

  const auto malformed =
      verify({"--audit", exported.file.string(), "--expect-fingerprint", "not hex"});
  CHECK(malformed.exit_code == 2);
}

TEST_CASE("R6: yardwatch-verify --audit names the first entry of an edited export",
          "[tools][audit][tamper]") {
  Exported exported;
  auto fails_at = [](const fs::path& path, const std::string& seq, const std::string& words) {
    const auto result = verify({"--audit", path.string()});
    INFO(result.out << result.err);
    CHECK(result.exit_code == 1);
    CHECK(result.out.find("FAILED: ") != std::string::npos);
    CHECK(result.out.find("first failing entry: " + seq + "\n") != std::string::npos);
    CHECK(result.out.find(words) != std::string::npos);
  };
  // Line 0 is the device line; line N is entry N; then the checkpoints (at 3 and 6).
  SECTION("a purpose edited") {
    fails_at(exported.edited(
                 "purpose.jsonl",
                 [](auto& lines) { lines[4] = replaced(lines[4], "purpose 4", "purpose X"); }),
             "4", "entry 4: hash does not match its contents (edited?)");
  }
  SECTION("an outcome edited") {
    fails_at(exported.edited("outcome.jsonl",
                             [](auto& lines) {
                               lines[2] = replaced(lines[2], R"("outcome":"allowed")",
                                                   R"("outcome":"denied")");
                             }),
             "2", "entry 2: hash does not match");
  }
  SECTION("the readable time edited but not the integer") {
    const auto path = exported.edited("time.jsonl", [](auto& lines) {
      lines[5] = replaced(lines[5], R"("time":"20)", R"("time":"19)");
    });
    const auto result = verify({"--audit", path.string()});
    INFO(result.out);
    CHECK(result.exit_code == 1);
    CHECK(result.out.find("line 6: field 'time' does not match") != std::string::npos);
    CHECK(result.out.find("first failing entry: 5") != std::string::npos);
  }
  SECTION("an entry removed") {
    fails_at(exported.edited("deleted.jsonl", [](auto& lines) { lines.erase(lines.begin() + 2); }),
             "2", "entry 2 missing");
  }
  SECTION("two entries swapped") {
    fails_at(exported.edited("swapped.jsonl", [](auto& lines) { std::swap(lines[4], lines[5]); }),
             "4", "entries 4 and 5 out of order");
  }
  SECTION("the tail and its checkpoint removed: the rest is not covered") {
    fails_at(exported.edited("tail.jsonl",
                             [](auto& lines) {
                               // entries 5, 6 and the checkpoint at 6 go; the one at 3 stays.
                               lines.erase(lines.begin() + 5, lines.begin() + 7);
                               lines.pop_back();
                             }),
             "4", "entry 4 comes after the last signed checkpoint (entry 3)");
  }
  SECTION("entries removed after their checkpoint") {
    fails_at(
        exported.edited("truncated.jsonl", [](auto& lines) { lines.erase(lines.begin() + 6); }),
        "6", "checkpoint at entry 6: the device signed entry 6 but the export ends at entry 5");
  }
  SECTION("a checkpoint signature flipped") {
    fails_at(exported.edited("forged.jsonl",
                             [](auto& lines) {
                               auto& line = lines.back();
                               const auto at = line.find(R"("signature":")") + 13;
                               line[at] = line[at] == '0' ? '1' : '0';
                             }),
             "6", "checkpoint at entry 6: signature invalid (forged?)");
  }
  SECTION("no checkpoint at all") {
    fails_at(exported.edited("unsigned.jsonl", [](auto& lines) { lines.resize(lines.size() - 2); }),
             "1", "no signed checkpoint");
  }
  SECTION("not JSON") {
    const auto path = exported.edited("garbage.jsonl", [](auto& lines) { lines[3] = "{oops"; });
    const auto result = verify({"--audit", path.string()});
    CHECK(result.exit_code == 1);
    CHECK(result.out.find("line 4: not a JSON object") != std::string::npos);
  }
}

TEST_CASE("yardwatch-verify --audit accepts a pruned export and checks its anchor",
          "[tools][audit][prune]") {
  PrunedExport exported;
  const auto lines = read_lines(exported.file);
  REQUIRE(lines.size() > 2);
  REQUIRE(lines[1].find(R"("type":"anchor")") != std::string::npos);

  const auto result = verify({"--audit", exported.file.string()});
  INFO(result.out << result.err);
  CHECK(result.exit_code == 0);
  CHECK(result.out.find("OK: entries 13–21") != std::string::npos);
  CHECK(result.out.find("Entries 1–12 were pruned after the retention term") != std::string::npos);

  auto fails_at = [](const fs::path& path, const std::string& seq, const std::string& words) {
    const auto failed = verify({"--audit", path.string()});
    INFO(failed.out << failed.err);
    CHECK(failed.exit_code == 1);
    CHECK(failed.out.find("first failing entry: " + seq + "\n") != std::string::npos);
    CHECK(failed.out.find(words) != std::string::npos);
  };
  SECTION("the anchor line removed: the pruned entries read as deleted") {
    fails_at(exported.edited("no-anchor.jsonl", [](auto& edit) { edit.erase(edit.begin() + 1); }),
             "1", "entries 1–12 missing");
  }
  SECTION("the anchor's seq changed") {
    fails_at(exported.edited(
                 "anchor-seq.jsonl",
                 [](auto& edit) { edit[1] = replaced(edit[1], R"("seq":12)", R"("seq":11)"); }),
             "11", "pruning anchor at entry 11: signature invalid (forged?)");
  }
  SECTION("the anchor's hash changed") {
    fails_at(exported.edited("anchor-hash.jsonl",
                             [](auto& edit) {
                               auto& line = edit[1];
                               const auto at = line.find(R"("hash":")") + 8;
                               line[at] = line[at] == '0' ? '1' : '0';
                             }),
             "12", "pruning anchor at entry 12: signature invalid (forged?)");
  }
  SECTION("the anchor's signature flipped") {
    fails_at(exported.edited("anchor-signature.jsonl",
                             [](auto& edit) {
                               auto& line = edit[1];
                               const auto at = line.find(R"("signature":")") + 13;
                               line[at] = line[at] == '0' ? '1' : '0';
                             }),
             "12", "signature invalid");
  }
  SECTION("a second anchor line") {
    const auto path =
        exported.edited("two-anchors.jsonl", [](auto& edit) { edit.push_back(edit[1]); });
    const auto failed = verify({"--audit", path.string()});
    INFO(failed.out);
    CHECK(failed.exit_code == 1);
    CHECK(failed.out.find("a second pruning anchor") != std::string::npos);
  }
}

TEST_CASE("yardwatch audit prune at the console, then verify and export", "[tools][audit][prune]") {
  TempDir dir("yw-cli-prune");
  const fs::path data = dir / "data";
  const fs::path keys = dir / "keys";
  auto yardwatch = [&](std::vector<std::string> args, const std::string& now) {
    std::vector<std::string> argv = {binary_path("yardwatch").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--data", data.string(), "--key-dir", keys.string()});
    return run_command(argv, "", {{"YARDWATCH_SIM_NOW", now}});
  };
  const std::string year_one = "2025-01-10T09:00:00Z";
  REQUIRE(yardwatch({"init"}, year_one).exit_code == 0);
  REQUIRE(yardwatch({"audit", "verify"}, year_one).exit_code == 0);
  REQUIRE(
      yardwatch({"audit", "export", "--out", (dir / "first.jsonl").string()}, year_one).exit_code ==
      0);  // signs everything so far

  // Within the term: nothing to do, and nothing recorded.
  auto early = yardwatch({"audit", "prune"}, "2026-06-01T00:00:00Z");
  INFO(early.out << early.err);
  CHECK(early.exit_code == 0);
  CHECK(early.out.find("nothing to prune") != std::string::npos);

  const std::string later = "2027-06-01T00:00:00Z";
  auto pruned = yardwatch({"audit", "prune"}, later);
  INFO(pruned.out << pruned.err);
  CHECK(pruned.exit_code == 0);
  CHECK(pruned.out.find("pruned ") != std::string::npos);
  CHECK(pruned.out.find("older than 2025-06-01T") != std::string::npos);

  auto verified = yardwatch({"audit", "verify"}, later);
  INFO(verified.out << verified.err);
  CHECK(verified.exit_code == 0);
  CHECK(verified.out.find("were pruned after the retention term") != std::string::npos);

  auto listed = yardwatch({"audit", "list", "--action", "journal_pruned", "--json"}, later);
  REQUIRE(listed.exit_code == 0);
  const auto entries = nlohmann::json::parse(listed.out)["entries"];
  REQUIRE(entries.size() == 1);
  CHECK(entries[0]["actor"] == "console");

  const fs::path out = dir / "after.jsonl";
  REQUIRE(yardwatch({"audit", "export", "--out", out.string()}, later).exit_code == 0);
  const auto offline = verify({"--audit", out.string()});
  INFO(offline.out << offline.err);
  CHECK(offline.exit_code == 0);
  CHECK(offline.out.find("were pruned after the retention term") != std::string::npos);

  CHECK(yardwatch({"audit", "prune", "--retention-days", "0"}, later).exit_code != 0);
}

}  // namespace yardwatch::testing
