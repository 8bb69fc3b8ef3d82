#pragma once

// The audit journal (R6): every sign-in, viewing, hold, deletion, export, account and setting
// change, allowed or denied, as structured fields (no free-form concatenation, so no log
// injection). Entries are hash-chained (BLAKE2b-256 over a canonical encoding, see
// firmware/design/audit.md) and the device signs checkpoints of the chain head with its Ed25519
// key. The table is append-only (triggers) and `verify` proves it end to end.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "yardwatch/hal/clock.h"
#include "yardwatch/hal/key_store.h"
#include "yardwatch/hal/result.h"
#include "yardwatch/recorder/catalog.h"

namespace yardwatch::firmware {

// Who acted: a personal account, or the appliance console, or the appliance itself.
struct Actor {
  std::optional<int64_t> account_id;
  std::string name;            // account name, "console" or "system"
  std::string role;            // role name; "console" / "system" for those actors
  std::string client_address;  // IP for the web, "console" for the CLI, "" for system

  static Actor console();
  static Actor system();
};

struct AuditEvent {
  std::string action;       // e.g. "login", "view_recorded", "account_create"
  std::string object_type;  // "camera", "segment", "account", "setting", "hold", "export", ""
  std::string object_id;
  std::string camera;  // camera name, if the event concerns one
  std::optional<int64_t> range_from_utc_us;
  std::optional<int64_t> range_to_utc_us;
  std::string purpose;  // purpose of a viewing, or legal basis of an export
  bool allowed = true;
  std::string reason;          // why denied (or extra context)
  std::string details = "{}";  // a JSON object with further structured fields
};

struct AuditEntry {
  int64_t seq = 0;
  int64_t time_utc_us = 0;
  Actor actor;
  AuditEvent event;
  std::vector<uint8_t> prev_hash;
  std::vector<uint8_t> hash;
};

struct AuditCheckpoint {
  int64_t seq = 0;
  std::vector<uint8_t> head_hash;
  int64_t time_utc_us = 0;
  std::vector<uint8_t> public_key;
  std::vector<uint8_t> signature;
};

struct AuditFilter {
  std::optional<int64_t> since_utc_us;
  std::optional<std::string> actor;
  std::optional<std::string> action;
  std::optional<int64_t> limit;
};

struct AuditVerification {
  bool ok = true;
  int64_t entries = 0;
  int64_t checkpoints = 0;
  std::optional<int64_t> first_broken_seq;  // where the chain or a checkpoint first fails
  std::string problem;                      // a sentence a person can act on
};

class AuditJournal {
 public:
  AuditJournal(recorder::Catalog& catalog, const hal::Clock& clock, const hal::KeyStore& keys);

  // Appends one entry. Call it inside the caller's sql::Transaction (holding catalog.mutex())
  // when it records an effect, so both commit or neither does.
  Result<int64_t> append(const Actor& actor, const AuditEvent& event);
  // Signs the current chain head (no-op if nothing was added since the last checkpoint).
  Status checkpoint();
  Result<std::vector<AuditEntry>> list(const AuditFilter& filter);
  Result<std::vector<AuditCheckpoint>> checkpoints();
  // Recomputes every hash, checks the chain links, sequence continuity, the high-water mark
  // and every checkpoint signature (against this device's public key).
  Result<AuditVerification> verify();
  // JSON lines: one {"type":"entry",…} per entry and {"type":"checkpoint",…} per checkpoint,
  // first a {"type":"device", "public_key": …} line. Verifiable offline with
  // `yardwatch-verify --audit FILE`.
  Status export_jsonl(const std::filesystem::path& path);

 private:
  recorder::Catalog& catalog_;
  const hal::Clock& clock_;
  const hal::KeyStore& keys_;
};

}  // namespace yardwatch::firmware
