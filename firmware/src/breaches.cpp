#include "yardwatch/firmware/breaches.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "register_checks.h"
#include "yardwatch/recorder/sqlite.h"

namespace yardwatch::firmware {

namespace {

using nlohmann::json;
using recorder::sql::Transaction;

constexpr const char* kColumns =
    "id, source, kind, alarm_id, camera_id, detected_utc_us, description, personal_data, "
    "encrypted_inaccessible, assessment, deadline_utc_us, registered_utc_us, registered_by, "
    "decision, reasoning, report_reference, COALESCE(decided_by, ''), decided_utc_us";

Breach read_breach(const recorder::sql::Statement& row, int64_t now) {
  Breach b;
  b.id = row.column_int(0);
  b.source = row.column_text(1);
  b.kind = row.column_text(2);
  if (!row.column_is_null(3)) b.alarm_id = row.column_int(3);
  if (!row.column_is_null(4)) b.camera_id = row.column_int(4);
  b.detected_utc_us = row.column_int(5);
  b.description = row.column_text(6);
  b.personal_data = row.column_text(7);
  b.encrypted_inaccessible = row.column_text(8);
  b.assessment = row.column_text(9);
  b.deadline_utc_us = row.column_int(10);
  b.registered_utc_us = row.column_int(11);
  b.registered_by = row.column_text(12);
  if (!row.column_is_null(13)) b.decision = row.column_text(13);
  b.reasoning = row.column_text(14);
  b.report_reference = row.column_text(15);
  b.decided_by = row.column_text(16);
  if (!row.column_is_null(17)) b.decided_utc_us = row.column_int(17);
  b.remaining_us = b.deadline_utc_us - now;
  b.overdue = !b.decision && now > b.deadline_utc_us;
  return b;
}

// Free text as the register and the journal may hold it: valid UTF-8, within bounds, line breaks
// allowed (a description may need them) but no other control characters.
std::optional<std::string> text_problem(const std::string& what, const std::string& text,
                                        size_t min_length) {
  const bool blank = std::all_of(text.begin(), text.end(),
                                 [](char c) { return c == ' ' || c == '\n' || c == '\t'; });
  if (text.size() < min_length || blank) {
    return what + " needs at least " + std::to_string(min_length) + " characters";
  }
  if (text.size() > kMaxBreachTextLength) {
    return what + " is longer than " + std::to_string(kMaxBreachTextLength) + " bytes";
  }
  if (!valid_utf8(text)) return what + " is not valid UTF-8 text";
  if (std::any_of(text.begin(), text.end(),
                  [](char c) { return c >= 0 && c < 0x20 && c != '\n' && c != '\t'; })) {
    return what + " contains control characters";
  }
  return std::nullopt;
}

AuditEvent breach_event(const std::string& action, const std::string& object_id) {
  AuditEvent event;
  event.action = action;
  event.object_type = "breach";
  event.object_id = object_id;
  return event;
}

}  // namespace

bool valid_personal_data_answer(const std::string& answer) {
  return answer == "yes" || answer == "no" || answer == "unknown";
}

bool valid_encryption_answer(const std::string& answer) {
  return answer == "yes" || answer == "partly" || answer == "no" || answer == "not_applicable" ||
         answer == "unknown";
}

BreachService::BreachService(recorder::Catalog& catalog, const hal::Clock& clock,
                             AuditJournal& audit)
    : catalog_(catalog), clock_(clock), audit_(audit) {}

Result<std::vector<Breach>> BreachService::query(std::optional<int64_t> id, bool undecided_only) {
  std::lock_guard lock(catalog_.mutex());
  std::string sql =
      std::string("SELECT ") + kColumns + " FROM breaches WHERE (?1 IS NULL OR id = ?1)";
  if (undecided_only) {
    sql += " AND decision IS NULL ORDER BY detected_utc_us, id";
  } else {
    sql += " ORDER BY detected_utc_us DESC, id DESC";
  }
  YW_ASSIGN_OR_RETURN(auto rows, catalog_.database().prepare(sql));
  if (id) {
    rows.bind(1, *id);
  } else {
    rows.bind_null(1);
  }
  const int64_t now = clock_.now_utc_us();
  std::vector<Breach> result;
  while (true) {
    YW_ASSIGN_OR_RETURN(bool has_row, rows.step());
    if (!has_row) break;
    result.push_back(read_breach(rows, now));
  }
  return result;
}

Status BreachService::authorize_reading(const Principal* person, const std::string& object_id) {
  if (person == nullptr) return {};
  return authorize(audit_, *person, Permission::kReadBreaches, std::nullopt,
                   breach_event("breach_register_read", object_id));
}

Result<std::vector<Breach>> BreachService::list(const Principal* person) {
  YW_TRY(authorize_reading(person, ""));
  std::lock_guard lock(catalog_.mutex());
  YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(catalog_.database()));
  YW_ASSIGN_OR_RETURN(auto entries, query(std::nullopt, false));
  AuditEvent event = breach_event("breach_register_read", "");
  event.details = json{{"entries", entries.size()}}.dump();
  YW_TRY(audit_.append(person ? person->actor() : Actor::console(), event));
  YW_TRY(transaction.commit());
  return entries;
}

