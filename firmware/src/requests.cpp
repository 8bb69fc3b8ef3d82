#include "yardwatch/firmware/requests.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "register_checks.h"
#include "yardwatch/recorder/sqlite.h"

// Design: firmware/design/requests.md.

namespace yardwatch::firmware {

namespace {

using nlohmann::json;
using recorder::sql::Transaction;

constexpr const char* kRequestColumns =
    "id, reference, kind, requester_name, requester_contact, description, received_utc_us, "
    "deadline_utc_us, extended_utc_us, extension_reason, extended_by, outcome, closing_note, "
    "closed_utc_us, closed_by, registered_by, registered_utc_us, minimised_utc_us";

bool has_control_characters(const std::string& text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7F;
  });
}

bool blank(const std::string& text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c == ' '; });
}

// Why a text field is unusable, or nullopt.
std::optional<std::string> text_problem(const std::string& what, const std::string& value,
                                        size_t min_length, size_t max_length) {
  if (value.size() < min_length || (min_length > 0 && blank(value))) {
    return "give " + what;
  }
  if (value.size() > max_length) {
    return what + " is longer than " + std::to_string(max_length) + " bytes";
  }
  if (!valid_utf8(value)) return what + " is not valid UTF-8 text";
  if (has_control_characters(value)) return what + " must be one line without control characters";
  return std::nullopt;
}

SubjectRequest read_request(const recorder::sql::Statement& row) {
  SubjectRequest r;
  r.id = row.column_int(0);
  r.reference = row.column_text(1);
  r.kind = parse_request_kind(row.column_text(2)).value_or(RequestKind::kAccess);
  r.requester_name = row.column_text(3);
  r.requester_contact = row.column_text(4);
  r.description = row.column_text(5);
  r.received_utc_us = row.column_int(6);
  r.deadline_utc_us = row.column_int(7);
  if (!row.column_is_null(8)) r.extended_utc_us = row.column_int(8);
  r.extension_reason = row.column_text(9);
  r.extended_by = row.column_text(10);
  if (!row.column_is_null(11)) r.outcome = parse_request_outcome(row.column_text(11));
  r.closing_note = row.column_text(12);
  if (!row.column_is_null(13)) r.closed_utc_us = row.column_int(13);
  r.closed_by = row.column_text(14);
  r.registered_by = row.column_text(15);
  r.registered_utc_us = row.column_int(16);
  if (!row.column_is_null(17)) r.minimised_utc_us = row.column_int(17);
  return r;
}

AuditEvent request_event(const std::string& action, const std::string& reference) {
  AuditEvent event;
  event.action = action;
  event.object_type = "request";
  event.object_id = reference;
  event.purpose = reference;
  return event;
}

// A field as it may go into the audit journal even when it was refused for being malformed.
std::string printable(const std::string& text) {
  std::string out = text.substr(0, kMaxRequestReferenceLength);
  if (!valid_utf8(out)) out = "(not UTF-8)";
  std::replace_if(
      out.begin(), out.end(), [](char c) { return c >= 0 && c < 0x20; }, ' ');
  return out;
}

std::string iso(int64_t utc_us) { return hal::format_iso8601_utc(utc_us); }

// Which kinds of request an action may answer.
bool action_fits(RequestActionKind action, RequestKind kind) {
  switch (action) {
    case RequestActionKind::kSubjectExport:
      return kind == RequestKind::kAccess;
    case RequestActionKind::kErasure:
      return kind == RequestKind::kErasure || kind == RequestKind::kObjection;
    case RequestActionKind::kRestriction:
      return kind == RequestKind::kRestriction || kind == RequestKind::kObjection ||
             kind == RequestKind::kErasure;
    case RequestActionKind::kRestrictionLifted:
    case RequestActionKind::kHold:
      return true;
  }
  return false;
}

