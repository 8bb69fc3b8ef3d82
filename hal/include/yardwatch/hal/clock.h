#pragma once

// hal::Clock is the only way Yardwatch reads time (DESIGN §8). Stored times are UTC microseconds
// since the Unix epoch; the monotonic clock measures intervals and detects wall-clock jumps.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "yardwatch/hal/result.h"

namespace yardwatch::hal {

enum class SyncState { kUnknown, kUnsynchronised, kSynchronised };

std::string_view sync_state_name(SyncState state);

// 2020-01-01T00:00:00Z. A wall clock before this has never been set (a board without a battery
// backed RTC boots in 1970, a dead battery likewise); it is treated as unsynchronised whatever
// the kernel says.
constexpr int64_t kEarliestPlausibleUtcUs = 1'577'836'800'000'000LL;

// The kernel's view of time synchronisation, from adjtimex(2) with no modes: `clock_state` is
// its return value (TIME_OK … TIME_ERROR, or -1 on failure) and `status` its STA_* flags. The
// clock is synchronised when NTP (chrony, systemd-timesyncd, ntpd) cleared STA_UNSYNC and the
// state is not TIME_ERROR, and the time is not before kEarliestPlausibleUtcUs.
SyncState classify_kernel_sync(int clock_state, int status, int64_t now_utc_us);

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time, UTC microseconds since 1970-01-01.
  [[nodiscard]] virtual int64_t now_utc_us() const = 0;
  // Monotonic microseconds since an arbitrary origin; never jumps.
  [[nodiscard]] virtual int64_t monotonic_us() const = 0;
  [[nodiscard]] virtual SyncState sync_state() const = 0;
};

// The operating system's clocks: CLOCK_REALTIME, CLOCK_MONOTONIC and adjtimex(2).
class SystemClock final : public Clock {
 public:
  SystemClock() = default;
  // A system clock whose sync state is taken as given instead of asked of the kernel: the
  // host-sim board, where the host's clock is the simulation's and YARDWATCH_SIM_UNSYNCED says
  // when it is not to be trusted (a development machine or CI container rarely runs NTP).
  explicit SystemClock(SyncState assumed) : assumed_(assumed) {}
  [[nodiscard]] int64_t now_utc_us() const override;
  [[nodiscard]] int64_t monotonic_us() const override;
  [[nodiscard]] SyncState sync_state() const override;

 private:
  std::optional<SyncState> assumed_;
};

// A clock that starts at a given UTC time and then runs on with the monotonic clock. This is the
// host-sim board's clock when YARDWATCH_SIM_NOW is set, so a test can run "four weeks later".
class OffsetClock final : public Clock {
 public:
  OffsetClock(int64_t start_utc_us, SyncState sync_state);
  [[nodiscard]] int64_t now_utc_us() const override;
  [[nodiscard]] int64_t monotonic_us() const override;
  [[nodiscard]] SyncState sync_state() const override { return sync_state_; }

 private:
  int64_t start_utc_us_;
  int64_t start_monotonic_us_;
  SyncState sync_state_;
};

// A fully manual clock for unit tests: time moves only when the test moves it.
class SimulatedClock final : public Clock {
 public:
  explicit SimulatedClock(int64_t start_utc_us, SyncState sync_state = SyncState::kSynchronised);
  [[nodiscard]] int64_t now_utc_us() const override { return utc_us_.load(); }
  [[nodiscard]] int64_t monotonic_us() const override { return monotonic_us_.load(); }
  [[nodiscard]] SyncState sync_state() const override { return sync_state_.load(); }

  // Advances both clocks together.
  void advance_us(int64_t delta_us);
  // Moves only the wall clock (an NTP step, an attacker, a dead RTC battery).
  void jump_wall_clock_us(int64_t delta_us) { utc_us_ += delta_us; }
  void set_sync_state(SyncState state) { sync_state_ = state; }

 private:
  std::atomic<int64_t> utc_us_;
  std::atomic<int64_t> monotonic_us_{0};
  std::atomic<SyncState> sync_state_;
};

// The clock for a process on the given board. On "host-sim", YARDWATCH_SIM_NOW (ISO-8601 UTC)
// sets the start time and YARDWATCH_SIM_UNSYNCED=1 reports an unsynchronised clock.
Result<std::unique_ptr<Clock>> make_board_clock(std::string_view board);

// ISO-8601 UTC: "2026-11-25T10:00:00Z", fractional seconds and "+00:00" accepted.
Result<int64_t> parse_iso8601_utc_us(std::string_view text);
// "2026-11-25T10:00:00.123456Z" (fraction omitted when zero).
std::string format_iso8601_utc(int64_t utc_us);

}  // namespace yardwatch::hal
