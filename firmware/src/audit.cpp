// The audit journal (R6); formats and the reasoning behind each check in
// firmware/design/audit.md. Byte formats live in audit_format.cpp, shared with the offline
// verifier.

#include "yardwatch/firmware/audit.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string_view>
#include <utility>

#include "register_checks.h"
#include "yardwatch/firmware/audit_format.h"
#include "yardwatch/hal/unique_fd.h"

namespace yardwatch::firmware {

namespace {

namespace fs = std::filesystem;
namespace format = audit_format;
using nlohmann::json;
using nlohmann::ordered_json;
using recorder::sql::Database;
using recorder::sql::Statement;
using recorder::sql::Transaction;

// Long enough for any purpose, reason or legal basis a person types; short enough that no
// caller can flood the journal with one entry.
constexpr size_t kMaxFieldBytes = 4 * 1024;
constexpr size_t kMaxDetailsBytes = 16 * 1024;
constexpr size_t kMaxActionBytes = 64;
// How far from its place `verify` looks for a moved entry, to say "out of order" rather than
// "edited". Only a diagnosis: either way the entry is reported as broken.
constexpr int64_t kReorderSearchDistance = 64;

// Column order shared by every query that reads whole entries (read_fields relies on it).
#define YW_AUDIT_COLUMNS                                                                       \
  "seq, time_utc_us, actor_id, actor_name, actor_role, client_address, action, object_type, "  \
  "object_id, camera, range_from_utc_us, range_to_utc_us, purpose, outcome, reason, details, " \
  "prev_hash, hash"
constexpr int kHashColumn = 17;

std::optional<int64_t> column_optional(const Statement& row, int index) {
  if (row.column_is_null(index)) return std::nullopt;
  return row.column_int(index);
}

void bind_optional(Statement& statement, int index, const std::optional<int64_t>& value) {
  if (value) {
    statement.bind(index, *value);
  } else {
    statement.bind_null(index);
  }
}

// The stored fields exactly as they are in the row (not as they ought to be): a tampered
// outcome such as 'DENIED' must change the hash, not be normalised into a valid one.
format::EntryFields read_fields(const Statement& row) {
  format::EntryFields fields;
  fields.seq = row.column_int(0);
  fields.time_utc_us = row.column_int(1);
  fields.actor_id = column_optional(row, 2);
  fields.actor_name = row.column_text(3);
  fields.actor_role = row.column_text(4);
  fields.client_address = row.column_text(5);
  fields.action = row.column_text(6);
  fields.object_type = row.column_text(7);
  fields.object_id = row.column_text(8);
  fields.camera = row.column_text(9);
  fields.range_from_utc_us = column_optional(row, 10);
  fields.range_to_utc_us = column_optional(row, 11);
  fields.purpose = row.column_text(12);
  fields.outcome = row.column_text(13);
  fields.reason = row.column_text(14);
  fields.details = row.column_text(15);
  fields.prev_hash = row.column_blob(16);
  return fields;
}

AuditEntry to_entry(format::EntryFields fields, std::vector<uint8_t> hash) {
  AuditEntry entry;
  entry.seq = fields.seq;
  entry.time_utc_us = fields.time_utc_us;
  entry.actor.account_id = fields.actor_id;
  entry.actor.name = std::move(fields.actor_name);
  entry.actor.role = std::move(fields.actor_role);
  entry.actor.client_address = std::move(fields.client_address);
  entry.event.action = std::move(fields.action);
  entry.event.object_type = std::move(fields.object_type);
  entry.event.object_id = std::move(fields.object_id);
  entry.event.camera = std::move(fields.camera);
  entry.event.range_from_utc_us = fields.range_from_utc_us;
  entry.event.range_to_utc_us = fields.range_to_utc_us;
  entry.event.purpose = std::move(fields.purpose);
  entry.event.allowed = fields.outcome == "allowed";
  entry.event.reason = std::move(fields.reason);
  entry.event.details = std::move(fields.details);
  entry.prev_hash = std::move(fields.prev_hash);
  entry.hash = std::move(hash);
  return entry;
}

bool same_bytes(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

Status check_text(std::string_view field, const std::string& value, size_t max_bytes) {
  if (value.size() > max_bytes) {
    return make_error(ErrorKind::kInvalidArgument, "audit field '" + std::string(field) +
                                                       "' is longer than " +
                                                       std::to_string(max_bytes) + " bytes");
  }
  if (value.find('\0') != std::string::npos) {
    return make_error(ErrorKind::kInvalidArgument,
                      "audit field '" + std::string(field) + "' contains a NUL byte");
  }
  if (!valid_utf8(value)) {
    return make_error(ErrorKind::kInvalidArgument,
                      "audit field '" + std::string(field) + "' is not valid UTF-8");
  }
  return {};
}

Status validate(const Actor& actor, const AuditEvent& event) {
  if (event.action.empty()) {
    return make_error(ErrorKind::kInvalidArgument, "an audit entry needs an action");
  }
  if (event.action.size() > kMaxActionBytes ||
      !std::all_of(event.action.begin(), event.action.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
      })) {
    return make_error(ErrorKind::kInvalidArgument,
                      "an audit action is a short lower-case name like 'view_recorded'");
  }
  if (actor.name.empty() || actor.role.empty()) {
    return make_error(ErrorKind::kInvalidArgument, "an audit entry needs an actor and a role");
  }
  const std::initializer_list<std::pair<std::string_view, const std::string*>> fields = {
      {"actor name", &actor.name},
      {"actor role", &actor.role},
      {"client address", &actor.client_address},
      {"object type", &event.object_type},
      {"object id", &event.object_id},
      {"camera", &event.camera},
      {"purpose", &event.purpose},
      {"reason", &event.reason},
  };
  for (const auto& [name, value] : fields) YW_TRY(check_text(name, *value, kMaxFieldBytes));
  YW_TRY(check_text("details", event.details, kMaxDetailsBytes));
  const json details = json::parse(event.details, nullptr, /*allow_exceptions=*/false);
  if (!details.is_object()) {
    return make_error(ErrorKind::kInvalidArgument, "audit details must be a JSON object");
  }
  if (event.range_from_utc_us && event.range_to_utc_us &&
      *event.range_from_utc_us > *event.range_to_utc_us) {
    return make_error(ErrorKind::kInvalidArgument, "audit range ends before it starts");
  }
  return {};
}

struct Head {
  int64_t last_seq = 0;  // 0: no entry
  std::vector<uint8_t> last_hash;
  int64_t high_water = 0;  // sqlite_sequence; 0 when absent
  bool high_water_present = false;
};

Result<Head> read_head(Database& db) {
  Head head;
  YW_ASSIGN_OR_RETURN(auto last, db.prepare("SELECT seq, hash FROM audit ORDER BY seq DESC "
                                            "LIMIT 1"));
  YW_ASSIGN_OR_RETURN(bool has_last, last.step());
  if (has_last) {
    head.last_seq = last.column_int(0);
    head.last_hash = last.column_blob(1);
  }
  YW_ASSIGN_OR_RETURN(auto sequence,
                      db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'audit'"));
  YW_ASSIGN_OR_RETURN(bool has_sequence, sequence.step());
  if (has_sequence) {
    head.high_water = sequence.column_int(0);
    head.high_water_present = true;
  }
  return head;
}

// A consistent view for reading: a deferred transaction (a read snapshot under WAL, which never
// blocks the recorder), or nothing extra when the caller already holds a transaction.
class ReadSnapshot {
 public:
  static Result<ReadSnapshot> begin(Database& db) {
    if (sqlite3_get_autocommit(db.handle()) == 0) return ReadSnapshot(nullptr);
    YW_TRY(db.exec("BEGIN DEFERRED"));
    return ReadSnapshot(&db);
  }
  ReadSnapshot(ReadSnapshot&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}
  ReadSnapshot& operator=(ReadSnapshot&&) = delete;
  ReadSnapshot(const ReadSnapshot&) = delete;
  ReadSnapshot& operator=(const ReadSnapshot&) = delete;
  ~ReadSnapshot() {
    if (db_ != nullptr) (void)db_->exec("ROLLBACK");  // nothing was written
  }

 private:
  explicit ReadSnapshot(Database* db) : db_(db) {}
  Database* db_;
};

struct Failure {
  int64_t seq = 0;
  std::string problem;
};

struct ChainWalk {
  int64_t last_seq = 0;
  std::vector<uint8_t> last_hash;
  std::optional<Failure> failure;
};

std::string missing_message(int64_t first, int64_t last) {
  if (first == last) return "entry " + std::to_string(first) + " missing (deleted?)";
  return "entries " + std::to_string(first) + "–" + std::to_string(last) + " missing (deleted?)";
}

// Walks the entries after `after_seq` in order, starting from `prev_hash`, and stops at the
// first entry that is missing, edited, moved or not linked to its predecessor. `from_anchor`:
// `after_seq` and `prev_hash` are the pruning anchor's, not an entry still in the journal.
Result<ChainWalk> walk_chain(Database& db, int64_t after_seq, std::vector<uint8_t> prev_hash,
                             bool from_anchor = false) {
  ChainWalk walk{after_seq, std::move(prev_hash), std::nullopt};
  YW_ASSIGN_OR_RETURN(auto rows, db.prepare("SELECT " YW_AUDIT_COLUMNS " FROM audit WHERE seq > ?1 "
                                            "ORDER BY seq"));
  rows.bind(1, after_seq);
  while (true) {
    YW_ASSIGN_OR_RETURN(bool has_row, rows.step());
    if (!has_row) return walk;
    format::EntryFields fields = read_fields(rows);
    const std::vector<uint8_t> stored_hash = rows.column_blob(kHashColumn);
    const int64_t expected = walk.last_seq + 1;
    const std::string at = "entry " + std::to_string(fields.seq);
    if (fields.seq != expected) {
      walk.failure = Failure{expected, missing_message(expected, fields.seq - 1)};
      return walk;
    }
    if (!same_bytes(format::entry_hash(fields), stored_hash)) {
      if (auto original = format::written_as(fields, stored_hash, kReorderSearchDistance)) {
        const int64_t low = std::min(fields.seq, *original);
        const int64_t high = std::max(fields.seq, *original);
        walk.failure =
            Failure{fields.seq, "entries " + std::to_string(low) + " and " + std::to_string(high) +
                                    " out of order (" + at + " holds what was written as entry " +
                                    std::to_string(*original) + ")"};
      } else {
        walk.failure = Failure{fields.seq, at + ": hash does not match its contents (edited?)"};
      }
      return walk;
    }
    if (!same_bytes(fields.prev_hash, walk.last_hash)) {
      if (fields.seq == 1) {
        walk.failure = Failure{1,
                               "entry 1: does not start the chain (its previous hash is not "
                               "zero; entries before it removed?)"};
      } else if (from_anchor && walk.last_seq == after_seq) {
        walk.failure = Failure{
            fields.seq, at + ": does not continue from the pruning anchor at entry " +
                            std::to_string(after_seq) + " (rewritten with a recomputed hash?)"};
      } else {
        // Both hashes are self-consistent, so someone recomputed one of them: the entry before
        // is not the one this entry was chained to.
        walk.failure =
            Failure{walk.last_seq, "entry " + std::to_string(walk.last_seq) +
                                       ": not the entry that entry " + std::to_string(fields.seq) +
                                       " was chained to (rewritten with a recomputed hash?)"};
      }
      return walk;
    }
    walk.last_seq = fields.seq;
    walk.last_hash = stored_hash;
  }
}

Result<std::optional<std::vector<uint8_t>>> hash_of_entry(Database& db, int64_t seq) {
  YW_ASSIGN_OR_RETURN(auto query, db.prepare("SELECT hash FROM audit WHERE seq = ?1"));
  query.bind(1, seq);
  YW_ASSIGN_OR_RETURN(bool has_row, query.step());
  if (!has_row) return std::optional<std::vector<uint8_t>>();
  return std::optional<std::vector<uint8_t>>(query.column_blob(0));
}

// Everything wrong with one checkpoint, or nothing. A checkpoint at or before the pruning
// anchor (`pruned_through`) signs an entry that is gone; only its signature can be checked.
Result<std::optional<Failure>> check_checkpoint(Database& db, const AuditCheckpoint& checkpoint,
                                                std::span<const uint8_t> device_key,
                                                int64_t last_seq, int64_t pruned_through) {
  const std::string at = "checkpoint at entry " + std::to_string(checkpoint.seq);
  if (!same_bytes(checkpoint.public_key, device_key)) {
    return std::optional<Failure>(
        Failure{checkpoint.seq, at + ": signed by a different key (fingerprint " +
                                    format::key_fingerprint(checkpoint.public_key) +
                                    "), not this device's (forged?)"});
  }
  if (!format::checkpoint_signature_valid(checkpoint.seq, checkpoint.head_hash,
                                          checkpoint.time_utc_us, device_key,
                                          checkpoint.signature)) {
    return std::optional<Failure>(Failure{checkpoint.seq, at + ": signature invalid (forged?)"});
  }
  if (checkpoint.seq <= pruned_through) return std::optional<Failure>();
  YW_ASSIGN_OR_RETURN(auto hash, hash_of_entry(db, checkpoint.seq));
  if (!hash) {
    return std::optional<Failure>(
        Failure{checkpoint.seq, at + ": the device signed entry " + std::to_string(checkpoint.seq) +
                                    " but the journal ends at " + std::to_string(last_seq) +
                                    " or lacks it (entries removed after they were signed)"});
  }
  if (!same_bytes(*hash, checkpoint.head_hash)) {
    return std::optional<Failure>(Failure{
        checkpoint.seq, at + ": entry " + std::to_string(checkpoint.seq) +
                            " is not the entry the device signed (journal rewritten up to it?)"});
  }
  return std::optional<Failure>();
}

Result<std::vector<AuditCheckpoint>> read_checkpoints(Database& db) {
  YW_ASSIGN_OR_RETURN(auto rows,
                      db.prepare("SELECT seq, head_hash, time_utc_us, public_key, signature "
                                 "FROM audit_checkpoints ORDER BY seq, id"));
  std::vector<AuditCheckpoint> checkpoints;
  while (true) {
    YW_ASSIGN_OR_RETURN(bool has_row, rows.step());
    if (!has_row) return checkpoints;
    AuditCheckpoint checkpoint;
    checkpoint.seq = rows.column_int(0);
    checkpoint.head_hash = rows.column_blob(1);
    checkpoint.time_utc_us = rows.column_int(2);
    checkpoint.public_key = rows.column_blob(3);
    checkpoint.signature = rows.column_blob(4);
    checkpoints.push_back(std::move(checkpoint));
  }
}

// All rows (the schema allows one; more means the table was rebuilt by hand).
Result<std::vector<AuditAnchor>> read_anchors(Database& db) {
  YW_ASSIGN_OR_RETURN(auto rows, db.prepare("SELECT seq, hash, time_utc_us, public_key, signature "
                                            "FROM audit_anchor ORDER BY seq"));
  std::vector<AuditAnchor> anchors;
  while (true) {
    YW_ASSIGN_OR_RETURN(bool has_row, rows.step());
    if (!has_row) return anchors;
    AuditAnchor anchor;
    anchor.seq = rows.column_int(0);
    anchor.hash = rows.column_blob(1);
    anchor.time_utc_us = rows.column_int(2);
    anchor.public_key = rows.column_blob(3);
    anchor.signature = rows.column_blob(4);
    anchors.push_back(std::move(anchor));
  }
}

// What is wrong with the anchor itself, or nothing. Whether the entries continue from it is the
// chain walk's business.
std::optional<Failure> check_anchor(const AuditAnchor& anchor,
                                    std::span<const uint8_t> device_key) {
  const std::string at = "pruning anchor at entry " + std::to_string(anchor.seq);
  const int64_t place = std::max<int64_t>(anchor.seq, 1);
  if (!same_bytes(anchor.public_key, device_key)) {
    return Failure{place, at + ": signed by a different key (fingerprint " +
                              format::key_fingerprint(anchor.public_key) +
                              "), not this device's (forged?)"};
  }
  if (anchor.seq < 1 || !format::anchor_signature_valid(anchor.seq, anchor.hash, anchor.time_utc_us,
                                                        device_key, anchor.signature)) {
    return Failure{place, at + ": signature invalid (forged?)"};
  }
  return std::nullopt;
}

// The one anchor, checked, for code that continues the chain from it (append, checkpoint,
// prune): nullopt when the journal was never pruned; kDataLoss when the anchor does not hold.
Result<std::optional<AuditAnchor>> trusted_anchor(Database& db,
                                                  std::span<const uint8_t> device_key) {
  YW_ASSIGN_OR_RETURN(auto anchors, read_anchors(db));
  if (anchors.empty()) return std::optional<AuditAnchor>();
  if (anchors.size() > 1) {
    return make_error(ErrorKind::kDataLoss,
                      "the audit journal has more than one pruning anchor (audit_anchor edited?); "
                      "run `yardwatch audit verify`");
  }
  if (auto failure = check_anchor(anchors.front(), device_key)) {
    return make_error(ErrorKind::kDataLoss,
                      "the audit journal's " + failure->problem + "; run `yardwatch audit verify`");
  }
  return std::optional<AuditAnchor>(std::move(anchors.front()));
}

// The one integer `sql` selects (?1 and, if given, ?2 bound), or nullopt for no row or NULL.
Result<std::optional<int64_t>> optional_int(Database& db, std::string_view sql, int64_t first,
                                            std::optional<int64_t> second = std::nullopt) {
  YW_ASSIGN_OR_RETURN(auto query, db.prepare(sql));
  query.bind(1, first);
  if (second) query.bind(2, *second);
  YW_ASSIGN_OR_RETURN(bool has_row, query.step());
  if (!has_row || query.column_is_null(0)) return std::optional<int64_t>();
  return std::optional<int64_t>(query.column_int(0));
}

Result<int64_t> count_rows(Database& db, std::string_view sql) {
  YW_ASSIGN_OR_RETURN(auto query, db.prepare(sql));
  YW_ASSIGN_OR_RETURN(bool has_row, query.step());
  return has_row ? query.column_int(0) : 0;
}

Status write_all(int fd, std::string_view data, const fs::path& path) {
  while (!data.empty()) {
    const ssize_t written = ::write(fd, data.data(), data.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return errno_error(errno, "write " + path.string());
    }
    data.remove_prefix(static_cast<size_t>(written));
  }
  return {};
}

// Removes the temporary export file unless it was renamed into place.
class TempFile {
 public:
  explicit TempFile(fs::path path) : path_(std::move(path)) {}
  ~TempFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  [[nodiscard]] const fs::path& path() const { return path_; }
  void keep() { path_.clear(); }

 private:
  fs::path path_;
};

// The export's times are checked by the offline verifier against this exact text.
std::string iso(int64_t utc_us) { return format::format_utc(utc_us); }

ordered_json optional_number(const std::optional<int64_t>& value) {
  return value ? ordered_json(*value) : ordered_json(nullptr);
}

ordered_json optional_time(const std::optional<int64_t>& value) {
  return value ? ordered_json(iso(*value)) : ordered_json(nullptr);
}

// One line of JSON. Strings from a tampered database may not be UTF-8; they are replaced
// (U+FFFD) rather than refused, so the export still happens and the verifier flags the entry.
std::string json_line(const ordered_json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

ordered_json entry_json(const format::EntryFields& fields, std::span<const uint8_t> hash) {
  ordered_json line;
  line["type"] = "entry";
  line["seq"] = fields.seq;
  line["time_utc_us"] = fields.time_utc_us;
  line["time"] = iso(fields.time_utc_us);
  line["actor_id"] = optional_number(fields.actor_id);
  line["actor_name"] = fields.actor_name;
  line["actor_role"] = fields.actor_role;
  line["client_address"] = fields.client_address;
  line["action"] = fields.action;
  line["object_type"] = fields.object_type;
  line["object_id"] = fields.object_id;
  line["camera"] = fields.camera;
  line["range_from_utc_us"] = optional_number(fields.range_from_utc_us);
  line["range_from"] = optional_time(fields.range_from_utc_us);
  line["range_to_utc_us"] = optional_number(fields.range_to_utc_us);
  line["range_to"] = optional_time(fields.range_to_utc_us);
  line["purpose"] = fields.purpose;
  line["outcome"] = fields.outcome;
  line["reason"] = fields.reason;
  // The exact text the hash covers, as a string: re-serialising a parsed object could change
  // its bytes (key order, escapes, number formatting).
  line["details"] = fields.details;
  line["prev_hash"] = format::to_hex(fields.prev_hash);
  line["hash"] = format::to_hex(hash);
  return line;
}

ordered_json anchor_json(const AuditAnchor& anchor) {
  ordered_json line;
  line["type"] = "anchor";
  line["seq"] = anchor.seq;
  line["hash"] = format::to_hex(anchor.hash);
  line["time_utc_us"] = anchor.time_utc_us;
  line["time"] = iso(anchor.time_utc_us);
  line["public_key"] = format::to_hex(anchor.public_key);
  line["signature"] = format::to_hex(anchor.signature);
  return line;
}

ordered_json checkpoint_json(const AuditCheckpoint& checkpoint) {
  ordered_json line;
  line["type"] = "checkpoint";
  line["seq"] = checkpoint.seq;
  line["head_hash"] = format::to_hex(checkpoint.head_hash);
  line["time_utc_us"] = checkpoint.time_utc_us;
  line["time"] = iso(checkpoint.time_utc_us);
  line["public_key"] = format::to_hex(checkpoint.public_key);
  line["signature"] = format::to_hex(checkpoint.signature);
  return line;
}

}  // namespace

Actor Actor::console() { return Actor{std::nullopt, "console", "console", "console"}; }

Actor Actor::system() { return Actor{std::nullopt, "system", "system", ""}; }

AuditJournal::AuditJournal(recorder::Catalog& catalog, const hal::Clock& clock,
                           const hal::KeyStore& keys)
    : catalog_(catalog), clock_(clock), keys_(keys) {}

Result<int64_t> AuditJournal::append(const Actor& actor, const AuditEvent& event) {
  YW_TRY(validate(actor, event));
  std::lock_guard lock(catalog_.mutex());
  Database& db = catalog_.database();
  // Nests as a SAVEPOINT inside the caller's transaction, so an effect and its entry commit
  // together; on its own it is BEGIN IMMEDIATE, which also serialises appends between processes
  // (the CLI and yardwatchd) so two entries never claim the same seq.
  YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(db));
  YW_ASSIGN_OR_RETURN(Head head, read_head(db));

  format::EntryFields fields;
  // The hash covers seq, so it is chosen here rather than by AUTOINCREMENT. Past the high-water
  // mark, so a truncated tail stays visible as a gap instead of being papered over.
  fields.seq = std::max(head.last_seq, head.high_water) + 1;
  fields.time_utc_us = clock_.now_utc_us();
  fields.actor_id = actor.account_id;
  fields.actor_name = actor.name;
  fields.actor_role = actor.role;
  fields.client_address = actor.client_address;
  fields.action = event.action;
  fields.object_type = event.object_type;
  fields.object_id = event.object_id;
  fields.camera = event.camera;
  fields.range_from_utc_us = event.range_from_utc_us;
  fields.range_to_utc_us = event.range_to_utc_us;
  fields.purpose = event.purpose;
  fields.outcome = event.allowed ? "allowed" : "denied";
  fields.reason = event.reason;
  fields.details = event.details;
  if (head.last_seq != 0) {
    fields.prev_hash = head.last_hash;
  } else {
    // Empty: the first entry ever, or (in principle) a journal pruned to its very end. Pruning
    // itself appends before it deletes, so the latter is never left behind.
    YW_ASSIGN_OR_RETURN(auto anchors, read_anchors(db));
    if (anchors.empty()) {
      fields.prev_hash.assign(format::kGenesisPrevHash.begin(), format::kGenesisPrevHash.end());
    } else {
      fields.seq = std::max(fields.seq, anchors.back().seq + 1);
      fields.prev_hash = anchors.back().hash;
    }
  }
  const format::Hash hash = format::entry_hash(fields);

  YW_ASSIGN_OR_RETURN(
      auto insert,
      db.prepare("INSERT INTO audit (" YW_AUDIT_COLUMNS
                 ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
                 "?16, ?17, ?18)"));
  insert.bind(1, fields.seq).bind(2, fields.time_utc_us);
  bind_optional(insert, 3, fields.actor_id);
  insert.bind(4, fields.actor_name).bind(5, fields.actor_role).bind(6, fields.client_address);
  insert.bind(7, fields.action).bind(8, fields.object_type).bind(9, fields.object_id);
  insert.bind(10, fields.camera);
  bind_optional(insert, 11, fields.range_from_utc_us);
  bind_optional(insert, 12, fields.range_to_utc_us);
  insert.bind(13, fields.purpose).bind(14, fields.outcome).bind(15, fields.reason);
  insert.bind(16, fields.details);
  insert.bind(17, std::span<const uint8_t>(fields.prev_hash));
  insert.bind(18, std::span<const uint8_t>(hash));
  YW_TRY(insert.run());
  YW_TRY(transaction.commit());
  return fields.seq;
}

Status AuditJournal::checkpoint() {
  std::lock_guard lock(catalog_.mutex());
  Database& db = catalog_.database();
  YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(db));
  YW_ASSIGN_OR_RETURN(Head head, read_head(db));
  if (head.last_seq == 0) return transaction.commit();  // nothing to sign yet
  if (head.high_water != head.last_seq) {
    // Signing a truncated head would make the truncation invisible in every later export.
    return make_error(ErrorKind::kDataLoss,
                      "not signing the audit journal: it ends at entry " +
                          std::to_string(head.last_seq) + " but " +
                          std::to_string(head.high_water) +
                          " entries were written; run `yardwatch audit verify`");
  }

