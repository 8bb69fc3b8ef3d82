// yardwatch-verify: the offline verifier for what leaves the appliance. It depends only on
// libsodium, nlohmann-json, CLI11 and the byte formats the firmware shares with it, so anyone
// (a privacy officer, the police, an auditor) can build and run it away from the device.
//
// Modes:
//   yardwatch-verify --audit FILE [--expect-fingerprint HEX]   an audit journal export
//   yardwatch-verify BUNDLE_DIR [--passphrase-file F] [--extract OUT] [--expect-fingerprint HEX]
//                                                              a police or subject export bundle
//
// Exit status: 0 everything checked, 1 a check failed, 2 the command line or file is unusable.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>

#include "audit_check.h"
#include "bundle_check.h"
#include "yardwatch/firmware/audit_format.h"

namespace {

using namespace yardwatch;
namespace format = firmware::audit_format;

constexpr int kExitVerified = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

struct Options {
  std::optional<std::string> audit_file;
  std::optional<std::string> expect_fingerprint;
  std::optional<std::string> bundle_dir;
  std::optional<std::string> passphrase_file;
  std::optional<std::string> extract_dir;
};

int run_audit(const std::string& path, const std::optional<std::string>& expect_fingerprint) {
  std::optional<std::string> expected;
  if (expect_fingerprint) {
    expected = format::normalize_fingerprint(*expect_fingerprint);
    if (!expected || expected->size() != format::kFingerprintBytes * 2) {
      std::fprintf(stderr,
                   "yardwatch-verify: --expect-fingerprint takes %zu hexadecimal digits (spaces "
                   "allowed), as printed by `yardwatch status`\n",
                   format::kFingerprintBytes * 2);
      return kExitUsage;
    }
  }
  std::ifstream input(path, std::ios::binary);
  if (!input) {
    std::fprintf(stderr, "yardwatch-verify: cannot open %s\n", path.c_str());
    return kExitUsage;
  }

  const verify::AuditCheck check = verify::check_audit_export(input);
  std::printf("audit journal export: %s\n", path.c_str());
  std::string fingerprint;
  if (!check.public_key.empty()) {
    fingerprint = format::key_fingerprint(check.public_key);
    std::printf("device key fingerprint: %s\n", fingerprint.c_str());
  }
  if (!check.device_id.empty())
    std::printf("device id (as the file states): %s\n", check.device_id.c_str());
  if (check.entries > 0) {
    std::printf("%lld entries (%s to %s), %lld checkpoint%s\n",
                static_cast<long long>(check.entries),
                format::format_utc(check.first_time_utc_us.value_or(0)).c_str(),
                format::format_utc(check.last_time_utc_us.value_or(0)).c_str(),
                static_cast<long long>(check.checkpoints), check.checkpoints == 1 ? "" : "s");
  }

  bool ok = check.ok;
  if (!check.ok) {
    std::printf("FAILED: %s\n", check.problem.c_str());
    if (check.first_failing_seq) {
      std::printf("first failing entry: %lld\n", static_cast<long long>(*check.first_failing_seq));
    }
  } else {
    const int64_t first_seq = check.pruned_through_seq.value_or(0) + 1;
    std::printf(
        "OK: entries %lld–%lld are complete and unchanged since the device signed them: every "
        "hash and link checks, and a checkpoint signed by the key above covers the last entry.\n",
        static_cast<long long>(first_seq), static_cast<long long>(check.last_signed_seq));
    if (check.pruned_through_seq) {
      // Pruning after the retention term is normal; say what the anchor does and does not show.
      std::printf(
          "Entries 1–%lld were pruned after the retention term; the device signed that boundary "
          "on %s. What they said cannot be checked from this file.\n",
          static_cast<long long>(*check.pruned_through_seq),
          format::format_utc(check.pruned_utc_us.value_or(0)).c_str());
    }
  }

  if (!fingerprint.empty()) {
    const std::string actual = *format::normalize_fingerprint(fingerprint);
    if (!expected) {
      std::printf(
          "The key is this device's only if the fingerprint matches the one on the handover "
          "form / `yardwatch status`.\n");
    } else if (*expected == actual) {
      std::printf(
          "The key matches the expected fingerprint: the checkpoints were signed by "
          "that device.\n");
    } else {
      std::printf("FAILED: the export was signed by key %s, not by the expected %s.\n",
                  fingerprint.c_str(), expect_fingerprint->c_str());
      ok = false;
    }
  }
  if (ok) {
    std::printf(
        "Not proven: that the device recorded every event (only what it wrote), that its clock "
        "was right, or anything about entries written after this export.\n");
  }
  return ok ? kExitVerified : kExitFailed;
}

int run(int argc, char** argv) {
  CLI::App app{"yardwatch-verify: checks what a Yardwatch appliance exported, offline"};
  Options options;
  app.add_option("--audit", options.audit_file,
                 "an audit journal export (`yardwatch audit export --out FILE`)")
      ->check(CLI::ExistingFile);
  app.add_option("--expect-fingerprint", options.expect_fingerprint,
                 "the device key fingerprint from the handover form or `yardwatch status`");
  app.add_option("BUNDLE_DIR", options.bundle_dir,
                 "a police or subject access export bundle (a folder)");
  app.add_option(
         "--passphrase-file", options.passphrase_file,
         "bundle: a file whose first line is the passphrase (decrypts and checks every MP4)")
      ->check(CLI::ExistingFile);
  app.add_option("--extract", options.extract_dir,
                 "bundle: write the verified MP4s into this directory (needs --passphrase-file)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    return code == 0 ? 0 : kExitUsage;
  }
  if (options.audit_file && options.bundle_dir) {
    std::fprintf(stderr, "yardwatch-verify: give either --audit FILE or BUNDLE_DIR, not both\n");
    return kExitUsage;
  }
  if (options.audit_file) return run_audit(*options.audit_file, options.expect_fingerprint);
  if (options.bundle_dir) {
    verify::BundleCheckOptions bundle;
    bundle.bundle_dir = *options.bundle_dir;
    if (options.passphrase_file) bundle.passphrase_file = *options.passphrase_file;
    if (options.extract_dir) bundle.extract_dir = *options.extract_dir;
    bundle.expect_fingerprint = options.expect_fingerprint;
    return verify::run_bundle_check(bundle);
  }
  std::fprintf(stderr,
               "yardwatch-verify: nothing to verify; give BUNDLE_DIR or --audit FILE (see "
               "--help)\n");
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  // Exceptions never escape: a verifier that crashes on a hostile file must still say "failed".
  try {
    return run(argc, argv);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "yardwatch-verify: %s\n", error.what());
    return kExitUsage;
  }
}
