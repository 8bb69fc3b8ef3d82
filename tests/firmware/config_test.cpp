// The configuration file: every bad value and unknown key refused with its line number (table
// driven), the shipped examples valid, the canonical rendering round-tripping, and changes
// written back atomically and audited.

#include "yardwatch/firmware/config.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "appliance_fixture.h"
#include "test_support.h"
#include "yardwatch/firmware/accounts.h"
#include "yardwatch/firmware/appliance.h"
#include "yardwatch/firmware/settings.h"

using namespace yardwatch;
using namespace yardwatch::firmware;
using yardwatch::testing::TempDir;
namespace fs = std::filesystem;

namespace {

// A valid host-sim file; each bad case changes one line of it.
const char* const kValid = R"(board = "host-sim"
[web]
listen = "0.0.0.0:8443"
[storage]
data_dir = "/srv/yardwatch/data"
mount_point = "/srv/yardwatch"
volume_uuid = "0d8a5a52-6b0e-4c1e-9a43-1f2e3d4c5b6a"
key_dir = "/var/lib/yardwatch-keys"
min_free_mb = 512
[recording]
segment_seconds = 60
[network]
school_lan = ["10.0.0.0/8", "fd00::/8"]
camera_network = ["192.168.50.0/24"]
ntp_servers = ["192.168.1.1"]
[retention]
default_days = 28
[policy]
require_totp = true
four_eyes = false
)";

std::string replace_line(int line, const std::string& text) {
  std::string result;
  int number = 1;
  std::string source = kValid;
  size_t start = 0;
  while (start < source.size()) {
    size_t end = source.find('\n', start);
    std::string current = source.substr(start, end - start);
    result += (number == line ? text : current) + "\n";
    ++number;
    start = end + 1;
  }
  return result;
}

}  // namespace

TEST_CASE("a valid configuration file parses into every field", "[firmware][config]") {
  auto config = parse_config(kValid, "yardwatch.toml");
  INFO((config.ok() ? "" : config.error().message));
  REQUIRE(config.ok());
  const Config& c = config.value();
  CHECK(c.board == "host-sim");
  CHECK(c.listen == "0.0.0.0:8443");
  CHECK(c.data_dir == "/srv/yardwatch/data");
  CHECK(c.volume_uuid == "0d8a5a52-6b0e-4c1e-9a43-1f2e3d4c5b6a");
  CHECK(c.min_free_mb == 512);
  CHECK(c.school_lan == std::vector<std::string>{"10.0.0.0/8", "fd00::/8"});
  CHECK(c.ntp_servers == std::vector<std::string>{"192.168.1.1"});
  CHECK(c.default_retention_days == 28);
  CHECK(c.require_totp);
  CHECK_FALSE(c.four_eyes);
  // An empty file is every default.
  auto empty = parse_config("", "empty.toml");
  REQUIRE(empty.ok());
  CHECK(empty.value().board == "host-sim");
}