  YW_ASSIGN_OR_RETURN(auto latest, db.prepare("SELECT seq, head_hash FROM audit_checkpoints "
                                              "ORDER BY seq DESC, id DESC LIMIT 1"));
  YW_ASSIGN_OR_RETURN(bool has_latest, latest.step());
  int64_t signed_seq = 0;
  std::vector<uint8_t> signed_hash(format::kGenesisPrevHash.begin(),
                                   format::kGenesisPrevHash.end());
  if (has_latest) {
    signed_seq = latest.column_int(0);
    signed_hash = latest.column_blob(1);
  }
  if (signed_seq == head.last_seq) return transaction.commit();

  // After pruning, the chain may have to be picked up at the anchor rather than at a
  // checkpoint (pruning removes the checkpoints up to it).
  const auto device_key = keys_.signing_public_key();
  YW_ASSIGN_OR_RETURN(auto anchor, trusted_anchor(db, device_key));
  const bool from_anchor = anchor && anchor->seq >= signed_seq;
  if (from_anchor) {
    signed_seq = anchor->seq;
    signed_hash = anchor->hash;
  } else if (signed_seq > 0) {
    // The device vouches only for what it can check: the entries since its last signature must
    // still chain onto it. (A full `verify` is the complete check; this keeps signing cheap.)
    YW_ASSIGN_OR_RETURN(auto signed_entry, hash_of_entry(db, signed_seq));
    if (!signed_entry || !same_bytes(*signed_entry, signed_hash)) {
      return make_error(ErrorKind::kDataLoss,
                        "not signing the audit journal: entry " + std::to_string(signed_seq) +
                            " differs from the last checkpoint; run `yardwatch audit verify`");
    }
  }
  YW_ASSIGN_OR_RETURN(ChainWalk walk, walk_chain(db, signed_seq, signed_hash, from_anchor));
  if (walk.failure) {
    return make_error(ErrorKind::kDataLoss,
                      "not signing the audit journal: " + walk.failure->problem);
  }

