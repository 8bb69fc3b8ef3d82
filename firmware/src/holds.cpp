#include "yardwatch/firmware/holds.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <tuple>

#include "register_checks.h"
#include "yardwatch/recorder/sqlite.h"

namespace yardwatch::firmware {

namespace {

using nlohmann::json;
using recorder::sql::Transaction;

constexpr int64_t kDayUs = 24LL * 3600 * 1'000'000;
constexpr const char* kMetaOverdueAuditedDay = "holds.overdue_audited_day";

constexpr const char* kHoldColumns =
    "id, state, from_utc_us, to_utc_us, reason, case_reference, review_by_utc_us, created_by, "
    "created_utc_us, pending_until_utc_us, decided_by, decided_utc_us, decision_note, "
    "released_by, released_utc_us";

std::optional<int64_t> optional_int(const recorder::sql::Statement& row, int index) {
  if (row.column_is_null(index)) return std::nullopt;
  return row.column_int(index);
}

Hold read_hold(const recorder::sql::Statement& row) {
  Hold hold;
  hold.id = row.column_int(0);
  hold.state = parse_hold_state(row.column_text(1)).value_or(HoldState::kPending);
  hold.from_utc_us = row.column_int(2);
  hold.to_utc_us = row.column_int(3);
  hold.reason = row.column_text(4);
  hold.case_reference = row.column_text(5);
  hold.review_by_utc_us = row.column_int(6);
  hold.created_by = row.column_text(7);
  hold.created_utc_us = row.column_int(8);
  hold.pending_until_utc_us = optional_int(row, 9);
  hold.decided_by = row.column_text(10);
  hold.decided_utc_us = optional_int(row, 11);
  hold.decision_note = row.column_text(12);
  hold.released_by = row.column_text(13);
  hold.released_utc_us = optional_int(row, 14);
  return hold;
}

bool has_control_characters(const std::string& text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7F;
  });
}

std::string join(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : ",") + item;
  return text;
}

Status check_review_by(int64_t review_by, int64_t now) {
  if (review_by <= now) {
    return make_error(ErrorKind::kInvalidArgument,
                      "the review-by date must be in the future (it is when the hold is looked "
                      "at again)");
  }
  if (review_by > now + kMaxReviewAheadUs) {
    return make_error(ErrorKind::kInvalidArgument,
                      "the review-by date may be at most six months ahead (" +
                          hal::format_iso8601_utc(now + kMaxReviewAheadUs) +
                          "); extend the hold when it is reviewed");
  }
  return {};
}

Status check_spec(const HoldSpec& spec, int64_t now) {
  if (spec.cameras.empty()) {
    return make_error(ErrorKind::kInvalidArgument, "a hold needs at least one camera");
  }
  if (spec.to_utc_us <= spec.from_utc_us) {
    return make_error(ErrorKind::kInvalidArgument, "the hold's range must end after it starts");
  }
  if (spec.reason.size() < kMinHoldReasonLength || spec.reason.size() > kMaxHoldReasonLength ||
      has_control_characters(spec.reason)) {
    return make_error(ErrorKind::kInvalidArgument,
                      "a hold needs a reason of 5–500 characters on one line, e.g. \"fight at "
                      "the bicycle shed, parents informed\"");
  }
  if (spec.case_reference.empty() || spec.case_reference.size() > kMaxReferenceLength ||
      has_control_characters(spec.case_reference)) {
    return make_error(ErrorKind::kInvalidArgument,
                      "a hold needs a case reference of 1–500 characters on one line");
  }
  return check_review_by(spec.review_by_utc_us, now);
}

AuditEvent hold_event(const std::string& action, const std::string& id,
                      const std::vector<std::string>& cameras, int64_t from, int64_t to,
                      const std::string& reason) {
  AuditEvent event;
  event.action = action;
  event.object_type = "hold";
  event.object_id = id;
  event.camera = join(cameras);
  if (to > from) {
    event.range_from_utc_us = from;
    event.range_to_utc_us = to;
  }
  event.purpose = reason;
  return event;
}

AuditEvent hold_event(const std::string& action, const Hold& hold) {
  AuditEvent event = hold_event(action, std::to_string(hold.id), hold.cameras, hold.from_utc_us,
                                hold.to_utc_us, hold.reason);
  event.details = json{{"case", hold.case_reference},
                       {"review_by", hal::format_iso8601_utc(hold.review_by_utc_us)},
                       {"state", std::string(hold_state_name(hold.state))}}
                      .dump();
  return event;
}

}  // namespace

