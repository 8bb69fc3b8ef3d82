#pragma once

// A software TPM 2.0 (Debian's swtpm) for the TPM key store tests: a real TPM implementation
// (libtpms) reached through tpm2-tss's swtpm TCTI, with its state in a temporary directory.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "test_support.h"

namespace yardwatch::testing {

class SoftwareTpm {
 public:
  // Starts swtpm; fails the test with a clear message if swtpm is not installed.
  explicit SoftwareTpm(const std::filesystem::path& work_dir);
  // The TCTI configuration for hal::TpmKeyStore.
  [[nodiscard]] std::string tcti() const;

 private:
  uint16_t port_ = 0;
  std::unique_ptr<Process> process_;
};

}  // namespace yardwatch::testing
