#pragma once

// Sign-in throttling, per account name and per client address. After 5 failures each further
// failure locks the subject out: 30 s, then doubling, capped at 15 min. While locked out every
// attempt is refused before the password is even checked (so the right password is refused too).
// State lives in the database and survives restarts.

#include <cstdint>
#include <optional>
#include <string>

#include "yardwatch/hal/clock.h"
#include "yardwatch/hal/result.h"
#include "yardwatch/recorder/catalog.h"

namespace yardwatch::firmware {

constexpr int kThrottleFreeFailures = 5;
constexpr int64_t kThrottleFirstLockoutUs = 30'000'000;
constexpr int64_t kThrottleMaxLockoutUs = 15 * 60'000'000LL;

struct ThrottleDecision {
  bool allowed = true;
  int64_t retry_after_us = 0;  // when not allowed
};

struct FailureOutcome {
  int failures = 0;
  bool locked_out = false;  // this failure started a lock-out
  int64_t lockout_us = 0;
};

class LoginThrottle {
 public:
  LoginThrottle(recorder::Catalog& catalog, const hal::Clock& clock);
  // Both the account's and the address's state must allow the attempt.
  Result<ThrottleDecision> check(const std::string& account, const std::string& address);
  // Records a failure for both subjects; returns the account's outcome (and lock-outs of either).
  Result<FailureOutcome> record_failure(const std::string& account, const std::string& address);
  // A success clears the account's failures (the address keeps its history).
  Status record_success(const std::string& account);

 private:
  recorder::Catalog& catalog_;
  const hal::Clock& clock_;
};

}  // namespace yardwatch::firmware
