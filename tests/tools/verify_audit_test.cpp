// `yardwatch-verify --audit` as a privacy officer or auditor uses it: the real binary, run on an
// export written by the journal of a real appliance, then on edited copies of that export.

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.h"
#include "yardwatch/firmware/appliance.h"
#include "yardwatch/firmware/audit.h"
#include "yardwatch/firmware/audit_format.h"

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

TEST_CASE("yardwatch-verify --audit names the first entry of an edited export",
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

}  // namespace yardwatch::testing
