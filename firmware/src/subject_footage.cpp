#include "yardwatch/firmware/subject_footage.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "register_checks.h"
#include "yardwatch/firmware/requests.h"
#include "yardwatch/recorder/retention.h"
#include "yardwatch/recorder/sqlite.h"

namespace yardwatch::firmware {

namespace {

using nlohmann::json;
using recorder::sql::Transaction;

constexpr const char* kRestrictionColumns =
    "r.id, r.camera_id, c.name, r.from_utc_us, r.to_utc_us, r.request_reference, r.reason, "
    "r.placed_by, r.placed_utc_us, r.lifted_by, r.lifted_utc_us, r.lift_request_reference";

Restriction read_restriction(const recorder::sql::Statement& row) {
  Restriction restriction;
  restriction.id = row.column_int(0);
  restriction.camera_id = row.column_int(1);
  restriction.camera = row.column_text(2);
  restriction.from_utc_us = row.column_int(3);
  restriction.to_utc_us = row.column_int(4);
  restriction.request_reference = row.column_text(5);
  restriction.reason = row.column_text(6);
  restriction.placed_by = row.column_text(7);
  restriction.placed_utc_us = row.column_int(8);
  restriction.lifted_by = row.column_text(9);
  if (!row.column_is_null(10)) restriction.lifted_utc_us = row.column_int(10);
  restriction.lift_request_reference = row.column_text(11);
  return restriction;
}

Result<std::vector<Restriction>> collect(recorder::sql::Statement& query) {
  std::vector<Restriction> result;
  while (true) {
    YW_ASSIGN_OR_RETURN(bool has_row, query.step());
    if (!has_row) break;
    result.push_back(read_restriction(query));
  }
  return result;
}

bool valid_reference(const std::string& text) {
  return !text.empty() && text.size() <= kMaxReferenceLength &&
         std::none_of(text.begin(), text.end(), [](char c) {
           const auto byte = static_cast<unsigned char>(c);
           return byte < 0x20 || byte == 0x7F;
         });
}

Status check_request(int64_t from, int64_t to, const std::string& reference) {
  if (to <= from) {
    return make_error(ErrorKind::kInvalidArgument, "the range must end after it starts");
  }
  if (!valid_reference(reference)) {
    return make_error(ErrorKind::kInvalidArgument,
                      "give the reference of the data subject's request (--request, 1–500 "
                      "characters on one line)");
  }
  return {};
}

AuditEvent footage_event(const std::string& action, const std::string& camera, int64_t from,
                         int64_t to, const std::string& reference) {
  AuditEvent event;
  event.action = action;
  event.object_type = "camera";
  event.object_id = camera;
  event.camera = camera;
  if (to > from) {
    event.range_from_utc_us = from;
    event.range_to_utc_us = to;
  }
  event.purpose = reference;
  return event;
}

// Open holds of the camera overlapping [from, to), as "hold 3 (case ABC)".
Result<std::vector<std::string>> holds_covering(recorder::sql::Database& db, int64_t camera_id,
                                                int64_t from, int64_t to) {
  YW_ASSIGN_OR_RETURN(
      auto query,
      db.prepare("SELECT h.id, h.case_reference, h.state FROM holds h JOIN hold_cameras c ON "
                 "c.hold_id = h.id WHERE c.camera_id = ?1 AND h.state IN ('pending', 'active') "
                 "AND h.from_utc_us < ?3 AND h.to_utc_us > ?2 ORDER BY h.id"));
  query.bind(1, camera_id).bind(2, from).bind(3, to);
  std::vector<std::string> holds;
  while (true) {
    YW_ASSIGN_OR_RETURN(bool has_row, query.step());
    if (!has_row) break;
    holds.push_back((query.column_text(2) == "pending" ? "hold request " : "hold ") +
                    std::to_string(query.column_int(0)) + " (case " + query.column_text(1) + ")");
  }
  return holds;
}

std::string join(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : ", ") + item;
  return text;
}

}  // namespace

Result<std::vector<Restriction>> restrictions_in_force(recorder::Catalog& catalog,
                                                       int64_t camera_id, int64_t from_utc_us,
                                                       int64_t to_utc_us) {
  std::lock_guard lock(catalog.mutex());
  YW_ASSIGN_OR_RETURN(auto query,
                      catalog.database().prepare(
                          std::string("SELECT ") + kRestrictionColumns +
                          " FROM restrictions r JOIN cameras c ON c.id = r.camera_id WHERE "
                          "r.camera_id = ?1 AND r.lifted_utc_us IS NULL AND r.from_utc_us < ?3 "
                          "AND r.to_utc_us > ?2 ORDER BY r.from_utc_us"));
  query.bind(1, camera_id).bind(2, from_utc_us).bind(3, to_utc_us);
  return collect(query);
}

