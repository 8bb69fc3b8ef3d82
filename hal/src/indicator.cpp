#include "yardwatch/hal/indicator.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "yardwatch/hal/unique_fd.h"

namespace yardwatch::hal {

namespace fs = std::filesystem;

namespace {

// sysfs attributes take one write of the whole value; O_TRUNC also lets the test tree (plain
// files) behave the same.
Status write_attribute(const fs::path& path, std::string_view value) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return errno_error(errno, "open " + path.string());
  const ssize_t written = ::write(fd.get(), value.data(), value.size());
  if (written < 0) return errno_error(errno, "write " + path.string());
  if (static_cast<size_t>(written) != value.size()) {
    return make_error(ErrorKind::kUnavailable, "short write to " + path.string());
  }
  return {};
}

std::string read_attribute(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return {};
  char buffer[64];
  const ssize_t n = ::read(fd.get(), buffer, sizeof(buffer) - 1);
  if (n <= 0) return {};
  std::string text(buffer, static_cast<size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace

std::string_view led_name(Led led) {
  switch (led) {
    case Led::kRecording:
      return "recording";
    case Led::kAlarm:
      return "alarm";
    case Led::kExport:
      return "export";
  }
  return "recording";
}

std::string_view led_state_name(LedState state) {
  switch (state) {
    case LedState::kOff:
      return "off";
    case LedState::kOn:
      return "on";
    case LedState::kBlink:
      return "blink";
  }
  return "off";
}

SysfsIndicator::SysfsIndicator(fs::path root, std::map<Led, std::string> leds)
    : root_(std::move(root)), leds_(std::move(leds)) {}

Status SysfsIndicator::set(Led led, LedState state) {
  auto name = leds_.find(led);
  if (name == leds_.end() || name->second.empty()) return {};
  // A name is one directory entry, never a path: the board file cannot point us elsewhere.
  if (name->second.find('/') != std::string::npos || name->second == "." || name->second == "..") {
    return make_error(ErrorKind::kInvalidArgument, "LED name '" + name->second + "' is not a name");
  }
  const fs::path device = root_ / name->second;
  std::error_code error;
  if (!fs::exists(device / "brightness", error)) return {};  // this unit has no such LED
  std::lock_guard lock(mutex_);
  if (auto shown = shown_.find(led); shown != shown_.end() && shown->second == state) return {};
  std::string max = read_attribute(device / "max_brightness");
  if (max.empty() || max == "0") max = "1";
  if (state == LedState::kBlink) {
    YW_TRY(write_attribute(device / "trigger", "timer"));
    // The timer trigger creates delay_on/delay_off (500/500 ms unless set, which reads as
    // "alarm" from the door). They appear owned by root, so setting them is best effort.
    if (fs::exists(device / "delay_on", error)) {
      (void)write_attribute(device / "delay_on", "500");
      (void)write_attribute(device / "delay_off", "500");
    }
  } else {
    YW_TRY(write_attribute(device / "trigger", "none"));
    YW_TRY(write_attribute(device / "brightness", state == LedState::kOn ? max : "0"));
  }
  shown_[led] = state;
  return {};
}

Status SimulatedIndicator::set(Led led, LedState state) {
  std::lock_guard lock(mutex_);
  states_[led] = state;
  return {};
}

LedState SimulatedIndicator::state(Led led) const {
  std::lock_guard lock(mutex_);
  auto found = states_.find(led);
  return found == states_.end() ? LedState::kOff : found->second;
}

}  // namespace yardwatch::hal