std::string_view hold_state_name(HoldState state) {
  switch (state) {
    case HoldState::kPending:
      return "pending";
    case HoldState::kActive:
      return "active";
    case HoldState::kReleased:
      return "released";
    case HoldState::kRejected:
      return "rejected";
    case HoldState::kExpired:
      return "expired";
  }
  return "pending";
}

std::optional<HoldState> parse_hold_state(std::string_view name) {
  for (HoldState state : {HoldState::kPending, HoldState::kActive, HoldState::kReleased,
                          HoldState::kRejected, HoldState::kExpired}) {
    if (hold_state_name(state) == name) return state;
  }
  return std::nullopt;
}

Result<int64_t> parse_review_by(std::string_view text) {
  YW_ASSIGN_OR_RETURN(int64_t parsed, hal::parse_iso8601_utc_us(text));
  // A bare date means "by the end of that day".
  if (text.size() == 10) return parsed + kDayUs - 1'000'000;
  return parsed;
}

HoldService::HoldService(recorder::Catalog& catalog, const hal::Clock& clock, AuditJournal& audit)
    : catalog_(catalog), clock_(clock), audit_(audit) {}

Result<std::optional<Hold>> HoldService::load(int64_t id) {
  std::lock_guard lock(catalog_.mutex());
  auto& db = catalog_.database();
  YW_ASSIGN_OR_RETURN(
      auto query, db.prepare(std::string("SELECT ") + kHoldColumns + " FROM holds WHERE id = ?1"));
  query.bind(1, id);
  YW_ASSIGN_OR_RETURN(bool found, query.step());
  if (!found) return std::optional<Hold>();
  Hold hold = read_hold(query);
  YW_ASSIGN_OR_RETURN(auto cameras,
                      db.prepare("SELECT c.id, c.name FROM hold_cameras h JOIN cameras c ON "
                                 "c.id = h.camera_id WHERE h.hold_id = ?1 ORDER BY c.name"));
  cameras.bind(1, id);
  while (true) {
    YW_ASSIGN_OR_RETURN(bool has_row, cameras.step());
    if (!has_row) break;
    hold.camera_ids.push_back(cameras.column_int(0));
    hold.cameras.push_back(cameras.column_text(1));
  }
  hold.overdue = hold.state == HoldState::kActive && clock_.now_utc_us() > hold.review_by_utc_us;
  return std::optional<Hold>(std::move(hold));
}

Result<Hold> HoldService::place(const Principal& by, const HoldSpec& spec) {
  return create(by, spec, /*pending=*/false);
}

Result<Hold> HoldService::request(const Principal& by, const HoldSpec& spec) {
  return create(by, spec, /*pending=*/true);
}

