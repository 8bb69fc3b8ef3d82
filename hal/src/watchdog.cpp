#include "yardwatch/hal/watchdog.h"

#include <systemd/sd-daemon.h>

#include <algorithm>

namespace yardwatch::hal {

SystemdWatchdog::SystemdWatchdog() {
  uint64_t usec = 0;
  // > 0: the manager armed a watchdog for this process (WATCHDOG_USEC, and WATCHDOG_PID if set
  // matches us). 0 for "started by hand", < 0 for a malformed environment: no watchdog either way.
  if (sd_watchdog_enabled(0, &usec) > 0) interval_us_ = static_cast<int64_t>(usec / 2);
}

void SystemdWatchdog::ready() { (void)sd_notify(0, "READY=1"); }

void SystemdWatchdog::feed() { (void)sd_notify(0, "WATCHDOG=1"); }

void SystemdWatchdog::status(std::string_view text) {
  // One line: the protocol is newline-separated assignments, so a newline in the text would
  // start a new (possibly meaningful) assignment.
  std::string line(text);
  std::replace(line.begin(), line.end(), '\n', ' ');
  (void)sd_notify(0, ("STATUS=" + line).c_str());
}

void SystemdWatchdog::stopping() { (void)sd_notify(0, "STOPPING=1"); }

std::vector<std::string> SimulatedWatchdog::messages() const {
  std::lock_guard lock(mutex_);
  return messages_;
}

size_t SimulatedWatchdog::count(std::string_view message) const {
  std::lock_guard lock(mutex_);
  return static_cast<size_t>(std::count(messages_.begin(), messages_.end(), message));
}

void SimulatedWatchdog::clear() {
  std::lock_guard lock(mutex_);
  messages_.clear();
}

void SimulatedWatchdog::record(std::string message) {
  std::lock_guard lock(mutex_);
  messages_.push_back(std::move(message));
}

}  // namespace yardwatch::hal