SubjectFootageService::SubjectFootageService(recorder::Catalog& catalog,
                                             const hal::Storage& storage, const hal::Clock& clock,
                                             AuditJournal& audit)
    : catalog_(catalog), storage_(storage), clock_(clock), audit_(audit) {}

Result<ErasureReceipt> SubjectFootageService::erase(const Principal& by, const std::string& camera,
                                                    int64_t from_utc_us, int64_t to_utc_us,
                                                    const std::string& request_reference) {
  AuditEvent event =
      footage_event("footage_erase", camera, from_utc_us, to_utc_us, request_reference);
  auto found = catalog_.camera_by_name(camera);
  YW_TRY(authorize(audit_, by, Permission::kManageSubjectRequests,
                   found.ok() ? std::optional<int64_t>(found.value().id) : std::nullopt, event));
  if (!found.ok()) return deny(audit_, by, event, found.error());
  if (auto valid = check_request(from_utc_us, to_utc_us, request_reference); !valid.ok()) {
    return deny(audit_, by, event, std::move(valid).error());
  }
  const int64_t camera_id = found.value().id;
  ErasureReceipt receipt;
  receipt.camera = camera;
  receipt.camera_id = camera_id;
  receipt.requested_from_utc_us = from_utc_us;
  receipt.requested_to_utc_us = to_utc_us;
  receipt.request_reference = request_reference;

  std::optional<Error> refusal;
  {
    std::lock_guard lock(catalog_.mutex());
    auto& db = catalog_.database();
    YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(db));
    // Segments are erased whole: a hold or restriction touching any segment that overlaps the
    // range protects it too.
    YW_ASSIGN_OR_RETURN(auto overlapping,
                        catalog_.segments_overlapping(camera_id, from_utc_us, to_utc_us));
    int64_t extent_from = from_utc_us;
    int64_t extent_to = to_utc_us;
    for (const auto& row : overlapping) {
      extent_from = std::min(extent_from, row.start_utc_us);
      extent_to = std::max(extent_to, row.end_utc_us);
    }
    YW_ASSIGN_OR_RETURN(auto holds, holds_covering(db, camera_id, extent_from, extent_to));
    YW_ASSIGN_OR_RETURN(auto restricted,
                        restrictions_in_force(catalog_, camera_id, extent_from, extent_to));
    // R7: every erasure answers a registered request (requests.h), linked in this transaction.
    auto request = request_for_action(catalog_, request_reference, RequestActionKind::kErasure);
    if (!request.ok()) {
      if (request.error().kind != ErrorKind::kFailedPrecondition) return std::move(request).error();
      refusal = make_error(ErrorKind::kFailedPrecondition,
                           "refused: " + request.error().message + " (nothing was deleted)");
    } else if (!holds.empty()) {
      refusal = make_error(ErrorKind::kFailedPrecondition,
                           "refused: " + join(holds) +
                               " covers part of this range (or of a segment in it, which is "
                               "erased whole); held footage cannot be erased until the hold is "
                               "released (nothing was deleted)");
    } else if (!restricted.empty()) {
      std::vector<std::string> labels;
      for (const auto& r : restricted) {
        labels.push_back("restriction " + std::to_string(r.id) + " (request " +
                         r.request_reference + ")");
      }
      refusal = make_error(ErrorKind::kFailedPrecondition,
                           "refused: " + join(labels) +
                               " covers part of this range; lift it first (yardwatch footage "
                               "unrestrict) — nothing was deleted");
    } else {
      auto plan = recorder::mark_range(catalog_, camera_id, from_utc_us, to_utc_us);
      if (!plan.ok() && plan.error().kind != ErrorKind::kFailedPrecondition) {
        return std::move(plan).error();
      }
      if (!plan.ok()) {
        refusal = make_error(ErrorKind::kFailedPrecondition, "refused: " + plan.error().message);
      } else {
        for (const auto& deletion : plan.value().per_camera()) {
          receipt.segments = deletion.segments;
          receipt.bytes = deletion.bytes;
          receipt.deleted_from_utc_us = deletion.from_utc_us;
          receipt.deleted_to_utc_us = deletion.to_utc_us;
        }
        AuditEvent done = event;
        json details{{"request", request_reference},
                     {"segments", receipt.segments},
                     {"bytes", receipt.bytes}};
        std::string summary =
            "camera " + camera + ", " + std::to_string(receipt.segments) + " segment(s) erased";
        if (receipt.deleted_from_utc_us) {
          details["deleted_from"] = hal::format_iso8601_utc(*receipt.deleted_from_utc_us);
          details["deleted_to"] = hal::format_iso8601_utc(*receipt.deleted_to_utc_us);
          summary += ", " + hal::format_iso8601_utc(*receipt.deleted_from_utc_us) + " – " +
                     hal::format_iso8601_utc(*receipt.deleted_to_utc_us);
        } else {
          summary += " (no footage in " + hal::format_iso8601_utc(from_utc_us) + " – " +
                     hal::format_iso8601_utc(to_utc_us) + ")";
        }
        YW_TRY(record_request_action(catalog_, request.value(), RequestActionKind::kErasure, "",
                                     summary, by, clock_.now_utc_us()));
        done.details = details.dump();
        YW_TRY(audit_.append(by.actor(), done));
        YW_TRY(transaction.commit());
      }
    }
  }
  if (refusal) return deny(audit_, by, event, std::move(*refusal));
  // The keys are overwritten and the decision is recorded; the checkpoint, the files and the
  // rows follow (a crash from here on is finished by recovery at the next start).
  YW_TRY(recorder::finish_deletions(catalog_, storage_));
  return receipt;
}