Result<Hold> HoldService::create(const Principal& by, const HoldSpec& spec, bool pending) {
  const Permission permission = pending ? Permission::kRequestHold : Permission::kPlaceHold;
  AuditEvent event = hold_event(pending ? "hold_request" : "hold_place", "", spec.cameras,
                                spec.from_utc_us, spec.to_utc_us, spec.reason);
  event.details = json{{"case", spec.case_reference},
                       {"review_by", hal::format_iso8601_utc(spec.review_by_utc_us)}}
                      .dump();
  YW_TRY(authorize(audit_, by, permission, std::nullopt, event));
  std::vector<recorder::Camera> cameras;
  for (const auto& name : spec.cameras) {
    auto camera = catalog_.camera_by_name(name);
    if (!camera.ok()) return deny(audit_, by, event, camera.error());
    if (std::any_of(cameras.begin(), cameras.end(),
                    [&](const recorder::Camera& c) { return c.id == camera.value().id; })) {
      continue;
    }
    // Viewers may request holds only for their assigned cameras.
    YW_TRY(authorize(audit_, by, permission, camera.value().id, event));
    cameras.push_back(std::move(camera).value());
  }
  const int64_t now = clock_.now_utc_us();
  if (auto valid = check_spec(spec, now); !valid.ok()) {
    return deny(audit_, by, event, std::move(valid).error());
  }

  std::lock_guard lock(catalog_.mutex());
  auto& db = catalog_.database();
  YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(db));
  YW_ASSIGN_OR_RETURN(
      auto insert,
      db.prepare("INSERT INTO holds(state, from_utc_us, to_utc_us, reason, case_reference, "
                 "review_by_utc_us, created_by_id, created_by, created_utc_us, "
                 "pending_until_utc_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"));
  insert.bind(1, pending ? "pending" : "active").bind(2, spec.from_utc_us).bind(3, spec.to_utc_us);
  insert.bind(4, spec.reason).bind(5, spec.case_reference).bind(6, spec.review_by_utc_us);
  insert.bind(7, by.account_id).bind(8, by.name).bind(9, now);
  if (pending) {
    insert.bind(10, now + kHoldRequestLifetimeUs);
  } else {
    insert.bind_null(10);
  }
  YW_TRY(insert.run());
  const int64_t id = db.last_insert_rowid();
  YW_ASSIGN_OR_RETURN(auto link, db.prepare("INSERT INTO hold_cameras(hold_id, camera_id, "
                                            "protected_range_id) VALUES (?1, ?2, ?3)"));
  for (const auto& camera : cameras) {
    YW_ASSIGN_OR_RETURN(int64_t range,
                        catalog_.add_protected_range(camera.id, spec.from_utc_us, spec.to_utc_us,
                                                     "hold:" + std::to_string(id), now));
    link.reset();
    YW_TRY(link.bind(1, id).bind(2, camera.id).bind(3, range).run());
  }
  YW_ASSIGN_OR_RETURN(auto hold, load(id));
  YW_TRY(audit_.append(by.actor(), hold_event(event.action, *hold)));
  YW_TRY(transaction.commit());
  return std::move(*hold);
}

Result<Hold> HoldService::decide(const Principal& by, int64_t id, const std::string& action) {
  // Common part of confirm/reject/extend/release: the role check (with the hold's id) and the
  // lookup. The caller then checks the state.
  const Permission permission =
      action == "hold_release" ? Permission::kReleaseHold : Permission::kPlaceHold;
  AuditEvent event = hold_event(action, std::to_string(id), {}, 0, 0, "");
  YW_TRY(authorize(audit_, by, permission, std::nullopt, event));
  YW_ASSIGN_OR_RETURN(auto hold, load(id));
  if (!hold) {
    return deny(audit_, by, event,
                make_error(ErrorKind::kNotFound, "no hold with id " + std::to_string(id)));
  }
  return std::move(*hold);
}

namespace {

Status set_closed(recorder::Catalog& catalog, int64_t hold_id) {
  // The protected ranges go; the hold_cameras rows stay as the record of what it covered.
  auto& db = catalog.database();
  YW_ASSIGN_OR_RETURN(auto ranges, db.prepare("SELECT protected_range_id FROM hold_cameras WHERE "
                                              "hold_id = ?1 AND protected_range_id IS NOT NULL"));
  ranges.bind(1, hold_id);
  std::vector<int64_t> ids;
  while (true) {
    YW_ASSIGN_OR_RETURN(bool has_row, ranges.step());
    if (!has_row) break;
    ids.push_back(ranges.column_int(0));
  }
  for (int64_t range : ids) YW_TRY(catalog.remove_protected_range(range));
  return {};
}

}  // namespace

Result<Hold> HoldService::confirm(const Principal& by, int64_t id,
                                  std::optional<int64_t> review_by_utc_us) {
  YW_ASSIGN_OR_RETURN(Hold hold, decide(by, id, "hold_confirm"));
  AuditEvent event = hold_event("hold_confirm", hold);
  if (hold.state != HoldState::kPending) {
    return deny(audit_, by, event,
                make_error(ErrorKind::kFailedPrecondition,
                           "hold " + std::to_string(id) + " is " +
                               std::string(hold_state_name(hold.state)) +
                               ", not a pending request; only requests are confirmed"));
  }
  const int64_t now = clock_.now_utc_us();
  const int64_t review_by = review_by_utc_us.value_or(hold.review_by_utc_us);
  if (auto valid = check_review_by(review_by, now); !valid.ok()) {
    return deny(audit_, by, event, std::move(valid).error());
  }
  std::lock_guard lock(catalog_.mutex());
  auto& db = catalog_.database();
  YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(db));
  YW_ASSIGN_OR_RETURN(auto update,
                      db.prepare("UPDATE holds SET state = 'active', pending_until_utc_us = NULL, "
                                 "review_by_utc_us = ?1, decided_by = ?2, decided_utc_us = ?3 "
                                 "WHERE id = ?4 AND state = 'pending'"));
  YW_TRY(update.bind(1, review_by).bind(2, by.name).bind(3, now).bind(4, id).run());
  if (db.changes() != 1) {
    return make_error(ErrorKind::kFailedPrecondition, "hold " + std::to_string(id) + " changed");
  }
  YW_ASSIGN_OR_RETURN(auto updated, load(id));
  AuditEvent done = hold_event("hold_confirm", *updated);
  done.details = json{{"case", updated->case_reference},
                      {"review_by", hal::format_iso8601_utc(updated->review_by_utc_us)},
                      {"requested_by", updated->created_by}}
                     .dump();
  YW_TRY(audit_.append(by.actor(), done));
  YW_TRY(transaction.commit());
  return std::move(*updated);
}

