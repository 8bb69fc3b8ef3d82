// The breach register (R8; firmware/design/privacy_desk.md): the list and each entry with its
// 72-hour deadline, a director registers an incident by hand and records the decision (report to
// the Autoriteit Persoonsgegevens or not) with the reasoning; privacy officers read. Who may do
// what, the texts and the audit entries are the firmware's BreachService.

#include <httplib.h>

#include "context.h"
#include "yardwatch/firmware/breaches.h"

namespace yardwatch::web_admin {

namespace {

using firmware::Breach;
using firmware::Permission;

constexpr const char* kBreachId = R"((\d{1,18}))";

json breach_json(const Breach& b) {
  return json{{"id", b.id},
              {"source", b.source},
              {"kind", b.kind},
              {"alarm_id", b.alarm_id ? json(*b.alarm_id) : json(nullptr)},
              {"camera_id", b.camera_id ? json(*b.camera_id) : json(nullptr)},
              {"detected", iso(b.detected_utc_us)},
              {"description", b.description},
              {"personal_data", b.personal_data},
              {"encrypted_inaccessible", b.encrypted_inaccessible},
              {"assessment", b.assessment},
              {"deadline", iso(b.deadline_utc_us)},
              {"registered", iso(b.registered_utc_us)},
              {"registered_by", b.registered_by},
              {"decision", b.decision ? json(*b.decision) : json(nullptr)},
              {"reasoning", b.reasoning},
              {"report_reference", b.report_reference},
              {"decided_by", b.decided_by},
              {"decided", optional_time(b.decided_utc_us)},
              {"overdue", b.overdue},
              {"remaining_seconds", b.remaining_us / 1'000'000}};
}

Reply breach_reply(int status, const Result<Breach>& breach) {
  if (!breach.ok()) return error_reply(breach.error());
  return json_reply(status, breach_json(breach.value()));
}

}  // namespace

void add_breach_routes(Router& router, WebContext& context) {
  const Access readers = Access::any_of({Permission::kReadBreaches});
  const Access managers = Access::any_of({Permission::kManageBreaches});

  router.add({Method::kGet, "/api/v1/breaches", readers, 0,
              [&context](Request& request) {
                const bool given = request.http.has_param("state");
                const std::string state = given ? request.query("state").value_or("") : "all";
                if (state != "all" && state != "undecided") {
                  return error_reply(400, "invalid", "'state' must be all or undecided");
                }
                auto breaches = context.services.breaches.list(&*request.principal);
                if (!breaches.ok()) return error_reply(breaches.error());
                json list = json::array();
                for (const auto& b : breaches.value()) {
                  if (state == "undecided" && b.decision) continue;
                  list.push_back(breach_json(b));
                }
                return json_reply(200, json{{"state", state}, {"breaches", list}});
              },
              "the breach register, newest first (?state=all|undecided; audited)"});

  router.add({Method::kGet, std::string("/api/v1/breaches/") + kBreachId, readers, 0,
              [&context](Request& request) {
                auto id = id_param(request.params[0]);
                if (!id.ok()) return error_reply(id.error());
                return breach_reply(200,
                                    context.services.breaches.get(&*request.principal, id.value()));
              },
              "one entry of the breach register (audited)"});

  router.add({Method::kPost, "/api/v1/breaches", managers, kSmallBody,
              [&context](Request& request) {
                auto body = parse_body(request);
                if (!body.ok()) return error_reply(body.error());
                const json& fields = body.value();
                firmware::ManualBreach breach;
                auto detected = time_field(fields, "detected");
                if (!detected.ok()) return error_reply(detected.error());
                breach.detected_utc_us = detected.value();
                auto description =
                    string_field(fields, "description", firmware::kMaxBreachTextLength);
                auto personal = string_field(fields, "personal_data", 16, false);
                auto encrypted = string_field(fields, "encrypted_inaccessible", 16, false);
                auto assessment =
                    string_field(fields, "assessment", firmware::kMaxBreachTextLength, false);
                for (const auto* field : {&description, &personal, &encrypted, &assessment}) {
                  if (!field->ok()) return error_reply(field->error());
                }
                breach.description = description.value();
                if (!personal.value().empty()) breach.personal_data = personal.value();
                if (!encrypted.value().empty()) breach.encrypted_inaccessible = encrypted.value();
                breach.assessment = assessment.value();
                return breach_reply(
                    201, context.services.breaches.register_manual(*request.principal, breach));
              },
              "registers an incident by hand (detected, description, personal data, encryption)"});

  router.add(
      {Method::kPost, std::string("/api/v1/breaches/") + kBreachId + "/decision", managers,
       kSmallBody,
       [&context](Request& request) {
         auto id = id_param(request.params[0]);
         if (!id.ok()) return error_reply(id.error());
         auto body = parse_body(request);
         if (!body.ok()) return error_reply(body.error());
         const json& fields = body.value();
         firmware::BreachDecision decision;
         auto choice = string_field(fields, "decision", 16);
         auto reasoning = string_field(fields, "reasoning", firmware::kMaxBreachTextLength);
         auto personal = string_field(fields, "personal_data", 16, false);
         auto reference = string_field(fields, "report_reference", 200, false);
         for (const auto* field : {&choice, &reasoning, &personal, &reference}) {
           if (!field->ok()) return error_reply(field->error());
         }
         decision.decision = choice.value();
         decision.reasoning = reasoning.value();
         if (!personal.value().empty()) decision.personal_data = personal.value();
         decision.report_reference = reference.value();
         return breach_reply(
             200, context.services.breaches.decide(*request.principal, id.value(), decision));
       },
       "records the decision (report | not_report) with its reasoning; who decided is the caller"});
}

}  // namespace yardwatch::web_admin
