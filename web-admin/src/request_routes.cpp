// The register of data subjects' requests (R7; firmware/design/requests.md): directors register,
// extend once (at most 12 weeks after receipt, with a reason) and close requests; privacy
// officers read the register. Every rule, every permission and every audit entry is the
// firmware's RequestService; this file only turns JSON into its calls and its structs into JSON.

#include <httplib.h>

#include "context.h"
#include "yardwatch/firmware/requests.h"

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

}  // namespace yardwatch::web_admin