Result<Hold> HoldService::reject(const Principal& by, int64_t id, const std::string& why) {
  YW_ASSIGN_OR_RETURN(Hold hold, decide(by, id, "hold_reject"));
  AuditEvent event = hold_event("hold_reject", hold);
  if (hold.state != HoldState::kPending) {
    return deny(audit_, by, event,
                make_error(ErrorKind::kFailedPrecondition,
                           "hold " + std::to_string(id) + " is " +
                               std::string(hold_state_name(hold.state)) +
                               ", not a pending request; an active hold is released instead"));
  }
  if (why.empty() || why.size() > kMaxHoldReasonLength || has_control_characters(why)) {
    return deny(audit_, by, event,
                make_error(ErrorKind::kInvalidArgument,
                           "say why the request is rejected (1–500 characters on one line)"));
  }
  std::lock_guard lock(catalog_.mutex());
  auto& db = catalog_.database();
  YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(db));
  YW_ASSIGN_OR_RETURN(auto update,
                      db.prepare("UPDATE holds SET state = 'rejected', pending_until_utc_us = "
                                 "NULL, decided_by = ?1, decided_utc_us = ?2, decision_note = ?3 "
                                 "WHERE id = ?4 AND state = 'pending'"));
  YW_TRY(update.bind(1, by.name).bind(2, clock_.now_utc_us()).bind(3, why).bind(4, id).run());
  YW_TRY(set_closed(catalog_, id));
  YW_ASSIGN_OR_RETURN(auto updated, load(id));
  AuditEvent done = hold_event("hold_reject", *updated);
  done.reason = why;
  YW_TRY(audit_.append(by.actor(), done));
  YW_TRY(transaction.commit());
  return std::move(*updated);
}

Result<Hold> HoldService::extend(const Principal& by, int64_t id, int64_t review_by_utc_us) {
  YW_ASSIGN_OR_RETURN(Hold hold, decide(by, id, "hold_extend"));
  AuditEvent event = hold_event("hold_extend", hold);
  if (hold.state != HoldState::kActive) {
    return deny(audit_, by, event,
                make_error(ErrorKind::kFailedPrecondition,
                           "hold " + std::to_string(id) + " is " +
                               std::string(hold_state_name(hold.state)) +
                               "; only an active hold gets a new review-by date"));
  }
  if (auto valid = check_review_by(review_by_utc_us, clock_.now_utc_us()); !valid.ok()) {
    return deny(audit_, by, event, std::move(valid).error());
  }
  std::lock_guard lock(catalog_.mutex());
  auto& db = catalog_.database();
  YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(db));
  YW_ASSIGN_OR_RETURN(auto update, db.prepare("UPDATE holds SET review_by_utc_us = ?1 WHERE "
                                              "id = ?2 AND state = 'active'"));
  YW_TRY(update.bind(1, review_by_utc_us).bind(2, id).run());
  YW_ASSIGN_OR_RETURN(auto updated, load(id));
  AuditEvent done = hold_event("hold_extend", *updated);
  done.details = json{{"case", updated->case_reference},
                      {"review_by", hal::format_iso8601_utc(updated->review_by_utc_us)},
                      {"previous_review_by", hal::format_iso8601_utc(hold.review_by_utc_us)}}
                     .dump();
  YW_TRY(audit_.append(by.actor(), done));
  YW_TRY(transaction.commit());
  return std::move(*updated);
}