std::string fitting_kinds(RequestActionKind action) {
  switch (action) {
    case RequestActionKind::kSubjectExport:
      return "an access request";
    case RequestActionKind::kErasure:
      return "an erasure request or an objection";
    case RequestActionKind::kRestriction:
      return "a restriction request, an objection or an erasure request";
    case RequestActionKind::kRestrictionLifted:
    case RequestActionKind::kHold:
      return "any request";
  }
  return "any request";
}

}  // namespace

std::string_view request_kind_name(RequestKind kind) {
  switch (kind) {
    case RequestKind::kAccess:
      return "access";
    case RequestKind::kObjection:
      return "objection";
    case RequestKind::kErasure:
      return "erasure";
    case RequestKind::kRestriction:
      return "restriction";
  }
  return "access";
}

std::optional<RequestKind> parse_request_kind(std::string_view name) {
  if (name == "access" || name == "inzage") return RequestKind::kAccess;
  if (name == "objection" || name == "bezwaar") return RequestKind::kObjection;
  if (name == "erasure" || name == "verwijdering") return RequestKind::kErasure;
  if (name == "restriction" || name == "beperking") return RequestKind::kRestriction;
  return std::nullopt;
}

std::string_view request_outcome_name(RequestOutcome outcome) {
  switch (outcome) {
    case RequestOutcome::kGranted:
      return "granted";
    case RequestOutcome::kPartiallyGranted:
      return "partially_granted";
    case RequestOutcome::kRefused:
      return "refused";
    case RequestOutcome::kWithdrawn:
      return "withdrawn";
  }
  return "granted";
}

std::optional<RequestOutcome> parse_request_outcome(std::string_view name) {
  for (RequestOutcome outcome : {RequestOutcome::kGranted, RequestOutcome::kPartiallyGranted,
                                 RequestOutcome::kRefused, RequestOutcome::kWithdrawn}) {
    if (request_outcome_name(outcome) == name) return outcome;
  }
  return std::nullopt;
}

std::string_view request_action_name(RequestActionKind kind) {
  switch (kind) {
    case RequestActionKind::kErasure:
      return "erasure";
    case RequestActionKind::kRestriction:
      return "restriction";
    case RequestActionKind::kRestrictionLifted:
      return "restriction_lifted";
    case RequestActionKind::kSubjectExport:
      return "subject_export";
    case RequestActionKind::kHold:
      return "hold";
  }
  return "erasure";
}

std::optional<RequestActionKind> parse_request_action(std::string_view name) {
  for (RequestActionKind kind : {RequestActionKind::kErasure, RequestActionKind::kRestriction,
                                 RequestActionKind::kRestrictionLifted,
                                 RequestActionKind::kSubjectExport, RequestActionKind::kHold}) {
    if (request_action_name(kind) == name) return kind;
  }
  return std::nullopt;
}

Result<int64_t> request_for_action(recorder::Catalog& catalog, const std::string& reference,
                                   RequestActionKind action) {
  std::lock_guard lock(catalog.mutex());
  YW_ASSIGN_OR_RETURN(
      auto query, catalog.database().prepare(
                      "SELECT id, kind, closed_utc_us FROM subject_requests WHERE reference = ?1"));
  query.bind(1, reference);
  YW_ASSIGN_OR_RETURN(bool found, query.step());
  if (!found) {
    return make_error(ErrorKind::kFailedPrecondition,
                      "request " + printable(reference) +
                          " is not in the register: register the data subject's request first "
                          "(yardwatch requests add) and act under its reference");
  }
  const int64_t id = query.column_int(0);
  const auto kind = parse_request_kind(query.column_text(1)).value_or(RequestKind::kAccess);
  const bool closed = !query.column_is_null(2);
  if (closed && action != RequestActionKind::kRestrictionLifted) {
    return make_error(ErrorKind::kFailedPrecondition,
                      "request " + reference + " is closed; register a new request for this");
  }
  if (!action_fits(action, kind)) {
    return make_error(ErrorKind::kFailedPrecondition,
                      "request " + reference + " is " + std::string(request_kind_name(kind)) +
                          " request; " + std::string(request_action_name(action)) + " answers " +
                          fitting_kinds(action));
  }
  return id;
}

