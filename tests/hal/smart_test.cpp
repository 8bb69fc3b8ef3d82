// SMART health from smartctl's JSON: a healthy and a failing disk (captured output shapes, as no
// such disk is in the test machine) and the real smartctl on a device without SMART.

#include "yardwatch/hal/smart.h"

#include <catch2/catch.hpp>

#include "appliance_fixture.h"

using namespace yardwatch;
using namespace yardwatch::hal;
using namespace yardwatch::testing;

TEST_CASE("smartctl JSON of a healthy and of a failing disk", "[hal][smart]") {
  const char* healthy = R"({"json_format_version":[1,0],"smartctl":{"exit_status":0},
    "device":{"name":"/dev/sda","type":"sat"},"model_name":"WDC WD40PURZ",
    "smart_status":{"passed":true}})";
  auto report = parse_smartctl_json(healthy, 0);
  REQUIRE(report.ok());
  CHECK(report.value().supported);
  CHECK(report.value().passed);
  CHECK(report.value().device == "/dev/sda");
  CHECK_THAT(report.value().summary, Catch::Contains("passed"));

  const char* failing = R"({"smartctl":{"exit_status":8},"device":{"name":"/dev/sda"},
    "model_name":"WDC WD40PURZ","smart_status":{"passed":false}})";
  report = parse_smartctl_json(failing, 8);
  REQUIRE(report.ok());
  CHECK(report.value().supported);
  CHECK_FALSE(report.value().passed);
  CHECK_THAT(report.value().summary, Catch::Contains("FAILING"));

  // Prefail attribute at or below threshold: bit 4, even though the overall status passed.
  report = parse_smartctl_json(healthy, 16);
  REQUIRE(report.ok());
  CHECK_FALSE(report.value().passed);

  CHECK_FALSE(parse_smartctl_json("not json", 0).ok());
  // Wrong types inside valid JSON are refused, not thrown.
  CHECK_FALSE(
      parse_smartctl_json(R"({"device":{"name":7},"smart_status":{"passed":"yes"}})", 0).ok());
}

TEST_CASE("real smartctl on a device without SMART reports it unsupported, not an error",
          "[hal][smart]") {
  auto report = run_smartctl("/dev/null");
  INFO((report.ok() ? report.value().summary : report.error().message));
  REQUIRE(report.ok());
  CHECK_FALSE(report.value().supported);
  CHECK_FALSE(report.value().passed);
  CHECK(report.value().exit_status != 0);
  CHECK_THAT(report.value().summary, Catch::Contains("no SMART health"));
  CHECK(run_smartctl("/dev/null", "/nonexistent/smartctl").error().kind == ErrorKind::kNotFound);
}

TEST_CASE("the SMART report file round-trips and a damaged one is refused", "[hal][smart]") {
  TempDir work("yw-smart");
  SmartReport report;
  report.device = "/dev/sda";
  report.supported = true;
  report.passed = false;
  report.summary = "SMART says the disk /dev/sda is FAILING";
  report.checked_utc_us = 1'800'000'000'000'000;
  REQUIRE(write_smart_report(work / "smart.json", report).ok());
  auto read = read_smart_report(work / "smart.json");
  REQUIRE(read.ok());
  CHECK(read.value().supported);
  CHECK_FALSE(read.value().passed);
  CHECK(read.value().summary == report.summary);
  CHECK(read.value().checked_utc_us == report.checked_utc_us);
  write_file(work / "bad.json", "{\"passed\": \"maybe\"");
  CHECK_FALSE(read_smart_report(work / "bad.json").ok());
}