Result<Hold> HoldService::release(const Principal& by, int64_t id, const std::string& note) {
  YW_ASSIGN_OR_RETURN(Hold hold, decide(by, id, "hold_release"));
  AuditEvent event = hold_event("hold_release", hold);
  if (hold.state != HoldState::kActive) {
    return deny(
        audit_, by, event,
        make_error(ErrorKind::kFailedPrecondition,
                   "hold " + std::to_string(id) + " is " +
                       std::string(hold_state_name(hold.state)) +
                       (hold.state == HoldState::kPending ? "; a request is rejected, not released"
                                                          : "; only an active hold is released")));
  }
  if (note.size() > kMaxHoldReasonLength || has_control_characters(note)) {
    return deny(audit_, by, event,
                make_error(ErrorKind::kInvalidArgument,
                           "the release note is limited to 500 characters on one line"));
  }
  std::lock_guard lock(catalog_.mutex());
  auto& db = catalog_.database();
  YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(db));
  YW_ASSIGN_OR_RETURN(auto update,
                      db.prepare("UPDATE holds SET state = 'released', released_by = ?1, "
                                 "released_utc_us = ?2, decision_note = ?3 WHERE id = ?4 AND "
                                 "state = 'active'"));
  YW_TRY(update.bind(1, by.name).bind(2, clock_.now_utc_us()).bind(3, note).bind(4, id).run());
  YW_TRY(set_closed(catalog_, id));
  YW_ASSIGN_OR_RETURN(auto updated, load(id));
  AuditEvent done = hold_event("hold_release", *updated);
  done.reason = note;
  YW_TRY(audit_.append(by.actor(), done));
  YW_TRY(transaction.commit());
  return std::move(*updated);
}

Status HoldService::authorize_reading(const Principal& by, const std::string& object_id) {
  AuditEvent event;
  event.action = "hold_read";
  event.object_type = "hold";
  event.object_id = object_id;
  // Directors and viewers (the people who hold or request), and privacy officers (who oversee
  // retention); admins see no case information.
  const Permission permission = role_allows(by.role, Permission::kRequestHold)
                                    ? Permission::kRequestHold
                                    : Permission::kReadSubjectRequests;
  return authorize(audit_, by, permission, std::nullopt, event);
}

bool HoldService::visible_to(const Principal& by, const Hold& hold) {
  if (!limited_to_assigned_cameras(by.role, Permission::kRequestHold)) return true;
  return std::any_of(hold.camera_ids.begin(), hold.camera_ids.end(),
                     [&](int64_t camera) { return by.camera_ids.count(camera) != 0; });
}

Result<std::vector<Hold>> HoldService::list(const Principal& by, const HoldFilter& filter) {
  YW_TRY(authorize_reading(by, ""));
  std::optional<int64_t> camera_id;
  if (filter.camera) {
    YW_ASSIGN_OR_RETURN(auto camera, catalog_.camera_by_name(*filter.camera));
    camera_id = camera.id;
    // A viewer asking for the holds of a camera not assigned to them is refused (audited),
    // not answered with an empty list.
    if (limited_to_assigned_cameras(by.role, Permission::kRequestHold)) {
      YW_TRY(authorize(audit_, by, Permission::kRequestHold, camera.id,
                       hold_event("hold_read", "", {*filter.camera}, 0, 0, "")));
    }
  }
  std::vector<int64_t> ids;
  {
    std::lock_guard lock(catalog_.mutex());
    YW_ASSIGN_OR_RETURN(
        auto query, catalog_.database().prepare(
                        filter.include_closed ? "SELECT id FROM holds ORDER BY id DESC"
                                              : "SELECT id FROM holds WHERE state IN ('pending', "
                                                "'active') ORDER BY id DESC"));
    while (true) {
      YW_ASSIGN_OR_RETURN(bool has_row, query.step());
      if (!has_row) break;
      ids.push_back(query.column_int(0));
    }
  }
  std::vector<Hold> holds;
  for (int64_t id : ids) {
    YW_ASSIGN_OR_RETURN(auto hold, load(id));
    if (!hold || !visible_to(by, *hold)) continue;
    if (camera_id && std::find(hold->camera_ids.begin(), hold->camera_ids.end(), *camera_id) ==
                         hold->camera_ids.end()) {
      continue;
    }
    holds.push_back(std::move(*hold));
  }
  return holds;
}

