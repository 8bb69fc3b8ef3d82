// The register of data subjects' requests (R7; firmware/design/requests.md): directors register,
// extend once (at most 12 weeks after receipt, with a reason) and close requests; privacy
// officers read the register. A director also answers a request from here: restricts or erases
// the footage it concerns, lifts a restriction, links an existing hold or restriction (the CLI's
// `yardwatch footage …` and `requests link`). Every rule, every permission and every audit entry
// is the firmware's (RequestService, SubjectFootageService, with the request's reference); this
// file only turns JSON into their calls and their structs into JSON.

#include <httplib.h>

#include "context.h"
#include "yardwatch/firmware/requests.h"
#include "yardwatch/firmware/subject_footage.h"

namespace yardwatch::web_admin {

namespace {

using firmware::Permission;
using firmware::SubjectRequest;

constexpr const char* kRequestId = R"((\d{1,18}))";
constexpr size_t kMaxFootageItems = 16;
constexpr size_t kMaxCameraName = 64;
constexpr int64_t kWeekUs = 7 * firmware::kRequestDayUs;

json request_json(const SubjectRequest& r) {
  json footage = json::array();
  for (const auto& f : r.footage) {
    footage.push_back(json{{"camera", f.camera},
                           {"camera_id", f.camera_id},
                           {"from", iso(f.from_utc_us)},
                           {"to", iso(f.to_utc_us)}});
  }
  json actions = json::array();
  for (const auto& a : r.actions) {
    actions.push_back(json{{"kind", std::string(firmware::request_action_name(a.kind))},
                           {"object_id", a.object_id},
                           {"summary", a.summary},
                           {"linked_by", a.linked_by},
                           {"linked", iso(a.linked_utc_us)}});
  }
  return json{{"id", r.id},
              {"reference", r.reference},
              {"kind", std::string(firmware::request_kind_name(r.kind))},
              {"status",
               r.open() ? (r.overdue ? "overdue" : (r.due_soon ? "due_soon" : "open")) : "closed"},
              {"open", r.open()},
              {"overdue", r.overdue},
              {"due_soon", r.due_soon},
              {"requester_name", r.requester_name},
              {"requester_contact", r.requester_contact},
              {"description", r.description},
              {"footage", footage},
              {"received", iso(r.received_utc_us)},
              {"deadline", iso(r.deadline_utc_us)},
              // The latest deadline an extension may set (12 weeks after receipt).
              {"latest_deadline", iso(r.received_utc_us + firmware::kRequestMaxTermUs)},
              {"extended", optional_time(r.extended_utc_us)},
              {"extension_reason", r.extension_reason},
              {"extended_by", r.extended_by},
              {"outcome", r.outcome ? json(std::string(firmware::request_outcome_name(*r.outcome)))
                                    : json(nullptr)},
              {"closing_note", r.closing_note},
              {"closed", optional_time(r.closed_utc_us)},
              {"closed_by", r.closed_by},
              {"registered_by", r.registered_by},
              {"registered", iso(r.registered_utc_us)},
              {"minimised", optional_time(r.minimised_utc_us)},
              {"actions", actions}};
}

Reply request_reply(int status, const Result<SubjectRequest>& r) {
  if (!r.ok()) return error_reply(r.error());
  return json_reply(status, request_json(r.value()));
}

Result<firmware::NewSubjectRequest> new_request(const json& body, int64_t now_utc_us) {
  firmware::NewSubjectRequest request;
  YW_ASSIGN_OR_RETURN(request.reference,
                      string_field(body, "reference", firmware::kMaxRequestReferenceLength));
  YW_ASSIGN_OR_RETURN(std::string kind, string_field(body, "kind", 32));
  auto parsed_kind = firmware::parse_request_kind(kind);
  if (!parsed_kind) {
    return make_error(ErrorKind::kInvalidArgument,
                      "'kind' must be access, objection, erasure or restriction");
  }
  request.kind = *parsed_kind;
  YW_ASSIGN_OR_RETURN(request.requester_name,
                      string_field(body, "requester_name", firmware::kMaxRequesterTextLength));
  YW_ASSIGN_OR_RETURN(request.requester_contact,
                      string_field(body, "requester_contact", firmware::kMaxRequesterTextLength,
                                   /*required=*/false));
  YW_ASSIGN_OR_RETURN(request.description,
                      string_field(body, "description", firmware::kMaxRequestNoteLength,
                                   /*required=*/false));
  if (body.contains("received") && !body["received"].is_null()) {
    YW_ASSIGN_OR_RETURN(request.received_utc_us, time_field(body, "received"));
  } else {
    request.received_utc_us = now_utc_us;
  }
  auto footage = body.find("footage");
  if (footage != body.end() && !footage->is_null()) {
    if (!footage->is_array() || footage->size() > kMaxFootageItems) {
      return make_error(ErrorKind::kInvalidArgument,
                        "'footage' must be a list of at most 16 {camera, from, to}");
    }
    for (const auto& item : *footage) {
      if (!item.is_object()) {
        return make_error(ErrorKind::kInvalidArgument, "'footage' items must be objects");
      }
      firmware::FootageConcernedSpec spec;
      YW_ASSIGN_OR_RETURN(spec.camera, string_field(item, "camera", kMaxCameraName));
      YW_ASSIGN_OR_RETURN(spec.from_utc_us, time_field(item, "from"));
      YW_ASSIGN_OR_RETURN(spec.to_utc_us, time_field(item, "to"));
      request.footage.push_back(std::move(spec));
    }
  }
  return request;
}

// The new deadline: `deadline` (ISO-8601 UTC) or `weeks` (the whole term in weeks after
// receipt, 5–12 in practice; the firmware refuses more than 12).
Result<int64_t> extension_deadline(const json& body, const SubjectRequest& current) {
  auto weeks = body.find("weeks");
  if (weeks != body.end() && !weeks->is_null()) {
    if (!weeks->is_number_integer() || weeks->get<int64_t>() < 1 || weeks->get<int64_t>() > 520) {
      return make_error(ErrorKind::kInvalidArgument, "'weeks' must be a whole number of weeks");
    }
    return current.received_utc_us + weeks->get<int64_t>() * kWeekUs;
  }
  return time_field(body, "deadline");
}

json restriction_json(const firmware::Restriction& r) {
  return json{{"id", r.id},
              {"camera", r.camera},
              {"camera_id", r.camera_id},
              {"from", iso(r.from_utc_us)},
              {"to", iso(r.to_utc_us)},
              {"request", r.request_reference},
              {"reason", r.reason},
              {"placed_by", r.placed_by},
              {"placed", iso(r.placed_utc_us)},
              {"in_force", r.in_force()},
              {"lifted_by", r.lifted_by},
              {"lifted", optional_time(r.lifted_utc_us)},
              {"lift_request", r.lift_request_reference}};
}

json erasure_json(const firmware::ErasureReceipt& r) {
  return json{{"camera", r.camera},
              {"camera_id", r.camera_id},
              {"from", iso(r.requested_from_utc_us)},
              {"to", iso(r.requested_to_utc_us)},
              {"request", r.request_reference},
              {"segments", r.segments},
              {"bytes", r.bytes},
              {"deleted_from", optional_time(r.deleted_from_utc_us)},
              {"deleted_to", optional_time(r.deleted_to_utc_us)}};
}

// One camera and a range [from, to) from a body: what an erasure or a restriction acts on. One
// camera per call, so that each call is one firmware transaction that happens whole or not at
// all (the UI offers the actions per footage range of the request).
struct FootageRange {
  std::string camera;
  int64_t from_utc_us = 0;
  int64_t to_utc_us = 0;
};

Result<FootageRange> footage_range(const json& body) {
  FootageRange range;
  YW_ASSIGN_OR_RETURN(range.camera, string_field(body, "camera", kMaxCameraName));
  YW_ASSIGN_OR_RETURN(range.from_utc_us, time_field(body, "from"));
  YW_ASSIGN_OR_RETURN(range.to_utc_us, time_field(body, "to"));
  return range;
}

// "/api/v1/requests/ID<suffix>": a route on one request.
std::string request_path(const std::string& suffix) {
  return std::string("/api/v1/requests/") + kRequestId + suffix;
}

// The request the path names (its reference is what the firmware's actions carry) and the JSON
// body. Reading it is audited (`request_read`), as for extend and close.
struct RequestAndBody {
  SubjectRequest request;
  json body;
};

Result<RequestAndBody> request_and_body(WebContext& context, const Request& request) {
  YW_ASSIGN_OR_RETURN(int64_t id, id_param(request.params[0]));
  YW_ASSIGN_OR_RETURN(json body, parse_body(request));
  YW_ASSIGN_OR_RETURN(SubjectRequest current,
                      context.services.requests.get(*request.principal, id));
  return RequestAndBody{std::move(current), std::move(body)};
}

}  // namespace

void add_request_routes(Router& router, WebContext& context) {
  // Reading: directors and privacy officers; changing: directors (the firmware checks again).
  const Access readers = Access::any_of({Permission::kReadSubjectRequests});
  const Access managers = Access::any_of({Permission::kManageSubjectRequests});

  router.add({Method::kGet, "/api/v1/requests", readers, 0,
              [&context](Request& request) {
                const bool given = request.http.has_param("state");
                const std::string state = given ? request.query("state").value_or("") : "open";
                firmware::RequestFilter filter;
                if (state == "all") {
                  filter.include_closed = true;
                } else if (state == "due") {
                  filter.due_only = true;
                } else if (state != "open" && state != "closed") {
                  return error_reply(400, "invalid", "'state' must be open, due, closed or all");
                }
                if (state == "closed") filter.include_closed = true;
                auto requests = context.services.requests.list(*request.principal, filter);
                if (!requests.ok()) return error_reply(requests.error());
                json list = json::array();
                for (const auto& r : requests.value()) {
                  if (state == "closed" && r.open()) continue;
                  list.push_back(request_json(r));
                }
                return json_reply(200, json{{"state", state}, {"requests", list}});
              },
              "the register (?state=open|due|closed|all; open: earliest deadline first)"});

  router.add({Method::kGet, std::string("/api/v1/requests/") + kRequestId, readers, 0,
              [&context](Request& request) {
                auto id = id_param(request.params[0]);
                if (!id.ok()) return error_reply(id.error());
                return request_reply(200,
                                     context.services.requests.get(*request.principal, id.value()));
              },
              "one request with its footage concerned and the actions taken (audited)"});

  router.add({Method::kPost, "/api/v1/requests", managers, kSmallBody,
              [&context](Request& request) {
                auto body = parse_body(request);
                if (!body.ok()) return error_reply(body.error());
                auto spec = new_request(body.value(), context.appliance.clock().now_utc_us());
                if (!spec.ok()) return error_reply(spec.error());
                return request_reply(
                    201, context.services.requests.add(*request.principal, spec.value()));
              },
              "registers a request (reference, kind, requester, footage, received)"});

  router.add({Method::kPost, std::string("/api/v1/requests/") + kRequestId + "/extend", managers,
              kSmallBody,
              [&context](Request& request) {
                auto id = id_param(request.params[0]);
                if (!id.ok()) return error_reply(id.error());
                auto body = parse_body(request);
                if (!body.ok()) return error_reply(body.error());
                auto reason = string_field(body.value(), "reason", firmware::kMaxRequestNoteLength);
                if (!reason.ok()) return error_reply(reason.error());
                auto current = context.services.requests.get(*request.principal, id.value());
                if (!current.ok()) return error_reply(current.error());
                auto deadline = extension_deadline(body.value(), current.value());
                if (!deadline.ok()) return error_reply(deadline.error());
                return request_reply(200, context.services.requests.extend(
                                              *request.principal, current.value().reference,
                                              deadline.value(), reason.value()));
              },
              "extends the deadline once, with a reason (at most 12 weeks after receipt)"});

  router.add({Method::kPost, std::string("/api/v1/requests/") + kRequestId + "/close", managers,
              kSmallBody,
              [&context](Request& request) {
                auto id = id_param(request.params[0]);
                if (!id.ok()) return error_reply(id.error());
                auto body = parse_body(request);
                if (!body.ok()) return error_reply(body.error());
                auto outcome_text = string_field(body.value(), "outcome", 32);
                if (!outcome_text.ok()) return error_reply(outcome_text.error());
                auto outcome = firmware::parse_request_outcome(outcome_text.value());
                if (!outcome) {
                  return error_reply(
                      400, "invalid",
                      "'outcome' must be granted, partially_granted, refused or withdrawn");
                }
                auto note = string_field(body.value(), "note", firmware::kMaxRequestNoteLength,
                                         /*required=*/false);
                if (!note.ok()) return error_reply(note.error());
                auto current = context.services.requests.get(*request.principal, id.value());
                if (!current.ok()) return error_reply(current.error());
                return request_reply(200, context.services.requests.close(*request.principal,
                                                                          current.value().reference,
                                                                          *outcome, note.value()));
              },
              "closes a request with its outcome; the requester's details are then dropped"});
}

// Answering a request: restriction, erasure, lifting, linking by hand (R7).
void add_request_footage_routes(Router& router, WebContext& context) {
  const Access readers = Access::any_of({Permission::kReadSubjectRequests});
  const Access managers = Access::any_of({Permission::kManageSubjectRequests});

  router.add({Method::kGet, "/api/v1/restrictions", readers, 0,
              [&context](Request& request) {
                const bool given = request.http.has_param("state");
                const std::string state = given ? request.query("state").value_or("") : "in_force";
                if (state != "in_force" && state != "all") {
                  return error_reply(400, "invalid", "'state' must be in_force or all");
                }
                auto restrictions =
                    context.services.subject_footage.list(*request.principal, state == "all");
                if (!restrictions.ok()) return error_reply(restrictions.error());
                json list = json::array();
                for (const auto& r : restrictions.value()) list.push_back(restriction_json(r));
                return json_reply(200, json{{"state", state}, {"restrictions", list}});
              },
              "restrictions of footage, newest first (?state=in_force|all)"});

  router.add({Method::kPost, request_path("/restrictions"), managers, kSmallBody,
              [&context](Request& request) {
                auto target = request_and_body(context, request);
                if (!target.ok()) return error_reply(target.error());
                const auto& [current, body] = target.value();
                auto range = footage_range(body);
                if (!range.ok()) return error_reply(range.error());
                auto reason = string_field(body, "reason", firmware::kMaxRequestNoteLength,
                                           /*required=*/false);
                if (!reason.ok()) return error_reply(reason.error());
                auto restriction = context.services.subject_footage.restrict_range(
                    *request.principal, range.value().camera, range.value().from_utc_us,
                    range.value().to_utc_us, current.reference, reason.value());
                if (!restriction.ok()) return error_reply(restriction.error());
                return json_reply(201, restriction_json(restriction.value()));
              },
              "restricts a camera's range for the request (camera, from, to, reason): not "
              "viewable, not exportable, not deleted until lifted"});

  router.add({Method::kPost, request_path(R"(/restrictions/(\d{1,18})/lift)"), managers, kSmallBody,
              [&context](Request& request) {
                auto target = request_and_body(context, request);
                if (!target.ok()) return error_reply(target.error());
                auto id = id_param(request.params[1]);
                if (!id.ok()) return error_reply(id.error());
                auto lifted = context.services.subject_footage.lift(
                    *request.principal, id.value(), target.value().request.reference);
                if (!lifted.ok()) return error_reply(lifted.error());
                return json_reply(200, restriction_json(lifted.value()));
              },
              "lifts a restriction under the request's reference; its footage then ages out"});

  router.add({Method::kPost, request_path("/erasures"), managers, kSmallBody,
              [&context](Request& request) {
                auto target = request_and_body(context, request);
                if (!target.ok()) return error_reply(target.error());
                auto range = footage_range(target.value().body);
                if (!range.ok()) return error_reply(range.error());
                auto receipt = context.services.subject_footage.erase(
                    *request.principal, range.value().camera, range.value().from_utc_us,
                    range.value().to_utc_us, target.value().request.reference);
                if (!receipt.ok()) return error_reply(receipt.error());
                return json_reply(200, erasure_json(receipt.value()));
              },
              "erases a camera's range now for the request (camera, from, to); refused while a "
              "hold or restriction covers it"});

  router.add({Method::kPost, request_path("/links"), managers, kSmallBody,
              [&context](Request& request) {
                auto target = request_and_body(context, request);
                if (!target.ok()) return error_reply(target.error());
                const auto& body = target.value().body;
                const bool hold = body.contains("hold");
                if (hold == body.contains("restriction")) {
                  return error_reply(400, "invalid", "give 'hold' or 'restriction' (an id)");
                }
                auto object_id = int_field(body, hold ? "hold" : "restriction");
                if (!object_id.ok()) return error_reply(object_id.error());
                return request_reply(200, context.services.requests.link(
                                              *request.principal, target.value().request.reference,
                                              hold ? firmware::RequestActionKind::kHold
                                                   : firmware::RequestActionKind::kRestriction,
                                              object_id.value()));
              },
              "links an existing hold or restriction to the request ({hold: id} or "
              "{restriction: id})"});
}

}  // namespace yardwatch::web_admin