TEST_CASE("every invalid value and unknown key is refused with its line number",
          "[firmware][config]") {
  struct Row {
    int line;
    std::string text;
    std::string expected;  // part of the message
  };
  const std::vector<Row> rows = {
      {1, "board = \"raspberry\"", "unknown board 'raspberry'"},
      {1, "board = 7", "must be a string"},
      {1, "bored = \"host-sim\"", "unknown key 'bored'"},
      {3, "listen = \"0.0.0.0\"", "not address:port"},
      {3, "listen = \"0.0.0.0:70000\"", "out of range"},
      {3, "listen = \"school:8443\"", "not an IP address"},
      {3, "listen = \"::1:8443\"", "in brackets"},
      {3, "listen = 8443", "must be a string"},
      {3, "metrics_listen = \"localhost:9464\"", "not an IP address"},
      {3, "lisen = \"0.0.0.0:8443\"", "unknown key 'web.lisen'"},
      {5, "data_dir = \"data\"", "absolute path"},
      {5, "data_dir = \"/srv/yardwatch/../etc\"", "'..'"},
      {5, "data_dir = \"/var/lib/elsewhere\"", "inside the mount point"},
      {7, "volume_uuid = \"not-a-uuid\"", "not a filesystem UUID"},
      {8, "key_dir = \"/srv/yardwatch/data/keys\"", "outside the data directory"},
      {9, "min_free_mb = 0", "between 1 and"},
      {9, "min_free_mb = \"512\"", "whole number"},
      {9, "min_free_mb = 5.5", "whole number"},
      {11, "segment_seconds = 1", "between 2 and 3600"},
      {13, "school_lan = \"10.0.0.0/8\"", "list of strings"},
      {13, "school_lan = [\"10.0.0.0/33\"]", "prefix must be 0–32"},
      {13, "school_lan = [\"10.0.0.1/8\"]", "host bits set"},
      {13, "school_lan = [\"school.local\"]", "not an IP address"},
      {13, "school_lan = [10]", "may only hold strings"},
      {14, "camera_network = [\"192.168.50.0/24\", \"fe80::/129\"]", "prefix must be 0–128"},
      {15, "ntp_servers = [\"pool.ntp.org\"]", "addresses, not names"},
      {15, "monitoring = [\"10.0.0.0/33\"]", "prefix must be 0–32"},
      {17, "default_days = 29", "between 1 and 28"},
      {17, "default_days = 0", "between 1 and 28"},
      {17, "space_reserve_mb = -1", "between 0 and 1073741824"},
      {17, "space_reserve_mb = \"1G\"", "whole number"},
      {17, "space_reserve_seconds = 86401", "between 0 and 86400"},
      {17, "space_reserve_second = 60", "unknown key 'retention.space_reserve_second'"},
      {19, "require_totp = \"yes\"", "true or false"},
      {20, "four_eyes = 1", "true or false"},
      {20, "four_eye = false", "unknown key 'policy.four_eye'"},
      {18, "[polciy]", "unknown table 'polciy'"},
      {2, "web = 5", "must be a table"},
      {6, "\"storage.mount_point\" = \"/srv\"", "unknown key 'storage.storage.mount_point'"},
      {4, "[storage", "yardwatch.toml:4"},
  };
  for (const auto& row : rows) {
    const std::string text = replace_line(row.line, row.text);
    auto config = parse_config(text, "yardwatch.toml");
    INFO("line " << row.line << ": " << row.text);
    REQUIRE_FALSE(config.ok());
    INFO(config.error().message);
    CHECK(config.error().kind == ErrorKind::kInvalidArgument);
    CHECK_THAT(config.error().message, Catch::Contains(row.expected));
    CHECK_THAT(config.error().message,
               Catch::Contains("yardwatch.toml:" + std::to_string(row.line) + ":"));
  }
}

TEST_CASE("several problems are all reported, one per line", "[firmware][config]") {
  auto config = parse_config("bored = 1\n[web]\nlisten = \"x\"\n[policy]\nfour_eyes = 2\n", "f");
  REQUIRE_FALSE(config.ok());
  CHECK_THAT(config.error().message,
             Catch::Contains("f:1:") && Catch::Contains("f:3:") && Catch::Contains("f:5:"));
}

// Found by tests/fuzz (config) under UBSan: toml++ 3.3.0 reaches __builtin_unreachable or a
// failed assertion on these; parse_config refuses them with a position before toml++ sees them.
TEST_CASE("TOML that trips toml++ is refused with its position and non-ASCII text stays valid",
          "[firmware][config]") {
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"[networ\xd2\x8a]\n", "f:1:8: a non-ASCII character outside a string or comment"},
      {"\xcc\xaa", "f:1:1: a non-ASCII character outside a string or comment"},
      {"s = \"\"\"\\\n\xc2\xa7\"\"\"\n", "f:2:1: a non-ASCII character right after a line-ending"},
      {"[network]\nmonitoring = [}\n", "f:2:15: a closing bracket where a value belongs"},
      {"[network]\nmonitoring = [\"10.0.0.9\", # c\n }\n", "f:3:2: a closing bracket"},
      {"board = ]\n", "f:1:9: a closing bracket where a value belongs"},
  };
  for (const auto& [text, expected] : refused) {
    INFO(text);
    auto config = parse_config(text, "f");
    REQUIRE_FALSE(config.ok());
    CHECK_THAT(config.error().message, Catch::Contains(expected));
  }
  // Non-ASCII where TOML allows it (comments, strings, multi-line strings) is still read.
  auto config = parse_config(
      "# Camera's bij de ingang \xe2\x80\x94 \xc3\xa9\xc3\xa9n, 2\xe2\x80\x93"
      "3600 s\n"
      "board = \"host-sim\" # \xc2\xa7\n[storage]\ndata_dir = '''/srv/\xc3\xa9'''\n"
      "[network]\nmonitoring = [ \"10.0.0.9\" ]\n",
      "f");
  REQUIRE(config.ok());
  CHECK(config.value().data_dir == "/srv/\xc3\xa9");
  CHECK(config.value().monitoring == std::vector<std::string>{"10.0.0.9"});
}

