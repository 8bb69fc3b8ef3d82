#pragma once

// hal::Watchdog: the service manager's watchdog and readiness protocol. On real boards this is
// systemd's sd_notify(3) (READY=1, WATCHDOG=1, STATUS=…, STOPPING=1); the unit's WatchdogSec=
// restarts yardwatchd when the supervision loop stops feeding it. Who feeds it and when is the
// daemon's decision (firmware/design/supervision.md); this interface only carries the messages.

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace yardwatch::hal {

class Watchdog {
 public:
  virtual ~Watchdog() = default;
  // Start-up is complete (READY=1).
  virtual void ready() = 0;
  // Everything supervised is healthy (WATCHDOG=1).
  virtual void feed() = 0;
  // One line for `systemctl status` (STATUS=…).
  virtual void status(std::string_view text) = 0;
  // Shutdown has begun (STOPPING=1).
  virtual void stopping() = 0;
  // How often feed() must be called for the manager not to act, or 0 when no watchdog is armed.
  [[nodiscard]] virtual int64_t interval_us() const = 0;
};

// sd_notify through libsystemd. Without $NOTIFY_SOCKET (not started by systemd) every message is
// a no-op, so the same binary runs by hand.
class SystemdWatchdog final : public Watchdog {
 public:
  SystemdWatchdog();
  void ready() override;
  void feed() override;
  void status(std::string_view text) override;
  void stopping() override;
  [[nodiscard]] int64_t interval_us() const override { return interval_us_; }

 private:
  int64_t interval_us_ = 0;  // half of WATCHDOG_USEC, as sd_watchdog_enabled(3) advises
};

// The simulated twin: remembers every message, in order, as sd_notify would have sent it
// ("READY=1", "WATCHDOG=1", "STATUS=…", "STOPPING=1").
class SimulatedWatchdog final : public Watchdog {
 public:
  explicit SimulatedWatchdog(int64_t interval_us = 0) : interval_us_(interval_us) {}
  void ready() override { record("READY=1"); }
  void feed() override { record("WATCHDOG=1"); }
  void status(std::string_view text) override { record("STATUS=" + std::string(text)); }
  void stopping() override { record("STOPPING=1"); }
  [[nodiscard]] int64_t interval_us() const override { return interval_us_; }

  [[nodiscard]] std::vector<std::string> messages() const;
  [[nodiscard]] size_t count(std::string_view message) const;
  void clear();

 private:
  void record(std::string message);
  int64_t interval_us_;
  mutable std::mutex mutex_;
  std::vector<std::string> messages_;
};

}  // namespace yardwatch::hal
