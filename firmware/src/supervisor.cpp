#include "yardwatch/firmware/supervisor.h"

namespace yardwatch::firmware {

bool Supervisor::healthy(const HealthSnapshot& snapshot) {
  return snapshot.stuck_cameras.empty() && !snapshot.web_admin_down;
}

std::string Supervisor::status_line(const HealthSnapshot& snapshot) {
  std::string line;
  if (!snapshot.volume_writable) {
    line = "WAITING FOR THE DATA VOLUME: " + snapshot.volume_problem;
  } else if (!healthy(snapshot)) {
    line = "STUCK:";
    for (const auto& name : snapshot.stuck_cameras) line += " " + name;
    if (snapshot.web_admin_down) line += " web-admin";
  } else {
    line = "recording " + std::to_string(snapshot.cameras_recording) + " of " +
           std::to_string(snapshot.cameras) + " camera(s)";
    if (snapshot.cameras_paused > 0) {
      line += ", " + std::to_string(snapshot.cameras_paused) + " stopped for disk space";
    }
  }
  if (snapshot.open_alarms > 0) line += "; " + std::to_string(snapshot.open_alarms) + " alarm(s)";
  if (snapshot.exporting) line += "; exporting";
  return line;
}

void Supervisor::ready() {
  if (ready_sent_) return;
  watchdog_.ready();
  ready_sent_ = true;
}

void Supervisor::tick(const HealthSnapshot& snapshot) {
  ready();
  if (healthy(snapshot)) watchdog_.feed();
  const std::string status = status_line(snapshot);
  if (status != last_status_) {
    watchdog_.status(status);
    last_status_ = status;
  }
  const bool all_recording = snapshot.volume_writable && snapshot.cameras > 0 &&
                             snapshot.cameras_recording == snapshot.cameras &&
                             snapshot.cameras_paused == 0;
  const bool alarm = !snapshot.volume_writable || snapshot.open_alarms > 0 || !healthy(snapshot);
  // LEDs are a courtesy: a failing LED never stops supervision.
  (void)indicator_.set(hal::Led::kRecording,
                       all_recording ? hal::LedState::kOn : hal::LedState::kOff);
  (void)indicator_.set(hal::Led::kAlarm, alarm ? hal::LedState::kBlink : hal::LedState::kOff);
  (void)indicator_.set(hal::Led::kExport,
                       snapshot.exporting ? hal::LedState::kOn : hal::LedState::kOff);
}

void Supervisor::stopping() {
  watchdog_.stopping();
  (void)indicator_.set(hal::Led::kRecording, hal::LedState::kOff);
}

}  // namespace yardwatch::firmware