Result<Restriction> SubjectFootageService::restrict_range(const Principal& by,
                                                          const std::string& camera,
                                                          int64_t from_utc_us, int64_t to_utc_us,
                                                          const std::string& request_reference,
                                                          const std::string& reason) {
  AuditEvent event =
      footage_event("footage_restrict", camera, from_utc_us, to_utc_us, request_reference);
  auto found = catalog_.camera_by_name(camera);
  YW_TRY(authorize(audit_, by, Permission::kManageSubjectRequests,
                   found.ok() ? std::optional<int64_t>(found.value().id) : std::nullopt, event));
  if (!found.ok()) return deny(audit_, by, event, found.error());
  if (auto valid = check_request(from_utc_us, to_utc_us, request_reference); !valid.ok()) {
    return deny(audit_, by, event, std::move(valid).error());
  }
  if (reason.size() > 500) {
    return deny(audit_, by, event,
                make_error(ErrorKind::kInvalidArgument, "the reason is limited to 500 characters"));
  }
  const int64_t now = clock_.now_utc_us();
  std::lock_guard lock(catalog_.mutex());
  auto& db = catalog_.database();
  // R7: every restriction answers a registered request (requests.h), linked below.
  auto request = request_for_action(catalog_, request_reference, RequestActionKind::kRestriction);
  if (!request.ok()) {
    if (request.error().kind != ErrorKind::kFailedPrecondition) return std::move(request).error();
    return deny(audit_, by, event, std::move(request).error());
  }
  YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(db));
  YW_ASSIGN_OR_RETURN(
      auto insert,
      db.prepare("INSERT INTO restrictions(camera_id, from_utc_us, to_utc_us, request_reference, "
                 "reason, placed_by_id, placed_by, placed_utc_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
                 "?7, ?8)"));
  insert.bind(1, found.value().id).bind(2, from_utc_us).bind(3, to_utc_us);
  insert.bind(4, request_reference).bind(5, reason).bind(6, by.account_id).bind(7, by.name);
  YW_TRY(insert.bind(8, now).run());
  const int64_t id = db.last_insert_rowid();
  YW_ASSIGN_OR_RETURN(int64_t range,
                      catalog_.add_protected_range(found.value().id, from_utc_us, to_utc_us,
                                                   "restriction:" + std::to_string(id), now));
  YW_ASSIGN_OR_RETURN(auto link,
                      db.prepare("UPDATE restrictions SET protected_range_id = ?1 WHERE id = ?2"));
  YW_TRY(link.bind(1, range).bind(2, id).run());
  YW_TRY(record_request_action(catalog_, request.value(), RequestActionKind::kRestriction,
                               std::to_string(id),
                               "camera " + camera + ", " + hal::format_iso8601_utc(from_utc_us) +
                                   " – " + hal::format_iso8601_utc(to_utc_us),
                               by, now));
  AuditEvent done = event;
  done.object_type = "restriction";
  done.object_id = std::to_string(id);
  done.reason = reason;
  done.details = json{{"request", request_reference}}.dump();
  YW_TRY(audit_.append(by.actor(), done));
  YW_TRY(transaction.commit());
  Restriction restriction;
  restriction.id = id;
  restriction.camera_id = found.value().id;
  restriction.camera = camera;
  restriction.from_utc_us = from_utc_us;
  restriction.to_utc_us = to_utc_us;
  restriction.request_reference = request_reference;
  restriction.reason = reason;
  restriction.placed_by = by.name;
  restriction.placed_utc_us = now;
  return restriction;
}

