#pragma once

// `yardwatch audit list|verify|export|prune`: thin adapters over firmware::AuditJournal. Reading
// the journal is itself audited (actor `console`): `list` appends `audit_read`, `export` appends
// `audit_export` (inside the exported, signed range), `verify` appends `audit_verify` with its
// result; `prune` is recorded by the `journal_pruned` entry it appends. main() opens the
// appliance (--data, --key-dir, --board) and calls these.

#include <CLI/CLI.hpp>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "yardwatch/firmware/appliance.h"

namespace yardwatch::cli {

struct AuditListOptions {
  std::optional<std::string> since;  // ISO-8601 UTC; entries at or after it
  std::optional<std::string> actor;  // account name, "console" or "system"
  std::optional<std::string> action;
  std::optional<int64_t> limit;  // the most recent N matching entries
};

// Adds --since, --actor, --action and --limit to `command` (the caller adds --data and --json).
void add_audit_list_options(CLI::App& command, AuditListOptions& options);

// Exit 0 and the entries (text, or {"entries":[…]} with `json`); 1 with a message on stderr.
int cmd_audit_list(firmware::Appliance& appliance, const AuditListOptions& options, bool json);
// Exit 0 if the chain, the high-water mark and every checkpoint check; otherwise 1, naming the
// first broken sequence number and the problem.
int cmd_audit_verify(firmware::Appliance& appliance, bool json = false);
// Signs the head and writes the JSON-lines export to `out` (atomically); prints how to verify
// it offline with the device key fingerprint.
int cmd_audit_export(firmware::Appliance& appliance, const std::filesystem::path& out);
// Deletes the signed entries older than the retention term (default 730 days) as the console,
// leaving a signed anchor (firmware::AuditJournal::prune). Exit 0 (also when nothing was due);
// 1 with a message, e.g. for a journal that does not verify.
int cmd_audit_prune(firmware::Appliance& appliance, std::optional<int64_t> retention_days);

}  // namespace yardwatch::cli
