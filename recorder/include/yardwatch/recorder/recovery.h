#pragma once

// Start-up recovery and the catalog checker: the code form of the crash-safety rules in
// recorder/design/crash_safety.md. Recovery makes the rules true again after a crash; the
// checker verifies them on a real data directory and names every violation.

#include <cstdint>
#include <string>
#include <vector>

#include "yardwatch/hal/key_store.h"
#include "yardwatch/hal/storage.h"
#include "yardwatch/recorder/catalog.h"

namespace yardwatch::recorder {

struct RecoveryReport {
  int segments_recovered = 0;      // `recording` rows closed with their authentic fragments
  int rows_removed = 0;            // rows whose file never appeared or held no footage
  int orphan_files_removed = 0;    // files without a row
  int garbage_finished = 0;        // deletions a crash interrupted, now completed
  uint64_t bytes_discarded = 0;    // unauthentic tails cut off
  std::vector<std::string> notes;  // one line per action, for the log
};

// Must run before recording starts and while no other process records into the directory.
Result<RecoveryReport> recover_data_dir(Catalog& catalog, const hal::Storage& storage,
                                        const hal::KeyStore& keys);

struct CheckViolation {
  int rule = 0;  // the rule number in crash_safety.md
  std::string detail;
};

// Verifies every rule. `recorder_running`: a live recorder may hold one `recording` row per
// camera whose file is still growing; otherwise any `recording` row is a violation.
Result<std::vector<CheckViolation>> check_data_dir(Catalog& catalog, const hal::Storage& storage,
                                                   const hal::KeyStore& keys,
                                                   bool recorder_running);

}  // namespace yardwatch::recorder
