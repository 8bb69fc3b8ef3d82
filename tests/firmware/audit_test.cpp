// The audit journal (R6) on a real SQLite file. Tamper tests work on a copy of the catalog the
// way an attacker with file access would: close the appliance, copy the data directory, open the
// copy with the plain sqlite3 API, DROP the append-only triggers and edit.

#include "yardwatch/firmware/audit.h"

#include <sodium.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <array>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_support.h"
#include "yardwatch/firmware/appliance.h"
#include "yardwatch/firmware/audit_format.h"
#include "yardwatch/recorder/data_dir.h"

namespace yardwatch::firmware {
namespace {

namespace fs = std::filesystem;
namespace format = audit_format;
using testing::TempDir;

constexpr int64_t kStart = 1'764'064'800'000'000;  // 2025-11-25T10:00:00Z
constexpr int64_t kMinute = 60'000'000;
constexpr int64_t kDay = 24 * 60 * kMinute;

// Hostile text: fake log lines, quotes, SQL, terminal escapes, a direction override, non-ASCII.
const std::string kHostilePurpose =
    "incident\n2025-11-25T10:00:00Z admin login allowed\r\n\"quoted\" '; DROP TABLE audit; --";
const std::string kHostileReason = "\x1b[2Jcleared \xe2\x80\xae reversed \t tab, caf\xc3\xa9";
// JSON escapes, including an escaped NUL, newline and quote inside strings.
const std::string kHostileDetails =
    R"({"note":"line1\nline2 \"quoted\" nul\u0000byte","nested":{"list":[1,2,3]},"emoji":"🚸"})";

class Journal {
 public:
  Journal() : clock_(kStart) {
    options_.data_dir = dir_ / "data";
    options_.key_dir = dir_ / "keys";
    auto appliance = Appliance::init(options_);
    REQUIRE(appliance.ok());
    appliance_ = std::move(appliance).value();
    journal_ = std::make_unique<AuditJournal>(appliance_->catalog(), clock_, appliance_->keys());
  }

  AuditJournal& journal() { return *journal_; }
  Appliance& appliance() { return *appliance_; }
  hal::SimulatedClock& clock() { return clock_; }
  const TempDir& dir() const { return dir_; }

  int64_t append(const Actor& actor, const AuditEvent& event) {
    clock_.advance_us(kMinute);
    auto seq = journal_->append(actor, event);
    INFO((seq.ok() ? "" : seq.error().message));
    REQUIRE(seq.ok());
    return seq.value();
  }

  // Entries 1–10 of every kind; entry 5 has every field set. Checkpoint at 8.
  void fill_ten() {
    Actor anna{42, "anna", "director", "10.0.0.7"};
    Actor piet{7, "piet", "viewer", "10.0.0.8"};
    AuditEvent start;
    start.action = "system_start";
    append(Actor::system(), start);
    AuditEvent create;
    create.action = "account_create";
    create.object_type = "account";
    create.object_id = "anna";
    create.details = R"({"role":"director"})";
    append(Actor::console(), create);
    AuditEvent login;
    login.action = "login";
    login.object_type = "account";
    login.object_id = "anna";
    append(anna, login);
    AuditEvent denied;
    denied.action = "view_recorded";
    denied.object_type = "camera";
    denied.object_id = "2";
    denied.camera = "gate";
    denied.allowed = false;
    denied.reason = kHostileReason;
    append(piet, denied);
    AuditEvent view;  // entry 5: every field set
    view.action = "view_recorded";
    view.object_type = "segment";
    view.object_id = "17";
    view.camera = "yard-north";
    view.range_from_utc_us = kStart - 60 * kMinute;
    view.range_to_utc_us = kStart - 30 * kMinute;
    view.purpose = kHostilePurpose;
    view.reason = "context";
    view.details = kHostileDetails;
    append(anna, view);
    for (int i = 6; i <= 8; ++i) {
      AuditEvent setting;
      setting.action = "setting_change";
      setting.object_type = "setting";
      setting.object_id = "policy.require_totp";
      setting.details = R"({"value":)" + std::to_string(i) + "}";
      append(Actor::console(), setting);
    }
    REQUIRE(journal_->checkpoint().ok());
    AuditEvent logout;
    logout.action = "logout";
    append(anna, logout);
    append(piet, logout);
  }

  // Closes the appliance, copies the data directory and opens the copy with raw sqlite3 (no
  // triggers) to run `sql`; returns a journal over the copy for verify().
  AuditVerification tamper_and_verify(const std::string& sql) {
    close();
    const fs::path copy = dir_ / ("copy-" + std::to_string(++copies_));
    fs::copy(options_.data_dir, copy, fs::copy_options::recursive);
    raw_exec(recorder::catalog_path(copy),
             "DROP TRIGGER IF EXISTS audit_no_update; DROP TRIGGER IF EXISTS audit_no_delete; "
             "DROP TRIGGER IF EXISTS audit_checkpoints_no_update; "
             "DROP TRIGGER IF EXISTS audit_checkpoints_no_delete; "
             "DROP TRIGGER IF EXISTS audit_anchor_forward_only; "
             "DROP TRIGGER IF EXISTS audit_anchor_no_delete; " +
                 sql);
    ApplianceOptions copy_options = options_;
    copy_options.data_dir = copy;
    auto opened = Appliance::open(copy_options);
    REQUIRE(opened.ok());
    AuditJournal journal(opened.value()->catalog(), clock_, opened.value()->keys());
    auto verified = journal.verify();
    REQUIRE(verified.ok());
    INFO("problem: " << verified.value().problem);
    return verified.value();
  }