TEST_CASE("a real board without the data volume's UUID is refused", "[firmware][config]") {
  auto config = parse_config("board = \"x86-generic\"\n", "yardwatch.toml");
  REQUIRE_FALSE(config.ok());
  CHECK_THAT(config.error().message, Catch::Contains("storage.volume_uuid is required"));
}

TEST_CASE("the shipped example configurations are valid once the disk's UUID is filled in",
          "[firmware][config]") {
  for (const std::string board : {"x86-generic", "rpi-cm4"}) {
    INFO(board);
    const fs::path example = yardwatch::testing::source_dir() / "board" / board / "yardwatch.toml";
    std::string text = yardwatch::testing::read_file(example);
    REQUIRE_FALSE(text.empty());
    CHECK_FALSE(parse_config(text, example.string()).ok());  // no UUID yet: refused
    const std::string empty_uuid = "volume_uuid = \"\"";
    REQUIRE(text.find(empty_uuid) != std::string::npos);
    text.replace(text.find(empty_uuid), empty_uuid.size(),
                 "volume_uuid = \"0d8a5a52-6b0e-4c1e-9a43-1f2e3d4c5b6a\"");
    auto config = parse_config(text, example.string());
    INFO((config.ok() ? "" : config.error().message));
    REQUIRE(config.ok());
    CHECK(config.value().board == board);
    // The file is the canonical rendering of its values (what a write-back produces).
    CHECK(render_config(config.value()) == text);
  }
}

TEST_CASE("the canonical rendering parses back to the same configuration", "[firmware][config]") {
  auto config = parse_config(kValid, "in.toml");
  REQUIRE(config.ok());
  auto again = parse_config(render_config(config.value()), "out.toml");
  INFO((again.ok() ? "" : again.error().message));
  REQUIRE(again.ok());
  CHECK(render_config(again.value()) == render_config(config.value()));
  CHECK(again.value().school_lan == config.value().school_lan);
  CHECK(again.value().volume_uuid == config.value().volume_uuid);
}

TEST_CASE("write-back is atomic: the file's mode stays and no temporary file is left",
          "[firmware][config]") {
  TempDir dir;
  const fs::path path = dir / "yardwatch.toml";
  yardwatch::testing::write_file(path, kValid);
  ::chmod(path.c_str(), 0660);
  Config config = parse_config(kValid, "x").value();
  config.listen = "[::]:9443";
  REQUIRE(write_config_file(path, config).ok());
  struct stat info {};
  REQUIRE(::stat(path.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0660);
  CHECK(load_config(path).value().listen == "[::]:9443");
  size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir.path())) ++entries;
  CHECK(entries == 1);
  // A directory that cannot be written: refused, the old file untouched.
  ::chmod(dir.path().c_str(), 0500);
  if (::geteuid() != 0) {  // root ignores directory permissions
    config.listen = "0.0.0.0:1";
    CHECK_FALSE(write_config_file(path, config).ok());
    CHECK(load_config(path).value().listen == "[::]:9443");
  }
  ::chmod(dir.path().c_str(), 0700);
}