Status record_request_action(recorder::Catalog& catalog, int64_t request_id, RequestActionKind kind,
                             const std::string& object_id, const std::string& summary,
                             const Principal& by, int64_t now_utc_us) {
  std::lock_guard lock(catalog.mutex());
  YW_ASSIGN_OR_RETURN(auto insert,
                      catalog.database().prepare(
                          "INSERT INTO subject_request_actions(request_id, kind, object_id, "
                          "summary, linked_by, linked_utc_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
  insert.bind(1, request_id).bind(2, request_action_name(kind)).bind(3, object_id);
  insert.bind(4, summary).bind(5, by.name).bind(6, now_utc_us);
  return insert.run();
}

RequestService::RequestService(recorder::Catalog& catalog, const hal::Clock& clock,
                               AuditJournal& audit)
    : catalog_(catalog), clock_(clock), audit_(audit) {}

void RequestService::annotate(SubjectRequest& request) const {
  if (!request.open()) return;
  const int64_t now = clock_.now_utc_us();
  request.overdue = now > request.deadline_utc_us;
  request.due_soon = !request.overdue && request.deadline_utc_us - now <= kRequestDueSoonUs;
}

Result<std::optional<SubjectRequest>> RequestService::load(int64_t id) {
  std::lock_guard lock(catalog_.mutex());
  auto& db = catalog_.database();
  YW_ASSIGN_OR_RETURN(auto query, db.prepare(std::string("SELECT ") + kRequestColumns +
                                             " FROM subject_requests WHERE id = ?1"));
  query.bind(1, id);
  YW_ASSIGN_OR_RETURN(bool found, query.step());
  if (!found) return std::optional<SubjectRequest>();
  SubjectRequest request = read_request(query);
  YW_ASSIGN_OR_RETURN(auto footage,
                      db.prepare("SELECT f.camera_id, c.name, f.from_utc_us, f.to_utc_us FROM "
                                 "subject_request_footage f JOIN cameras c ON c.id = f.camera_id "
                                 "WHERE f.request_id = ?1 ORDER BY f.rowid"));
  footage.bind(1, id);
  while (true) {
    YW_ASSIGN_OR_RETURN(bool has_row, footage.step());
    if (!has_row) break;
    request.footage.push_back({footage.column_int(0), footage.column_text(1), footage.column_int(2),
                               footage.column_int(3)});
  }
  YW_ASSIGN_OR_RETURN(auto actions,
                      db.prepare("SELECT id, kind, object_id, summary, linked_by, linked_utc_us "
                                 "FROM subject_request_actions WHERE request_id = ?1 ORDER BY id"));
  actions.bind(1, id);
  while (true) {
    YW_ASSIGN_OR_RETURN(bool has_row, actions.step());
    if (!has_row) break;
    RequestAction action;
    action.id = actions.column_int(0);
    action.kind =
        parse_request_action(actions.column_text(1)).value_or(RequestActionKind::kErasure);
    action.object_id = actions.column_text(2);
    action.summary = actions.column_text(3);
    action.linked_by = actions.column_text(4);
    action.linked_utc_us = actions.column_int(5);
    request.actions.push_back(std::move(action));
  }
  annotate(request);
  return std::optional<SubjectRequest>(std::move(request));
}

Result<std::optional<int64_t>> RequestService::id_of(const std::string& reference) {
  std::lock_guard lock(catalog_.mutex());
  YW_ASSIGN_OR_RETURN(auto query, catalog_.database().prepare(
                                      "SELECT id FROM subject_requests WHERE reference = ?1"));
  query.bind(1, reference);
  YW_ASSIGN_OR_RETURN(bool found, query.step());
  if (!found) return std::optional<int64_t>();
  return std::optional<int64_t>(query.column_int(0));
}

Result<SubjectRequest> RequestService::add(const Principal& by, const NewSubjectRequest& request) {
  AuditEvent event = request_event("request_register", printable(request.reference));
  event.details = json{{"kind", std::string(request_kind_name(request.kind))}}.dump();
  YW_TRY(authorize(audit_, by, Permission::kManageSubjectRequests, std::nullopt, event));
  const int64_t now = clock_.now_utc_us();
  auto refuse = [&](ErrorKind kind, const std::string& why) {
    return deny(audit_, by, event, make_error(kind, why));
  };
  if (auto problem = text_problem("the request's reference (--reference)", request.reference, 1,
                                  kMaxRequestReferenceLength)) {
    return refuse(ErrorKind::kInvalidArgument, *problem);
  }
  if (auto problem = text_problem("the requester's name (--name)", request.requester_name, 1,
                                  kMaxRequesterTextLength)) {
    return refuse(ErrorKind::kInvalidArgument, *problem);
  }
  if (auto problem = text_problem("the requester's contact (--contact)", request.requester_contact,
                                  0, kMaxRequesterTextLength)) {
    return refuse(ErrorKind::kInvalidArgument, *problem);
  }
  if (auto problem = text_problem("the description (--description)", request.description, 0,
                                  kMaxRequestNoteLength)) {
    return refuse(ErrorKind::kInvalidArgument, *problem);
  }
  if (request.received_utc_us > now) {
    return refuse(ErrorKind::kInvalidArgument,
                  "the request cannot have been received in the future (" +
                      iso(request.received_utc_us) + ")");
  }
  if (now - request.received_utc_us > kClosedRequestRetentionUs) {
    return refuse(ErrorKind::kInvalidArgument, "the received date is more than 2 years ago (" +
                                                   iso(request.received_utc_us) +
                                                   "); check the date");
  }
  if (request.footage.size() > 64) {
    return refuse(ErrorKind::kInvalidArgument, "at most 64 camera ranges per request");
  }
  std::vector<FootageConcerned> footage;
  for (const auto& spec : request.footage) {
    auto camera = catalog_.camera_by_name(spec.camera);
    if (!camera.ok()) return refuse(camera.error().kind, camera.error().message);
    if (spec.to_utc_us <= spec.from_utc_us) {
      return refuse(ErrorKind::kInvalidArgument,
                    "the range of camera " + spec.camera + " must end after it starts");
    }
    footage.push_back({camera.value().id, spec.camera, spec.from_utc_us, spec.to_utc_us});
  }
  const int64_t deadline = request.received_utc_us + kRequestTermUs;
  std::lock_guard lock(catalog_.mutex());
  auto& db = catalog_.database();
  YW_ASSIGN_OR_RETURN(auto existing, id_of(request.reference));
  if (existing) {
    return refuse(ErrorKind::kAlreadyExists,
                  "request " + request.reference + " is already in the register");
  }
  int64_t id = 0;
  {
    YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(db));
    YW_ASSIGN_OR_RETURN(
        auto insert,
        db.prepare("INSERT INTO subject_requests(reference, kind, requester_name, "
                   "requester_contact, description, received_utc_us, deadline_utc_us, "
                   "registered_by_id, registered_by, registered_utc_us) VALUES (?1, ?2, ?3, ?4, "
                   "?5, ?6, ?7, ?8, ?9, ?10)"));
    insert.bind(1, request.reference).bind(2, request_kind_name(request.kind));
    insert.bind(3, request.requester_name).bind(4, request.requester_contact);
    insert.bind(5, request.description).bind(6, request.received_utc_us).bind(7, deadline);
    insert.bind(8, by.account_id).bind(9, by.name).bind(10, now);
    YW_TRY(insert.run());
    id = db.last_insert_rowid();
    YW_ASSIGN_OR_RETURN(auto add_footage,
                        db.prepare("INSERT INTO subject_request_footage(request_id, camera_id, "
                                   "from_utc_us, to_utc_us) VALUES (?1, ?2, ?3, ?4)"));
    json ranges = json::array();
    for (const auto& f : footage) {
      add_footage.reset();
      add_footage.bind(1, id).bind(2, f.camera_id).bind(3, f.from_utc_us).bind(4, f.to_utc_us);
      YW_TRY(add_footage.run());
      ranges.push_back(
          json{{"camera", f.camera}, {"from", iso(f.from_utc_us)}, {"to", iso(f.to_utc_us)}});
    }
    AuditEvent done = event;
    // The reference, kind, dates and footage; never who asked (firmware/design/requests.md).
    done.details = json{
        {"kind", std::string(request_kind_name(request.kind))},
        {"received", iso(request.received_utc_us)},
        {"deadline", iso(deadline)},
        {"footage",
         ranges}}.dump();
    YW_TRY(audit_.append(by.actor(), done));
    YW_TRY(transaction.commit());
  }
  YW_ASSIGN_OR_RETURN(auto loaded, load(id));
  if (!loaded) return make_error(ErrorKind::kInternal, "the request vanished after registering");
  return std::move(*loaded);
}

Result<SubjectRequest> RequestService::extend(const Principal& by, const std::string& reference,
                                              int64_t deadline_utc_us, const std::string& reason) {
  AuditEvent event = request_event("request_extend", printable(reference));
  YW_TRY(authorize(audit_, by, Permission::kManageSubjectRequests, std::nullopt, event));
  auto refuse = [&](ErrorKind kind, const std::string& why) {
    return deny(audit_, by, event, make_error(kind, why));
  };
  std::lock_guard lock(catalog_.mutex());
  YW_ASSIGN_OR_RETURN(auto id, id_of(reference));
  if (!id)
    return refuse(ErrorKind::kNotFound, "no request " + printable(reference) + " in the register");
  YW_ASSIGN_OR_RETURN(auto current, load(*id));
  if (!current) return refuse(ErrorKind::kNotFound, "no request " + reference);
  const int64_t now = clock_.now_utc_us();
  const int64_t latest = current->received_utc_us + kRequestMaxTermUs;
  if (!current->open())
    return refuse(ErrorKind::kFailedPrecondition, "request " + reference + " is closed");
  if (current->extended_utc_us) {
    return refuse(ErrorKind::kFailedPrecondition,
                  "request " + reference + " was already extended once (on " +
                      iso(*current->extended_utc_us) + ", to " + iso(current->deadline_utc_us) +
                      "); a deadline can be extended only once");
  }
  if (now > current->deadline_utc_us) {
    return refuse(ErrorKind::kFailedPrecondition,
                  "the deadline of request " + reference + " passed on " +
                      iso(current->deadline_utc_us) +
                      "; an extension must be decided (and told to the requester) within the "
                      "first 4 weeks");
  }
  if (deadline_utc_us <= current->deadline_utc_us) {
    return refuse(ErrorKind::kInvalidArgument, "the new deadline must be after the current one (" +
                                                   iso(current->deadline_utc_us) + ")");
  }
  if (deadline_utc_us > latest) {
    return refuse(ErrorKind::kInvalidArgument,
                  "refused: a request must be answered within 12 weeks of receipt, by " +
                      iso(latest) + " at the latest (asked: " + iso(deadline_utc_us) + ")");
  }
  if (auto problem = text_problem("the reason for the extension (--reason)", reason,
                                  kMinExtensionReasonLength, kMaxRequestNoteLength)) {
    return refuse(ErrorKind::kInvalidArgument, *problem);
  }
  auto& db = catalog_.database();
  YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(db));
  YW_ASSIGN_OR_RETURN(
      auto update,
      db.prepare("UPDATE subject_requests SET deadline_utc_us = ?1, extended_utc_us = ?2, "
                 "extension_reason = ?3, extended_by = ?4 WHERE id = ?5 AND extended_utc_us IS "
                 "NULL AND closed_utc_us IS NULL"));
  YW_TRY(update.bind(1, deadline_utc_us)
             .bind(2, now)
             .bind(3, reason)
             .bind(4, by.name)
             .bind(5, *id)
             .run());
  AuditEvent done = event;
  done.reason = reason;
  done.details =
      json{{"previous_deadline", iso(current->deadline_utc_us)}, {"deadline", iso(deadline_utc_us)}}
          .dump();
  YW_TRY(audit_.append(by.actor(), done));
  YW_TRY(transaction.commit());
  YW_ASSIGN_OR_RETURN(auto loaded, load(*id));
  return std::move(*loaded);
}

