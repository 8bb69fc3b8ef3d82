#pragma once

// How a factory reset reaches the breach register (R8; firmware/design/privacy_desk.md). The
// reset destroys the database that holds the register, so it leaves a small marker file in the
// emptied data directory: when each reset happened and whether its audit entry was written
// before the keys went. The first time the new appliance opens (`yardwatch init`, then every
// start), the marker raises the `factory_reset` alarm with the reset's own time — which
// registers the breach through the alarms trigger — and is then removed.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "yardwatch/hal/result.h"
#include "yardwatch/recorder/catalog.h"

namespace yardwatch::firmware {

// "<data>/factory-reset.json".
std::filesystem::path reset_marker_path(const std::filesystem::path& data_dir);

struct ResetRecord {
  int64_t reset_utc_us = 0;
  bool audited = false;  // the old journal's last entry was this reset
  std::string keys;      // what was destroyed, in words
};

// Writes the marker with `records` (the reset just done and earlier ones not registered yet,
// e.g. two resets without a start in between) atomically (0600, fsync, rename), owned like the
// data directory so that the service user can read and remove it. The data directory must exist.
Status write_reset_marker(const std::filesystem::path& data_dir,
                          const std::vector<ResetRecord>& records);

// The resets in the marker; an empty list without one. A marker that is not what this code
// writes (damaged, edited) yields one record at `fallback_utc_us` that says so: a reset
// happened all the same.
Result<std::vector<ResetRecord>> read_reset_marker(const std::filesystem::path& data_dir,
                                                   int64_t fallback_utc_us);

// Raises (and so registers) a `factory_reset` alarm for each reset in the marker, then removes
// the marker. Returns how many it registered. The marker stays if an alarm cannot be raised, so
// the next start tries again.
Result<int> register_reset_marker(recorder::Catalog& catalog, const std::filesystem::path& data_dir,
                                  int64_t now_utc_us);

}  // namespace yardwatch::firmware