TEST_CASE("a change through the UI is validated, written back and audited",
          "[firmware][config][R6]") {
  TempDir dir;
  const fs::path path = dir / "yardwatch.toml";
  Config initial;
  initial.data_dir = dir / "data";
  REQUIRE(write_config_file(path, initial).ok());
  auto appliance = Appliance::init({dir / "data", dir / "keys", "host-sim"});
  REQUIRE(appliance.ok());
  auto& app = *appliance.value();
  AuditJournal audit(app.catalog(), app.clock(), app.keys());

  auto changed =
      change_config(path, app.catalog(), audit, Actor::console(), "web.listen", "[::]:9443");
  INFO((changed.ok() ? "" : changed.error().message));
  REQUIRE(changed.ok());
  CHECK(load_config(path).value().listen == "[::]:9443");
  auto entries = audit.list({}).value();
  CHECK(entries.back().event.action == "config_change");
  CHECK(entries.back().event.object_id == "web.listen");
  CHECK(entries.back().event.allowed);
  CHECK_THAT(entries.back().event.details, Catch::Contains("\"from\":\"0.0.0.0:8443\"") &&
                                               Catch::Contains("\"to\":\"[::]:9443\""));

  // A bad value: refused, audited as denied, the file unchanged.
  const std::string before = yardwatch::testing::read_file(path);
  auto bad = change_config(path, app.catalog(), audit, Actor::console(), "network.camera_network",
                           "192.168.50.0/24, not-a-network");
  REQUIRE_FALSE(bad.ok());
  CHECK(yardwatch::testing::read_file(path) == before);
  CHECK_FALSE(audit.list({}).value().back().event.allowed);
  // Installation settings are not changeable here.
  auto moved = change_config(path, app.catalog(), audit, Actor::console(), "storage.data_dir",
                             "/tmp/elsewhere");
  REQUIRE_FALSE(moved.ok());
  CHECK_THAT(moved.error().message, Catch::Contains("cannot be changed here"));
  CHECK(yardwatch::testing::read_file(path) == before);

  // A policy switch takes effect at once through the settings.
  REQUIRE(
      change_config(path, app.catalog(), audit, Actor::console(), "policy.four_eyes", "true").ok());
  CHECK(load_config(path).value().four_eyes);
  CHECK(get_setting(app.catalog(), "policy.four_eyes").value() == "1");
  REQUIRE(
      change_config(path, app.catalog(), audit, Actor::console(), "policy.require_totp", "false")
          .ok());
  CHECK(get_setting(app.catalog(), "policy.require_totp").value() == "0");
  CHECK(audit.verify().value().ok);
}

TEST_CASE("only an admin may change the configuration, and a refusal is audited",
          "[firmware][config][R6]") {
  TempDir dir;
  const fs::path path = dir / "yardwatch.toml";
  REQUIRE(write_config_file(path, Config{}).ok());
  auto appliance = Appliance::init({dir / "data", dir / "keys", "host-sim"});
  REQUIRE(appliance.ok());
  auto& app = *appliance.value();
  AuditJournal audit(app.catalog(), app.clock(), app.keys());
  Principal director;
  director.account_id = 7;
  director.name = "directeur";
  director.role = Role::kDirector;
  const std::string before = yardwatch::testing::read_file(path);
  auto refused =
      change_config(path, app.catalog(), audit, director, "policy.require_totp", "false");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::kPermissionDenied);
  CHECK(yardwatch::testing::read_file(path) == before);
  auto last = audit.list({}).value().back();
  CHECK(last.event.action == "config_change");
  CHECK_FALSE(last.event.allowed);
  Principal admin;
  admin.account_id = 1;
  admin.name = "ict";
  admin.role = Role::kAdmin;
  CHECK(change_config(path, app.catalog(), audit, admin, "retention.default_days", "14").ok());
  CHECK(load_config(path).value().default_retention_days == 14);
}

TEST_CASE("at start the file's policy switches become the settings, audited as the system",
          "[firmware][config]") {
  TempDir dir;
  auto appliance = Appliance::init({dir / "data", dir / "keys", "host-sim"});
  REQUIRE(appliance.ok());
  auto& app = *appliance.value();
  AuditJournal audit(app.catalog(), app.clock(), app.keys());
  Config config;
  config.require_totp = false;
  config.four_eyes = true;
  REQUIRE(apply_policy_settings(config, app.catalog(), audit).ok());
  CHECK(get_setting(app.catalog(), "policy.require_totp").value() == "0");
  CHECK(get_setting(app.catalog(), "policy.four_eyes").value() == "1");
  const auto count = audit.list({}).value().size();
  REQUIRE(apply_policy_settings(config, app.catalog(), audit).ok());  // nothing changed
  CHECK(audit.list({}).value().size() == count);
  CHECK(audit.list({}).value().back().actor.name == "system");
}