Result<SubjectRequest> RequestService::close(const Principal& by, const std::string& reference,
                                             RequestOutcome outcome, const std::string& note) {
  AuditEvent event = request_event("request_close", printable(reference));
  YW_TRY(authorize(audit_, by, Permission::kManageSubjectRequests, std::nullopt, event));
  auto refuse = [&](ErrorKind kind, const std::string& why) {
    return deny(audit_, by, event, make_error(kind, why));
  };
  if (auto problem = text_problem("the closing note (--note)", note, 0, kMaxRequestNoteLength)) {
    return refuse(ErrorKind::kInvalidArgument, *problem);
  }
  std::lock_guard lock(catalog_.mutex());
  YW_ASSIGN_OR_RETURN(auto id, id_of(reference));
  if (!id)
    return refuse(ErrorKind::kNotFound, "no request " + printable(reference) + " in the register");
  YW_ASSIGN_OR_RETURN(auto current, load(*id));
  if (!current || !current->open()) {
    return refuse(ErrorKind::kFailedPrecondition, "request " + reference + " is already closed");
  }
  const int64_t now = clock_.now_utc_us();
  auto& db = catalog_.database();
  YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(db));
  // Minimal storage: what the register needs stays (reference, kind, footage, dates, outcome,
  // actions); who asked and how to reach them go now.
  YW_ASSIGN_OR_RETURN(
      auto update,
      db.prepare("UPDATE subject_requests SET outcome = ?1, closing_note = ?2, closed_utc_us = ?3, "
                 "closed_by = ?4, requester_name = '', requester_contact = '', description = '', "
                 "minimised_utc_us = ?3 WHERE id = ?5 AND closed_utc_us IS NULL"));
  YW_TRY(update.bind(1, request_outcome_name(outcome))
             .bind(2, note)
             .bind(3, now)
             .bind(4, by.name)
             .bind(5, *id)
             .run());
  AuditEvent done = event;
  done.details = json{{"outcome", std::string(request_outcome_name(outcome))},
                      {"deadline", iso(current->deadline_utc_us)},
                      {"late", now > current->deadline_utc_us},
                      {"actions", current->actions.size()}}
                     .dump();
  YW_TRY(audit_.append(by.actor(), done));
  YW_TRY(transaction.commit());
  YW_ASSIGN_OR_RETURN(auto loaded, load(*id));
  return std::move(*loaded);
}

