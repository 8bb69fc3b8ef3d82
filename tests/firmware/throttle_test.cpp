#include "yardwatch/firmware/throttle.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "test_support.h"
#include "yardwatch/firmware/schema.h"
#include "yardwatch/hal/clock.h"
#include "yardwatch/recorder/catalog.h"

using namespace yardwatch;
using namespace yardwatch::firmware;

namespace {

constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;

// A real catalog file with the firmware's tables, and a clock that moves only when told.
struct ThrottleFixture {
  testing::TempDir dir{"yw-throttle"};
  hal::SimulatedClock clock{1'790'000'000 * kSecond};
  std::unique_ptr<recorder::Catalog> catalog;
  std::unique_ptr<LoginThrottle> throttle;

  ThrottleFixture() { reopen(); }

  // Closes the catalog and opens it again, as a restart of the appliance does.
  void reopen() {
    throttle.reset();
    catalog.reset();
    auto opened = recorder::Catalog::open(dir / "catalog.db", true, firmware_migrations());
    REQUIRE(opened.ok());
    catalog = std::move(opened).value();
    throttle = std::make_unique<LoginThrottle>(*catalog, clock);
  }

  ThrottleDecision check(const std::string& account, const std::string& address) {
    auto decision = throttle->check(account, address);
    REQUIRE(decision.ok());
    return decision.value();
  }

  FailureOutcome fail(const std::string& account, const std::string& address) {
    auto outcome = throttle->record_failure(account, address);
    REQUIRE(outcome.ok());
    return outcome.value();
  }
};

// The documented schedule: the n-th lock-out (from 0) lasts min(30 s × 2^n, 15 min).
int64_t expected_lockout(int failure) {
  if (failure <= kThrottleFreeFailures) return 0;
  int64_t lockout = 30 * kSecond;
  for (int i = kThrottleFreeFailures + 1; i < failure && lockout < 15 * kMinute; ++i) lockout *= 2;
  return std::min(lockout, 15 * kMinute);
}

}  // namespace

TEST_CASE("50 wrong passwords in a row are throttled per the schedule", "[throttle]") {
  ThrottleFixture f;
  const std::string account = "anna";
  const std::string address = "192.0.2.10";
  std::vector<int64_t> lockouts;

  for (int attempt = 1; attempt <= 50; ++attempt) {
    INFO("wrong password number " << attempt);
    REQUIRE(f.check(account, address).allowed);
    const auto outcome = f.fail(account, address);
    // Refused attempts during the lock-outs before were not counted.
    CHECK(outcome.failures == attempt);
    if (attempt <= kThrottleFreeFailures) {
      CHECK_FALSE(outcome.locked_out);
      CHECK(outcome.lockout_us == 0);
      f.clock.advance_us(2 * kSecond);
      continue;
    }
    REQUIRE(outcome.locked_out);
    CHECK(outcome.lockout_us == expected_lockout(attempt));
    lockouts.push_back(outcome.lockout_us / kSecond);

    // During the lock-out every attempt is refused before the password is looked at, the right
    // password included, and a refused attempt does not count.
    auto refused = f.check(account, address);
    CHECK_FALSE(refused.allowed);
    CHECK(refused.retry_after_us == outcome.lockout_us);
    f.clock.advance_us(outcome.lockout_us - kSecond);
    refused = f.check(account, address);
    CHECK_FALSE(refused.allowed);
    CHECK(refused.retry_after_us == kSecond);
    // The same account from another address is locked too, and so is the address for others.
    CHECK_FALSE(f.check(account, "198.51.100.7").allowed);
    CHECK_FALSE(f.check("bert", address).allowed);
    f.clock.advance_us(kSecond);
  }

  REQUIRE(lockouts.size() == 45);
  const std::vector<int64_t> start = {30, 60, 120, 240, 480, 900, 900, 900};
  CHECK(std::vector<int64_t>(lockouts.begin(), lockouts.begin() + 8) == start);
  CHECK(std::all_of(lockouts.begin() + 5, lockouts.end(), [](int64_t s) { return s == 900; }));

  // After the last lock-out the right password gets through and clears the account's failures.
  REQUIRE(f.check(account, address).allowed);
  REQUIRE(f.throttle->record_success(account).ok());
  CHECK(f.fail(account, "198.51.100.7").failures == 1);
  // The address keeps its history: the next failure from it locks it out at once.
  const auto from_address = f.fail("bert", address);
  CHECK(from_address.failures == 1);  // bert's own count
  CHECK(from_address.locked_out);
  CHECK(from_address.lockout_us == 15 * kMinute);
}

TEST_CASE("the right password during a back-off is refused", "[throttle]") {
  ThrottleFixture f;
  for (int i = 0; i < 6; ++i) f.fail("anna", "192.0.2.10");
  // A sign-in asks check() first; while locked out it never gets to compare the password.
  auto decision = f.check("anna", "192.0.2.10");
  CHECK_FALSE(decision.allowed);
  CHECK(decision.retry_after_us == 30 * kSecond);
  f.clock.advance_us(29 * kSecond);
  CHECK_FALSE(f.check("anna", "192.0.2.10").allowed);
  f.clock.advance_us(kSecond);
  CHECK(f.check("anna", "192.0.2.10").allowed);
}

TEST_CASE("the back-off survives a restart", "[throttle]") {
  ThrottleFixture f;
  for (int i = 0; i < 6; ++i) f.fail("anna", "192.0.2.10");
  f.clock.advance_us(10 * kSecond);
  f.reopen();
  auto decision = f.check("anna", "192.0.2.10");
  CHECK_FALSE(decision.allowed);
  CHECK(decision.retry_after_us == 20 * kSecond);
  f.clock.advance_us(20 * kSecond);
  REQUIRE(f.check("anna", "192.0.2.10").allowed);

  // The count and the number of lock-outs survived as well: the next failure doubles.
  f.reopen();
  const auto outcome = f.fail("anna", "192.0.2.10");
  CHECK(outcome.failures == 7);
  CHECK(outcome.locked_out);
  CHECK(outcome.lockout_us == 60 * kSecond);
}

TEST_CASE("an address is throttled across account names", "[throttle]") {
  ThrottleFixture f;
  const std::string address = "192.0.2.10";
  for (int i = 1; i <= 5; ++i) {
    const auto outcome = f.fail("user" + std::to_string(i), address);
    CHECK(outcome.failures == 1);
    CHECK_FALSE(outcome.locked_out);
  }
  // Six names tried once each: no account is locked, but the address is.
  const auto sixth = f.fail("user6", address);
  CHECK(sixth.failures == 1);
  CHECK(sixth.locked_out);
  CHECK(sixth.lockout_us == 30 * kSecond);

  CHECK_FALSE(f.check("user7", address).allowed);
  CHECK_FALSE(f.check("user1", address).allowed);
  CHECK(f.check("user7", "192.0.2.11").allowed);
  CHECK(f.check("user1", "192.0.2.11").allowed);

  // A success clears the account, not the address.
  REQUIRE(f.throttle->record_success("user1").ok());
  CHECK_FALSE(f.check("user1", address).allowed);
}

TEST_CASE("an account is throttled across addresses", "[throttle]") {
  ThrottleFixture f;
  for (int i = 1; i <= 6; ++i) f.fail("anna", "192.0.2." + std::to_string(i));
  CHECK_FALSE(f.check("anna", "192.0.2.99").allowed);
  CHECK(f.check("bert", "192.0.2.1").allowed);
}

TEST_CASE("a success clears the account's failures", "[throttle]") {
  ThrottleFixture f;
  for (int i = 0; i < 5; ++i) f.fail("anna", "192.0.2.10");
  REQUIRE(f.throttle->record_success("anna").ok());
  for (int i = 1; i <= 5; ++i) {
    const auto outcome = f.fail("anna", "192.0.2.11");
    CHECK(outcome.failures == i);
    CHECK_FALSE(outcome.locked_out);
  }
}

TEST_CASE("failures are forgotten after a quiet hour", "[throttle]") {
  ThrottleFixture f;
  const std::string address = "192.0.2.10";  // a school's NAT address

  SECTION("five typos an hour ago do not count") {
    for (int i = 0; i < 5; ++i) f.fail("anna", address);
    f.clock.advance_us(kHour + kSecond);
    const auto outcome = f.fail("anna", address);
    CHECK(outcome.failures == 1);
    CHECK_FALSE(outcome.locked_out);
  }
  SECTION("within the hour they do") {
    for (int i = 0; i < 5; ++i) f.fail("anna", address);
    f.clock.advance_us(59 * kMinute);
    const auto outcome = f.fail("anna", address);
    CHECK(outcome.failures == 6);
    CHECK(outcome.locked_out);
    CHECK(outcome.lockout_us == 30 * kSecond);
  }
  SECTION("after a quiet hour the schedule starts again from the top") {
    for (int i = 0; i < 8; ++i) {
      REQUIRE(f.check("anna", address).allowed);
      const auto outcome = f.fail("anna", address);
      f.clock.advance_us(outcome.lockout_us);
    }
    f.clock.advance_us(kHour + kSecond);
    for (int i = 1; i <= 5; ++i) CHECK_FALSE(f.fail("anna", address).locked_out);
    const auto sixth = f.fail("anna", address);
    CHECK(sixth.locked_out);
    CHECK(sixth.lockout_us == 30 * kSecond);
  }
}

TEST_CASE("a wall clock stepping back does not stretch a lock-out", "[throttle]") {
  ThrottleFixture f;
  for (int i = 0; i < 6; ++i) f.fail("anna", "192.0.2.10");
  f.clock.jump_wall_clock_us(-24 * kHour);
  auto decision = f.check("anna", "192.0.2.10");
  CHECK_FALSE(decision.allowed);
  CHECK(decision.retry_after_us == 15 * kMinute);
  f.clock.advance_us(15 * kMinute);
  CHECK(f.check("anna", "192.0.2.10").allowed);
}
