#include "audit_commands.h"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <system_error>

#include "yardwatch/firmware/audit.h"
#include "yardwatch/firmware/audit_format.h"
#include "yardwatch/hal/clock.h"

namespace yardwatch::cli {

namespace {

namespace fs = std::filesystem;
using firmware::Actor;
using firmware::AuditEntry;
using firmware::AuditEvent;
using firmware::AuditJournal;
using nlohmann::json;
using recorder::sql::Transaction;

constexpr int kExitFailure = 1;

int fail(const Error& error) {
  std::fprintf(stderr, "yardwatch: %s\n", error.message.c_str());
  return kExitFailure;
}

AuditJournal journal_of(firmware::Appliance& appliance) {
  return AuditJournal(appliance.catalog(), appliance.clock(), appliance.keys());
}

// Strings from the journal may hold newlines or terminal escapes (a name typed at a login
// prompt, say). On a terminal they must not forge a line or hide text, so control characters
// and the Unicode direction overrides are shown escaped.
std::string printable(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    // U+202A–U+202E and U+2066–U+2069 are E2 80 AA–AE and E2 81 A6–A9 in UTF-8.
    if (byte == 0xE2 && i + 2 < text.size()) {
      const auto second = static_cast<unsigned char>(text[i + 1]);
      const auto third = static_cast<unsigned char>(text[i + 2]);
      if ((second == 0x80 && third >= 0xAA && third <= 0xAE) ||
          (second == 0x81 && third >= 0xA6 && third <= 0xA9)) {
        char escaped[12];
        std::snprintf(escaped, sizeof(escaped), "\\u%04x",
                      0x2000u + ((second & 0x3Fu) << 6) + (third & 0x3Fu));
        out += escaped;
        i += 2;
        continue;
      }
    }
    if (byte == '\n') {
      out += "\\n";
    } else if (byte == '\r') {
      out += "\\r";
    } else if (byte == '\t') {
      out += "\\t";
    } else if (byte == '\\') {
      out += "\\\\";
    } else if (byte < 0x20 || byte == 0x7F) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\x%02x", byte);
      out += escaped;
    } else {
      out += static_cast<char>(byte);
    }
  }
  return out;
}

std::string iso(int64_t utc_us) { return hal::format_iso8601_utc(utc_us); }

nlohmann::ordered_json optional_time(const std::optional<int64_t>& utc_us) {
  return utc_us ? nlohmann::ordered_json(iso(*utc_us)) : nlohmann::ordered_json(nullptr);
}

// Journal text that is not UTF-8 can only come from a tampered file; show it replaced rather
// than refuse to list (verify names the entry).
template <typename Json>
std::string dump(const Json& value, int indent = -1) {
  return value.dump(indent, ' ', false, Json::error_handler_t::replace);
}

// Keys in the documented order (tools/cli/README.md), not alphabetical.
nlohmann::ordered_json entry_json(const AuditEntry& entry) {
  nlohmann::ordered_json details =
      nlohmann::ordered_json::parse(entry.event.details, nullptr, /*allow_exceptions=*/false);
  if (details.is_discarded()) details = entry.event.details;  // tampered: show the raw text
  nlohmann::ordered_json line;
  line["seq"] = entry.seq;
  line["time"] = iso(entry.time_utc_us);
  line["actor"] = entry.actor.name;
  line["actor_id"] =
      entry.actor.account_id ? nlohmann::ordered_json(*entry.actor.account_id) : nullptr;
  line["role"] = entry.actor.role;
  line["action"] = entry.event.action;
  line["object_type"] = entry.event.object_type;
  line["object_id"] = entry.event.object_id;
  line["camera"] = entry.event.camera;
  line["from"] = optional_time(entry.event.range_from_utc_us);
  line["to"] = optional_time(entry.event.range_to_utc_us);
  line["purpose"] = entry.event.purpose;
  line["outcome"] = entry.event.allowed ? "allowed" : "denied";
  line["reason"] = entry.event.reason;
  line["client_address"] = entry.actor.client_address;
  line["details"] = std::move(details);
  return line;
}

void print_entry(const AuditEntry& entry) {
  std::string line = std::to_string(entry.seq) + "  " + iso(entry.time_utc_us) + "  " +
                     printable(entry.actor.name) + " (" + printable(entry.actor.role) + ")";
  if (!entry.actor.client_address.empty() && entry.actor.client_address != "console") {
    line += " from " + printable(entry.actor.client_address);
  }
  line +=
      "  " + printable(entry.event.action) + "  " + (entry.event.allowed ? "allowed" : "DENIED");
  if (!entry.event.reason.empty()) line += " (" + printable(entry.event.reason) + ")";
  if (!entry.event.object_type.empty()) line += "  " + printable(entry.event.object_type);
  if (!entry.event.object_id.empty()) line += " " + printable(entry.event.object_id);
  if (!entry.event.camera.empty()) line += "  camera " + printable(entry.event.camera);
  if (entry.event.range_from_utc_us || entry.event.range_to_utc_us) {
    line += "  " + (entry.event.range_from_utc_us ? iso(*entry.event.range_from_utc_us) : "…") +
            " to " + (entry.event.range_to_utc_us ? iso(*entry.event.range_to_utc_us) : "…");
  }
  if (!entry.event.purpose.empty()) line += "  purpose \"" + printable(entry.event.purpose) + "\"";
  std::printf("%s\n", line.c_str());
}

