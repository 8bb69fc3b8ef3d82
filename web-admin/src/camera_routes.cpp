// Cameras (list for everyone signed in, managed by admins), their timelines, status, alarms and
// metrics. The rules (R1 zones, R2 retention, who sees what) are the firmware's.

#include <httplib.h>

#include "context.h"
#include "yardwatch/firmware/status.h"

namespace yardwatch::web_admin {

namespace {

using firmware::Permission;

json camera_json(const recorder::Camera& camera) {
  json out{{"id", camera.id},
           {"name", camera.spec.name},
           {"zone", camera.spec.zone},
           {"location", camera.spec.location},
           {"retention_days", camera.spec.retention_days},
           {"transport", camera.spec.transport},
           {"created", iso(camera.created_utc_us)}};
  if (!camera.spec.url.empty()) out["url"] = camera.spec.url;  // admins only (firmware)
  return out;
}

Result<recorder::CameraSpec> camera_spec(const json& body, bool with_name,
                                         int default_retention_days = 28) {
  recorder::CameraSpec spec;
  spec.retention_days = default_retention_days;
  if (with_name) {
    YW_ASSIGN_OR_RETURN(spec.name, string_field(body, "name", 64));
  }
  YW_ASSIGN_OR_RETURN(spec.url, string_field(body, "url", 1024));
  YW_ASSIGN_OR_RETURN(spec.zone, string_field(body, "zone", 64));
  YW_ASSIGN_OR_RETURN(spec.location, string_field(body, "location", 200, false));
  YW_ASSIGN_OR_RETURN(spec.transport, string_field(body, "transport", 8, false));
  if (spec.transport.empty()) spec.transport = "tcp";
  if (body.contains("retention_days")) {
    YW_ASSIGN_OR_RETURN(int64_t days, int_field(body, "retention_days"));
    if (days < 0 || days > 1000) {
      return make_error(ErrorKind::kInvalidArgument, "'retention_days' is out of range");
    }
    spec.retention_days = static_cast<int>(days);
  }
  return spec;
}

constexpr const char* kId = R"((\d{1,18}))";

}  // namespace

void add_camera_routes(Router& router, WebContext& context) {
  router.add({Method::kGet, "/api/v1/cameras", Access::signed_in(), 0,
              [&context](Request& request) {
                auto cameras = context.services.cameras.list(*request.principal);
                if (!cameras.ok()) return error_reply(cameras.error());
                json list = json::array();
                for (const auto& camera : cameras.value()) list.push_back(camera_json(camera));
                return json_reply(
                    200, json{{"cameras", list}, {"permitted_zones", firmware::permitted_zones()}});
              },
              "the cameras the person may know of (viewers: assigned ones)"});

  router.add({Method::kGet, std::string("/api/v1/cameras/") + kId, Access::signed_in(), 0,
              [&context](Request& request) {
                auto id = id_param(request.params[0]);
                if (!id.ok()) return error_reply(id.error());
                auto camera = context.services.cameras.get(*request.principal, id.value());
                if (!camera.ok()) return error_reply(camera.error());
                return json_reply(200, camera_json(camera.value()));
              },
              "one camera"});

  router.add({Method::kPost, "/api/v1/cameras", Access::any_of({Permission::kManageCameras}),
              kSmallBody,
              [&context](Request& request) {
                auto body = parse_body(request);
                if (!body.ok()) return error_reply(body.error());
                auto spec = camera_spec(body.value(), true, context.options.default_retention_days);
                if (!spec.ok()) return error_reply(spec.error());
                auto camera = context.services.cameras.add(*request.principal, spec.value());
                if (!camera.ok()) return error_reply(camera.error());
                return json_reply(201, camera_json(camera.value()));
              },
              "adds a camera (zones per R1, retention per R2)"});

  router.add({Method::kPut, std::string("/api/v1/cameras/") + kId,
              Access::any_of({Permission::kManageCameras}), kSmallBody,
              [&context](Request& request) {
                auto id = id_param(request.params[0]);
                if (!id.ok()) return error_reply(id.error());
                auto body = parse_body(request);
                if (!body.ok()) return error_reply(body.error());
                auto spec = camera_spec(body.value(), false);
                if (!spec.ok()) return error_reply(spec.error());
                auto camera =
                    context.services.cameras.edit(*request.principal, id.value(), spec.value());
                if (!camera.ok()) return error_reply(camera.error());
                return json_reply(200, camera_json(camera.value()));
              },
              "edits a camera (everything but its name)"});

  router.add({Method::kDelete, std::string("/api/v1/cameras/") + kId,
              Access::any_of({Permission::kManageCameras}), 0,
              [&context](Request& request) {
                auto id = id_param(request.params[0]);
                if (!id.ok()) return error_reply(id.error());
                auto removed = context.services.cameras.remove(*request.principal, id.value());
                if (!removed.ok()) return error_reply(removed.error());
                return json_reply(200, json{{"removed", id.value()}});
              },
              "stops recording a camera; its footage ages out as usual"});

  router.add({Method::kGet, std::string("/api/v1/cameras/") + kId + "/preview",
              Access::any_of({Permission::kManageCameras}), 0,
              [&context](Request& request) {
                auto id = id_param(request.params[0]);
                if (!id.ok()) return error_reply(id.error());
                auto mp4 = context.services.viewing.preview(*request.principal, id.value(),
                                                            std::chrono::milliseconds(3000));
                if (!mp4.ok()) return error_reply(mp4.error());
                return bytes_reply("video/mp4", std::string(mp4->begin(), mp4->end()));
              },
              "a recent picture for the admin's dashboard (setup preview), audited"});

  router.add({Method::kGet, std::string("/api/v1/cameras/") + kId + "/timeline",
              Access::any_of({Permission::kViewRecorded}), 0,
              [&context](Request& request) {
                auto id = id_param(request.params[0]);
                if (!id.ok()) return error_reply(id.error());
                auto from = time_query(request, "from");
                if (!from.ok()) return error_reply(from.error());
                auto to = time_query(request, "to");
                if (!to.ok()) return error_reply(to.error());
                auto timeline = context.services.viewing.timeline(*request.principal, id.value(),
                                                                  from.value(), to.value());
                if (!timeline.ok()) return error_reply(timeline.error());
                json segments = json::array();
                for (const auto& segment : timeline.value().segments) {
                  segments.push_back(json{{"id", segment.id},
                                          {"start", iso(segment.start_utc_us)},
                                          {"end", iso(segment.end_utc_us)},
                                          {"start_us", segment.start_utc_us},
                                          {"end_us", segment.end_utc_us},
                                          {"recording", segment.recording}});
                }
                json gaps = json::array();
                for (const auto& gap : timeline.value().gaps) {
                  gaps.push_back(json{{"from", iso(gap.from_utc_us)},
                                      {"to", iso(gap.to_utc_us)},
                                      {"from_us", gap.from_utc_us},
                                      {"to_us", gap.to_utc_us}});
                }
                // Held, requested and restricted spans (firmware::HoldService::timeline).
                json holds = json::array();
                auto spans = context.services.holds.timeline(*request.principal,
                                                             timeline.value().camera.spec.name,
                                                             from.value(), to.value());
                if (!spans.ok()) return error_reply(spans.error());
                for (const auto& span : spans.value()) {
                  holds.push_back(json{{"kind", span.kind},
                                       {"id", span.id},
                                       {"from", iso(span.from_utc_us)},
                                       {"to", iso(span.to_utc_us)},
                                       {"from_us", span.from_utc_us},
                                       {"to_us", span.to_utc_us},
                                       {"reference", span.reference},
                                       {"reason", span.reason}});
                }
                return json_reply(200, json{{"camera", camera_json(timeline.value().camera)},
                                            {"from", iso(timeline.value().from_utc_us)},
                                            {"to", iso(timeline.value().to_utc_us)},
                                            {"segments", segments},
                                            {"gaps", gaps},
                                            {"holds", holds}});
              },
              "segments, gaps and holds of one camera in [from, to) (at most 8 days)"});
}

void add_status_routes(Router& router, WebContext& context) {
  router.add(
      {Method::kGet, "/api/v1/status", Access::signed_in(), 0,
       [&context](Request& request) {
         auto status = firmware::read_status(context.appliance.catalog(), context.appliance.clock(),
                                             context.appliance.storage(), *request.principal,
                                             context.options.recorder_running);
         if (!status.ok()) return error_reply(status.error());
         const auto& s = status.value();
         json cameras = json::array();
         for (const auto& entry : s.cameras) {
           cameras.push_back(json{{"camera", camera_json(entry.camera)},
                                  {"state", entry.state},
                                  {"reason", entry.reason},
                                  {"since", optional_time(entry.since_utc_us)},
                                  {"oldest", optional_time(entry.footage.oldest_utc_us)},
                                  {"newest", optional_time(entry.footage.newest_utc_us)},
                                  {"bytes", entry.footage.bytes},
                                  {"segments", entry.footage.segment_count},
                                  {"footage_days", entry.footage_days}});
         }
         // Data subjects' requests overdue or due within 7 days, for those who may read the
         // register (directors, privacy officers; firmware decides). References and dates only.
         json requests_due = json::array();
         auto due = context.services.requests.due_visible_to(*request.principal);
         if (!due.ok()) return error_reply(due.error());
         for (const auto& r : due.value()) {
           requests_due.push_back(json{{"reference", r.reference},
                                       {"kind", std::string(firmware::request_kind_name(r.kind))},
                                       {"deadline", iso(r.deadline_utc_us)},
                                       {"overdue", r.overdue}});
         }
         // Breaches whose 72-hour decision is open, for those who may read the register.
         json breaches_open = json::array();
         if (firmware::role_allows(request.principal->role, Permission::kReadBreaches)) {
           auto undecided = context.services.breaches.undecided();
           if (!undecided.ok()) return error_reply(undecided.error());
           for (const auto& b : undecided.value()) {
             breaches_open.push_back(json{{"id", b.id},
                                          {"kind", b.kind},
                                          {"detected", iso(b.detected_utc_us)},
                                          {"deadline", iso(b.deadline_utc_us)},
                                          {"overdue", b.overdue}});
           }
         }
         // The DPIA reminder (R10), for directors and privacy officers: from 30 days before the
         // three-year mark (the daemon records the warning in the journal).
         json dpia = nullptr;
         if (firmware::role_allows(request.principal->role, Permission::kReadComplianceReports)) {
           auto state = context.services.dpia.status();
           if (!state.ok()) return error_reply(state.error());
           const auto& d = state.value();
           dpia = json{{"state", std::string(firmware::dpia_state_name(d.state))},
                       {"warning", d.warning()},
                       {"date", d.date ? json(*d.date) : json(nullptr)},
                       {"due_date", d.due_date ? json(*d.due_date) : json(nullptr)},
                       {"days_left", d.days_left ? json(*d.days_left) : json(nullptr)}};
         }
         json alarms = json::array();
         for (const auto& alarm : s.alarms) {
           alarms.push_back(
               json{{"kind", alarm.kind},
                    {"camera_id", alarm.camera_id ? json(*alarm.camera_id) : json(nullptr)},
                    {"message", alarm.message},
                    {"raised", iso(alarm.raised_utc_us)}});
         }
         // Overdue holds, for those who may read holds (firmware decides who).
         json overdue = json::array();
         auto overdue_holds = context.services.holds.overdue_visible_to(*request.principal);
         if (!overdue_holds.ok()) return error_reply(overdue_holds.error());
         for (const auto& hold : overdue_holds.value()) {
           std::string camera_names;
           for (const auto& name : hold.cameras) {
             camera_names += (camera_names.empty() ? "" : ", ") + name;
           }
           overdue.push_back(json{{"id", hold.id},
                                  {"camera", camera_names},
                                  {"cameras", hold.cameras},
                                  {"case", hold.case_reference},
                                  {"reason", hold.reason},
                                  {"review_by", iso(hold.review_by_utc_us)}});
         }
         return json_reply(
             200, json{{"recorder_running", s.recorder_running},
                       {"device_id", s.device_id},
                       {"certificate_sha256", context.tls_fingerprint},
                       {"now", iso(s.now_utc_us)},
                       {"clock", s.clock},
                       {"cameras", cameras},
                       {"storage",
                        {{"free_bytes", s.free_bytes ? json(*s.free_bytes) : json(nullptr)},
                         {"total_bytes", s.total_bytes ? json(*s.total_bytes) : json(nullptr)}}},
                       {"alarms", alarms},
                       {"holds_overdue", overdue},
                       {"requests_due", requests_due},
                       {"breaches_open", breaches_open},
                       {"dpia", dpia}});
       },
       "dashboard: recording state, footage and retention per camera, storage, alarms"});

  router.add({Method::kGet, "/metrics", Access::any_of({Permission::kManageCameras}), 0,
              [&context](Request&) {
                Reply reply;
                reply.content_type = "text/plain; version=0.0.4";
                reply.body = metrics_text(context);
                return reply;
              },
              "Prometheus metrics (also served without TLS on --metrics-listen)"});
}

std::string metrics_text(WebContext& context) {
  std::string out;
  auto metric = [&out](const std::string& name, const std::string& help, const std::string& type,
                       const std::vector<std::pair<std::string, double>>& samples) {
    out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    for (const auto& [labels, value] : samples) {
      char number[64];
      std::snprintf(number, sizeof(number), "%.17g", value);
      out += name + labels + " " + number + "\n";
    }
  };
  const Metrics& m = context.metrics;
  metric("yardwatch_http_requests_total", "HTTPS requests received by the web admin", "counter",
         {{"", static_cast<double>(m.requests.load())}});
  metric("yardwatch_http_responses_total", "HTTPS responses by status class", "counter",
         {{"{class=\"2xx\"}", static_cast<double>(m.responses_2xx.load())},
          {"{class=\"3xx\"}", static_cast<double>(m.responses_3xx.load())},
          {"{class=\"4xx\"}", static_cast<double>(m.responses_4xx.load())},
          {"{class=\"5xx\"}", static_cast<double>(m.responses_5xx.load())}});
  metric("yardwatch_sign_ins_failed_total", "failed web sign-ins", "counter",
         {{"", static_cast<double>(m.sign_ins_failed.load())}});
  metric("yardwatch_http_handler_exceptions_total", "requests that ended in an internal error",
         "counter", {{"", static_cast<double>(m.handler_exceptions.load())}});
  metric("yardwatch_viewings_open", "open viewing sessions (live or recorded)", "gauge",
         {{"", static_cast<double>(context.services.viewing.open_count())}});
  auto& catalog = context.appliance.catalog();
  std::vector<std::pair<std::string, double>> states;
  std::map<std::string, int> by_state;
  if (auto statuses = catalog.camera_statuses(); statuses.ok()) {
    auto cameras = catalog.cameras(false);
    for (const auto& status : statuses.value()) {
      if (!cameras.ok()) break;
      for (const auto& camera : cameras.value()) {
        if (camera.id == status.camera_id) ++by_state[status.state];
      }
    }
  }
  for (const char* state : {"recording", "connecting", "disconnected", "error", "stopped"}) {
    states.emplace_back(std::string("{state=\"") + state + "\"}", by_state[state]);
  }
  metric("yardwatch_cameras", "cameras by recording state", "gauge", states);
  std::vector<std::pair<std::string, double>> bytes;
  if (auto cameras = catalog.cameras(false); cameras.ok()) {
    for (const auto& camera : cameras.value()) {
      auto footage = catalog.footage_summary(camera.id);
      if (footage.ok()) {
        // Camera ids, not names: nothing a person typed ends up in the metrics.
        bytes.emplace_back("{camera_id=\"" + std::to_string(camera.id) + "\"}",
                           static_cast<double>(footage.value().bytes));
      }
    }
  }
  metric("yardwatch_footage_bytes", "encrypted footage on disk per camera", "gauge", bytes);
  auto free = context.appliance.storage().free_bytes();
  auto total = context.appliance.storage().total_bytes();
  metric("yardwatch_storage_free_bytes", "free space on the data volume", "gauge",
         {{"", free.ok() ? static_cast<double>(free.value()) : 0.0}});
  metric("yardwatch_storage_total_bytes", "size of the data volume", "gauge",
         {{"", total.ok() ? static_cast<double>(total.value()) : 0.0}});
  auto alarms = catalog.open_alarms();
  metric("yardwatch_alarms_open", "open alarms", "gauge",
         {{"", alarms.ok() ? static_cast<double>(alarms.value().size()) : 0.0}});
  if (context.options.daemon_metrics) out += context.options.daemon_metrics();
  return out;
}

}  // namespace yardwatch::web_admin
