// hal::Indicator: the LED class in sysfs, pointed at a fake tree of the same shape, and the
// simulated twin.

#include "yardwatch/hal/indicator.h"

#include <catch2/catch.hpp>
#include <fstream>

#include "test_support.h"

using namespace yardwatch;
using namespace yardwatch::hal;
using namespace yardwatch::testing;
namespace fs = std::filesystem;

namespace {
void make_led(const fs::path& root, const std::string& name, bool with_timer_files) {
  fs::create_directories(root / name);
  std::ofstream(root / name / "brightness") << "0\n";
  std::ofstream(root / name / "max_brightness") << "255\n";
  std::ofstream(root / name / "trigger") << "[none] timer heartbeat\n";
  if (with_timer_files) {
    std::ofstream(root / name / "delay_on") << "0\n";
    std::ofstream(root / name / "delay_off") << "0\n";
  }
}
}  // namespace

TEST_CASE("SysfsIndicator drives LED class devices and ignores the ones a board lacks",
          "[hal][indicator]") {
  TempDir leds("yw-leds");
  make_led(leds.path(), "ACT", true);
  make_led(leds.path(), "PWR", false);
  SysfsIndicator indicator(
      leds.path(),
      {{Led::kRecording, "PWR"}, {Led::kAlarm, "ACT"}, {Led::kExport, "missing-on-this-unit"}});
  REQUIRE(indicator.set(Led::kRecording, LedState::kOn).ok());
  CHECK(read_file(leds / "PWR/brightness") == "255");
  CHECK(read_file(leds / "PWR/trigger") == "none");
  REQUIRE(indicator.set(Led::kAlarm, LedState::kBlink).ok());
  CHECK(read_file(leds / "ACT/trigger") == "timer");
  CHECK(read_file(leds / "ACT/delay_on") == "500");
  CHECK(read_file(leds / "ACT/delay_off") == "500");
  REQUIRE(indicator.set(Led::kAlarm, LedState::kOff).ok());
  CHECK(read_file(leds / "ACT/trigger") == "none");
  CHECK(read_file(leds / "ACT/brightness") == "0");
  REQUIRE(indicator.set(Led::kRecording, LedState::kOff).ok());
  CHECK(read_file(leds / "PWR/brightness") == "0");
  // An LED this unit does not have: nothing happens, nothing fails.
  CHECK(indicator.set(Led::kExport, LedState::kOn).ok());
  CHECK_FALSE(fs::exists(leds / "missing-on-this-unit"));
}

TEST_CASE("SysfsIndicator refuses an LED name that is a path", "[hal][indicator]") {
  TempDir leds("yw-leds");
  SysfsIndicator indicator(leds.path(), {{Led::kAlarm, "../../etc"}});
  auto status = indicator.set(Led::kAlarm, LedState::kOn);
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().kind == ErrorKind::kInvalidArgument);
}

TEST_CASE("SysfsIndicator on a board without LEDs is a no-op", "[hal][indicator]") {
  SysfsIndicator indicator("/nonexistent/leds", {{Led::kAlarm, "ACT"}});
  CHECK(indicator.set(Led::kAlarm, LedState::kBlink).ok());
  SysfsIndicator none("/nonexistent/leds", {});
  CHECK(none.set(Led::kRecording, LedState::kOn).ok());
}

TEST_CASE("SimulatedIndicator remembers each LED", "[hal][indicator]") {
  SimulatedIndicator indicator;
  CHECK(indicator.state(Led::kAlarm) == LedState::kOff);
  REQUIRE(indicator.set(Led::kAlarm, LedState::kBlink).ok());
  CHECK(indicator.state(Led::kAlarm) == LedState::kBlink);
  CHECK(indicator.state(Led::kRecording) == LedState::kOff);
  CHECK(led_name(Led::kExport) == "export");
  CHECK(led_state_name(LedState::kBlink) == "blink");
}