  // Pruning's test journal: entry k (1–`count`) written k × 30 days after kStart, a checkpoint
  // after every `checkpoint_every`-th entry up to `signed_until`, none after. Then the clock is
  // moved to 3 years (1095 days) after kStart, so the 2-year cut-off is day 365 and entries 1–12
  // (day 360 and before) are past it. Returns the entries as written.
  std::vector<AuditEntry> fill_years(int count, int checkpoint_every,
                                     int signed_until = std::numeric_limits<int>::max()) {
    for (int k = 1; k <= count; ++k) {
      clock_.advance_us(30 * kDay - kMinute);
      AuditEvent event;
      event.action = k % 2 == 0 ? "view_recorded" : "login";
      event.camera = k % 2 == 0 ? "yard" : "";
      event.purpose = k % 2 == 0 ? "incident " + std::to_string(k) : "";
      event.details = R"({"k":)" + std::to_string(k) + "}";
      append(Actor{3, "anna", "director", "10.0.0.7"}, event);
      if (k % checkpoint_every == 0 && k <= signed_until) REQUIRE(journal_->checkpoint().ok());
    }
    clock_.advance_us(kStart + 1095 * kDay - clock_.now_utc_us());
    auto entries = journal_->list({});
    REQUIRE(entries.ok());
    return entries.value();
  }

  // Closes the appliance and reopens it (after raw edits of the real data directory).
  void reopen() {
    close();
    auto appliance = Appliance::open(options_);
    REQUIRE(appliance.ok());
    appliance_ = std::move(appliance).value();
    journal_ = std::make_unique<AuditJournal>(appliance_->catalog(), clock_, appliance_->keys());
  }

  void close() {
    journal_.reset();
    appliance_.reset();
  }

  static void raw_exec(const fs::path& database, const std::string& sql) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(database.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
    char* message = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
    const std::string text = message != nullptr ? message : "";
    sqlite3_free(message);
    sqlite3_close(db);
    INFO(sql << ": " << text);
    REQUIRE(rc == SQLITE_OK);
  }

 private:
  TempDir dir_{"yw-audit"};
  ApplianceOptions options_;
  hal::SimulatedClock clock_;
  std::unique_ptr<Appliance> appliance_;
  std::unique_ptr<AuditJournal> journal_;
  int copies_ = 0;
};

format::EntryFields fields_of(const AuditEntry& entry) {
  format::EntryFields fields;
  fields.seq = entry.seq;
  fields.time_utc_us = entry.time_utc_us;
  fields.actor_id = entry.actor.account_id;
  fields.actor_name = entry.actor.name;
  fields.actor_role = entry.actor.role;
  fields.client_address = entry.actor.client_address;
  fields.action = entry.event.action;
  fields.object_type = entry.event.object_type;
  fields.object_id = entry.event.object_id;
  fields.camera = entry.event.camera;
  fields.range_from_utc_us = entry.event.range_from_utc_us;
  fields.range_to_utc_us = entry.event.range_to_utc_us;
  fields.purpose = entry.event.purpose;
  fields.outcome = entry.event.allowed ? "allowed" : "denied";
  fields.reason = entry.event.reason;
  fields.details = entry.event.details;
  fields.prev_hash = entry.prev_hash;
  return fields;
}

std::string blob(std::span<const uint8_t> bytes) { return "x'" + format::to_hex(bytes) + "'"; }

std::string sql_text(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("''") : std::string(1, c);
  return quoted + "'";
}

bool mentions(const AuditVerification& result, const std::string& text) {
  return result.problem.find(text) != std::string::npos;
}

std::vector<int64_t> seqs_of(const std::vector<AuditEntry>& entries) {
  std::vector<int64_t> seqs;
  for (const auto& entry : entries) seqs.push_back(entry.seq);
  return seqs;
}

std::vector<int64_t> range(int64_t first, int64_t last) {
  std::vector<int64_t> seqs;
  for (int64_t seq = first; seq <= last; ++seq) seqs.push_back(seq);
  return seqs;
}

AuditPruning prune_ok(AuditJournal& journal, std::optional<int64_t> keep_from = std::nullopt) {
  auto pruned = journal.prune(kAuditRetentionUs, keep_from);
  INFO((pruned.ok() ? "" : pruned.error().message));
  REQUIRE(pruned.ok());
  return pruned.value();
}

}  // namespace

TEST_CASE("the canonical encoding matches the byte-level spec", "[audit]") {
  // Expected values computed independently (Python hashlib.blake2b(digest_size=32)) from
  // firmware/design/audit.md, so the C++ and the document cannot drift apart unnoticed.
  format::EntryFields full;
  full.seq = 7;
  full.time_utc_us = 1'764'064'800'123'456;
  full.actor_id = 42;
  full.actor_name = "anna";
  full.actor_role = "director";
  full.client_address = "10.0.0.7";
  full.action = "view_recorded";
  full.object_type = "camera";
  full.object_id = "3";
  full.camera = "yard-north";
  full.range_from_utc_us = 1'764'061'200'000'000;
  full.range_to_utc_us = 1'764'064'800'000'000;
  full.purpose = "incident 2025-11 fight";
  full.outcome = "allowed";
  full.details = R"({"bytes":1234})";
  for (uint8_t i = 0; i < 32; ++i) full.prev_hash.push_back(i);
  CHECK(format::encode_entry(full).size() == 238);
  CHECK(format::to_hex(format::entry_hash(full)) ==
        "f7faaa18e8d8a794e8aa60ba2d8203d5690df0ab286e82b7a1540484cd92224b");

  format::EntryFields sparse;
  sparse.seq = 1;
  sparse.time_utc_us = -1;
  sparse.actor_name = "system";
  sparse.actor_role = "system";
  sparse.action = "start";
  sparse.outcome = "denied";
  sparse.reason = "r";
  sparse.details = "{}";
  sparse.prev_hash.assign(32, 0);
  CHECK(format::encode_entry(sparse).size() == 147);
  CHECK(format::to_hex(format::entry_hash(sparse)) ==
        "3f46bacef80b8c67f28c6b064e921d1e8af39c81abe90d6b926b5682d6b4b4c1");

  // Moving text between adjacent fields changes the encoding (length prefixes).
  format::EntryFields moved = sparse;
  moved.actor_name = "systems";
  moved.actor_role = "ystem";
  CHECK(format::entry_hash(moved) != format::entry_hash(sparse));

  const auto message = format::checkpoint_message(7, full.prev_hash, 1);
  REQUIRE(message);
  CHECK(message->size() == 29 + 8 + 32 + 8);
  CHECK_FALSE(format::checkpoint_message(7, std::vector<uint8_t>(31), 1));

  std::vector<uint8_t> key(full.prev_hash);  // 00 01 … 1f
  CHECK(format::key_fingerprint(key) == "630d cd29 66c4 3366 9112 5448 bbb2 5b4f");
  CHECK(format::normalize_fingerprint("630D:CD29-66c4 3366") == "630dcd2966c43366");
  CHECK_FALSE(format::normalize_fingerprint("630g"));
  CHECK(format::from_hex("00ff10") == std::vector<uint8_t>{0x00, 0xff, 0x10});
  CHECK_FALSE(format::from_hex("0"));
  CHECK(format::from_hex("") == std::vector<uint8_t>());
  CHECK_FALSE(format::from_hex("zz"));
  CHECK(format::format_utc(kStart) == "2025-11-25T10:00:00Z");
  CHECK(format::format_utc(kStart + 5) == "2025-11-25T10:00:00.000005Z");
}

