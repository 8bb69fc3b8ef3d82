#include "yardwatch/hal/clock.h"

#include <sys/timex.h>

#include <catch2/catch.hpp>
#include <cstdlib>

using namespace yardwatch;
using namespace yardwatch::hal;

TEST_CASE("ISO-8601 UTC parses and formats round trip", "[hal][clock]") {
  auto parsed = parse_iso8601_utc_us("2026-11-25T10:00:00Z");
  REQUIRE(parsed.ok());
  CHECK(parsed.value() == 1'795'600'800'000'000LL);
  CHECK(format_iso8601_utc(parsed.value()) == "2026-11-25T10:00:00Z");
  auto fractional = parse_iso8601_utc_us("2026-11-25T10:00:00.25+00:00");
  REQUIRE(fractional.ok());
  CHECK(fractional.value() - parsed.value() == 250'000);
  CHECK(format_iso8601_utc(fractional.value()) == "2026-11-25T10:00:00.250000Z");
  CHECK(parse_iso8601_utc_us("1970-01-01T00:00:00Z").value() == 0);
  CHECK(parse_iso8601_utc_us("2024-02-29").value() ==
        parse_iso8601_utc_us("2024-02-29T00:00:00Z").value());
}

TEST_CASE("ISO-8601 parsing refuses what is not UTC or not a time", "[hal][clock]") {
  for (const char* bad :
       {"", "2026-11-25T10:00:00", "2026-11-25T10:00:00+01:00", "yesterday", "2026-13-01T00:00:00Z",
        "2026-11-25T25:00:00Z", "2026-11-25T10:00Z", "2026-11-25T10:00:00.Z"}) {
    INFO(bad);
    auto parsed = parse_iso8601_utc_us(bad);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error().kind == ErrorKind::kInvalidArgument);
  }
}

TEST_CASE("YARDWATCH_SIM_NOW sets the host-sim clock, which then runs on", "[hal][clock]") {
  ::setenv("YARDWATCH_SIM_NOW", "2030-01-01T00:00:00Z", 1);
  ::unsetenv("YARDWATCH_SIM_UNSYNCED");
  auto clock = make_board_clock("host-sim");
  REQUIRE(clock.ok());
  const int64_t start = parse_iso8601_utc_us("2030-01-01T00:00:00Z").value();
  const int64_t first = clock.value()->now_utc_us();
  CHECK(first >= start);
  CHECK(first < start + 5'000'000);
  CHECK(clock.value()->sync_state() == SyncState::kSynchronised);
  ::setenv("YARDWATCH_SIM_UNSYNCED", "1", 1);
  auto unsynced = make_board_clock("host-sim");
  REQUIRE(unsynced.ok());
  CHECK(unsynced.value()->sync_state() == SyncState::kUnsynchronised);
  ::setenv("YARDWATCH_SIM_NOW", "not a time", 1);
  CHECK_FALSE(make_board_clock("host-sim").ok());
  ::unsetenv("YARDWATCH_SIM_NOW");
  ::unsetenv("YARDWATCH_SIM_UNSYNCED");
}

TEST_CASE("without YARDWATCH_SIM_NOW the host-sim clock is the host's, synchronised unless told",
          "[hal][clock]") {
  ::unsetenv("YARDWATCH_SIM_NOW");
  ::unsetenv("YARDWATCH_SIM_UNSYNCED");
  auto clock = make_board_clock("host-sim");
  REQUIRE(clock.ok());
  const int64_t host_now = SystemClock().now_utc_us();
  CHECK(clock.value()->now_utc_us() >= host_now);
  CHECK(clock.value()->now_utc_us() < host_now + 5'000'000);
  CHECK(clock.value()->sync_state() == SyncState::kSynchronised);
  ::setenv("YARDWATCH_SIM_UNSYNCED", "1", 1);
  auto unsynced = make_board_clock("host-sim");
  REQUIRE(unsynced.ok());
  CHECK(unsynced.value()->sync_state() == SyncState::kUnsynchronised);
  ::unsetenv("YARDWATCH_SIM_UNSYNCED");
}

TEST_CASE("SimulatedClock moves only when told, and can jump the wall clock alone",
          "[hal][clock]") {
  SimulatedClock clock(1'000'000);
  CHECK(clock.now_utc_us() == 1'000'000);
  clock.advance_us(500);
  CHECK(clock.now_utc_us() == 1'000'500);
  CHECK(clock.monotonic_us() == 500);
  clock.jump_wall_clock_us(-1'000'000);
  CHECK(clock.now_utc_us() == 500);
  CHECK(clock.monotonic_us() == 500);
}

TEST_CASE(
    "the kernel's sync state: STA_UNSYNC, TIME_ERROR and times before 2020 are unsynchronised",
    "[hal][clock]") {
  const int64_t now = parse_iso8601_utc_us("2026-11-25T10:00:00Z").value();
  const int64_t in_1970 = 86'400'000'000LL;
  struct Row {
    int clock_state;
    int status;
    int64_t utc_us;
    SyncState expected;
  };
  for (const Row& row : {
           Row{TIME_OK, 0, now, SyncState::kSynchronised},
           Row{TIME_INS, STA_PLL, now, SyncState::kSynchronised},
           Row{TIME_OK, STA_UNSYNC, now, SyncState::kUnsynchronised},
           Row{TIME_ERROR, 0, now, SyncState::kUnsynchronised},
           Row{-1, 0, now, SyncState::kUnknown},
           // A board without a battery-backed RTC boots in 1970: never trusted, whatever NTP says.
           Row{TIME_OK, 0, in_1970, SyncState::kUnsynchronised},
           Row{TIME_OK, 0, kEarliestPlausibleUtcUs - 1, SyncState::kUnsynchronised},
           Row{TIME_OK, 0, kEarliestPlausibleUtcUs, SyncState::kSynchronised},
       }) {
    INFO("state " << row.clock_state << " status " << row.status << " at " << row.utc_us);
    CHECK(classify_kernel_sync(row.clock_state, row.status, row.utc_us) == row.expected);
  }
  CHECK(kEarliestPlausibleUtcUs == parse_iso8601_utc_us("2020-01-01T00:00:00Z").value());
}

TEST_CASE("SystemClock reports what adjtimex says about this machine", "[hal][clock]") {
  SystemClock clock;
  timex info{};
  const int state = ::adjtimex(&info);
  const SyncState expected = classify_kernel_sync(state, info.status, clock.now_utc_us());
  INFO("adjtimex: state " << state << ", status 0x" << std::hex << info.status);
  CHECK(clock.sync_state() == expected);
  const int64_t first = clock.monotonic_us();
  CHECK(clock.monotonic_us() >= first);
  CHECK(clock.now_utc_us() > kEarliestPlausibleUtcUs);
}