Result<SubjectRequest> RequestService::link(const Principal& by, const std::string& reference,
                                            RequestActionKind kind, int64_t object_id) {
  AuditEvent event = request_event("request_link", printable(reference));
  event.details =
      json{{"kind", std::string(request_action_name(kind))}, {"object", object_id}}.dump();
  YW_TRY(authorize(audit_, by, Permission::kManageSubjectRequests, std::nullopt, event));
  auto refuse = [&](ErrorKind error_kind, const std::string& why) {
    return deny(audit_, by, event, make_error(error_kind, why));
  };
  if (kind != RequestActionKind::kHold && kind != RequestActionKind::kRestriction) {
    return refuse(ErrorKind::kInvalidArgument,
                  "only a hold or a restriction can be linked by hand; erasures, restrictions and "
                  "subject exports done under the request's reference link themselves");
  }
  std::lock_guard lock(catalog_.mutex());
  auto& db = catalog_.database();
  std::string summary;
  {
    YW_ASSIGN_OR_RETURN(
        auto query,
        db.prepare(
            kind == RequestActionKind::kHold
                ? "SELECT h.from_utc_us, h.to_utc_us, h.case_reference, h.state FROM holds h "
                  "WHERE h.id = ?1"
                : "SELECT r.from_utc_us, r.to_utc_us, c.name, CASE WHEN r.lifted_utc_us IS "
                  "NULL THEN 'in force' ELSE 'lifted' END FROM restrictions r JOIN cameras "
                  "c ON c.id = r.camera_id WHERE r.id = ?1"));
    query.bind(1, object_id);
    YW_ASSIGN_OR_RETURN(bool found, query.step());
    if (!found) {
      return refuse(ErrorKind::kNotFound, "no " + std::string(request_action_name(kind)) +
                                              " with id " + std::to_string(object_id));
    }
    summary = (kind == RequestActionKind::kHold ? "hold, case " : "restriction, camera ") +
              query.column_text(2) + ", " + iso(query.column_int(0)) + " – " +
              iso(query.column_int(1)) + " (" + query.column_text(3) + ")";
  }
  YW_ASSIGN_OR_RETURN(auto id, id_of(reference));
  if (!id)
    return refuse(ErrorKind::kNotFound, "no request " + printable(reference) + " in the register");
  YW_ASSIGN_OR_RETURN(auto current, load(*id));
  if (!current || !current->open()) {
    return refuse(ErrorKind::kFailedPrecondition, "request " + reference + " is closed");
  }
  for (const auto& action : current->actions) {
    if (action.kind == kind && action.object_id == std::to_string(object_id)) {
      return refuse(ErrorKind::kAlreadyExists, "already linked to request " + reference);
    }
  }
  const int64_t now = clock_.now_utc_us();
  YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(db));
  YW_TRY(record_request_action(catalog_, *id, kind, std::to_string(object_id), summary, by, now));
  YW_TRY(audit_.append(by.actor(), event));
  YW_TRY(transaction.commit());
  YW_ASSIGN_OR_RETURN(auto loaded, load(*id));
  return std::move(*loaded);
}