json optional_json(const std::optional<std::string>& value) {
  return value ? json(*value) : json(nullptr);
}

}  // namespace

void add_audit_list_options(CLI::App& command, AuditListOptions& options) {
  command.add_option("--since", options.since, "only entries at or after this time (ISO-8601 UTC)");
  command.add_option("--actor", options.actor, "only this account name (or console, system)");
  command.add_option("--action", options.action, "only this action, e.g. view_recorded");
  command.add_option("--limit", options.limit, "only the most recent N matching entries")
      ->check(CLI::PositiveNumber);
}

int cmd_audit_list(firmware::Appliance& appliance, const AuditListOptions& options,
                   bool json_output) {
  firmware::AuditFilter filter;
  if (options.since) {
    auto since = hal::parse_iso8601_utc_us(*options.since);
    if (!since.ok()) return fail(since.error());
    filter.since_utc_us = since.value();
  }
  filter.actor = options.actor;
  filter.action = options.action;
  filter.limit = options.limit;

  AuditJournal journal = journal_of(appliance);
  std::vector<AuditEntry> entries;
  {
    // The read and its audit entry commit together: no listing without a record of it.
    std::lock_guard lock(appliance.catalog().mutex());
    auto transaction = Transaction::begin(appliance.catalog().database());
    if (!transaction.ok()) return fail(transaction.error());
    auto listed = journal.list(filter);
    if (!listed.ok()) return fail(listed.error());
    entries = std::move(listed).value();

    AuditEvent event;
    event.action = "audit_read";
    event.object_type = "audit";
    event.details = dump(nlohmann::json{
        {"since", optional_json(options.since)},
        {"actor", optional_json(options.actor)},
        {"action", optional_json(options.action)},
        {"limit", options.limit ? nlohmann::json(*options.limit) : nlohmann::json(nullptr)},
        {"returned", entries.size()}});
    if (auto appended = journal.append(Actor::console(), event); !appended.ok()) {
      return fail(appended.error());
    }
    if (auto committed = transaction.value().commit(); !committed.ok()) {
      return fail(committed.error());
    }
  }

  if (json_output) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& entry : entries) list.push_back(entry_json(entry));
    std::cout << dump(nlohmann::ordered_json{{"entries", list}}, 2) << "\n";
  } else {
    for (const auto& entry : entries) print_entry(entry);
  }
  return 0;
}

int cmd_audit_verify(firmware::Appliance& appliance, bool json_output) {
  AuditJournal journal = journal_of(appliance);
  auto verified = journal.verify();
  if (!verified.ok()) return fail(verified.error());
  const firmware::AuditVerification& result = verified.value();
  auto checkpoints = journal.checkpoints();
  if (!checkpoints.ok()) return fail(checkpoints.error());

  // Who checked the journal, and what they found, is part of the record too. Best effort: a
  // copy opened read-only can still be verified.
  AuditEvent event;
  event.action = "audit_verify";
  event.object_type = "audit";
  event.details = dump(nlohmann::json{
      {"ok", result.ok},
      {"entries", result.entries},
      {"first_broken_seq", result.first_broken_seq ? nlohmann::json(*result.first_broken_seq)
                                                   : nlohmann::json(nullptr)}});
  if (auto appended = journal.append(Actor::console(), event); !appended.ok()) {
    std::fprintf(stderr, "yardwatch: warning: this verification was not recorded: %s\n",
                 appended.error().message.c_str());
  }

  if (json_output) {
    nlohmann::ordered_json out;
    out["ok"] = result.ok;
    out["entries"] = result.entries;
    out["checkpoints"] = result.checkpoints;
    out["first_broken_seq"] =
        result.first_broken_seq ? nlohmann::ordered_json(*result.first_broken_seq) : nullptr;
    out["problem"] = result.problem;
    std::cout << dump(out, 2) << "\n";
  } else if (result.ok) {
    std::printf("audit journal intact: %lld entries, %lld signed checkpoint%s",
                static_cast<long long>(result.entries), static_cast<long long>(result.checkpoints),
                result.checkpoints == 1 ? "" : "s");
    const int64_t signed_until = checkpoints.value().empty() ? 0 : checkpoints.value().back().seq;
    if (signed_until > 0) {
      std::printf(", the last at entry %lld (%s)", static_cast<long long>(signed_until),
                  iso(checkpoints.value().back().time_utc_us).c_str());
    }
    std::printf("\n");
    if (result.pruned_through_seq) {
      std::printf("entries 1–%lld were pruned after the retention term (signed anchor)\n",
                  static_cast<long long>(*result.pruned_through_seq));
    }
    const int64_t unsigned_from = std::max(signed_until, result.pruned_through_seq.value_or(0)) + 1;
    if (unsigned_from <= result.last_seq) {
      // Honest about the window the chain alone protects (firmware/design/audit.md).
      std::printf("entries %lld–%lld are not signed yet; the next checkpoint will cover them\n",
                  static_cast<long long>(unsigned_from), static_cast<long long>(result.last_seq));
    }
  } else {
    std::printf("audit journal BROKEN: %s\n", result.problem.c_str());
    if (result.first_broken_seq) {
      std::printf("first broken entry: %lld\n", static_cast<long long>(*result.first_broken_seq));
    }
  }
  return result.ok ? 0 : kExitFailure;
}