  const int64_t now = clock_.now_utc_us();
  auto signature = format::sign_checkpoint(head.last_seq, head.last_hash, now,
                                           keys_.signing_secret_key().span());
  if (!signature) {
    return make_error(ErrorKind::kInternal, "could not sign the audit checkpoint");
  }
  YW_ASSIGN_OR_RETURN(auto insert,
                      db.prepare("INSERT INTO audit_checkpoints (seq, head_hash, time_utc_us, "
                                 "public_key, signature) VALUES (?1, ?2, ?3, ?4, ?5)"));
  insert.bind(1, head.last_seq).bind(2, std::span<const uint8_t>(head.last_hash)).bind(3, now);
  insert.bind(4, std::span<const uint8_t>(device_key));
  insert.bind(5, std::span<const uint8_t>(*signature));
  YW_TRY(insert.run());
  return transaction.commit();
}

Result<std::vector<AuditEntry>> AuditJournal::list(const AuditFilter& filter) {
  if (filter.limit && *filter.limit <= 0) {
    return make_error(ErrorKind::kInvalidArgument, "the audit list limit must be positive");
  }
  std::lock_guard lock(catalog_.mutex());
  Database& db = catalog_.database();
  // With a limit, the most recent entries that match, still listed oldest first.
  YW_ASSIGN_OR_RETURN(
      auto rows, db.prepare("SELECT " YW_AUDIT_COLUMNS " FROM (SELECT " YW_AUDIT_COLUMNS
                            " FROM audit WHERE (?1 IS NULL OR time_utc_us >= ?1) "
                            "AND (?2 IS NULL OR actor_name = ?2) AND (?3 IS NULL OR action = ?3) "
                            "ORDER BY seq DESC LIMIT ?4) ORDER BY seq"));
  bind_optional(rows, 1, filter.since_utc_us);
  if (filter.actor) {
    rows.bind(2, *filter.actor);
  } else {
    rows.bind_null(2);
  }
  if (filter.action) {
    rows.bind(3, *filter.action);
  } else {
    rows.bind_null(3);
  }
  rows.bind(4, filter.limit.value_or(-1));  // -1: no limit
  std::vector<AuditEntry> entries;
  while (true) {
    YW_ASSIGN_OR_RETURN(bool has_row, rows.step());
    if (!has_row) return entries;
    entries.push_back(to_entry(read_fields(rows), rows.column_blob(kHashColumn)));
  }
}

Result<std::vector<AuditCheckpoint>> AuditJournal::checkpoints() {
  std::lock_guard lock(catalog_.mutex());
  return read_checkpoints(catalog_.database());
}

Result<std::optional<AuditAnchor>> AuditJournal::anchor() {
  std::lock_guard lock(catalog_.mutex());
  YW_ASSIGN_OR_RETURN(auto anchors, read_anchors(catalog_.database()));
  if (anchors.empty()) return std::optional<AuditAnchor>();
  return std::optional<AuditAnchor>(std::move(anchors.back()));
}

Result<AuditVerification> AuditJournal::verify() {
  YW_ASSIGN_OR_RETURN(AuditVerification result, verify_chain());
  if (!result.ok) {
    // Whoever finds the chain broken (the daemon's checkpoint or pruning, `yardwatch audit
    // verify`, the web admin's check) raises the alarm, which registers the incident in the
    // breach register (R8). Outside the read snapshot, so it is not rolled back with it.
    (void)catalog_.raise_alarm("audit_tamper", std::nullopt,
                               "the audit journal does not verify at entry " +
                                   std::to_string(result.first_broken_seq.value_or(0)) + ": " +
                                   result.problem,
                               clock_.now_utc_us());
  }
  return result;
}

Result<AuditVerification> AuditJournal::verify_chain() {
  std::lock_guard lock(catalog_.mutex());
  Database& db = catalog_.database();
  YW_ASSIGN_OR_RETURN(auto snapshot, ReadSnapshot::begin(db));

  AuditVerification result;
  YW_ASSIGN_OR_RETURN(result.entries, count_rows(db, "SELECT count(*) FROM audit"));
  YW_ASSIGN_OR_RETURN(Head head, read_head(db));
  result.last_seq = head.last_seq;
  const auto device_key = keys_.signing_public_key();

  // Where the chain starts: entry 1 with a zero prev_hash, or the signed anchor pruning left.
  // Without the anchor, a pruned journal reads as "entries 1–N missing".
  std::optional<Failure> first;
  int64_t start_seq = 0;
  std::vector<uint8_t> start_hash(format::kGenesisPrevHash.begin(), format::kGenesisPrevHash.end());
  YW_ASSIGN_OR_RETURN(auto anchors, read_anchors(db));
  if (anchors.size() > 1) {
    first = Failure{anchors.front().seq,
                    "more than one pruning anchor (entries " + std::to_string(anchors.front().seq) +
                        " and " + std::to_string(anchors.back().seq) + "; audit_anchor edited?)"};
  } else if (anchors.size() == 1) {
    const AuditAnchor& anchor = anchors.front();
    result.pruned_through_seq = anchor.seq;
    first = check_anchor(anchor, device_key);
    if (!first) {
      start_seq = anchor.seq;
      start_hash = anchor.hash;
      // Entries at or before the anchor were deleted with it; one that is there now was put
      // there afterwards, and `list` would show it although nothing vouches for it.
      YW_ASSIGN_OR_RETURN(
          auto stale, optional_int(db, "SELECT min(seq) FROM audit WHERE seq <= ?1", start_seq));
      if (stale) {
        first = Failure{*stale, "entry " + std::to_string(*stale) +
                                    " is older than the pruning anchor at entry " +
                                    std::to_string(start_seq) +
                                    " yet still in the journal (added after pruning?)"};
      }
    }
  }

  if (!first) {
    YW_ASSIGN_OR_RETURN(ChainWalk walk,
                        walk_chain(db, start_seq, start_hash, /*from_anchor=*/start_seq > 0));
    first = walk.failure;
  }
  if (!first) {
    // The walk reached the end without a gap; the high-water mark says where the end was.
    const int64_t last = std::max(head.last_seq, start_seq);
    if (head.high_water > last) {
      std::string problem;
      if (head.last_seq == 0 && start_seq == 0) {
        problem = "the journal is empty but " + std::to_string(head.high_water) +
                  " entries were written (all removed)";
      } else if (head.last_seq == 0) {
        problem = "the journal holds nothing after the pruning anchor at entry " +
                  std::to_string(start_seq) + " but " + std::to_string(head.high_water) +
                  " entries were written (removed?)";
      } else {
        problem = "journal ends at " + std::to_string(last) + " but " +
                  std::to_string(head.high_water) + " entries were written (tail truncated)";
      }
      first = Failure{last + 1, std::move(problem)};
    } else if (last > 0 && head.high_water < last) {
      // SQLite raises the mark with every insert; only an edit of sqlite_sequence lowers it.
      first = Failure{last, "the journal's high-water mark (" +
                                std::to_string(head.high_water_present ? head.high_water : 0) +
                                ") is below its last entry " + std::to_string(last) +
                                " (sqlite_sequence edited?)"};
    }
  }

  YW_ASSIGN_OR_RETURN(auto checkpoints, read_checkpoints(db));
  result.checkpoints = static_cast<int64_t>(checkpoints.size());
  for (const auto& checkpoint : checkpoints) {
    if (first && checkpoint.seq >= first->seq) break;  // sorted by seq: nothing earlier follows
    YW_ASSIGN_OR_RETURN(auto failure,
                        check_checkpoint(db, checkpoint, device_key, head.last_seq, start_seq));
    if (failure) {
      first = std::move(failure);
      break;
    }
  }

  if (first) {
    result.ok = false;
    result.first_broken_seq = first->seq;
    result.problem = std::move(first->problem);
  }
  return result;
}

Result<AuditPruning> AuditJournal::prune(int64_t retention_us,
                                         std::optional<int64_t> keep_from_utc_us,
                                         const Actor& actor) {
  if (retention_us <= 0) {
    return make_error(ErrorKind::kInvalidArgument, "the audit retention term must be positive");
  }
  // The cut-off comes from the wall clock alone, so a clock that jumped ahead would delete
  // history still within its term, irreversibly. Wait for a clock that vouches for itself;
  // keeping the journal a little longer is the recoverable mistake.
  if (clock_.sync_state() == hal::SyncState::kUnsynchronised) {
    return make_error(ErrorKind::kUnavailable,
                      "not pruning the audit journal while the clock is not synchronised");
  }
  std::lock_guard lock(catalog_.mutex());
  Database& db = catalog_.database();
  YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(db));

