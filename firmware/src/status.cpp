#include "yardwatch/firmware/status.h"

#include <algorithm>

namespace yardwatch::firmware {

Result<SystemStatus> read_status(recorder::Catalog& catalog, const hal::Clock& clock,
                                 const hal::Storage& storage, const Principal& principal,
                                 bool recorder_running) {
  SystemStatus status;
  status.recorder_running = recorder_running;
  auto device_id = catalog.device_id();
  if (device_id.ok()) status.device_id = device_id.value();
  status.now_utc_us = clock.now_utc_us();
  status.clock = std::string(hal::sync_state_name(clock.sync_state()));
  YW_ASSIGN_OR_RETURN(auto cameras, catalog.cameras(false));
  YW_ASSIGN_OR_RETURN(auto states, catalog.camera_statuses());
  const bool viewer = principal.role == Role::kViewer;
  for (auto& camera : cameras) {
    if (viewer && principal.camera_ids.count(camera.id) == 0) continue;
    CameraState entry;
    entry.state = recorder_running ? "connecting" : "stopped";
    if (!recorder_running) entry.reason = "yardwatchd is not running";
    for (const auto& state : states) {
      if (state.camera_id != camera.id || !recorder_running) continue;
      entry.state = state.state;
      entry.reason = state.reason;
      entry.since_utc_us = state.since_utc_us;
    }
    YW_ASSIGN_OR_RETURN(entry.footage, catalog.footage_summary(camera.id));
    if (entry.footage.oldest_utc_us) {
      const double age_days =
          static_cast<double>(status.now_utc_us - *entry.footage.oldest_utc_us) / 86400e6;
      entry.footage_days = std::max(0.0, std::min<double>(age_days, camera.spec.retention_days));
    }
    if (principal.role != Role::kAdmin) camera.spec.url.clear();
    entry.camera = std::move(camera);
    status.cameras.push_back(std::move(entry));
  }
  if (auto free = storage.free_bytes(); free.ok()) status.free_bytes = free.value();
  if (auto total = storage.total_bytes(); total.ok()) status.total_bytes = total.value();
  if (!viewer) {
    YW_ASSIGN_OR_RETURN(status.alarms, catalog.open_alarms());
  }
  return status;
}

}  // namespace yardwatch::firmware
