#pragma once

// First boot and factory reset (firmware/design/appliance.md §Provisioning). There is no default
// password: `yardwatch init` creates the device keys and the catalog and issues a one-time setup
// code for the first admin, and records the device's identity where the installer finds it —
// the console, the journal and a label file to print and stick on the box. `yardwatch
// factory-reset` destroys every key, so all footage becomes unreadable.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "yardwatch/firmware/appliance.h"
#include "yardwatch/hal/key_store.h"
#include "yardwatch/hal/result.h"

namespace yardwatch::firmware {

struct Provisioning {
  std::string device_id;
  std::string fingerprint;      // of the device's Ed25519 public key (as in police bundles)
  std::string key_store;        // "tpm" or "file"
  std::string tls_fingerprint;  // the web admin certificate's SHA-256, as browsers show it
  std::string setup_code;
  int64_t setup_code_expires_utc_us = 0;
  std::filesystem::path data_dir;
  std::filesystem::path key_dir;
  std::filesystem::path label_file;
};

// The label file of an appliance: the board's, else "<data>.label" beside the data directory.
std::filesystem::path label_file_for(const ApplianceOptions& options,
                                     const std::filesystem::path& board_label);

// Initialises the appliance (or, with `new_setup_code`, re-issues the setup code of one without
// accounts), makes the web admin's TLS certificate (tls_certificate.h) unless it exists, writes
// the label file (0600, atomically) and sends the record to the journal.
Result<Provisioning> provision(const ApplianceOptions& options,
                               const std::filesystem::path& label_file, bool new_setup_code);

// The label's text (also what the console shows).
std::string provisioning_label(const Provisioning& provisioning);

struct FactoryReset {
  hal::DestroyedKeys keys;
  uint64_t data_entries_removed = 0;
  bool audited = false;  // the reset was appended (and signed) before the keys went
  // The marker that registers the reset in the next database's breach register (R8;
  // reset_marker.h) was written into the emptied data directory.
  bool marker_written = false;
  std::string note;  // why it could not be audited or marked, if so
};

// Destroys the device keys (TPM clear where they are sealed; every file in the key directory,
// the TLS key included) and then the data directory's contents (ciphertext nobody can read any
// more, and the catalog), and the label file. Refuses while yardwatchd records (stop it first).
// Before destroying anything it appends a signed `factory_reset` audit entry when the appliance
// still opens; the caller also prints the outcome to the console and the journal, as the
// journal itself goes with the catalog. Last it leaves the reset marker (reset_marker.h) in the
// data directory, so that the next appliance's breach register has the incident (R8).
Result<FactoryReset> factory_reset(const ApplianceOptions& options,
                                   const std::filesystem::path& label_file);

}  // namespace yardwatch::firmware
