#pragma once

// Supervision (firmware/design/supervision.md): once per tick yardwatchd gathers a snapshot of
// its own health and the Supervisor turns it into the service manager's watchdog, the status
// line and the LEDs. The watchdog is fed only while every camera pipeline is alive (recording,
// or reconnecting with back-off) — a wedged pipeline or a hung disk stops the feeding, and
// systemd restarts the daemon.

#include <cstddef>
#include <string>
#include <vector>

#include "yardwatch/hal/indicator.h"
#include "yardwatch/hal/watchdog.h"

namespace yardwatch::firmware {

struct HealthSnapshot {
  // The data volume: while it is missing, swapped or read-only nothing records, and the daemon
  // waits for it — alive, alarmed, not restarted (a restart cannot bring a disk back).
  bool volume_writable = true;
  std::string volume_problem;
  size_t cameras = 0;            // cameras being recorded
  size_t cameras_recording = 0;  // of which are recording right now
  // Cameras stopped for disk space (retention: only held or restricted footage is left). Not
  // stuck — a restart would not make room — but not recording either: alarmed.
  size_t cameras_paused = 0;
  std::vector<std::string> stuck_cameras;  // pipelines that stopped making progress
  bool web_admin_down = false;  // the web admin was started and one of its listeners stopped
  size_t open_alarms = 0;
  bool exporting = false;  // a police bundle is being written (export LED)
};

class Supervisor {
 public:
  Supervisor(hal::Watchdog& watchdog, hal::Indicator& indicator)
      : watchdog_(watchdog), indicator_(indicator) {}

  // Whether the watchdog may be fed: no camera pipeline is stuck and the web admin is up.
  [[nodiscard]] static bool healthy(const HealthSnapshot& snapshot);
  // The one-line status ("recording 4 of 4 cameras", "WAITING FOR THE DATA VOLUME: …", …).
  [[nodiscard]] static std::string status_line(const HealthSnapshot& snapshot);

  // READY=1, once (the first tick calls it too).
  void ready();
  // Feeds the watchdog when healthy; sends STATUS when it changed; sets the LEDs: recording on
  // while every camera records, alarm blinking while any alarm is open or the volume is away,
  // export on while a bundle is written.
  void tick(const HealthSnapshot& snapshot);
  void stopping();

 private:
  hal::Watchdog& watchdog_;
  hal::Indicator& indicator_;
  bool ready_sent_ = false;
  std::string last_status_;
};

}  // namespace yardwatch::firmware
