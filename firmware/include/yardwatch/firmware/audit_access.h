#pragma once

// Reading the audit journal as a signed-in person (DESIGN §6): directors and privacy officers
// read everything, admins the system events (system, cameras, accounts, settings, the journal
// itself), viewers their own entries. Every read and export is itself recorded, in the same
// transaction as the read.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "yardwatch/firmware/accounts.h"
#include "yardwatch/firmware/audit.h"
#include "yardwatch/recorder/catalog.h"

namespace yardwatch::firmware {

constexpr int64_t kMaxAuditPage = 1000;

enum class AuditScope { kAll, kSystem, kOwn };
AuditScope audit_scope(Role role);
std::string_view audit_scope_name(AuditScope scope);

struct AuditQuery {
  std::optional<int64_t> since_utc_us;
  std::optional<int64_t> until_utc_us;  // exclusive
  std::optional<std::string> actor;     // account name, "console" or "system"
  std::optional<std::string> action;
  std::optional<std::string> camera;
  std::optional<bool> allowed;
  int64_t limit = 200;  // the most recent matching entries, 1..kMaxAuditPage
};

// The most recent entries matching `query` within the reader's scope, oldest first.
Result<std::vector<AuditEntry>> read_audit(recorder::Catalog& catalog, AuditJournal& audit,
                                           const Principal& principal, const AuditQuery& query);

// The whole journal as verifiable JSON lines (AuditJournal::export_jsonl), for directors and
// privacy officers. Staged in a private temporary file under `work_dir` that is removed before
// this returns.
Result<std::string> export_audit(AuditJournal& audit, const Principal& principal,
                                 const std::filesystem::path& work_dir);

}  // namespace yardwatch::firmware
