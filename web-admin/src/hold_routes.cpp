// Incident holds (R2; firmware/design/holds.md): list and read them, a director places, confirms,
// rejects, extends and releases them, a viewer requests one for an assigned camera. Every rule
// (who, which cameras, the 72-hour request, review-by at most six months ahead, the texts) and
// every audit entry is the firmware's HoldService; this file only turns JSON into its calls and
// its structs into JSON.

#include <httplib.h>

#include <functional>
#include <optional>
#include <string>

#include "context.h"
#include "yardwatch/firmware/holds.h"

namespace yardwatch::web_admin {

namespace {

using firmware::Hold;
using firmware::HoldState;
using firmware::Permission;

constexpr const char* kHoldId = R"((\d{1,18}))";
constexpr size_t kMaxCameras = 64;
constexpr size_t kMaxCameraName = 64;

json hold_json(const Hold& hold) {
  return json{{"id", hold.id},
              {"state", std::string(firmware::hold_state_name(hold.state))},
              {"overdue", hold.overdue},
              {"cameras", hold.cameras},
              {"camera_ids", hold.camera_ids},
              {"from", iso(hold.from_utc_us)},
              {"to", iso(hold.to_utc_us)},
              {"from_us", hold.from_utc_us},
              {"to_us", hold.to_utc_us},
              {"reason", hold.reason},
              {"case_reference", hold.case_reference},
              {"review_by", iso(hold.review_by_utc_us)},
              {"created_by", hold.created_by},
              {"created", iso(hold.created_utc_us)},
              {"pending_until", optional_time(hold.pending_until_utc_us)},
              {"decided_by", hold.decided_by},
              {"decided", optional_time(hold.decided_utc_us)},
              {"decision_note", hold.decision_note},
              {"released_by", hold.released_by},
              {"released", optional_time(hold.released_utc_us)}};
}

Reply hold_reply(int status, const Result<Hold>& hold) {
  if (!hold.ok()) return error_reply(hold.error());
  return json_reply(status, hold_json(hold.value()));
}

// "/api/v1/holds/ID<suffix>": a route on one hold.
std::string hold_path(const char* suffix) {
  return std::string("/api/v1/holds/") + kHoldId + suffix;
}

// The routes that change one hold: the id from the path and the JSON body, then `act` reads its
// fields and calls the firmware; the hold it returns (or its error) is the reply.
using HoldAction =
    std::function<Result<Hold>(const firmware::Principal& by, int64_t id, const json& body)>;

Reply act_on_hold(Request& request, const HoldAction& act) {
  auto id = id_param(request.params[0]);
  if (!id.ok()) return error_reply(id.error());
  auto body = parse_body(request);
  if (!body.ok()) return error_reply(body.error());
  return hold_reply(200, act(*request.principal, id.value(), body.value()));
}

// `review_by`: a date (the end of that day, UTC) or a full ISO-8601 UTC time, as the CLI's
// --review-by. Whether it is in the future and at most six months ahead is the firmware's check.
Result<std::optional<int64_t>> review_by_field(const json& body, bool required) {
  YW_ASSIGN_OR_RETURN(std::string text, string_field(body, "review_by", 40, required));
  if (text.empty()) {
    if (required) return make_error(ErrorKind::kInvalidArgument, "'review_by' is required");
    return std::optional<int64_t>();
  }
  auto parsed = firmware::parse_review_by(text);
  if (!parsed.ok()) {
    return make_error(ErrorKind::kInvalidArgument,
                      "'review_by' must be a date such as 2027-03-01 or an ISO-8601 UTC time");
  }
  return std::optional<int64_t>(parsed.value());
}

Result<firmware::HoldSpec> hold_spec(const json& body) {
  firmware::HoldSpec spec;
  auto cameras = body.find("cameras");
  if (cameras == body.end() || !cameras->is_array() || cameras->empty() ||
      cameras->size() > kMaxCameras) {
    return make_error(ErrorKind::kInvalidArgument, "'cameras' must list at least one camera");
  }
  for (const auto& item : *cameras) {
    if (!item.is_string() || item.get_ref<const std::string&>().empty() ||
        item.get_ref<const std::string&>().size() > kMaxCameraName) {
      return make_error(ErrorKind::kInvalidArgument, "'cameras' must be camera names");
    }
    spec.cameras.push_back(item.get<std::string>());
  }
  YW_ASSIGN_OR_RETURN(spec.from_utc_us, time_field(body, "from"));
  YW_ASSIGN_OR_RETURN(spec.to_utc_us, time_field(body, "to"));
  YW_ASSIGN_OR_RETURN(spec.reason, string_field(body, "reason", firmware::kMaxHoldReasonLength));
  YW_ASSIGN_OR_RETURN(spec.case_reference,
                      string_field(body, "case_reference", firmware::kMaxReferenceLength));
  YW_ASSIGN_OR_RETURN(auto review_by, review_by_field(body, /*required=*/true));
  spec.review_by_utc_us = *review_by;
  return spec;
}

// The list's `state` filter: one of the hold states, "overdue" (active and past review-by),
// "open" (pending and active, the default) or "all".
bool state_matches(const std::string& filter, const Hold& hold) {
  if (filter == "open") return hold.open();
  if (filter == "all") return true;
  if (filter == "overdue") return hold.state == HoldState::kActive && hold.overdue;
  return firmware::hold_state_name(hold.state) == filter;
}

bool known_state_filter(const std::string& filter) {
  return filter == "open" || filter == "all" || filter == "overdue" ||
         firmware::parse_hold_state(filter).has_value();
}

}  // namespace

void add_hold_routes(Router& router, WebContext& context) {
  // Readers: those who hold or request (directors; viewers for their cameras) and privacy
  // officers; the firmware narrows a viewer to holds of assigned cameras.
  const Access readers = Access::any_of(
      {Permission::kPlaceHold, Permission::kRequestHold, Permission::kReadSubjectRequests});
  const Access directors = Access::any_of({Permission::kPlaceHold});

  router.add(
      {Method::kGet, "/api/v1/holds", readers, 0,
       [&context](Request& request) {
         firmware::HoldFilter filter;
         const bool state_given = request.http.has_param("state");
         const std::string state =
             state_given ? request.query("state").value_or("") : std::string("open");
         if (!known_state_filter(state)) {
           return error_reply(400, "invalid",
                              "'state' must be open, all, overdue, pending, active, released, "
                              "rejected or expired");
         }
         filter.include_closed =
             state != "open" && state != "pending" && state != "active" && state != "overdue";
         if (request.http.has_param("camera")) {
           auto camera = request.query("camera");
           if (!camera || camera->empty() || camera->size() > kMaxCameraName) {
             return error_reply(400, "invalid", "'camera' must be given once, as a camera name");
           }
           filter.camera = *camera;
         }
         auto holds = context.services.holds.list(*request.principal, filter);
         if (!holds.ok()) return error_reply(holds.error());
         json list = json::array();
         for (const auto& hold : holds.value()) {
           if (state_matches(state, hold)) list.push_back(hold_json(hold));
         }
         return json_reply(200, json{{"state", state}, {"holds", list}});
       },
       "holds, newest first (?state=open|all|overdue|pending|active|released|rejected|expired, "
       "?camera=NAME)"});

  router.add({Method::kGet, std::string("/api/v1/holds/") + kHoldId, readers, 0,
              [&context](Request& request) {
                auto id = id_param(request.params[0]);
                if (!id.ok()) return error_reply(id.error());
                return hold_reply(200, context.services.holds.get(*request.principal, id.value()));
              },
              "one hold (a viewer: only holds of assigned cameras, else 403, audited)"});

  router.add({Method::kPost, "/api/v1/holds", directors, kSmallBody,
              [&context](Request& request) {
                auto body = parse_body(request);
                if (!body.ok()) return error_reply(body.error());
                auto spec = hold_spec(body.value());
                if (!spec.ok()) return error_reply(spec.error());
                return hold_reply(201,
                                  context.services.holds.place(*request.principal, spec.value()));
              },
              "places an active hold (cameras, range, reason, case reference, review-by)"});

  router.add({Method::kPost, "/api/v1/holds/requests", Access::any_of({Permission::kRequestHold}),
              kSmallBody,
              [&context](Request& request) {
                auto body = parse_body(request);
                if (!body.ok()) return error_reply(body.error());
                auto spec = hold_spec(body.value());
                if (!spec.ok()) return error_reply(spec.error());
                return hold_reply(201,
                                  context.services.holds.request(*request.principal, spec.value()));
              },
              "requests a hold (pending for 72 hours until a director decides)"});

  router.add(
      {Method::kPost, hold_path("/confirm"), directors, kSmallBody,
       [&context](Request& request) {
         return act_on_hold(
             request,
             [&](const firmware::Principal& by, int64_t id, const json& body) -> Result<Hold> {
               YW_ASSIGN_OR_RETURN(auto review_by, review_by_field(body, /*required=*/false));
               return context.services.holds.confirm(by, id, review_by);
             });
       },
       "confirms a pending request (optionally with a new review-by date)"});

  router.add(
      {Method::kPost, hold_path("/reject"), directors, kSmallBody,
       [&context](Request& request) {
         return act_on_hold(
             request,
             [&](const firmware::Principal& by, int64_t id, const json& body) -> Result<Hold> {
               YW_ASSIGN_OR_RETURN(auto why,
                                   string_field(body, "reason", firmware::kMaxHoldReasonLength));
               return context.services.holds.reject(by, id, why);
             });
       },
       "rejects a pending request, with a reason"});

  router.add(
      {Method::kPost, hold_path("/extend"), directors, kSmallBody,
       [&context](Request& request) {
         return act_on_hold(
             request,
             [&](const firmware::Principal& by, int64_t id, const json& body) -> Result<Hold> {
               YW_ASSIGN_OR_RETURN(auto review_by, review_by_field(body, /*required=*/true));
               return context.services.holds.extend(by, id, *review_by);
             });
       },
       "gives an active hold a new review-by date (at most six months ahead)"});

  router.add(
      {Method::kPost, hold_path("/release"), Access::any_of({Permission::kReleaseHold}), kSmallBody,
       [&context](Request& request) {
         return act_on_hold(
             request,
             [&](const firmware::Principal& by, int64_t id, const json& body) -> Result<Hold> {
               YW_ASSIGN_OR_RETURN(auto note,
                                   string_field(body, "note", firmware::kMaxHoldReasonLength,
                                                /*required=*/false));
               return context.services.holds.release(by, id, note);
             });
       },
       "releases an active hold; its footage then ages out as usual"});
}

}  // namespace yardwatch::web_admin