Result<Breach> BreachService::get(const Principal* person, int64_t id) {
  YW_TRY(authorize_reading(person, std::to_string(id)));
  std::lock_guard lock(catalog_.mutex());
  YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(catalog_.database()));
  YW_ASSIGN_OR_RETURN(auto entries, query(id, false));
  if (entries.empty()) {
    return make_error(ErrorKind::kNotFound, "no breach register entry " + std::to_string(id));
  }
  YW_TRY(audit_.append(person ? person->actor() : Actor::console(),
                       breach_event("breach_register_read", std::to_string(id))));
  YW_TRY(transaction.commit());
  return entries.front();
}

Result<std::vector<Breach>> BreachService::undecided() { return query(std::nullopt, true); }

Result<Breach> BreachService::register_manual(const Principal& by, const ManualBreach& breach) {
  AuditEvent event = breach_event("breach_register", "");
  YW_TRY(authorize(audit_, by, Permission::kManageBreaches, std::nullopt, event));
  const int64_t now = clock_.now_utc_us();
  auto refuse = [&](const std::string& why) -> Error {
    return deny(audit_, by, event, make_error(ErrorKind::kInvalidArgument, why));
  };
  if (auto problem = text_problem("the description", breach.description, kMinBreachTextLength)) {
    return refuse(*problem);
  }
  if (!breach.assessment.empty()) {
    if (auto problem = text_problem("the assessment", breach.assessment, 1))
      return refuse(*problem);
  }
  if (!valid_personal_data_answer(breach.personal_data)) {
    return refuse("whether personal data was affected is yes, no or unknown");
  }
  if (!valid_encryption_answer(breach.encrypted_inaccessible)) {
    return refuse(
        "whether the data was encrypted and inaccessible is yes, partly, no, not_applicable or "
        "unknown");
  }
  if (breach.detected_utc_us <= 0 || breach.detected_utc_us > now) {
    return refuse("the detection time must be a time in the past");
  }
  std::lock_guard lock(catalog_.mutex());
  auto& db = catalog_.database();
  YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(db));
  YW_ASSIGN_OR_RETURN(
      auto insert,
      db.prepare("INSERT INTO breaches(source, kind, detected_utc_us, description, personal_data, "
                 "encrypted_inaccessible, assessment, deadline_utc_us, registered_utc_us, "
                 "registered_by) VALUES ('manual', 'manual', ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
  insert.bind(1, breach.detected_utc_us).bind(2, breach.description);
  insert.bind(3, breach.personal_data).bind(4, breach.encrypted_inaccessible);
  insert.bind(5, breach.assessment).bind(6, breach.detected_utc_us + kBreachReportTermUs);
  insert.bind(7, now).bind(8, by.name);
  YW_TRY(insert.run());
  const int64_t id = db.last_insert_rowid();
  event.object_id = std::to_string(id);
  event.details =
      json{{"detected", hal::format_iso8601_utc(breach.detected_utc_us)},
           {"personal_data", breach.personal_data},
           {"encrypted_inaccessible", breach.encrypted_inaccessible},
           {"deadline", hal::format_iso8601_utc(breach.detected_utc_us + kBreachReportTermUs)}}
          .dump();
  YW_ASSIGN_OR_RETURN(int64_t seq, audit_.append(by.actor(), event));
  YW_ASSIGN_OR_RETURN(auto mark, db.prepare("UPDATE breaches SET audit_seq = ?1 WHERE id = ?2"));
  YW_TRY(mark.bind(1, seq).bind(2, id).run());
  YW_TRY(transaction.commit());
  YW_ASSIGN_OR_RETURN(auto entries, query(id, false));
  return entries.front();
}

Result<Breach> BreachService::decide(const Principal& by, int64_t id,
                                     const BreachDecision& decision) {
  AuditEvent event = breach_event("breach_decide", std::to_string(id));
  YW_TRY(authorize(audit_, by, Permission::kManageBreaches, std::nullopt, event));
  auto refuse = [&](ErrorKind kind, const std::string& why) -> Error {
    event.allowed = false;
    event.reason = why;
    (void)audit_.append(by.actor(), event);
    return make_error(kind, why);
  };
  if (decision.decision != "report" && decision.decision != "not_report") {
    return refuse(ErrorKind::kInvalidArgument, "the decision is report or not_report");
  }
  if (auto problem = text_problem("the reasoning", decision.reasoning, kMinBreachTextLength)) {
    return refuse(ErrorKind::kInvalidArgument, *problem);
  }
  if (decision.personal_data && !valid_personal_data_answer(*decision.personal_data)) {
    return refuse(ErrorKind::kInvalidArgument,
                  "whether personal data was affected is yes, no or unknown");
  }
  if (!decision.report_reference.empty()) {
    if (auto problem = text_problem("the report reference", decision.report_reference, 1)) {
      return refuse(ErrorKind::kInvalidArgument, *problem);
    }
  }
  std::lock_guard lock(catalog_.mutex());
  auto& db = catalog_.database();
  // Entries are never deleted (a trigger), so one found here is still there in the transaction.
  YW_ASSIGN_OR_RETURN(auto entries, query(id, false));
  if (entries.empty()) {
    return refuse(ErrorKind::kNotFound, "no breach register entry " + std::to_string(id));
  }
  YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(db));
  const Breach before = entries.front();
  const int64_t now = clock_.now_utc_us();
  YW_ASSIGN_OR_RETURN(
      auto update,
      db.prepare("UPDATE breaches SET decision = ?1, reasoning = ?2, report_reference = ?3, "
                 "personal_data = ?4, decided_by = ?5, decided_by_id = ?6, decided_utc_us = ?7 "
                 "WHERE id = ?8"));
  update.bind(1, decision.decision).bind(2, decision.reasoning);
  update.bind(3, decision.report_reference);
  update.bind(4, decision.personal_data.value_or(before.personal_data));
  update.bind(5, by.name).bind(6, by.account_id).bind(7, now).bind(8, id);
  YW_TRY(update.run());
  // An event alarm is settled by the decision; the next lock-out is a new incident.
  if (before.alarm_id) {
    YW_ASSIGN_OR_RETURN(
        auto settle,
        db.prepare("UPDATE alarms SET cleared_utc_us = ?1 WHERE id = ?2 AND cleared_utc_us IS "
                   "NULL AND kind IN (SELECT kind FROM breach_alarm_kinds WHERE "
                   "clears_on_decision = 1)"));
    YW_TRY(settle.bind(1, now).bind(2, *before.alarm_id).run());
  }
  json details{{"decision", decision.decision},
               {"reasoning", decision.reasoning},
               {"personal_data", decision.personal_data.value_or(before.personal_data)},
               {"encrypted_inaccessible", before.encrypted_inaccessible},
               {"deadline", hal::format_iso8601_utc(before.deadline_utc_us)},
               {"within_deadline", now <= before.deadline_utc_us}};
  if (before.decision) details["previous_decision"] = *before.decision;
  if (!decision.report_reference.empty()) details["report_reference"] = decision.report_reference;
  event.details = details.dump();
  YW_TRY(audit_.append(by.actor(), event));
  YW_TRY(transaction.commit());
  YW_ASSIGN_OR_RETURN(entries, query(id, false));
  return entries.front();
}