  // Pruning must never hide tampering: deleting a broken part (or signing an anchor over it)
  // would destroy the evidence. The whole journal, not only the part to go, because a journal
  // that does not verify is evidence as it stands.
  YW_ASSIGN_OR_RETURN(AuditVerification verified, verify());
  if (!verified.ok) {
    return make_error(ErrorKind::kDataLoss, "not pruning the audit journal: " + verified.problem +
                                                "; run `yardwatch audit verify`");
  }

  const int64_t now = clock_.now_utc_us();
  AuditPruning pruning;
  pruning.older_than_utc_us = now - retention_us;
  if (keep_from_utc_us) {
    pruning.older_than_utc_us = std::min(pruning.older_than_utc_us, *keep_from_utc_us);
  }
  const int64_t anchor_seq = verified.pruned_through_seq.value_or(0);

  // The oldest part of the chain, up to the first entry that is not past the cut-off (times
  // need not rise with seq: the clock may have been set back), …
  YW_ASSIGN_OR_RETURN(auto first_kept, optional_int(db,
                                                    "SELECT min(seq) FROM audit WHERE seq > ?1 AND "
                                                    "time_utc_us >= ?2",
                                                    anchor_seq, pruning.older_than_utc_us));
  const int64_t due_through = first_kept ? *first_kept - 1 : verified.last_seq;
  // … and no further than the last checkpoint: an unsigned entry is vouched for only by the
  // unkeyed chain, and an anchor over it would launder whatever was done to it.
  YW_ASSIGN_OR_RETURN(
      auto signed_through,
      optional_int(db, "SELECT max(seq) FROM audit_checkpoints WHERE seq > ?1", anchor_seq));
  const int64_t through = std::min(due_through, signed_through.value_or(anchor_seq));
  pruning.kept_unsigned = std::max<int64_t>(0, due_through - std::max(through, anchor_seq));
  if (through <= anchor_seq) {
    YW_TRY(transaction.commit());
    return pruning;
  }