Result<std::vector<SubjectRequest>> RequestService::list(const Principal& by,
                                                         const RequestFilter& filter) {
  AuditEvent event = request_event("request_read", "");
  event.details =
      json{{"include_closed", filter.include_closed}, {"due_only", filter.due_only}}.dump();
  YW_TRY(authorize(audit_, by, Permission::kReadSubjectRequests, std::nullopt, event));
  std::vector<int64_t> ids;
  {
    std::lock_guard lock(catalog_.mutex());
    auto& db = catalog_.database();
    YW_ASSIGN_OR_RETURN(auto open, db.prepare("SELECT id FROM subject_requests WHERE closed_utc_us "
                                              "IS NULL ORDER BY deadline_utc_us, id"));
    while (true) {
      YW_ASSIGN_OR_RETURN(bool has_row, open.step());
      if (!has_row) break;
      ids.push_back(open.column_int(0));
    }
    if (filter.include_closed && !filter.due_only) {
      YW_ASSIGN_OR_RETURN(auto closed, db.prepare("SELECT id FROM subject_requests WHERE "
                                                  "closed_utc_us IS NOT NULL ORDER BY "
                                                  "closed_utc_us DESC, id DESC"));
      while (true) {
        YW_ASSIGN_OR_RETURN(bool has_row, closed.step());
        if (!has_row) break;
        ids.push_back(closed.column_int(0));
      }
    }
    YW_TRY(audit_.append(by.actor(), event));
  }
  const int64_t now = clock_.now_utc_us();
  std::vector<SubjectRequest> requests;
  for (int64_t id : ids) {
    YW_ASSIGN_OR_RETURN(auto request, load(id));
    if (!request) continue;
    if (filter.due_only && request->deadline_utc_us - now > filter.due_within_us) continue;
    requests.push_back(std::move(*request));
  }
  return requests;
}