Result<int> BreachService::audit_new_entries() {
  std::lock_guard lock(catalog_.mutex());
  auto& db = catalog_.database();
  YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(db));
  YW_ASSIGN_OR_RETURN(auto pending,
                      db.prepare("SELECT id, kind, detected_utc_us, deadline_utc_us, "
                                 "personal_data, encrypted_inaccessible FROM breaches WHERE "
                                 "audit_seq IS NULL ORDER BY id"));
  struct Pending {
    int64_t id;
    AuditEvent event;
  };
  std::vector<Pending> entries;
  while (true) {
    YW_ASSIGN_OR_RETURN(bool has_row, pending.step());
    if (!has_row) break;
    AuditEvent event = breach_event("breach_registered", std::to_string(pending.column_int(0)));
    event.reason = "registered by the appliance from alarm " + pending.column_text(1);
    event.details = json{{"kind", pending.column_text(1)},
                         {"detected", hal::format_iso8601_utc(pending.column_int(2))},
                         {"deadline", hal::format_iso8601_utc(pending.column_int(3))},
                         {"personal_data", pending.column_text(4)},
                         {"encrypted_inaccessible", pending.column_text(5)}}
                        .dump();
    entries.push_back({pending.column_int(0), std::move(event)});
  }
  YW_ASSIGN_OR_RETURN(auto mark, db.prepare("UPDATE breaches SET audit_seq = ?1 WHERE id = ?2"));
  for (const auto& entry : entries) {
    YW_ASSIGN_OR_RETURN(int64_t seq, audit_.append(Actor::system(), entry.event));
    mark.reset();
    YW_TRY(mark.bind(1, seq).bind(2, entry.id).run());
  }
  YW_TRY(transaction.commit());
  return static_cast<int>(entries.size());
}