Result<Hold> HoldService::get(const Principal& by, int64_t id) {
  YW_TRY(authorize_reading(by, std::to_string(id)));
  YW_ASSIGN_OR_RETURN(auto hold, load(id));
  if (!hold) return make_error(ErrorKind::kNotFound, "no hold with id " + std::to_string(id));
  if (!visible_to(by, *hold)) {
    // A viewer asking by id for a hold of cameras not assigned to them: refused and audited,
    // like any other object of another camera (issue #6). The entry names the hold and its
    // cameras but not its case or reason: viewers read their own audit entries.
    return deny(audit_, by, hold_event("hold_read", std::to_string(id), hold->cameras, 0, 0, ""),
                make_error(ErrorKind::kPermissionDenied,
                           "hold " + std::to_string(id) + " covers no camera assigned to you"));
  }
  return std::move(*hold);
}

Result<std::vector<TimelineSpan>> HoldService::timeline(const Principal& by,
                                                        const std::string& camera,
                                                        int64_t from_utc_us, int64_t to_utc_us) {
  YW_TRY(authorize_reading(by, ""));
  YW_ASSIGN_OR_RETURN(auto found, catalog_.camera_by_name(camera));
  AuditEvent event;
  event.action = "hold_read";
  event.object_type = "camera";
  event.object_id = camera;
  event.camera = camera;
  if (limited_to_assigned_cameras(by.role, Permission::kRequestHold)) {
    YW_TRY(authorize(audit_, by, Permission::kRequestHold, found.id, event));
  }
  std::vector<TimelineSpan> spans;
  std::lock_guard lock(catalog_.mutex());
  auto& db = catalog_.database();
  YW_ASSIGN_OR_RETURN(
      auto holds,
      db.prepare("SELECT h.id, h.state, h.from_utc_us, h.to_utc_us, h.case_reference, h.reason "
                 "FROM holds h "
                 "JOIN hold_cameras c ON c.hold_id = h.id WHERE c.camera_id = ?1 AND h.state IN "
                 "('pending', 'active') AND h.from_utc_us < ?3 AND h.to_utc_us > ?2"));
  holds.bind(1, found.id).bind(2, from_utc_us).bind(3, to_utc_us);
  while (true) {
    YW_ASSIGN_OR_RETURN(bool has_row, holds.step());
    if (!has_row) break;
    spans.push_back({holds.column_text(1) == "pending" ? "hold_request" : "hold",
                     holds.column_int(0), holds.column_int(2), holds.column_int(3),
                     holds.column_text(4), holds.column_text(5)});
  }
  YW_ASSIGN_OR_RETURN(
      auto restrictions,
      db.prepare("SELECT id, from_utc_us, to_utc_us, request_reference, reason FROM "
                 "restrictions WHERE "
                 "camera_id = ?1 AND lifted_utc_us IS NULL AND from_utc_us < ?3 AND "
                 "to_utc_us > ?2"));
  restrictions.bind(1, found.id).bind(2, from_utc_us).bind(3, to_utc_us);
  while (true) {
    YW_ASSIGN_OR_RETURN(bool has_row, restrictions.step());
    if (!has_row) break;
    spans.push_back({"restriction", restrictions.column_int(0), restrictions.column_int(1),
                     restrictions.column_int(2), restrictions.column_text(3),
                     restrictions.column_text(4)});
  }
  std::sort(spans.begin(), spans.end(), [](const TimelineSpan& a, const TimelineSpan& b) {
    return std::tie(a.from_utc_us, a.kind, a.id) < std::tie(b.from_utc_us, b.kind, b.id);
  });
  return spans;
}

Result<std::vector<Hold>> HoldService::expire_requests() {
  const int64_t now = clock_.now_utc_us();
  std::lock_guard lock(catalog_.mutex());
  auto& db = catalog_.database();
  YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(db));
  YW_ASSIGN_OR_RETURN(auto due, db.prepare("SELECT id FROM holds WHERE state = 'pending' AND "
                                           "pending_until_utc_us <= ?1 ORDER BY id"));
  due.bind(1, now);
  std::vector<int64_t> ids;
  while (true) {
    YW_ASSIGN_OR_RETURN(bool has_row, due.step());
    if (!has_row) break;
    ids.push_back(due.column_int(0));
  }
  std::vector<Hold> expired;
  YW_ASSIGN_OR_RETURN(auto update, db.prepare("UPDATE holds SET state = 'expired' WHERE id = ?1"));
  for (int64_t id : ids) {
    update.reset();
    YW_TRY(update.bind(1, id).run());
    YW_TRY(set_closed(catalog_, id));
    YW_ASSIGN_OR_RETURN(auto hold, load(id));
    AuditEvent event = hold_event("hold_request_expired", *hold);
    event.reason = "no director confirmed or rejected the request within 72 hours";
    YW_TRY(audit_.append(Actor::system(), event));
    expired.push_back(std::move(*hold));
  }
  YW_TRY(transaction.commit());
  return expired;
}

