// The supervisor against the simulated watchdog and LEDs: fed only while every camera pipeline
// is alive; status and LEDs follow the snapshot.

#include "yardwatch/firmware/supervisor.h"

#include <catch2/catch.hpp>

using namespace yardwatch;
using namespace yardwatch::firmware;

TEST_CASE("the watchdog is fed only while no camera pipeline is stuck", "[firmware][supervisor]") {
  hal::SimulatedWatchdog watchdog;
  hal::SimulatedIndicator leds;
  Supervisor supervisor(watchdog, leds);
  HealthSnapshot healthy;
  healthy.cameras = 2;
  healthy.cameras_recording = 2;
  supervisor.tick(healthy);
  supervisor.tick(healthy);
  CHECK(watchdog.count("READY=1") == 1);
  CHECK(watchdog.count("WATCHDOG=1") == 2);
  CHECK(watchdog.count("STATUS=recording 2 of 2 camera(s)") == 1);  // sent on change only
  CHECK(leds.state(hal::Led::kRecording) == hal::LedState::kOn);
  CHECK(leds.state(hal::Led::kAlarm) == hal::LedState::kOff);

  // A camera reconnecting (alive, not recording): still fed, recording LED off.
  HealthSnapshot reconnecting = healthy;
  reconnecting.cameras_recording = 1;
  supervisor.tick(reconnecting);
  CHECK(watchdog.count("WATCHDOG=1") == 3);
  CHECK(leds.state(hal::Led::kRecording) == hal::LedState::kOff);

  // A stuck pipeline: not fed, said so, alarm LED blinking.
  HealthSnapshot stuck = healthy;
  stuck.stuck_cameras = {"gate"};
  supervisor.tick(stuck);
  supervisor.tick(stuck);
  CHECK(watchdog.count("WATCHDOG=1") == 3);
  CHECK(watchdog.count("STATUS=STUCK: gate") == 1);
  CHECK(leds.state(hal::Led::kAlarm) == hal::LedState::kBlink);
  CHECK_FALSE(Supervisor::healthy(stuck));

  supervisor.tick(healthy);
  CHECK(watchdog.count("WATCHDOG=1") == 4);
  CHECK(watchdog.count("READY=1") == 1);
  supervisor.stopping();
  CHECK(watchdog.messages().back() == "STOPPING=1");
}

TEST_CASE("waiting for the data volume: alive and fed, but alarmed", "[firmware][supervisor]") {
  hal::SimulatedWatchdog watchdog;
  hal::SimulatedIndicator leds;
  Supervisor supervisor(watchdog, leds);
  HealthSnapshot waiting;
  waiting.volume_writable = false;
  waiting.volume_problem = "nothing is mounted at /srv/yardwatch";
  supervisor.tick(waiting);
  CHECK(watchdog.count("READY=1") == 1);
  CHECK(watchdog.count("WATCHDOG=1") == 1);
  CHECK(watchdog.count(
            "STATUS=WAITING FOR THE DATA VOLUME: nothing is mounted at /srv/yardwatch") == 1);
  CHECK(leds.state(hal::Led::kAlarm) == hal::LedState::kBlink);
  CHECK(leds.state(hal::Led::kRecording) == hal::LedState::kOff);
  HealthSnapshot exporting;
  exporting.exporting = true;
  exporting.open_alarms = 1;
  supervisor.tick(exporting);
  CHECK(leds.state(hal::Led::kExport) == hal::LedState::kOn);
  CHECK(Supervisor::status_line(exporting) == "recording 0 of 0 camera(s); 1 alarm(s); exporting");
}

TEST_CASE("a web admin whose listener stopped stops the feeding too", "[firmware][supervisor]") {
  hal::SimulatedWatchdog watchdog;
  hal::SimulatedIndicator leds;
  Supervisor supervisor(watchdog, leds);
  HealthSnapshot down;
  down.cameras = 1;
  down.cameras_recording = 1;
  down.web_admin_down = true;
  supervisor.tick(down);
  CHECK(watchdog.count("WATCHDOG=1") == 0);
  CHECK(watchdog.count("STATUS=STUCK: web-admin") == 1);
  CHECK(leds.state(hal::Led::kAlarm) == hal::LedState::kBlink);
  down.web_admin_down = false;
  supervisor.tick(down);
  CHECK(watchdog.count("WATCHDOG=1") == 1);
}

TEST_CASE("a camera stopped for disk space: fed, said so, recording LED off",
          "[firmware][supervisor]") {
  hal::SimulatedWatchdog watchdog;
  hal::SimulatedIndicator leds;
  Supervisor supervisor(watchdog, leds);
  HealthSnapshot paused;
  paused.cameras = 2;
  paused.cameras_recording = 2;
  paused.cameras_paused = 1;
  paused.open_alarms = 1;  // its recording_paused alarm
  supervisor.tick(paused);
  CHECK(watchdog.count("WATCHDOG=1") == 1);  // a restart would not make room
  CHECK(watchdog.count("STATUS=recording 2 of 2 camera(s), 1 stopped for disk space; 1 alarm(s)") ==
        1);
  CHECK(leds.state(hal::Led::kRecording) == hal::LedState::kOff);
  CHECK(leds.state(hal::Led::kAlarm) == hal::LedState::kBlink);
}