int cmd_audit_export(firmware::Appliance& appliance, const fs::path& out) {
  AuditJournal journal = journal_of(appliance);
  std::error_code ignored;
  const fs::path absolute = fs::absolute(out, ignored);
  {
    // The export records itself, and its checkpoint covers that record.
    std::lock_guard lock(appliance.catalog().mutex());
    auto transaction = Transaction::begin(appliance.catalog().database());
    if (!transaction.ok()) return fail(transaction.error());
    AuditEvent event;
    event.action = "audit_export";
    event.object_type = "audit";
    event.details = dump(nlohmann::json{{"file", absolute.string()}});
    if (auto appended = journal.append(Actor::console(), event); !appended.ok()) {
      return fail(appended.error());
    }
    if (auto exported = journal.export_jsonl(out); !exported.ok()) return fail(exported.error());
    if (auto committed = transaction.value().commit(); !committed.ok()) {
      fs::remove(out, ignored);  // an export must never exist without its audit record
      return fail(committed.error());
    }
  }
  auto checkpoints = journal.checkpoints();
  auto anchor = journal.anchor();
  const auto public_key = appliance.keys().signing_public_key();
  std::printf("exported the audit journal to %s", out.c_str());
  if (checkpoints.ok() && !checkpoints.value().empty()) {
    const int64_t first = anchor.ok() && anchor.value() ? anchor.value()->seq + 1 : 1;
    std::printf(" (entries %lld–%lld, signed)", static_cast<long long>(first),
                static_cast<long long>(checkpoints.value().back().seq));
  }
  std::printf(
      "\nverify it anywhere with:\n  yardwatch-verify --audit %s --expect-fingerprint '%s'\n",
      out.c_str(), firmware::audit_format::key_fingerprint(public_key).c_str());
  return 0;
}

int cmd_audit_prune(firmware::Appliance& appliance, std::optional<int64_t> retention_days) {
  constexpr int64_t kDayUs = 24LL * 3600 * 1'000'000;
  const int64_t retention_us =
      retention_days ? *retention_days * kDayUs : firmware::kAuditRetentionUs;
  AuditJournal journal = journal_of(appliance);
  // Holds do not exist yet; when they do, the start of the oldest open hold is passed here (and
  // by yardwatchd) as keep_from, so the journal is never kept for less than a hold needs.
  auto pruned = journal.prune(retention_us, std::nullopt, Actor::console());
  if (!pruned.ok()) return fail(pruned.error());
  const firmware::AuditPruning& result = pruned.value();
  if (result.through_seq) {
    std::printf(
        "pruned %lld audit entr%s older than %s: the journal now starts after entry %lld, at a "
        "boundary the device signed (recorded as journal_pruned)\n",
        static_cast<long long>(result.entries), result.entries == 1 ? "y" : "ies",
        iso(result.older_than_utc_us).c_str(), static_cast<long long>(*result.through_seq));
  } else {
    std::printf("nothing to prune: no signed audit entry is older than %s\n",
                iso(result.older_than_utc_us).c_str());
  }
  if (result.kept_unsigned > 0) {
    // Unsigned entries are never pruned (firmware/design/audit.md §Retention).
    const bool one = result.kept_unsigned == 1;
    const std::string them = one ? "it" : "them";
    const std::string next =
        result.through_seq
            ? "This prune signed the journal; the next one takes " + them + "."
            : "yardwatchd signs hourly; the next prune after that takes " + them + ".";
    std::printf("%lld older entr%s kept: no checkpoint had signed %s yet. %s\n",
                static_cast<long long>(result.kept_unsigned), one ? "y was" : "ies were",
                them.c_str(), next.c_str());
  }
  return 0;
}

}  // namespace yardwatch::cli