Result<std::vector<Hold>> HoldService::overdue() {
  std::vector<int64_t> ids;
  {
    std::lock_guard lock(catalog_.mutex());
    YW_ASSIGN_OR_RETURN(auto query,
                        catalog_.database().prepare("SELECT id FROM holds WHERE state = 'active' "
                                                    "AND review_by_utc_us < ?1 ORDER BY id"));
    query.bind(1, clock_.now_utc_us());
    while (true) {
      YW_ASSIGN_OR_RETURN(bool has_row, query.step());
      if (!has_row) break;
      ids.push_back(query.column_int(0));
    }
  }
  std::vector<Hold> holds;
  for (int64_t id : ids) {
    YW_ASSIGN_OR_RETURN(auto hold, load(id));
    if (hold) holds.push_back(std::move(*hold));
  }
  return holds;
}

Result<std::vector<Hold>> HoldService::overdue_visible_to(const Principal& by) {
  const bool reader = role_allows(by.role, Permission::kRequestHold) ||
                      role_allows(by.role, Permission::kReadSubjectRequests);
  if (!reader) return std::vector<Hold>();
  YW_ASSIGN_OR_RETURN(auto holds, overdue());
  std::erase_if(holds, [&](const Hold& hold) { return !visible_to(by, hold); });
  return holds;
}

Result<bool> HoldService::audit_overdue_daily() {
  YW_ASSIGN_OR_RETURN(auto holds, overdue());
  if (holds.empty()) return false;
  const int64_t now = clock_.now_utc_us();
  const std::string today = hal::format_iso8601_utc(now).substr(0, 10);
  std::lock_guard lock(catalog_.mutex());
  YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(catalog_.database()));
  YW_ASSIGN_OR_RETURN(auto audited, catalog_.meta(kMetaOverdueAuditedDay));
  if (audited && *audited == today) return false;
  json list = json::array();
  for (const auto& hold : holds) {
    list.push_back(json{{"id", hold.id},
                        {"case", hold.case_reference},
                        {"cameras", hold.cameras},
                        {"review_by", hal::format_iso8601_utc(hold.review_by_utc_us)}});
  }
  AuditEvent event;
  event.action = "holds_overdue";
  event.object_type = "hold";
  event.reason = std::to_string(holds.size()) +
                 " hold(s) past their review-by date; a director must extend or release them "
                 "(holds are never released automatically)";
  event.details = json{{"holds", list}}.dump();
  YW_TRY(audit_.append(Actor::system(), event));
  YW_TRY(catalog_.set_meta(kMetaOverdueAuditedDay, today));
  YW_TRY(transaction.commit());
  return true;
}

Result<std::optional<int64_t>> HoldService::oldest_open_start() {
  std::lock_guard lock(catalog_.mutex());
  YW_ASSIGN_OR_RETURN(
      auto query, catalog_.database().prepare("SELECT MIN(from_utc_us) FROM holds WHERE state IN "
                                              "('pending', 'active')"));
  YW_ASSIGN_OR_RETURN(bool has_row, query.step());
  if (!has_row || query.column_is_null(0)) return std::optional<int64_t>();
  return std::optional<int64_t>(query.column_int(0));
}

Result<std::pair<int64_t, int64_t>> HoldService::open_counts() {
  std::lock_guard lock(catalog_.mutex());
  YW_ASSIGN_OR_RETURN(
      auto query, catalog_.database().prepare("SELECT COALESCE(SUM(state = 'active'), 0), "
                                              "COALESCE(SUM(state = 'pending'), 0) FROM holds"));
  YW_ASSIGN_OR_RETURN(bool has_row, query.step());
  if (!has_row) return std::make_pair(int64_t{0}, int64_t{0});
  return std::make_pair(query.column_int(0), query.column_int(1));
}

}  // namespace yardwatch::firmware
