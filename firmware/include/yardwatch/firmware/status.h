#pragma once

// What the appliance is doing, for a signed-in person's dashboard: per camera the recording
// state and footage on disk, storage, open alarms and the certificate and key fingerprints.
// Viewers see only their assigned cameras and no alarms (an alarm may name an account or an
// address); everyone else sees all.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "yardwatch/firmware/accounts.h"
#include "yardwatch/hal/clock.h"
#include "yardwatch/hal/storage.h"
#include "yardwatch/recorder/catalog.h"

namespace yardwatch::firmware {

struct CameraState {
  recorder::Camera camera;  // url cleared unless the reader is an admin
  std::string state;        // recording | connecting | disconnected | error | stopped
  std::string reason;
  std::optional<int64_t> since_utc_us;
  recorder::CameraFootage footage;
  // Days of footage actually kept: the configured retention, or less when the oldest footage
  // is younger than that (the disk filled first, or the camera is new).
  double footage_days = 0;
};

struct SystemStatus {
  bool recorder_running = false;
  std::string device_id;
  int64_t now_utc_us = 0;
  std::string clock;  // hal::sync_state_name
  std::vector<CameraState> cameras;
  std::optional<uint64_t> free_bytes;
  std::optional<uint64_t> total_bytes;
  std::vector<recorder::Alarm> alarms;
};

// `recorder_running`: whether the caller knows the recorder runs (yardwatchd hosting the web
// admin passes true).
Result<SystemStatus> read_status(recorder::Catalog& catalog, const hal::Clock& clock,
                                 const hal::Storage& storage, const Principal& principal,
                                 bool recorder_running);

}  // namespace yardwatch::firmware