TEST_CASE("a journal of varied, hostile entries is chained and verifies", "[audit]") {
  Journal fixture;
  auto empty = fixture.journal().verify();
  REQUIRE(empty.ok());
  CHECK(empty.value().ok);
  CHECK(empty.value().entries == 0);

  fixture.fill_ten();
  auto verified = fixture.journal().verify();
  REQUIRE(verified.ok());
  INFO(verified.value().problem);
  CHECK(verified.value().ok);
  CHECK(verified.value().entries == 10);
  CHECK(verified.value().checkpoints == 1);
  CHECK_FALSE(verified.value().first_broken_seq);

  auto entries = fixture.journal().list({});
  REQUIRE(entries.ok());
  REQUIRE(entries.value().size() == 10);
  std::vector<uint8_t> prev(32, 0);
  for (size_t i = 0; i < entries.value().size(); ++i) {
    const auto& entry = entries.value()[i];
    CHECK(entry.seq == static_cast<int64_t>(i + 1));
    CHECK(entry.prev_hash == prev);
    const auto hash = format::entry_hash(fields_of(entry));
    CHECK(entry.hash == std::vector<uint8_t>(hash.begin(), hash.end()));
    prev = entry.hash;
  }
  // Structured fields come back byte for byte: nothing was concatenated or escaped away.
  const auto& fifth = entries.value()[4];
  CHECK(fifth.event.purpose == kHostilePurpose);
  CHECK(fifth.event.details == kHostileDetails);
  CHECK(fifth.actor.account_id == 42);
  CHECK(fifth.event.range_from_utc_us == kStart - 60 * kMinute);
  CHECK(entries.value()[3].event.reason == kHostileReason);
  CHECK_FALSE(entries.value()[3].event.allowed);
  CHECK(entries.value()[0].actor.name == "system");
  CHECK(entries.value()[0].actor.client_address.empty());
  CHECK(entries.value()[1].actor.client_address == "console");
}

TEST_CASE("malformed entries are refused, not truncated", "[audit]") {
  Journal fixture;
  auto refused = [&](const Actor& actor, const AuditEvent& event) {
    auto result = fixture.journal().append(actor, event);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().kind == ErrorKind::kInvalidArgument);
  };
  AuditEvent good;
  good.action = "login";

  AuditEvent event = good;
  event.action = "";
  refused(Actor::console(), event);
  event.action = "Login\nforged";
  refused(Actor::console(), event);
  for (const char* details : {"", "[1,2]", "\"text\"", "not json", "{\"a\":1", "{} {}"}) {
    INFO(details);
    event = good;
    event.details = details;
    refused(Actor::console(), event);
  }
  event = good;
  event.purpose = std::string(4097, 'x');
  refused(Actor::console(), event);
  event = good;
  event.purpose = std::string("nul\0byte", 8);
  refused(Actor::console(), event);
  event = good;
  event.reason = "\xff\xfe";
  refused(Actor::console(), event);
  event = good;
  event.range_from_utc_us = kStart;
  event.range_to_utc_us = kStart - 1;
  refused(Actor::console(), event);
  refused(Actor{std::nullopt, "", "console", "console"}, good);

  event = good;
  event.purpose = std::string(4096, 'x');
  CHECK(fixture.journal().append(Actor::console(), event).ok());
  auto entries = fixture.journal().list({});
  REQUIRE(entries.ok());
  CHECK(entries.value().size() == 1);
}

TEST_CASE("an entry commits or rolls back with the caller's transaction", "[audit]") {
  Journal fixture;
  auto& catalog = fixture.appliance().catalog();
  AuditEvent event;
  event.action = "account_create";
  {
    std::lock_guard lock(catalog.mutex());
    auto transaction = recorder::sql::Transaction::begin(catalog.database());
    REQUIRE(transaction.ok());
    REQUIRE(fixture.journal().append(Actor::console(), event).ok());
    // No commit: the effect failed, so its entry must go too.
  }
  auto entries = fixture.journal().list({});
  REQUIRE(entries.ok());
  CHECK(entries.value().empty());
  auto seq = fixture.journal().append(Actor::console(), event);
  REQUIRE(seq.ok());
  CHECK(seq.value() == 1);
  auto verified = fixture.journal().verify();
  REQUIRE(verified.ok());
  CHECK(verified.value().ok);
}

TEST_CASE("checkpoints sign the head once, with the device key", "[audit]") {
  Journal fixture;
  REQUIRE(fixture.journal().checkpoint().ok());  // nothing to sign yet
  CHECK(fixture.journal().checkpoints().value().empty());

  AuditEvent event;
  event.action = "system_start";
  for (int i = 0; i < 3; ++i) fixture.append(Actor::system(), event);
  REQUIRE(fixture.journal().checkpoint().ok());
  REQUIRE(fixture.journal().checkpoint().ok());  // head unchanged: no second checkpoint
  auto checkpoints = fixture.journal().checkpoints();
  REQUIRE(checkpoints.ok());
  REQUIRE(checkpoints.value().size() == 1);
  fixture.append(Actor::system(), event);
  REQUIRE(fixture.journal().checkpoint().ok());
  checkpoints = fixture.journal().checkpoints();
  REQUIRE(checkpoints.value().size() == 2);

  const auto device_key = fixture.appliance().keys().signing_public_key();
  const auto entries = fixture.journal().list({}).value();
  for (const auto& checkpoint : checkpoints.value()) {
    CHECK(std::vector<uint8_t>(device_key.begin(), device_key.end()) == checkpoint.public_key);
    CHECK(checkpoint.head_hash == entries[static_cast<size_t>(checkpoint.seq - 1)].hash);
    CHECK(format::checkpoint_signature_valid(checkpoint.seq, checkpoint.head_hash,
                                             checkpoint.time_utc_us, device_key,
                                             checkpoint.signature));
  }
  CHECK(checkpoints.value()[0].seq == 3);
  CHECK(checkpoints.value()[1].seq == 4);
}

