#pragma once

// hal::Indicator: the status LEDs on the box in the network cupboard. Three meanings: recording
// (on while every camera records), alarm (blinks while an alarm is open) and export (on while a
// police bundle is being written). A board without such LEDs gets a no-op.

#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "yardwatch/hal/result.h"

namespace yardwatch::hal {

enum class Led { kRecording, kAlarm, kExport };
enum class LedState { kOff, kOn, kBlink };

std::string_view led_name(Led led);               // "recording", "alarm", "export"
std::string_view led_state_name(LedState state);  // "off", "on", "blink"

class Indicator {
 public:
  virtual ~Indicator() = default;
  // Sets an LED. An LED the board does not have is not an error (it is simply not shown); a
  // write that fails on one it has is (kUnavailable), but never stops the caller's work.
  virtual Status set(Led led, LedState state) = 0;
};

// LEDs of the kernel's LED class (/sys/class/leds/<name>/{brightness,max_brightness,trigger}).
// `leds` maps each meaning to a class device name from the board description (e.g. "ACT");
// `root` is /sys/class/leds, or a directory tree of the same shape in tests. Blinking uses the
// kernel's "timer" trigger, so it goes on even if yardwatchd stops.
class SysfsIndicator final : public Indicator {
 public:
  SysfsIndicator(std::filesystem::path root, std::map<Led, std::string> leds);
  Status set(Led led, LedState state) override;

 private:
  std::filesystem::path root_;
  std::map<Led, std::string> leds_;
  std::mutex mutex_;
  std::map<Led, LedState> shown_;  // writes only on a change
};

// The simulated twin (and the host-sim board's LEDs): remembers the state of each LED.
class SimulatedIndicator final : public Indicator {
 public:
  Status set(Led led, LedState state) override;
  [[nodiscard]] LedState state(Led led) const;

 private:
  mutable std::mutex mutex_;
  std::map<Led, LedState> states_;
};

}  // namespace yardwatch::hal
