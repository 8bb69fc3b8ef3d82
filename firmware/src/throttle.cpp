#include "yardwatch/firmware/throttle.h"

#include <algorithm>
#include <mutex>

namespace yardwatch::firmware {

// The schedule, per subject (an account name or a client address), counting failures since the
// subject's last quiet hour:
//
//   failures 1–5   no lock-out
//   6th failure    30 s          10th failure   480 s (8 min)
//   7th failure    60 s          11th failure   900 s (15 min, the cap)
//   8th failure    120 s         12th and on    900 s each
//   9th failure    240 s
//
// i.e. lock-out n (counting from 0) lasts min(30 s × 2^n, 15 min). Attempts during a lock-out
// are refused by check() before the password is looked at, so they are not failures and do not
// lengthen the lock-out. A success clears the account's history, not the address's.

namespace {

// A subject whose last failure is older than this starts afresh. Without it a school behind one
// NAT address (every teacher's browser shows up as the same client address) would collect
// everyone's typos over weeks and sooner or later be locked out for 15 minutes at the first
// wrong password. Lock-outs are forgotten too, so the schedule above holds again from its top.
// An attacker gains nothing from it: a lock-out never exceeds 15 minutes, so only someone who
// stops trying for an hour is forgiven.
constexpr int64_t kFailureMemoryUs = 3600'000'000LL;

std::string account_subject(const std::string& account) { return "account:" + account; }
std::string address_subject(const std::string& address) { return "address:" + address; }

int64_t lockout_after(int64_t previous_lockouts) {
  int64_t lockout = kThrottleFirstLockoutUs;
  for (int64_t i = 0; i < previous_lockouts && lockout < kThrottleMaxLockoutUs; ++i) lockout *= 2;
  return std::min(lockout, kThrottleMaxLockoutUs);
}

struct SubjectOutcome {
  int64_t failures = 0;
  bool locked_out = false;
  int64_t lockout_us = 0;
};

// Counts one failure for one subject. The caller holds the catalog mutex and a transaction.
Result<SubjectOutcome> count_failure(recorder::sql::Database& db, const std::string& subject,
                                     int64_t now) {
  int64_t failures = 0;
  int64_t lockouts = 0;
  int64_t locked_until = 0;
  {
    YW_ASSIGN_OR_RETURN(auto select,
                        db.prepare("SELECT failures, lockouts, locked_until_utc_us, "
                                   "last_failure_utc_us FROM login_throttle WHERE subject = ?1"));
    select.bind(1, subject);
    YW_ASSIGN_OR_RETURN(bool found, select.step());
    if (found && now - select.column_int(3) <= kFailureMemoryUs) {
      failures = select.column_int(0);
      lockouts = select.column_int(1);
      locked_until = select.column_int(2);
    }
  }

  SubjectOutcome outcome;
  outcome.failures = failures + 1;
  if (outcome.failures > kThrottleFreeFailures) {
    outcome.locked_out = true;
    outcome.lockout_us = lockout_after(lockouts);
    ++lockouts;
    locked_until = now + outcome.lockout_us;
  }

  YW_ASSIGN_OR_RETURN(
      auto upsert,
      db.prepare("INSERT INTO login_throttle(subject, failures, lockouts, locked_until_utc_us, "
                 "last_failure_utc_us) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(subject) DO UPDATE "
                 "SET failures = excluded.failures, lockouts = excluded.lockouts, "
                 "locked_until_utc_us = excluded.locked_until_utc_us, "
                 "last_failure_utc_us = excluded.last_failure_utc_us"));
  upsert.bind(1, subject).bind(2, outcome.failures).bind(3, lockouts).bind(4, locked_until);
  upsert.bind(5, now);
  YW_TRY(upsert.run());
  return outcome;
}

}  // namespace

LoginThrottle::LoginThrottle(recorder::Catalog& catalog, const hal::Clock& clock)
    : catalog_(catalog), clock_(clock) {}

Result<ThrottleDecision> LoginThrottle::check(const std::string& account,
                                              const std::string& address) {
  std::lock_guard lock(catalog_.mutex());
  auto& db = catalog_.database();
  const int64_t now = clock_.now_utc_us();
  YW_ASSIGN_OR_RETURN(auto transaction, recorder::sql::Transaction::begin(db));
  ThrottleDecision decision;
  for (const auto& subject : {account_subject(account), address_subject(address)}) {
    int64_t locked_until = 0;
    {
      YW_ASSIGN_OR_RETURN(auto select, db.prepare("SELECT locked_until_utc_us FROM login_throttle "
                                                  "WHERE subject = ?1"));
      select.bind(1, subject);
      YW_ASSIGN_OR_RETURN(bool found, select.step());
      if (!found) continue;
      locked_until = select.column_int(0);
    }
    if (locked_until <= now) continue;
    if (locked_until - now > kThrottleMaxLockoutUs) {
      // No lock-out is longer than the cap, so the wall clock went back (an NTP step, a dead RTC
      // battery). Keep the lock-out, but do not let the jump stretch it to hours or days.
      locked_until = now + kThrottleMaxLockoutUs;
      YW_ASSIGN_OR_RETURN(auto update, db.prepare("UPDATE login_throttle SET locked_until_utc_us "
                                                  "= ?2 WHERE subject = ?1"));
      YW_TRY(update.bind(1, subject).bind(2, locked_until).run());
    }
    decision.allowed = false;
    decision.retry_after_us = std::max(decision.retry_after_us, locked_until - now);
  }
  YW_TRY(transaction.commit());
  return decision;
}

Result<FailureOutcome> LoginThrottle::record_failure(const std::string& account,
                                                     const std::string& address) {
  std::lock_guard lock(catalog_.mutex());
  auto& db = catalog_.database();
  const int64_t now = clock_.now_utc_us();
  YW_ASSIGN_OR_RETURN(auto transaction, recorder::sql::Transaction::begin(db));
  YW_ASSIGN_OR_RETURN(auto by_account, count_failure(db, account_subject(account), now));
  YW_ASSIGN_OR_RETURN(auto by_address, count_failure(db, address_subject(address), now));
  YW_TRY(transaction.commit());

  FailureOutcome outcome;
  outcome.failures = static_cast<int>(by_account.failures);
  outcome.locked_out = by_account.locked_out || by_address.locked_out;
  // The longer of the two is how long the person actually has to wait.
  outcome.lockout_us = std::max(by_account.lockout_us, by_address.lockout_us);
  return outcome;
}

Status LoginThrottle::record_success(const std::string& account) {
  std::lock_guard lock(catalog_.mutex());
  auto& db = catalog_.database();
  YW_ASSIGN_OR_RETURN(auto transaction, recorder::sql::Transaction::begin(db));
  YW_ASSIGN_OR_RETURN(auto remove, db.prepare("DELETE FROM login_throttle WHERE subject = ?1"));
  YW_TRY(remove.bind(1, account_subject(account)).run());
  YW_TRY(transaction.commit());
  return {};
}

}  // namespace yardwatch::firmware