TEST_CASE("list filters by time, actor, action and limit", "[audit]") {
  Journal fixture;
  fixture.fill_ten();
  auto list = [&](const AuditFilter& filter) {
    auto entries = fixture.journal().list(filter);
    REQUIRE(entries.ok());
    std::vector<int64_t> seqs;
    for (const auto& entry : entries.value()) seqs.push_back(entry.seq);
    return seqs;
  };
  CHECK(list({kStart + 8 * kMinute, {}, {}, {}}) == std::vector<int64_t>{8, 9, 10});
  CHECK(list({{}, "anna", {}, {}}) == std::vector<int64_t>{3, 5, 9});
  CHECK(list({{}, {}, "view_recorded", {}}) == std::vector<int64_t>{4, 5});
  CHECK(list({{}, {}, {}, 2}) == std::vector<int64_t>{9, 10});
  CHECK(list({{}, "anna", "logout", 5}) == std::vector<int64_t>{9});
  CHECK(list({{}, "anna' OR '1'='1", {}, {}}).empty());
  CHECK_FALSE(fixture.journal().list({{}, {}, {}, 0}).ok());
}

TEST_CASE("R6: the append-only triggers refuse UPDATE and DELETE", "[audit]") {
  Journal fixture;
  fixture.fill_ten();
  auto& db = fixture.appliance().catalog().database();
  auto updated = db.exec("UPDATE audit SET purpose = 'nothing' WHERE seq = 5");
  REQUIRE_FALSE(updated.ok());
  CHECK(updated.error().message.find("append-only") != std::string::npos);
  auto deleted = db.exec("DELETE FROM audit WHERE seq = 10");
  REQUIRE_FALSE(deleted.ok());
  CHECK(deleted.error().message.find("append-only") != std::string::npos);
  CHECK(fixture.journal().verify().value().ok);
}

TEST_CASE("R6: editing any field of an entry is detected and named", "[audit][tamper]") {
  struct Edit {
    const char* field;
    const char* assignment;
  };
  const std::vector<Edit> edits = {
      {"seq", "seq = 55"},  // moved to another place: a gap at 5
      {"time", "time_utc_us = time_utc_us + 1"},
      {"actor_id", "actor_id = 43"},
      {"actor_id absent", "actor_id = NULL"},
      {"actor_name", "actor_name = 'piet'"},
      {"actor_role", "actor_role = 'privacy_officer'"},
      {"client_address", "client_address = '10.6.6.6'"},
      {"action", "action = 'view_live'"},
      {"object_type", "object_type = 'camera'"},
      {"object_id", "object_id = '18'"},
      {"camera", "camera = 'gate'"},
      {"range_from", "range_from_utc_us = range_from_utc_us - 1"},
      {"range_to absent", "range_to_utc_us = NULL"},
      {"purpose", "purpose = 'routine check'"},
      {"outcome", "outcome = 'denied'"},
      {"reason", "reason = ''"},
      {"details", "details = '{}'"},
      {"details whitespace", "details = ' ' || details"},
      {"prev_hash", "prev_hash = zeroblob(32)"},
      {"hash", "hash = randomblob(32)"},
  };
  for (const auto& edit : edits) {
    DYNAMIC_SECTION("field " << edit.field) {
      Journal fixture;
      fixture.fill_ten();
      const auto result = fixture.tamper_and_verify(std::string("UPDATE audit SET ") +
                                                    edit.assignment + " WHERE seq = 5");
      INFO(result.problem);
      CHECK_FALSE(result.ok);
      CHECK(result.first_broken_seq == 5);
      CHECK(mentions(result, "entry 5"));
    }
  }
}

TEST_CASE("R6: deleting, reordering and rewriting entries is detected", "[audit][tamper]") {
  Journal fixture;
  fixture.fill_ten();
  const auto entries = fixture.journal().list({}).value();

  SECTION("an entry deleted in the middle") {
    const auto result = fixture.tamper_and_verify("DELETE FROM audit WHERE seq = 6");
    CHECK_FALSE(result.ok);
    CHECK(result.first_broken_seq == 6);
    CHECK(result.problem == "entry 6 missing (deleted?)");
  }
  SECTION("the first entries deleted") {
    const auto result = fixture.tamper_and_verify("DELETE FROM audit WHERE seq <= 2");
    CHECK_FALSE(result.ok);
    CHECK(result.first_broken_seq == 1);
    CHECK(mentions(result, "entries 1–2 missing"));
  }
  SECTION("two entries swapped") {
    const auto result = fixture.tamper_and_verify(
        "UPDATE audit SET seq = -4 WHERE seq = 4; UPDATE audit SET seq = 4 WHERE seq = 5; "
        "UPDATE audit SET seq = 5 WHERE seq = -4;");
    CHECK_FALSE(result.ok);
    CHECK(result.first_broken_seq == 4);
    CHECK(mentions(result, "entries 4 and 5 out of order"));
  }
  SECTION("an entry rewritten with its hash recomputed: the next entry's link names it") {
    auto fields = fields_of(entries[4]);
    fields.purpose = "routine check";
    const auto hash = format::entry_hash(fields);
    const auto result = fixture.tamper_and_verify(
        "UPDATE audit SET purpose = 'routine check', hash = " + blob(hash) + " WHERE seq = 5");
    CHECK_FALSE(result.ok);
    CHECK(result.first_broken_seq == 5);
    CHECK(mentions(result, "entry 5: not the entry that entry 6 was chained to"));
  }
  SECTION("the chain rewritten from entry 5 on: the checkpoint at 8 no longer matches") {
    // Hashes are unkeyed, so an attacker can recompute the whole chain after an edit; only a
    // signed checkpoint (or an export kept elsewhere) shows it.
    std::string sql;
    std::vector<uint8_t> prev = entries[3].hash;
    for (size_t i = 4; i < entries.size(); ++i) {
      auto fields = fields_of(entries[i]);
      if (i == 4) fields.purpose = "routine check";
      fields.prev_hash = prev;
      const auto hash = format::entry_hash(fields);
      sql += "UPDATE audit SET purpose = " + sql_text(fields.purpose) +
             ", prev_hash = " + blob(prev) + ", hash = " + blob(hash) +
             " WHERE seq = " + std::to_string(fields.seq) + ";";
      prev.assign(hash.begin(), hash.end());
    }
    const auto result = fixture.tamper_and_verify(sql);
    CHECK_FALSE(result.ok);
    CHECK(result.first_broken_seq == 8);
    CHECK(mentions(result, "checkpoint at entry 8: entry 8 is not the entry the device signed"));
  }
}