  YW_ASSIGN_OR_RETURN(auto hash, hash_of_entry(db, through));
  if (!hash) return make_error(ErrorKind::kInternal, "audit entry vanished while pruning");
  auto signature = format::sign_anchor(through, *hash, now, keys_.signing_secret_key().span());
  if (!signature) return make_error(ErrorKind::kInternal, "could not sign the audit anchor");
  const auto public_key = keys_.signing_public_key();

  // Anchor first: the triggers let nothing at or before it be deleted until it is there.
  YW_ASSIGN_OR_RETURN(auto upsert,
                      db.prepare("INSERT INTO audit_anchor (id, seq, hash, time_utc_us, "
                                 "public_key, signature) VALUES (1, ?1, ?2, ?3, ?4, ?5) "
                                 "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, "
                                 "hash = excluded.hash, time_utc_us = excluded.time_utc_us, "
                                 "public_key = excluded.public_key, "
                                 "signature = excluded.signature"));
  upsert.bind(1, through).bind(2, std::span<const uint8_t>(*hash)).bind(3, now);
  upsert.bind(4, std::span<const uint8_t>(public_key));
  upsert.bind(5, std::span<const uint8_t>(*signature));
  YW_TRY(upsert.run());

  YW_ASSIGN_OR_RETURN(auto pruned_count,
                      optional_int(db, "SELECT count(*) FROM audit WHERE seq <= ?1", through));
  pruning.entries = pruned_count.value_or(0);
  pruning.through_seq = through;

