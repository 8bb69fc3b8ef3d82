#pragma once

// Board descriptions (board/<name>/board.toml): what a supported board has — where its data
// volume and keys live, whether its key store is a TPM, which LEDs mean what, whether systemd
// supervises it. The files are compiled into the binaries, so `--board NAME` works the same from
// a build tree and from the installed package; /etc/yardwatch/yardwatch.toml overrides the
// site-specific parts (data volume UUID, paths).

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "yardwatch/hal/indicator.h"
#include "yardwatch/hal/key_store.h"
#include "yardwatch/hal/result.h"

namespace yardwatch::firmware {

struct BoardDescription {
  std::string name;
  std::string summary;
  bool simulated_clock = false;  // host-sim: YARDWATCH_SIM_NOW / YARDWATCH_SIM_UNSYNCED

  // Data volume defaults.
  std::filesystem::path data_dir;     // empty: must be given (--data or the config file)
  std::filesystem::path mount_point;  // empty: no identity check of the volume
  bool require_volume_uuid = false;   // the config must name the data volume's UUID
  // The disk whose SMART health is watched: "" none, "auto" the disk holding the data volume.
  std::string smart_device;
  std::filesystem::path smart_report;  // where `yardwatch smart-check` writes its report

  // Keys.
  hal::KeyStoreKind key_store = hal::KeyStoreKind::kFile;
  std::filesystem::path key_dir;  // empty: <data>.keys beside the data directory
  std::string tpm_tcti;

  // LEDs: the LED-class root and the class device for each meaning ("" none).
  std::filesystem::path leds_root;
  std::map<hal::Led, std::string> leds;

  // USB sticks for police bundles: where `yardwatch media mount` mounts them (empty:
  // "<data>.media" beside the data directory), and whether loop devices backed by a file count
  // as sticks (host-sim: simulated sticks for development and tests).
  std::filesystem::path media_mount_root;
  bool media_loop_devices = false;

  bool systemd_watchdog = false;     // sd_notify READY/WATCHDOG (the unit sets WatchdogSec=)
  std::filesystem::path label_file;  // provisioning label; empty: <data>.label
};

// The boards built in, in a stable order: "host-sim", "rpi-cm4", "x86-generic".
std::vector<std::string> board_names();
// kNotFound (naming the known boards) for an unknown name.
Result<BoardDescription> board_description(std::string_view name);
// Parses a board description; errors carry `source:line:column`.
Result<BoardDescription> parse_board_description(std::string_view toml_text,
                                                 std::string_view source);

}  // namespace yardwatch::firmware
