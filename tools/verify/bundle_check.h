#pragma once

// yardwatch-verify BUNDLE_DIR: checks a police export bundle (recorder/design/bundle.md) with
// nothing but libsodium and the bundle format: the Ed25519 signature over manifest.json, the
// exact set of files, every file's size and SHA-256, and, given the passphrase, decrypts every
// footage file and checks the MP4's SHA-256 (optionally extracting the verified MP4s).

#include <filesystem>
#include <optional>
#include <string>

namespace yardwatch::verify {

struct BundleCheckOptions {
  std::filesystem::path bundle_dir;
  std::optional<std::filesystem::path> passphrase_file;
  std::optional<std::filesystem::path> extract_dir;
  std::optional<std::string> expect_fingerprint;
};

// Prints what was checked, what is proven and what is not; returns the exit status (0 all
// checked, 1 a check failed, 2 unusable input such as a missing directory).
int run_bundle_check(const BundleCheckOptions& options);

}  // namespace yardwatch::verify