TEST_CASE(
    "a truncated tail is detected, and what a truncation that also edits sqlite_sequence "
    "leaves",
    "[audit][tamper]") {
  Journal fixture;
  fixture.fill_ten();  // checkpoint at 8, entries 9 and 10 after it

  SECTION("entries after the last checkpoint deleted") {
    const auto result = fixture.tamper_and_verify("DELETE FROM audit WHERE seq > 8");
    CHECK_FALSE(result.ok);
    CHECK(result.first_broken_seq == 9);
    CHECK(result.problem == "journal ends at 8 but 10 entries were written (tail truncated)");
  }
  SECTION("signed entries deleted and the high-water mark lowered: the checkpoint names it") {
    const auto result = fixture.tamper_and_verify(
        "DELETE FROM audit WHERE seq > 6; UPDATE sqlite_sequence SET seq = 6 WHERE name = "
        "'audit';");
    CHECK_FALSE(result.ok);
    CHECK(result.first_broken_seq == 8);
    CHECK(mentions(result, "checkpoint at entry 8"));
    CHECK(mentions(result, "journal ends at 6"));
  }
  SECTION("the high-water mark lowered below the last entry") {
    const auto result =
        fixture.tamper_and_verify("UPDATE sqlite_sequence SET seq = 3 WHERE name = 'audit';");
    CHECK_FALSE(result.ok);
    CHECK(mentions(result, "high-water mark"));
  }
  SECTION("LIMIT: unsigned entries deleted and the high-water mark lowered are not caught") {
    // Entries 9 and 10 were written after the last checkpoint. An attacker with write access
    // to the file who deletes them and lowers sqlite_sequence to 8 leaves a journal that is
    // indistinguishable from one that stopped at 8. Only an export taken earlier (or the next
    // checkpoint, had it been made before the attack) shows it. The same holds for rewriting
    // entries after the last checkpoint with recomputed hashes; and deleting the checkpoint
    // rows too moves the boundary back. This is why the daemon signs hourly and at shutdown.
    const auto result = fixture.tamper_and_verify(
        "DELETE FROM audit WHERE seq > 8; UPDATE sqlite_sequence SET seq = 8 WHERE name = "
        "'audit';");
    CHECK(result.ok);
  }
}

TEST_CASE("R6: forged checkpoints are detected and named", "[audit][tamper]") {
  Journal fixture;
  fixture.fill_ten();
  const auto checkpoint = fixture.journal().checkpoints().value().at(0);
  REQUIRE(checkpoint.seq == 8);

  SECTION("a flipped byte in the signature") {
    auto signature = checkpoint.signature;
    signature[10] ^= 0x01;
    const auto result = fixture.tamper_and_verify(
        "UPDATE audit_checkpoints SET signature = " + blob(signature) + ";");
    CHECK_FALSE(result.ok);
    CHECK(result.first_broken_seq == 8);
    CHECK(result.problem == "checkpoint at entry 8: signature invalid (forged?)");
  }
  SECTION("the time changed") {
    const auto result =
        fixture.tamper_and_verify("UPDATE audit_checkpoints SET time_utc_us = time_utc_us + 1;");
    CHECK_FALSE(result.ok);
    CHECK(result.first_broken_seq == 8);
    CHECK(mentions(result, "signature invalid"));
  }
  SECTION("signed with another key (and that key stored beside it)") {
    std::array<uint8_t, crypto_sign_PUBLICKEYBYTES> other_public{};
    std::array<uint8_t, crypto_sign_SECRETKEYBYTES> other_secret{};
    crypto_sign_keypair(other_public.data(), other_secret.data());
    const auto signature = format::sign_checkpoint(checkpoint.seq, checkpoint.head_hash,
                                                   checkpoint.time_utc_us, other_secret);
    REQUIRE(signature);
    const auto result = fixture.tamper_and_verify(
        "UPDATE audit_checkpoints SET public_key = " + blob(other_public) +
        ", signature = " + blob(*signature) + ";");
    CHECK_FALSE(result.ok);
    CHECK(result.first_broken_seq == 8);
    CHECK(mentions(result, "checkpoint at entry 8: signed by a different key"));
  }
  SECTION("signed with another key, device key claimed") {
    std::array<uint8_t, crypto_sign_PUBLICKEYBYTES> other_public{};
    std::array<uint8_t, crypto_sign_SECRETKEYBYTES> other_secret{};
    crypto_sign_keypair(other_public.data(), other_secret.data());
    const auto signature = format::sign_checkpoint(checkpoint.seq, checkpoint.head_hash,
                                                   checkpoint.time_utc_us, other_secret);
    REQUIRE(signature);
    const auto result = fixture.tamper_and_verify(
        "UPDATE audit_checkpoints SET signature = " + blob(*signature) + ";");
    CHECK_FALSE(result.ok);
    CHECK(result.problem == "checkpoint at entry 8: signature invalid (forged?)");
  }
}