Result<SubjectRequest> RequestService::get(const Principal& by, const std::string& reference) {
  AuditEvent event = request_event("request_read", printable(reference));
  YW_TRY(authorize(audit_, by, Permission::kReadSubjectRequests, std::nullopt, event));
  YW_ASSIGN_OR_RETURN(auto id, id_of(reference));
  if (!id)
    return deny(audit_, by, event,
                make_error(ErrorKind::kNotFound,
                           "no request " + printable(reference) + " in the register"));
  YW_ASSIGN_OR_RETURN(auto request, load(*id));
  if (!request) return make_error(ErrorKind::kNotFound, "no request " + reference);
  YW_TRY(audit_.append(by.actor(), event));
  return std::move(*request);
}

Result<SubjectRequest> RequestService::get(const Principal& by, int64_t id) {
  AuditEvent event = request_event("request_read", "");
  YW_TRY(authorize(audit_, by, Permission::kReadSubjectRequests, std::nullopt, event));
  YW_ASSIGN_OR_RETURN(auto request, load(id));
  if (!request) {
    return deny(audit_, by, event,
                make_error(ErrorKind::kNotFound, "no request with id " + std::to_string(id)));
  }
  event.object_id = request->reference;
  event.purpose = request->reference;
  YW_TRY(audit_.append(by.actor(), event));
  return std::move(*request);
}

