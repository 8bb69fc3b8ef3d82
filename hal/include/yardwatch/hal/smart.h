#pragma once

// SMART health of the data disk, read with smartctl (smartmontools). smartctl needs raw access
// to the disk, which yardwatchd (an unprivileged user) does not have: a root timer runs
// `yardwatch smart-check`, which calls run_smartctl with the board's fixed device and writes the
// report to a file; hal::Storage reads that file. No user input ever reaches the command line.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "yardwatch/hal/result.h"

namespace yardwatch::hal {

struct SmartReport {
  std::string device;
  bool supported = false;  // the device answered a SMART health query
  bool passed = false;     // its overall health assessment (meaningful only when supported)
  std::string model;
  std::string summary;  // a sentence for the administrator
  int exit_status = 0;  // smartctl's exit status bits (smartctl(8) "RETURN VALUES")
  int64_t checked_utc_us = 0;
};

// Parses the output of `smartctl --json=c -H -i DEVICE` and its exit status.
Result<SmartReport> parse_smartctl_json(std::string_view json_text, int exit_status);

// Runs `SMARTCTL --json=c -H -i DEVICE` (no shell) and parses it. kNotFound when smartctl is
// not installed. A device without SMART (a loop device, a USB bridge that hides it) is a
// report with supported = false, not an error.
Result<SmartReport> run_smartctl(const std::filesystem::path& device,
                                 const std::filesystem::path& smartctl = "/usr/sbin/smartctl");

// The whole disk that holds the filesystem with this UUID (/dev/sdb for /dev/sdb1, /dev/nvme0n1
// for /dev/nvme0n1p2, the device itself when it is not a partition): what smartctl asks.
Result<std::filesystem::path> disk_of_filesystem(const std::string& filesystem_uuid);

// The report file: written atomically (temp file, fsync, rename), read by the daemon.
Status write_smart_report(const std::filesystem::path& path, const SmartReport& report);
Result<SmartReport> read_smart_report(const std::filesystem::path& path);

}  // namespace yardwatch::hal