TEST_CASE("checkpoint refuses to sign a chain that no longer holds", "[audit][tamper]") {
  Journal fixture;
  fixture.fill_ten();  // checkpoint at 8, entries 9 and 10 unsigned
  fixture.close();
  const fs::path database = recorder::catalog_path(fixture.dir() / "data");
  std::string sql;
  std::string named;
  SECTION("an unsigned entry edited") {
    sql = "DROP TRIGGER audit_no_update; UPDATE audit SET purpose = 'x' WHERE seq = 9;";
    named = "entry 9";
  }
  SECTION("the tail truncated: signing the shorter head would hide it from every export") {
    sql = "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq = 10;";
    named = "ends at entry 9 but 10 entries were written";
  }
  Journal::raw_exec(database, sql);
  auto appliance = Appliance::open({fixture.dir() / "data", fixture.dir() / "keys", "host-sim"});
  REQUIRE(appliance.ok());
  AuditJournal journal(appliance.value()->catalog(), fixture.clock(), appliance.value()->keys());
  auto signed_head = journal.checkpoint();
  REQUIRE_FALSE(signed_head.ok());
  CHECK(signed_head.error().kind == ErrorKind::kDataLoss);
  INFO(signed_head.error().message);
  CHECK(signed_head.error().message.find(named) != std::string::npos);
  CHECK(journal.checkpoints().value().size() == 1);

  // It is still exported, as it is, without a new checkpoint.
  const fs::path out = fixture.dir() / "broken.jsonl";
  REQUIRE(journal.export_jsonl(out).ok());
  CHECK(journal.checkpoints().value().size() == 1);
  CHECK(fs::exists(out));
}

