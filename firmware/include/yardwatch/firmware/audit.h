#pragma once

// The audit journal (R6): every sign-in, viewing, hold, deletion, export, account and setting
// change, allowed or denied, as structured fields (no free-form concatenation, so no log
// injection). Entries are hash-chained (BLAKE2b-256 over a canonical encoding, see
// firmware/design/audit.md) and the device signs checkpoints of the chain head with its Ed25519
// key. The table is append-only (triggers) and `verify` proves it end to end. After the
// retention term, `prune` deletes the oldest signed entries and leaves a signed anchor from which
// `verify` starts the chain.

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

// How long the journal is kept by default: 2 years (730 days), the term for data without a
// specific one. Pruning never goes below what an open hold needs (see AuditJournal::prune).
constexpr int64_t kAuditRetentionUs = 730LL * 24 * 3600 * 1'000'000;

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

// The boundary pruning left: `seq` and `hash` of the last pruned entry (the next entry's
// prev_hash), signed by the device (audit_format::anchor_message).
struct AuditAnchor {
  int64_t seq = 0;
  std::vector<uint8_t> hash;
  int64_t time_utc_us = 0;  // when it was pruned
  std::vector<uint8_t> public_key;
  std::vector<uint8_t> signature;
};

// What one `prune` did.
struct AuditPruning {
  int64_t entries = 0;                 // entries deleted; 0 when nothing was due
  std::optional<int64_t> through_seq;  // the last deleted entry (the new anchor), if any
  int64_t older_than_utc_us = 0;       // the cut-off applied (retention and keep-from bound)
  // Entries past the cut-off kept because no checkpoint covers them yet (the next prune takes
  // them once one does; prune itself signs the head when it has pruned).
  int64_t kept_unsigned = 0;
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
  int64_t last_seq = 0;                       // the newest entry's seq (0: none)
  std::optional<int64_t> pruned_through_seq;  // the anchor's seq, when the journal was pruned
  std::optional<int64_t> first_broken_seq;    // where the chain or a checkpoint first fails
  std::string problem;                        // a sentence a person can act on
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
  // The pruning anchor, if the journal was ever pruned.
  Result<std::optional<AuditAnchor>> anchor();
  // Recomputes every hash, checks the chain links, sequence continuity, the high-water mark,
  // every checkpoint signature and the pruning anchor (against this device's public key). The
  // chain starts at the anchor when there is one, else at entry 1 with a zero prev_hash. A
  // journal that does not verify raises the `audit_tamper` alarm (a breach register entry, R8).
  Result<AuditVerification> verify();
  // Deletes the entries older than `now − retention_us`, as the oldest part of the chain (it
  // stops at the first entry that is not older), and only entries a checkpoint covers: unsigned
  // entries are never pruned. `keep_from_utc_us`, when given, keeps every entry at or after that
  // time too: callers pass the start of the oldest open hold (issue: holds), so the journal is
  // never kept for less time than a hold needs. The cut-off is the earlier of the two.
  //
  // In one transaction: `verify()` the whole journal and refuse with kDataLoss if it does not
  // check (pruning must never hide tampering), sign the new anchor (the last pruned entry's seq
  // and hash), append a `journal_pruned` entry by `actor` ({"through_seq","entries",
  // "older_than","keep_from"}), delete the entries and checkpoints up to the anchor (the
  // schema's triggers allow nothing else), and sign the new head. Nothing due: no change and no
  // entry. kUnavailable while the clock reports itself unsynchronised (a clock that jumped
  // ahead would delete history that is still in its term); kInvalidArgument for a retention
  // that is not positive.
  Result<AuditPruning> prune(int64_t retention_us = kAuditRetentionUs,
                             std::optional<int64_t> keep_from_utc_us = std::nullopt,
                             const Actor& actor = Actor::system());
  // JSON lines: first a {"type":"device", "public_key": …} line, then the {"type":"anchor",…}
  // line if the journal was pruned, one {"type":"entry",…} per entry and {"type":"checkpoint",…}
  // per checkpoint. Verifiable offline with `yardwatch-verify --audit FILE`.
  Status export_jsonl(const std::filesystem::path& path);

 private:
  Result<AuditVerification> verify_chain();

  recorder::Catalog& catalog_;
  const hal::Clock& clock_;
  const hal::KeyStore& keys_;
};

}  // namespace yardwatch::firmware