Result<Restriction> SubjectFootageService::lift(const Principal& by, int64_t id,
                                                const std::string& request_reference) {
  AuditEvent event;
  event.action = "footage_unrestrict";
  event.object_type = "restriction";
  event.object_id = std::to_string(id);
  event.purpose = request_reference;
  YW_TRY(authorize(audit_, by, Permission::kManageSubjectRequests, std::nullopt, event));
  if (!valid_reference(request_reference)) {
    return deny(audit_, by, event,
                make_error(ErrorKind::kInvalidArgument,
                           "give the reference of the request that lifts the restriction "
                           "(--request, 1–500 characters on one line)"));
  }
  std::lock_guard lock(catalog_.mutex());
  auto& db = catalog_.database();
  std::optional<Restriction> restriction;
  {
    YW_ASSIGN_OR_RETURN(auto query, db.prepare(std::string("SELECT ") + kRestrictionColumns +
                                               " FROM restrictions r JOIN cameras c ON "
                                               "c.id = r.camera_id WHERE r.id = ?1"));
    query.bind(1, id);
    YW_ASSIGN_OR_RETURN(auto rows, collect(query));
    if (!rows.empty()) restriction = rows.front();
  }
  if (!restriction) {
    return deny(audit_, by, event,
                make_error(ErrorKind::kNotFound, "no restriction with id " + std::to_string(id)));
  }
  event.camera = restriction->camera;
  event.range_from_utc_us = restriction->from_utc_us;
  event.range_to_utc_us = restriction->to_utc_us;
  if (!restriction->in_force()) {
    return deny(audit_, by, event,
                make_error(ErrorKind::kFailedPrecondition,
                           "restriction " + std::to_string(id) + " was already lifted"));
  }
  auto request =
      request_for_action(catalog_, request_reference, RequestActionKind::kRestrictionLifted);
  if (!request.ok()) {
    if (request.error().kind != ErrorKind::kFailedPrecondition) return std::move(request).error();
    return deny(audit_, by, event, std::move(request).error());
  }
  const int64_t now = clock_.now_utc_us();
  YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(db));
  YW_TRY(record_request_action(
      catalog_, request.value(), RequestActionKind::kRestrictionLifted, std::to_string(id),
      "restriction " + std::to_string(id) + " (camera " + restriction->camera + ", " +
          hal::format_iso8601_utc(restriction->from_utc_us) + " – " +
          hal::format_iso8601_utc(restriction->to_utc_us) + ") lifted",
      by, now));
  YW_ASSIGN_OR_RETURN(auto range,
                      db.prepare("SELECT protected_range_id FROM restrictions WHERE id = ?1"));
  range.bind(1, id);
  YW_ASSIGN_OR_RETURN(bool has_range, range.step());
  const int64_t range_id = has_range && !range.column_is_null(0) ? range.column_int(0) : 0;
  YW_ASSIGN_OR_RETURN(
      auto update,
      db.prepare("UPDATE restrictions SET lifted_by = ?1, lifted_utc_us = ?2, "
                 "lift_request_reference = ?3 WHERE id = ?4 AND lifted_utc_us IS NULL"));
  YW_TRY(update.bind(1, by.name).bind(2, now).bind(3, request_reference).bind(4, id).run());
  if (range_id != 0) YW_TRY(catalog_.remove_protected_range(range_id));
  AuditEvent done = event;
  done.details = json{{"request", request_reference},
                      {"restricted_on_request", restriction->request_reference}}
                     .dump();
  YW_TRY(audit_.append(by.actor(), done));
  YW_TRY(transaction.commit());
  restriction->lifted_by = by.name;
  restriction->lifted_utc_us = now;
  restriction->lift_request_reference = request_reference;
  return std::move(*restriction);
}

Result<std::vector<Restriction>> SubjectFootageService::list(const Principal& by,
                                                             bool include_lifted) {
  AuditEvent event;
  event.action = "restriction_read";
  event.object_type = "restriction";
  YW_TRY(authorize(audit_, by, Permission::kReadSubjectRequests, std::nullopt, event));
  std::lock_guard lock(catalog_.mutex());
  YW_ASSIGN_OR_RETURN(auto query, catalog_.database().prepare(
                                      std::string("SELECT ") + kRestrictionColumns +
                                      " FROM restrictions r JOIN cameras c ON c.id = r.camera_id" +
                                      (include_lifted ? "" : " WHERE r.lifted_utc_us IS NULL") +
                                      " ORDER BY r.id DESC"));
  return collect(query);
}

Result<int64_t> SubjectFootageService::count_in_force() {
  std::lock_guard lock(catalog_.mutex());
  YW_ASSIGN_OR_RETURN(auto query, catalog_.database().prepare(
                                      "SELECT COUNT(*) FROM restrictions WHERE lifted_utc_us "
                                      "IS NULL"));
  YW_ASSIGN_OR_RETURN(bool has_row, query.step());
  return has_row ? query.column_int(0) : 0;
}

}  // namespace yardwatch::firmware