TEST_CASE("export_jsonl writes a signed, complete JSON-lines file atomically", "[audit]") {
  Journal fixture;
  fixture.fill_ten();
  const fs::path out = fixture.dir() / "exports" / "audit.jsonl";
  fs::create_directories(out.parent_path());
  REQUIRE(fixture.journal().export_jsonl(out).ok());

  // The export signs the head first, so every entry in it is covered.
  const auto checkpoints = fixture.journal().checkpoints().value();
  REQUIRE(checkpoints.size() == 2);
  CHECK(checkpoints.back().seq == 10);

  std::ifstream input(out);
  std::string line;
  std::vector<nlohmann::json> lines;
  while (std::getline(input, line)) lines.push_back(nlohmann::json::parse(line));
  REQUIRE(lines.size() == 1 + 10 + 2);
  const auto key = fixture.appliance().keys().signing_public_key();
  CHECK(lines[0]["type"] == "device");
  CHECK(lines[0]["format"] == "yardwatch-audit-export-v1");
  CHECK(lines[0]["public_key"] == format::to_hex(key));
  CHECK(lines[0]["fingerprint"] == format::key_fingerprint(key));
  CHECK(lines[5]["type"] == "entry");
  CHECK(lines[5]["seq"] == 5);
  CHECK(lines[5]["purpose"] == kHostilePurpose);
  CHECK(lines[5]["details"] == kHostileDetails);
  CHECK(lines[5]["time"] == "2025-11-25T10:05:00Z");
  CHECK(lines[5]["range_to"] == "2025-11-25T09:30:00Z");
  CHECK(lines[4]["actor_id"].is_number());
  CHECK(lines[1]["actor_id"].is_null());
  CHECK(lines[12]["type"] == "checkpoint");
  CHECK(lines[12]["seq"] == 10);

  struct stat info {};
  REQUIRE(::stat(out.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
  size_t files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(out.parent_path())) ++files;
  CHECK(files == 1);  // no temporary left behind
}

TEST_CASE("prune removes exactly the signed entries past the retention term", "[audit][prune]") {
  Journal fixture;
  // Three years of entries, signed every 5 and at the end; the clock at day 1095.
  const auto before = fixture.fill_years(36, 5);
  REQUIRE(fixture.journal().checkpoint().ok());
  const int64_t now = fixture.clock().now_utc_us();
  const int64_t cutoff = now - kAuditRetentionUs;
  CHECK(kAuditRetentionUs == 730 * kDay);

  const AuditPruning pruning = prune_ok(fixture.journal());
  CHECK(pruning.entries == 12);
  CHECK(pruning.through_seq == 12);
  CHECK(pruning.older_than_utc_us == cutoff);
  CHECK(pruning.kept_unsigned == 0);

  // Exactly the entries before the cut-off went; the pruning itself is the newest entry.
  const auto after = fixture.journal().list({}).value();
  REQUIRE(seqs_of(after) == range(13, 37));
  for (const auto& entry : before) CHECK((entry.time_utc_us < cutoff) == (entry.seq <= 12));
  const AuditEntry& record = after.back();
  CHECK(record.event.action == "journal_pruned");
  CHECK(record.actor.name == "system");
  CHECK(record.event.object_type == "audit");
  CHECK(record.prev_hash == before.back().hash);
  const auto details = nlohmann::json::parse(record.event.details);
  CHECK(details["through_seq"] == 12);
  CHECK(details["entries"] == 12);
  CHECK(details["older_than"] == format::format_utc(cutoff));
  CHECK(details["older_than"] == "2026-11-25T10:00:00Z");
  CHECK(details["keep_from"].is_null());

  // The anchor: the last pruned entry, signed by the device at the time of pruning.
  const auto anchor = fixture.journal().anchor().value();
  REQUIRE(anchor);
  CHECK(anchor->seq == 12);
  CHECK(anchor->hash == before[11].hash);
  CHECK(anchor->time_utc_us == now);
  const auto device_key = fixture.appliance().keys().signing_public_key();
  CHECK(anchor->public_key == std::vector<uint8_t>(device_key.begin(), device_key.end()));
  CHECK(format::anchor_signature_valid(anchor->seq, anchor->hash, anchor->time_utc_us, device_key,
                                       anchor->signature));
  // Not valid as a checkpoint signature over the same values (domain separation).
  CHECK_FALSE(format::checkpoint_signature_valid(anchor->seq, anchor->hash, anchor->time_utc_us,
                                                 device_key, anchor->signature));

  // Checkpoints of pruned entries went with them; the pruned journal's head is signed.
  const auto checkpoints = fixture.journal().checkpoints().value();
  REQUIRE_FALSE(checkpoints.empty());
  CHECK(checkpoints.front().seq == 15);
  CHECK(checkpoints.back().seq == 37);

  auto verified = fixture.journal().verify();
  REQUIRE(verified.ok());
  INFO(verified.value().problem);
  CHECK(verified.value().ok);
  CHECK(verified.value().entries == 25);
  CHECK(verified.value().last_seq == 37);
  CHECK(verified.value().pruned_through_seq == 12);

  // The triggers allow nothing but pruning: what is after the anchor stays, the anchor stays.
  auto& db = fixture.appliance().catalog().database();
  CHECK_FALSE(db.exec("DELETE FROM audit WHERE seq = 13").ok());
  CHECK_FALSE(db.exec("DELETE FROM audit_checkpoints WHERE seq = 15").ok());
  CHECK_FALSE(db.exec("DELETE FROM audit_anchor").ok());
  CHECK_FALSE(db.exec("UPDATE audit_anchor SET seq = 11").ok());
  CHECK(fixture.journal().verify().value().ok);

  // Nothing more is due: no change and no entry.
  const AuditPruning again = prune_ok(fixture.journal());
  CHECK(again.entries == 0);
  CHECK_FALSE(again.through_seq);
  CHECK(fixture.journal().list({}).value().size() == 25);

  // A year on, the anchor moves forward and the chain still starts from it; new entries chain on.
  fixture.clock().advance_us(365 * kDay);
  AuditEvent login;
  login.action = "login";
  fixture.append(Actor::console(), login);
  const AuditPruning later = prune_ok(fixture.journal());
  CHECK(later.through_seq == 24);
  CHECK(later.entries == 12);
  CHECK(fixture.journal().anchor().value()->seq == 24);
  CHECK(fixture.journal().list({}).value().front().seq == 25);
  verified = fixture.journal().verify();
  REQUIRE(verified.ok());
  INFO(verified.value().problem);
  CHECK(verified.value().ok);
  CHECK(verified.value().pruned_through_seq == 24);
}

TEST_CASE("prune never removes entries no checkpoint covers", "[audit][prune]") {
  Journal fixture;
  // Entries 1–20, signed only up to 5; 1–12 are past the term.
  fixture.fill_years(20, 5, 5);
  REQUIRE(fixture.journal().checkpoints().value().back().seq == 5);

  const AuditPruning first = prune_ok(fixture.journal());
  CHECK(first.through_seq == 5);
  CHECK(first.entries == 5);
  CHECK(first.kept_unsigned == 7);  // 6–12: past the term, but only the unkeyed chain vouches
  auto entries = fixture.journal().list({}).value();
  CHECK(entries.front().seq == 6);
  CHECK(entries.back().event.action == "journal_pruned");

  // Pruning signed the head after it had checked the chain; the next prune takes 6–12.
  const AuditPruning second = prune_ok(fixture.journal());
  CHECK(second.through_seq == 12);
  CHECK(second.kept_unsigned == 0);
  CHECK(fixture.journal().list({}).value().front().seq == 13);
  CHECK(fixture.journal().verify().value().ok);
}

TEST_CASE("prune keeps everything from the keep-from bound (the oldest open hold)",
          "[audit][prune]") {
  Journal fixture;
  const auto before = fixture.fill_years(36, 5);
  const int64_t hold_from = before[7].time_utc_us;  // entry 8, within the pruned range otherwise

  const AuditPruning held = prune_ok(fixture.journal(), hold_from);
  CHECK(held.through_seq == 7);
  CHECK(held.older_than_utc_us == hold_from);
  auto entries = fixture.journal().list({}).value();
  CHECK(entries.front().seq == 8);
  CHECK(entries.front().time_utc_us == hold_from);
  const auto details = nlohmann::json::parse(entries.back().event.details);
  CHECK(details["keep_from"] == format::format_utc(hold_from));
  CHECK(details["older_than"] == format::format_utc(hold_from));

  // A bound later than the retention cut-off does not prune more than the term allows.
  const AuditPruning released = prune_ok(fixture.journal(), fixture.clock().now_utc_us());
  CHECK(released.through_seq == 12);
  CHECK(fixture.journal().list({}).value().front().seq == 13);
  CHECK(fixture.journal().verify().value().ok);
}

TEST_CASE("prune refuses a journal that does not verify, and changes nothing",
          "[audit][prune][tamper]") {
  Journal fixture;
  fixture.fill_years(36, 5);
  std::string seq;
  SECTION("an entry in the part it would prune edited") { seq = "3"; }
  SECTION("an entry after it edited") { seq = "20"; }
  fixture.close();
  Journal::raw_exec(recorder::catalog_path(fixture.dir() / "data"),
                    "DROP TRIGGER audit_no_update; UPDATE audit SET purpose = 'nothing' WHERE seq "
                    "= " +
                        seq + ";");
  fixture.reopen();

  auto pruned = fixture.journal().prune();
  REQUIRE_FALSE(pruned.ok());
  CHECK(pruned.error().kind == ErrorKind::kDataLoss);
  INFO(pruned.error().message);
  CHECK(pruned.error().message.find("not pruning") != std::string::npos);
  CHECK(pruned.error().message.find("entry " + seq) != std::string::npos);
  CHECK_FALSE(fixture.journal().anchor().value());
  CHECK(fixture.journal().list({}).value().size() == 36);
  CHECK(fixture.journal().verify().value().first_broken_seq == std::stoll(seq));
}

TEST_CASE("prune waits for a synchronised clock and wants a positive term", "[audit][prune]") {
  Journal fixture;
  fixture.fill_years(36, 5);
  fixture.clock().set_sync_state(hal::SyncState::kUnsynchronised);
  auto pruned = fixture.journal().prune();
  REQUIRE_FALSE(pruned.ok());
  CHECK(pruned.error().kind == ErrorKind::kUnavailable);
  CHECK(fixture.journal().list({}).value().size() == 36);

  fixture.clock().set_sync_state(hal::SyncState::kSynchronised);
  auto zero = fixture.journal().prune(0);
  REQUIRE_FALSE(zero.ok());
  CHECK(zero.error().kind == ErrorKind::kInvalidArgument);
  CHECK(prune_ok(fixture.journal()).through_seq == 12);
}

TEST_CASE("tampering with the pruning anchor is detected and named", "[audit][prune][tamper]") {
  Journal fixture;
  const auto before = fixture.fill_years(36, 5);
  REQUIRE(prune_ok(fixture.journal()).through_seq == 12);
  const auto anchor = *fixture.journal().anchor().value();
  const auto kept = fixture.journal().list({}).value();

  SECTION("the anchor removed: the pruned entries read as deleted") {
    const auto result = fixture.tamper_and_verify("DELETE FROM audit_anchor;");
    CHECK_FALSE(result.ok);
    CHECK(result.first_broken_seq == 1);
    CHECK(result.problem == "entries 1–12 missing (deleted?)");
  }
  SECTION("its seq changed") {
    const auto result = fixture.tamper_and_verify("UPDATE audit_anchor SET seq = 11;");
    CHECK_FALSE(result.ok);
    CHECK(result.first_broken_seq == 11);
    CHECK(result.problem == "pruning anchor at entry 11: signature invalid (forged?)");
  }
  SECTION("its hash changed") {
    const auto result = fixture.tamper_and_verify("UPDATE audit_anchor SET hash = randomblob(32);");
    CHECK_FALSE(result.ok);
    CHECK(result.first_broken_seq == 12);
    CHECK(result.problem == "pruning anchor at entry 12: signature invalid (forged?)");
  }
  SECTION("its time changed") {
    const auto result =
        fixture.tamper_and_verify("UPDATE audit_anchor SET time_utc_us = time_utc_us - 1;");
    CHECK_FALSE(result.ok);
    CHECK(mentions(result, "signature invalid"));
  }
  SECTION("a flipped byte in its signature") {
    auto signature = anchor.signature;
    signature[3] ^= 0x80;
    const auto result =
        fixture.tamper_and_verify("UPDATE audit_anchor SET signature = " + blob(signature) + ";");
    CHECK_FALSE(result.ok);
    CHECK(result.problem == "pruning anchor at entry 12: signature invalid (forged?)");
  }
  SECTION("signed with another key, and that key stored") {
    std::array<uint8_t, crypto_sign_PUBLICKEYBYTES> other_public{};
    std::array<uint8_t, crypto_sign_SECRETKEYBYTES> other_secret{};
    crypto_sign_keypair(other_public.data(), other_secret.data());
    const auto signature =
        format::sign_anchor(anchor.seq, anchor.hash, anchor.time_utc_us, other_secret);
    REQUIRE(signature);
    const auto result =
        fixture.tamper_and_verify("UPDATE audit_anchor SET public_key = " + blob(other_public) +
                                  ", signature = " + blob(*signature) + ";");
    CHECK_FALSE(result.ok);
    CHECK(mentions(result, "pruning anchor at entry 12: signed by a different key"));
  }
  SECTION("moved back to an earlier entry with a valid device signature") {
    // Even the device's own signature over an earlier boundary does not make entries reappear.
    const auto signature =
        format::sign_anchor(10, before[9].hash, anchor.time_utc_us,
                            fixture.appliance().keys().signing_secret_key().span());
    REQUIRE(signature);
    const auto result = fixture.tamper_and_verify(
        "UPDATE audit_anchor SET seq = 10, hash = " + blob(before[9].hash) +
        ", signature = " + blob(*signature) + ";");
    CHECK_FALSE(result.ok);
    CHECK(result.first_broken_seq == 11);
    CHECK(result.problem == "entries 11–12 missing (deleted?)");
  }
  SECTION("an entry moved below the anchor, where nothing vouches for it") {
    const auto result = fixture.tamper_and_verify("UPDATE audit SET seq = 3 WHERE seq = 13;");
    CHECK_FALSE(result.ok);
    CHECK(result.first_broken_seq == 3);
    CHECK(mentions(result, "entry 3 is older than the pruning anchor at entry 12"));
  }
  SECTION("the first kept entry re-chained to zero with a recomputed hash") {
    auto fields = fields_of(kept.front());
    fields.prev_hash.assign(32, 0);
    const auto hash = format::entry_hash(fields);
    const auto result = fixture.tamper_and_verify(
        "UPDATE audit SET prev_hash = zeroblob(32), hash = " + blob(hash) + " WHERE seq = 13;");
    CHECK_FALSE(result.ok);
    CHECK(result.first_broken_seq == 13);
    CHECK(mentions(result, "entry 13: does not continue from the pruning anchor at entry 12"));
  }
  SECTION("everything after the anchor removed") {
    const auto result = fixture.tamper_and_verify("DELETE FROM audit;");
    CHECK_FALSE(result.ok);
    CHECK(result.first_broken_seq == 13);
    CHECK(mentions(result, "nothing after the pruning anchor at entry 12"));
  }
}

TEST_CASE("a pruned journal is exported with its anchor", "[audit][prune]") {
  Journal fixture;
  fixture.fill_years(36, 5);
  REQUIRE(prune_ok(fixture.journal()).through_seq == 12);
  const fs::path out = fixture.dir() / "pruned.jsonl";
  REQUIRE(fixture.journal().export_jsonl(out).ok());

  std::ifstream input(out);
  std::string line;
  std::vector<nlohmann::json> lines;
  while (std::getline(input, line)) lines.push_back(nlohmann::json::parse(line));
  REQUIRE(lines.size() > 3);
  const auto anchor = *fixture.journal().anchor().value();
  CHECK(lines[0]["type"] == "device");
  CHECK(lines[1]["type"] == "anchor");
  CHECK(lines[1]["seq"] == 12);
  CHECK(lines[1]["hash"] == format::to_hex(anchor.hash));
  CHECK(lines[1]["time_utc_us"] == anchor.time_utc_us);
  CHECK(lines[1]["time"] == format::format_utc(anchor.time_utc_us));
  CHECK(lines[1]["public_key"] == format::to_hex(anchor.public_key));
  CHECK(lines[1]["signature"] == format::to_hex(anchor.signature));
  CHECK(lines[2]["type"] == "entry");
  CHECK(lines[2]["seq"] == 13);
  CHECK(lines[2]["prev_hash"] == format::to_hex(anchor.hash));
}

}  // namespace yardwatch::firmware
