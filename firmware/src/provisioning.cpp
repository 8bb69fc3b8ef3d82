#include "yardwatch/firmware/provisioning.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "private_file.h"
#include "yardwatch/firmware/audit_format.h"
#include "yardwatch/firmware/reset_marker.h"
#include "yardwatch/firmware/services.h"
#include "yardwatch/firmware/tls_certificate.h"
#include "yardwatch/hal/journal.h"
#include "yardwatch/hal/unique_fd.h"
#include "yardwatch/recorder/data_dir.h"

namespace yardwatch::firmware {

namespace fs = std::filesystem;

fs::path label_file_for(const ApplianceOptions& options, const fs::path& board_label) {
  if (!board_label.empty()) return board_label;
  fs::path absolute = fs::absolute(options.data_dir).lexically_normal();
  if (!absolute.has_filename()) absolute = absolute.parent_path();
  return absolute.parent_path() / (absolute.filename().string() + ".label");
}

Result<Provisioning> provision(const ApplianceOptions& options, const fs::path& label_file,
                               bool new_setup_code) {
  YW_ASSIGN_OR_RETURN(auto appliance,
                      new_setup_code ? Appliance::open(options) : Appliance::init(options));
  Services services(*appliance);
  YW_ASSIGN_OR_RETURN(std::string code, services.accounts.issue_setup_code());
  Provisioning result;
  YW_ASSIGN_OR_RETURN(result.device_id, appliance->catalog().device_id());
  result.fingerprint = audit_format::key_fingerprint(appliance->keys().signing_public_key());
  result.key_store = std::string(appliance->keys().kind());
  // The web admin's certificate, beside the device keys (never in the data directory).
  YW_TRY(ensure_tls_certificate(appliance->key_dir(), result.device_id,
                                appliance->clock().now_utc_us()));
  YW_ASSIGN_OR_RETURN(result.tls_fingerprint,
                      tls_certificate_fingerprint(tls_files(appliance->key_dir()).certificate));
  result.setup_code = std::move(code);
  result.setup_code_expires_utc_us = appliance->clock().now_utc_us() + kSetupCodeLifetimeUs;
  result.data_dir = options.data_dir;
  result.key_dir = appliance->key_dir();
  result.label_file = label_file;
  YW_TRY(write_private_file(label_file, provisioning_label(result)));
  hal::journal_send(
      hal::JournalPriority::kNotice, "yardwatch",
      std::string(new_setup_code ? "new setup code issued" : "appliance initialised") +
          ": device fingerprint " + result.fingerprint + ", one-time setup code " +
          result.setup_code + " (valid until " +
          hal::format_iso8601_utc(result.setup_code_expires_utc_us) + ")",
      {{"device_id", result.device_id},
       {"fingerprint", result.fingerprint},
       {"key_store", result.key_store}});
  return result;
}

std::string provisioning_label(const Provisioning& provisioning) {
  return "Yardwatch appliance\n"
         "  device id:          " +
         provisioning.device_id +
         "\n"
         "  device fingerprint: " +
         provisioning.fingerprint +
         "\n"
         "  key store:          " +
         provisioning.key_store +
         "\n"
         "  web admin certificate SHA-256: " +
         provisioning.tls_fingerprint +
         "\n"
         "  one-time setup code: " +
         provisioning.setup_code + "  (first admin only; valid until " +
         hal::format_iso8601_utc(provisioning.setup_code_expires_utc_us) +
         ")\n"
         "Compare the fingerprint with the one on a police bundle's handover form and with\n"
         "`yardwatch status`. The setup code creates the first admin:\n"
         "  yardwatch user create-first-admin --name NAME --setup-code CODE --password-stdin\n";
}

Result<FactoryReset> factory_reset(const ApplianceOptions& options, const fs::path& label_file) {
  if (RecorderLock::held_by_other(options.data_dir)) {
    return make_error(ErrorKind::kFailedPrecondition,
                      "yardwatchd is running on " + options.data_dir.string() +
                          ": stop it first (systemctl stop yardwatchd)");
  }
  FactoryReset reset;
  // The journal is signed with the key about to be destroyed: record the reset while it can be.
  if (auto appliance = Appliance::open(options); appliance.ok()) {
    Services services(*appliance.value());
    AuditEvent event;
    event.action = "factory_reset";
    event.object_type = "system";
    event.reason = "all device keys destroyed; all footage becomes unreadable";
    auto appended = services.audit.append(Actor::console(), event);
    reset.audited = appended.ok();
    if (!appended.ok()) {
      reset.note = appended.error().message;
    } else if (auto signed_head = services.audit.checkpoint(); !signed_head.ok()) {
      reset.note = "the reset entry is in the journal but its checkpoint failed: " +
                   signed_head.error().message;
    }
  } else {
    reset.note = "the appliance did not open (" + appliance.error().message +
                 "); the reset is recorded on the console and in the system journal only";
  }
  // The time of the reset, and earlier resets no appliance has registered yet (a reset of an
  // appliance that was never started again): the marker keeps them all.
  int64_t now = 0;
  if (auto clock = hal::make_board_clock(options.board); clock.ok()) {
    now = clock.value()->now_utc_us();
  }
  std::vector<ResetRecord> resets;
  if (auto earlier = read_reset_marker(options.data_dir, now); earlier.ok()) {
    resets = std::move(earlier).value();
  }
  const fs::path key_dir =
      options.key_dir.empty() ? hal::default_key_dir(options.data_dir) : options.key_dir;
  YW_ASSIGN_OR_RETURN(reset.keys, hal::destroy_key_store(hal::KeyStoreOptions{
                                      key_dir, options.key_store, options.tpm_tcti}));
  std::error_code error;
  if (fs::exists(options.data_dir, error)) {
    for (const auto& entry : fs::directory_iterator(options.data_dir, error)) {
      reset.data_entries_removed += fs::remove_all(entry.path(), error);
      if (error) {
        return make_error(ErrorKind::kInternal, "the keys are destroyed, but removing " +
                                                    entry.path().string() +
                                                    " failed: " + error.message());
      }
    }
  }
  fs::remove(label_file, error);
  // R8: the register goes with the database; the marker carries the incident to the next one
  // (reset_marker.h). The reset has happened whatever the marker's fate: a failure is a note.
  if (fs::is_directory(options.data_dir, error)) {
    std::string keys = reset.keys.tpm_cleared ? "TPM cleared; " : "";
    keys += std::to_string(reset.keys.files.size()) + " key files destroyed";
    resets.push_back({now, reset.audited, keys});
    auto marked = now > 0 ? write_reset_marker(options.data_dir, resets)
                          : Status(make_error(ErrorKind::kUnavailable, "the clock did not open"));
    reset.marker_written = marked.ok();
    if (!marked.ok()) {
      reset.note += (reset.note.empty() ? "" : "; ") +
                    std::string(
                        "the breach register of the next database will not know of "
                        "this reset: ") +
                    marked.error().message;
    }
  }
  return reset;
}

}  // namespace yardwatch::firmware