  // The record of the pruning goes on the chain before anything is deleted, so the journal is
  // never without an entry after its anchor.
  ordered_json details;
  details["through_seq"] = through;
  details["entries"] = pruning.entries;
  details["older_than"] = iso(pruning.older_than_utc_us);
  details["keep_from"] = optional_time(keep_from_utc_us);
  AuditEvent event;
  event.action = "journal_pruned";
  event.object_type = "audit";
  event.details = details.dump();
  YW_TRY(append(actor, event));

  YW_ASSIGN_OR_RETURN(auto delete_entries, db.prepare("DELETE FROM audit WHERE seq <= ?1"));
  delete_entries.bind(1, through);
  YW_TRY(delete_entries.run());
  YW_ASSIGN_OR_RETURN(auto delete_checkpoints,
                      db.prepare("DELETE FROM audit_checkpoints WHERE seq <= ?1"));
  delete_checkpoints.bind(1, through);
  YW_TRY(delete_checkpoints.run());
  // Sign the pruned journal's head at once, so the journal_pruned entry is covered too.
  YW_TRY(checkpoint());
  YW_TRY(transaction.commit());
  return pruning;
}

Status AuditJournal::export_jsonl(const fs::path& path) {
  std::lock_guard lock(catalog_.mutex());
  Database& db = catalog_.database();
  // One write transaction: the head is signed and everything up to it is read with no append in
  // between, so the whole export is covered by its last checkpoint.
  YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(db));
  // A journal the device refuses to sign is still exported, as it is: the offline verifier
  // then reports the entries no checkpoint covers.
  if (auto signed_head = checkpoint();
      !signed_head.ok() && signed_head.error().kind != ErrorKind::kDataLoss) {
    return std::move(signed_head).error();
  }
  YW_ASSIGN_OR_RETURN(std::string device_id, catalog_.device_id());

  const fs::path directory = path.has_parent_path() ? path.parent_path() : fs::path(".");
  // Same directory, so the rename is atomic; mkstemp makes it 0600 (the journal names people).
  std::string pattern = (directory / ("." + path.filename().string() + ".tmp-XXXXXX")).string();
  hal::UniqueFd fd(::mkostemp(pattern.data(), O_CLOEXEC));
  if (!fd.valid()) return errno_error(errno, "create a temporary file beside " + path.string());
  TempFile temp{fs::path(pattern)};

  std::string buffer;
  auto flush = [&](bool force) -> Status {
    if (!force && buffer.size() < 64 * 1024) return {};
    YW_TRY(write_all(fd.get(), buffer, temp.path()));
    buffer.clear();
    return {};
  };

  const auto public_key = keys_.signing_public_key();
  const int64_t now = clock_.now_utc_us();
  ordered_json device;
  device["type"] = "device";
  device["format"] = std::string(format::kExportFormat);
  device["public_key"] = format::to_hex(public_key);
  device["fingerprint"] = format::key_fingerprint(public_key);
  device["device_id"] = device_id;
  device["exported_utc_us"] = now;
  device["exported"] = iso(now);
  buffer += json_line(device);
  YW_ASSIGN_OR_RETURN(auto anchors, read_anchors(db));
  for (const auto& anchor : anchors) buffer += json_line(anchor_json(anchor));

  YW_ASSIGN_OR_RETURN(auto rows, db.prepare("SELECT " YW_AUDIT_COLUMNS " FROM audit "
                                            "ORDER BY seq"));
  while (true) {
    YW_ASSIGN_OR_RETURN(bool has_row, rows.step());
    if (!has_row) break;
    buffer += json_line(entry_json(read_fields(rows), rows.column_blob(kHashColumn)));
    YW_TRY(flush(false));
  }
  YW_ASSIGN_OR_RETURN(auto checkpoints, read_checkpoints(db));
  for (const auto& checkpoint : checkpoints) buffer += json_line(checkpoint_json(checkpoint));
  YW_TRY(flush(true));

  if (::fsync(fd.get()) != 0) return errno_error(errno, "fsync " + temp.path().string());
  if (::close(fd.release()) != 0) return errno_error(errno, "close " + temp.path().string());
  // Commit before the file appears: an export never contains a checkpoint the journal lacks.
  YW_TRY(transaction.commit());
  if (::rename(temp.path().c_str(), path.c_str()) != 0) {
    return errno_error(errno, "rename to " + path.string());
  }
  temp.keep();
  hal::UniqueFd dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid() || ::fsync(dir.get()) != 0) {
    return errno_error(errno, "fsync directory " + directory.string());
  }
  return {};
}

#undef YW_AUDIT_COLUMNS

}  // namespace yardwatch::firmware
