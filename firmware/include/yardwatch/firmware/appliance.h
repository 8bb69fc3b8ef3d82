#pragma once

// The composition of one appliance's parts: board clock, data volume, key store and catalog.
// The daemon and the CLI both open the appliance through here, so they agree on where
// everything lives.

#include <filesystem>
#include <memory>
#include <string>

#include "yardwatch/firmware/board.h"
#include "yardwatch/firmware/config.h"
#include "yardwatch/hal/clock.h"
#include "yardwatch/hal/key_store.h"
#include "yardwatch/hal/result.h"
#include "yardwatch/hal/storage.h"
#include "yardwatch/hal/unique_fd.h"
#include "yardwatch/hal/usb_media.h"
#include "yardwatch/recorder/catalog.h"

namespace yardwatch::firmware {

struct ApplianceOptions {
  std::filesystem::path data_dir;
  std::filesystem::path key_dir;  // empty: hal::default_key_dir(data_dir)
  std::string board = "host-sim";
  // Filled by resolve_appliance from the board description and the configuration file; the
  // defaults are host-sim's (no volume identity, key files).
  hal::VolumeOptions volume{};
  hal::KeyStoreKind key_store = hal::KeyStoreKind::kFile;
  std::string tpm_tcti{};
  std::filesystem::path
      config_file{};  // the configuration in use (written back on changes), if any
};

// What a command line said; empty means "not given".
struct ApplianceArguments {
  std::filesystem::path data_dir;
  std::filesystem::path key_dir;
  std::filesystem::path config_file;
  std::string board;
};

struct ResolvedAppliance {
  ApplianceOptions options;
  Config config;  // the file's, or the defaults when no file is used
  BoardDescription board;
};

// The board's USB sticks for police bundles (hal::UsbMedia): its mount root (default
// "<data>.media" beside the data directory), loop devices as sticks on host-sim, and vfat/exfat
// sticks owned by the `yardwatch` service user when it exists.
hal::UsbMediaOptions usb_media_options(const ResolvedAppliance& resolved);

// Combines, in this order of precedence, the command line, the configuration file (--config, or
// /etc/yardwatch/yardwatch.toml when neither --config nor --data is given and it exists) and the
// board description. Refuses what cannot work: no data directory, or a board that identifies its
// data volume by UUID without one.
Result<ResolvedAppliance> resolve_appliance(const ApplianceArguments& arguments);

class Appliance {
 public:
  // Creates the data directory (0700), the device keys (in the board's key store) and the
  // catalog. Refuses an existing catalog or existing keys, and a data volume that is missing or
  // not the one the configuration names.
  static Result<std::unique_ptr<Appliance>> init(const ApplianceOptions& options);
  // Opens an initialised appliance; refuses key files readable by others and a data volume that
  // is missing, swapped or read-only (hal::Storage::check_volume).
  static Result<std::unique_ptr<Appliance>> open(const ApplianceOptions& options);

  [[nodiscard]] recorder::Catalog& catalog() { return *catalog_; }
  [[nodiscard]] const hal::Clock& clock() const { return *clock_; }
  [[nodiscard]] const hal::Storage& storage() const { return *storage_; }
  [[nodiscard]] const hal::KeyStore& keys() const { return *keys_; }
  [[nodiscard]] const std::filesystem::path& key_dir() const { return key_dir_; }
  [[nodiscard]] const std::filesystem::path& data_dir() const { return storage_->data_dir(); }

 private:
  Appliance() = default;
  std::unique_ptr<hal::Clock> clock_;
  std::unique_ptr<hal::Storage> storage_;
  std::unique_ptr<hal::KeyStore> keys_;
  std::unique_ptr<recorder::Catalog> catalog_;
  std::filesystem::path key_dir_;
};

// The single-recorder lock on a data directory (flock on DIR/yardwatchd.lock): held by
// yardwatchd for its lifetime.
class RecorderLock {
 public:
  // kUnavailable if another process holds it.
  static Result<RecorderLock> acquire(const std::filesystem::path& data_dir);
  // true if some process holds the lock right now.
  static bool held_by_other(const std::filesystem::path& data_dir);

 private:
  explicit RecorderLock(hal::UniqueFd fd) : fd_(std::move(fd)) {}
  hal::UniqueFd fd_;
};

}  // namespace yardwatch::firmware