Result<std::vector<SubjectRequest>> RequestService::due_visible_to(const Principal& by) {
  std::vector<SubjectRequest> due;
  if (!role_allows(by.role, Permission::kReadSubjectRequests)) return due;
  std::vector<int64_t> ids;
  {
    std::lock_guard lock(catalog_.mutex());
    YW_ASSIGN_OR_RETURN(
        auto query,
        catalog_.database().prepare("SELECT id FROM subject_requests WHERE closed_utc_us IS "
                                    "NULL AND deadline_utc_us <= ?1 ORDER BY deadline_utc_us, id"));
    query.bind(1, clock_.now_utc_us() + kRequestDueSoonUs);
    while (true) {
      YW_ASSIGN_OR_RETURN(bool has_row, query.step());
      if (!has_row) break;
      ids.push_back(query.column_int(0));
    }
  }
  for (int64_t id : ids) {
    YW_ASSIGN_OR_RETURN(auto request, load(id));
    if (request) due.push_back(std::move(*request));
  }
  return due;
}

Result<RequestPurge> RequestService::purge_closed() {
  if (clock_.sync_state() == hal::SyncState::kUnsynchronised) {
    return make_error(ErrorKind::kUnavailable,
                      "the clock is not synchronised: closed requests are kept until it is");
  }
  const int64_t cutoff = clock_.now_utc_us() - kClosedRequestRetentionUs;
  RequestPurge purge;
  std::lock_guard lock(catalog_.mutex());
  auto& db = catalog_.database();
  YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(db));
  YW_ASSIGN_OR_RETURN(auto query, db.prepare("SELECT reference FROM subject_requests WHERE "
                                             "closed_utc_us IS NOT NULL AND closed_utc_us < ?1 "
                                             "ORDER BY id"));
  query.bind(1, cutoff);
  while (true) {
    YW_ASSIGN_OR_RETURN(bool has_row, query.step());
    if (!has_row) break;
    purge.references.push_back(query.column_text(0));
  }
  if (purge.references.empty()) return purge;
  // Footage ranges, actions and subject-export records go with their request (ON DELETE CASCADE).
  YW_ASSIGN_OR_RETURN(auto remove, db.prepare("DELETE FROM subject_requests WHERE closed_utc_us "
                                              "IS NOT NULL AND closed_utc_us < ?1"));
  YW_TRY(remove.bind(1, cutoff).run());
  purge.requests = db.changes();
  AuditEvent event;
  event.action = "requests_purged";
  event.object_type = "request";
  event.details = json{{"closed_before", iso(cutoff)},
                       {"requests", purge.requests},
                       {"references", purge.references}}
                      .dump();
  YW_TRY(audit_.append(Actor::system(), event));
  YW_TRY(transaction.commit());
  return purge;
}

}  // namespace yardwatch::firmware