Result<std::vector<BreachAlarmKind>> BreachService::alarm_kinds() {
  std::lock_guard lock(catalog_.mutex());
  YW_ASSIGN_OR_RETURN(auto rows, catalog_.database().prepare(
                                     "SELECT kind, title, personal_data, encrypted_inaccessible, "
                                     "assessment, clears_on_decision FROM breach_alarm_kinds "
                                     "ORDER BY kind"));
  std::vector<BreachAlarmKind> kinds;
  while (true) {
    YW_ASSIGN_OR_RETURN(bool has_row, rows.step());
    if (!has_row) break;
    kinds.push_back({rows.column_text(0), rows.column_text(1), rows.column_text(2),
                     rows.column_text(3), rows.column_text(4), rows.column_int(5) != 0});
  }
  return kinds;
}

Status check_login_burst(recorder::Catalog& catalog, int64_t now_utc_us) {
  std::lock_guard lock(catalog.mutex());
  YW_ASSIGN_OR_RETURN(
      auto count,
      catalog.database().prepare("SELECT count(*), count(DISTINCT client_address), "
                                 "count(DISTINCT actor_name) FROM audit WHERE action = 'login' AND "
                                 "outcome = 'denied' AND time_utc_us >= ?1"));
  count.bind(1, now_utc_us - kLoginBurstWindowUs);
  YW_ASSIGN_OR_RETURN(bool has_row, count.step());
  if (!has_row || count.column_int(0) < kLoginBurstFailures) return {};
  return catalog.raise_alarm("login_burst", std::nullopt,
                             std::to_string(count.column_int(0)) + " failed sign-ins in 10 min (" +
                                 std::to_string(count.column_int(2)) + " account names, " +
                                 std::to_string(count.column_int(1)) + " client addresses)",
                             now_utc_us);
}

}  // namespace yardwatch::firmware
