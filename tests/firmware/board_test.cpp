// Board descriptions: the built-in boards, unknown names, and strict parsing with line numbers.

#include "yardwatch/firmware/board.h"

#include <catch2/catch.hpp>

#include "test_support.h"
#include "yardwatch/firmware/appliance.h"

using namespace yardwatch;
using namespace yardwatch::firmware;

TEST_CASE("the three boards are built in and describe their hardware", "[firmware][board]") {
  CHECK(board_names() == std::vector<std::string>{"host-sim", "rpi-cm4", "x86-generic"});
  auto host = board_description("host-sim");
  REQUIRE(host.ok());
  CHECK(host.value().simulated_clock);
  CHECK(host.value().key_store == hal::KeyStoreKind::kFile);
  CHECK_FALSE(host.value().require_volume_uuid);
  CHECK(host.value().leds.empty());

  auto x86 = board_description("x86-generic");
  REQUIRE(x86.ok());
  CHECK_FALSE(x86.value().simulated_clock);
  CHECK(x86.value().key_store == hal::KeyStoreKind::kAuto);
  CHECK(x86.value().tpm_tcti == "device:/dev/tpmrm0");
  CHECK(x86.value().require_volume_uuid);
  CHECK(x86.value().mount_point == "/srv/yardwatch");
  CHECK(x86.value().systemd_watchdog);
  CHECK(x86.value().smart_device == "auto");

  auto rpi = board_description("rpi-cm4");
  REQUIRE(rpi.ok());
  CHECK(rpi.value().leds.at(hal::Led::kRecording) == "ACT");
  CHECK(rpi.value().leds.at(hal::Led::kAlarm) == "PWR");
  CHECK(rpi.value().leds.count(hal::Led::kExport) == 0);

  auto unknown = board_description("beaglebone");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().kind == ErrorKind::kNotFound);
  CHECK_THAT(unknown.error().message, Catch::Contains("host-sim, rpi-cm4, x86-generic"));
}

TEST_CASE("a board description with a typo or a bad value is refused with its line",
          "[firmware][board]") {
  auto typo = parse_board_description("name = \"b\"\n[keys]\nstroe = \"file\"\n", "b.toml");
  REQUIRE_FALSE(typo.ok());
  CHECK_THAT(typo.error().message, Catch::Contains("b.toml:3:") && Catch::Contains("keys.stroe"));
  auto bad_store = parse_board_description("name = \"b\"\n[keys]\nstore = \"hsm\"\n", "b.toml");
  REQUIRE_FALSE(bad_store.ok());
  CHECK_THAT(bad_store.error().message, Catch::Contains("b.toml:3:"));
  auto path_led = parse_board_description("name = \"b\"\n[leds]\nalarm = \"../../x\"\n", "b.toml");
  REQUIRE_FALSE(path_led.ok());
  CHECK_THAT(path_led.error().message, Catch::Contains("b.toml:3:"));
  auto no_tcti = parse_board_description("name = \"b\"\n[keys]\nstore = \"tpm\"\n", "b.toml");
  REQUIRE_FALSE(no_tcti.ok());
  CHECK_THAT(no_tcti.error().message, Catch::Contains("tpm_tcti"));
}

TEST_CASE("the command line, the configuration file and the board combine in that order",
          "[firmware][board][config]") {
  yardwatch::testing::TempDir dir;
  const auto config_path = dir / "yardwatch.toml";
  Config config;
  config.board = "x86-generic";
  config.volume_uuid = "0d8a5a52-6b0e-4c1e-9a43-1f2e3d4c5b6a";
  REQUIRE(write_config_file(config_path, config).ok());

  auto from_file = resolve_appliance({{}, {}, config_path, {}});
  INFO((from_file.ok() ? "" : from_file.error().message));
  REQUIRE(from_file.ok());
  const auto& options = from_file.value().options;
  CHECK(options.board == "x86-generic");
  CHECK(options.data_dir == "/srv/yardwatch/data");  // the board's default
  CHECK(options.key_dir == "/var/lib/yardwatch-keys");
  CHECK(options.volume.filesystem_uuid == config.volume_uuid);
  CHECK(options.volume.mount_point == "/srv/yardwatch");
  CHECK(options.key_store == hal::KeyStoreKind::kAuto);
  CHECK(options.config_file == config_path);

  auto overridden = resolve_appliance({dir / "data", dir / "keys", config_path, {}});
  REQUIRE(overridden.ok());
  CHECK(overridden.value().options.data_dir == dir / "data");
  CHECK(overridden.value().options.key_dir == dir / "keys");

  // A real board on the command line without the volume's UUID: refused.
  auto no_uuid = resolve_appliance({dir / "data", {}, {}, "rpi-cm4"});
  REQUIRE_FALSE(no_uuid.ok());
  CHECK_THAT(no_uuid.error().message, Catch::Contains("UUID"));
  // host-sim by default; no data directory at all: refused.
  auto plain = resolve_appliance({dir / "data", {}, {}, {}});
  REQUIRE(plain.ok());
  CHECK(plain.value().options.board == "host-sim");
  CHECK_FALSE(resolve_appliance({{}, {}, {}, "host-sim"}).ok());
}
