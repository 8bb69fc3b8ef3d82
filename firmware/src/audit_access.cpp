#include "yardwatch/firmware/audit_access.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "yardwatch/recorder/sqlite.h"

namespace yardwatch::firmware {

namespace {

bool is_system_event(const AuditEntry& entry) {
  const std::string& type = entry.event.object_type;
  return type == "system" || type == "camera" || type == "account" || type == "setting" ||
         type == "audit" || type.empty();
}

bool in_scope(AuditScope scope, const Principal& principal, const AuditEntry& entry) {
  switch (scope) {
    case AuditScope::kAll:
      return true;
    case AuditScope::kSystem:
      return is_system_event(entry);
    case AuditScope::kOwn:
      return entry.actor.account_id && *entry.actor.account_id == principal.account_id;
  }
  return false;
}

nlohmann::json optional_json(const std::optional<std::string>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

}  // namespace

AuditScope audit_scope(Role role) {
  if (role_allows(role, Permission::kReadAuditAll)) return AuditScope::kAll;
  if (role_allows(role, Permission::kReadAuditSystem)) return AuditScope::kSystem;
  return AuditScope::kOwn;
}

std::string_view audit_scope_name(AuditScope scope) {
  switch (scope) {
    case AuditScope::kAll:
      return "all";
    case AuditScope::kSystem:
      return "system";
    case AuditScope::kOwn:
      return "own";
  }
  return "own";
}

Result<std::vector<AuditEntry>> read_audit(recorder::Catalog& catalog, AuditJournal& audit,
                                           const Principal& principal, const AuditQuery& query) {
  AuditEvent event;
  event.action = "audit_read";
  event.object_type = "audit";
  if (principal.must_change_password || principal.needs_totp_enrolment) {
    YW_TRY(authorize(audit, principal, Permission::kReadAuditOwn, std::nullopt, event));
  }
  if (query.limit < 1 || query.limit > kMaxAuditPage) {
    return make_error(ErrorKind::kInvalidArgument, "the page size must be 1–1000 entries");
  }
  const AuditScope scope = audit_scope(principal.role);
  AuditFilter filter;
  filter.since_utc_us = query.since_utc_us;
  filter.actor = query.actor;
  filter.action = query.action;

  std::lock_guard lock(catalog.mutex());
  YW_ASSIGN_OR_RETURN(auto transaction, recorder::sql::Transaction::begin(catalog.database()));
  YW_ASSIGN_OR_RETURN(auto entries, audit.list(filter));
  std::vector<AuditEntry> matching;
  for (auto& entry : entries) {
    if (!in_scope(scope, principal, entry)) continue;
    if (query.until_utc_us && entry.time_utc_us >= *query.until_utc_us) continue;
    if (query.camera && entry.event.camera != *query.camera) continue;
    if (query.allowed && entry.event.allowed != *query.allowed) continue;
    matching.push_back(std::move(entry));
  }
  if (static_cast<int64_t>(matching.size()) > query.limit) {
    matching.erase(matching.begin(), matching.end() - static_cast<std::ptrdiff_t>(query.limit));
  }
  event.details = nlohmann::json{{"scope", audit_scope_name(scope)},
                                 {"actor", optional_json(query.actor)},
                                 {"action", optional_json(query.action)},
                                 {"camera", optional_json(query.camera)},
                                 {"returned", matching.size()}}
                      .dump();
  YW_TRY(audit.append(principal.actor(), event));
  YW_TRY(transaction.commit());
  return matching;
}

Result<std::string> export_audit(AuditJournal& audit, const Principal& principal,
                                 const std::filesystem::path& work_dir) {
  AuditEvent event;
  event.action = "audit_export";
  event.object_type = "audit";
  YW_TRY(authorize(audit, principal, Permission::kReadAuditAll, std::nullopt, event));
  std::string pattern = (work_dir / ".audit-export-XXXXXX").string();
  const int fd = ::mkstemp(pattern.data());
  if (fd < 0) return errno_error(errno, "create a temporary file in " + work_dir.string());
  ::close(fd);
  const std::filesystem::path staged = pattern;
  struct Remove {
    std::filesystem::path path;
    ~Remove() {
      std::error_code ignored;
      std::filesystem::remove(path, ignored);
    }
  } remove_staged{staged};
  // The record of the export is part of the export.
  YW_TRY(audit.append(principal.actor(), event));
  YW_TRY(audit.export_jsonl(staged));
  std::ifstream in(staged, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) {
    return make_error(ErrorKind::kInternal, "could not read the staged audit export");
  }
  return text.str();
}

}  // namespace yardwatch::firmware
