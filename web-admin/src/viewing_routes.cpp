// Viewings: live and recorded footage for the browser's Media Source Extensions. A viewing is
// opened with a purpose (audited by the firmware) and gives the URLs to fetch; recorded
// segments are decrypted in memory and sent as fragmented MP4, never written to disk.

#include <httplib.h>

#include <charconv>

#include "context.h"

namespace yardwatch::web_admin {

namespace {

using firmware::Permission;

constexpr const char* kViewingId = R"(([0-9a-f]{32}))";
constexpr std::chrono::milliseconds kLiveWait{2500};

json viewing_json(const firmware::Viewing& viewing) {
  const std::string base = "/api/v1/viewings/" + viewing.id;
  json out{{"id", viewing.id},
           {"kind", firmware::viewing_kind_name(viewing.kind)},
           {"camera_id", viewing.camera_id},
           {"camera", viewing.camera_name},
           {"purpose", viewing.purpose},
           {"opened", iso(viewing.opened_utc_us)}};
  if (viewing.kind == firmware::ViewingKind::kRecorded) {
    out["from"] = iso(viewing.from_utc_us);
    out["to"] = iso(viewing.to_utc_us);
    out["from_us"] = viewing.from_utc_us;
    out["to_us"] = viewing.to_utc_us;
    json segments = json::array();
    for (const auto& segment : viewing.segments) {
      segments.push_back(json{{"id", segment.id},
                              {"start", iso(segment.start_utc_us)},
                              {"end", iso(segment.end_utc_us)},
                              {"start_us", segment.start_utc_us},
                              {"end_us", segment.end_utc_us},
                              {"url", base + "/segments/" + std::to_string(segment.id)}});
    }
    out["segments"] = segments;
  } else {
    out["stream"] = json{{"init", base + "/live/init"}, {"next", base + "/live/next"}};
  }
  return out;
}

// What a refused second person is audited against: the viewing that was asked for.
firmware::AuditEvent attempted_viewing(WebContext& context, int64_t camera_id, int64_t from_utc_us,
                                       int64_t to_utc_us, const std::string& purpose) {
  firmware::AuditEvent event;
  event.action = "viewing_open";
  event.object_type = "camera";
  event.object_id = std::to_string(camera_id);
  event.purpose = purpose;
  event.range_from_utc_us = from_utc_us;
  event.range_to_utc_us = to_utc_us;
  event.details = json{{"kind", "recorded"}}.dump();
  if (auto camera = context.appliance.catalog().camera_by_id(camera_id); camera.ok()) {
    event.camera = camera.value().spec.name;
  }
  return event;
}

std::string mp4_type(const std::string& codec) {
  return codec == "h265" ? "video/mp4; codecs=\"hvc1\"" : "video/mp4";
}

}  // namespace

void add_viewing_routes(Router& router, WebContext& context) {
  const Access viewers = Access::any_of({Permission::kLiveView, Permission::kViewRecorded});

  router.add({Method::kPost, "/api/v1/viewings", viewers, kSmallBody,
              [&context](Request& request) {
                auto body = parse_body(request);
                if (!body.ok()) return error_reply(body.error());
                auto camera = int_field(body.value(), "camera_id");
                auto kind = string_field(body.value(), "kind", 16);
                auto purpose = string_field(body.value(), "purpose", 1000);
                if (!camera.ok()) return error_reply(camera.error());
                if (!kind.ok()) return error_reply(kind.error());
                if (!purpose.ok()) return error_reply(purpose.error());
                Result<firmware::Viewing> viewing = make_error(ErrorKind::kInternal, "");
                if (kind.value() == "live") {
                  viewing = context.services.viewing.open_live(*request.principal, camera.value(),
                                                               purpose.value());
                } else if (kind.value() == "recorded") {
                  auto from = time_field(body.value(), "from");
                  auto to = time_field(body.value(), "to");
                  if (!from.ok()) return error_reply(from.error());
                  if (!to.ok()) return error_reply(to.error());
                  // Four-eyes: the second person's sign-in, if given, approves within this
                  // request; the firmware's gate decides whether one was needed.
                  const bool second_given = body.value().contains("second_person");
                  auto approval =
                      four_eyes_approval(context, request, body.value(), {camera.value()},
                                         attempted_viewing(context, camera.value(), from.value(),
                                                           to.value(), purpose.value()));
                  if (!approval.ok()) return footage_error_reply(approval.error(), true);
                  viewing = context.services.viewing.open_recorded(
                      *request.principal, camera.value(), from.value(), to.value(), purpose.value(),
                      approval.value() ? &*approval.value() : nullptr);
                  if (!viewing.ok()) return footage_error_reply(viewing.error(), second_given);
                } else {
                  return error_reply(400, "invalid", "'kind' must be \"live\" or \"recorded\"");
                }
                if (!viewing.ok()) return error_reply(viewing.error());
                return json_reply(201, viewing_json(viewing.value()));
              },
              "opens a viewing of one camera with a purpose (live, or recorded [from, to)); with "
              "four-eyes on, recorded needs second_person {name, password, totp}"});

  router.add({Method::kGet, std::string("/api/v1/viewings/") + kViewingId, viewers, 0,
              [&context](Request& request) {
                auto viewing = context.services.viewing.get(*request.principal, request.params[0]);
                if (!viewing.ok()) return error_reply(viewing.error());
                return json_reply(200, viewing_json(viewing.value()));
              },
              "an open viewing of the caller's"});

  router.add({Method::kDelete, std::string("/api/v1/viewings/") + kViewingId, viewers, 0,
              [&context](Request& request) {
                auto closed = context.services.viewing.close(*request.principal, request.params[0]);
                if (!closed.ok()) return error_reply(closed.error());
                return json_reply(200, json{{"closed", request.params[0]}});
              },
              "closes a viewing"});

  router.add({Method::kGet,
              std::string("/api/v1/viewings/") + kViewingId + R"(/segments/(\d{1,18}))",
              Access::any_of({Permission::kViewRecorded}), 0,
              [&context](Request& request) {
                auto id = id_param(request.params[1]);
                if (!id.ok()) return error_reply(id.error());
                auto segment = context.services.viewing.read_segment(*request.principal,
                                                                     request.params[0], id.value());
                if (!segment.ok()) return error_reply(segment.error());
                auto& decrypted = segment.value();
                context.metrics.footage_bytes_served += decrypted.mp4.size();
                Reply reply = bytes_reply(mp4_type(decrypted.row.codec),
                                          std::string(decrypted.mp4.begin(), decrypted.mp4.end()));
                reply.headers.emplace_back("X-Yardwatch-Start", iso(decrypted.row.start_utc_us));
                reply.headers.emplace_back("X-Yardwatch-Codec", decrypted.row.codec);
                return reply;
              },
              "one recorded segment of the viewing, decrypted, as fragmented MP4"});

  router.add({Method::kGet, std::string("/api/v1/viewings/") + kViewingId + "/live/init",
              Access::any_of({Permission::kLiveView}), 0,
              [&context](Request& request) {
                auto init =
                    context.services.viewing.live_init(*request.principal, request.params[0]);
                if (!init.ok()) return error_reply(init.error());
                Reply reply = bytes_reply("video/mp4", std::string(init.value().bytes->begin(),
                                                                   init.value().bytes->end()));
                reply.headers.emplace_back("X-Yardwatch-Track",
                                           std::to_string(init.value().track_generation));
                return reply;
              },
              "the live stream's init section (ftyp + moov)"});

  router.add(
      {Method::kGet, std::string("/api/v1/viewings/") + kViewingId + "/live/next",
       Access::any_of({Permission::kLiveView}), 0,
       [&context](Request& request) {
         uint64_t after = 0;
         if (auto text = request.query("after")) {
           auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), after);
           if (error != std::errc() || end != text->data() + text->size()) {
             return error_reply(400, "invalid", "'after' must be a sequence number");
           }
         } else if (request.http.has_param("after")) {
           return error_reply(400, "invalid", "'after' must be given once");
         }
         auto next = context.services.viewing.live_next(*request.principal, request.params[0],
                                                        after, kLiveWait);
         if (!next.ok()) return error_reply(next.error());
         if (!next.value()) {
           Reply none;
           none.status = 204;
           none.content_type = "text/plain";
           return none;
         }
         const auto& fragment = *next.value();
         Reply reply =
             bytes_reply("video/mp4", std::string(fragment.bytes->begin(), fragment.bytes->end()));
         reply.headers.emplace_back("X-Yardwatch-Sequence", std::to_string(fragment.sequence));
         reply.headers.emplace_back("X-Yardwatch-Track", std::to_string(fragment.track_generation));
         reply.headers.emplace_back("X-Yardwatch-Time", iso(fragment.utc_start_us));
         return reply;
       },
       "the next live fragment after ?after=N (0: the newest); 204 after 2.5 s without"});
}

}  // namespace yardwatch::web_admin
