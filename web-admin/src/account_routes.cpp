// Accounts (admins) and the audit journal (scoped by role in the firmware).

#include <httplib.h>

#include <algorithm>
#include <charconv>
#include <regex>

#include "context.h"
#include "yardwatch/firmware/audit_access.h"

namespace yardwatch::web_admin {

namespace {

using firmware::Permission;

constexpr const char* kAccountName = R"(([A-Za-z0-9._-]{1,64}))";

json account_json(const firmware::Account& account) {
  return json{{"id", account.id},
              {"name", account.name},
              {"role", firmware::role_name(account.role)},
              {"disabled", account.disabled},
              {"must_change_password", account.must_change_password},
              {"has_totp", account.has_totp},
              {"cameras", account.cameras},
              {"language", account.language},
              {"created", iso(account.created_utc_us)},
              {"last_login", optional_time(account.last_login_utc_us)}};
}

Result<std::vector<std::string>> camera_names(const json& body) {
  std::vector<std::string> names;
  auto found = body.find("cameras");
  if (found == body.end() || found->is_null()) return names;
  if (!found->is_array() || found->size() > 256) {
    return make_error(ErrorKind::kInvalidArgument, "'cameras' must be a list of camera names");
  }
  for (const auto& item : *found) {
    if (!item.is_string() || item.get_ref<const std::string&>().size() > 64) {
      return make_error(ErrorKind::kInvalidArgument, "'cameras' must be a list of camera names");
    }
    names.push_back(item.get<std::string>());
  }
  return names;
}

Result<firmware::Role> role_field(const json& body) {
  YW_ASSIGN_OR_RETURN(std::string text, string_field(body, "role", 32));
  auto role = firmware::parse_role(text);
  if (!role) {
    return make_error(ErrorKind::kInvalidArgument,
                      "'role' must be admin, director, viewer or privacy_officer");
  }
  return *role;
}

bool is_identifier(const std::string& text, size_t max_length) {
  static const std::regex pattern(R"([A-Za-z0-9._-]+)");
  return !text.empty() && text.size() <= max_length && std::regex_match(text, pattern);
}

}  // namespace

void add_account_routes(Router& router, WebContext& context) {
  const Access admins = Access::any_of({Permission::kManageAccounts});

  router.add({Method::kGet, "/api/v1/accounts", admins, 0,
              [&context](Request&) {
                auto accounts = context.services.accounts.list();
                if (!accounts.ok()) return error_reply(accounts.error());
                json list = json::array();
                for (const auto& account : accounts.value()) list.push_back(account_json(account));
                return json_reply(200, json{{"accounts", list}});
              },
              "every account"});

  router.add({Method::kPost, "/api/v1/accounts", admins, kSmallBody,
              [&context](Request& request) {
                auto body = parse_body(request);
                if (!body.ok()) return error_reply(body.error());
                auto name = string_field(body.value(), "name", 64);
                auto password = string_field(body.value(), "temporary_password", 256);
                auto role = role_field(body.value());
                auto cameras = camera_names(body.value());
                if (!name.ok()) return error_reply(name.error());
                if (!password.ok()) return error_reply(password.error());
                if (!role.ok()) return error_reply(role.error());
                if (!cameras.ok()) return error_reply(cameras.error());
                auto account = context.services.accounts.add_account(
                    request.principal->actor(), name.value(), role.value(), cameras.value(),
                    password.value());
                if (!account.ok()) return error_reply(account.error());
                return json_reply(201, account_json(account.value()));
              },
              "adds an account with a temporary password"});

  router.add({Method::kPut, std::string("/api/v1/accounts/") + kAccountName, admins, kSmallBody,
              [&context](Request& request) {
                const std::string& name = request.params[0];
                auto body = parse_body(request);
                if (!body.ok()) return error_reply(body.error());
                const json& fields = body.value();
                if (fields.contains("role")) {
                  auto role = role_field(fields);
                  if (!role.ok()) return error_reply(role.error());
                  std::optional<std::vector<std::string>> cameras;
                  if (fields.contains("cameras")) {
                    auto names = camera_names(fields);
                    if (!names.ok()) return error_reply(names.error());
                    cameras = names.value();
                  }
                  auto changed = context.services.accounts.set_role(request.principal->actor(),
                                                                    name, role.value(), cameras);
                  if (!changed.ok()) return error_reply(changed.error());
                }
                if (fields.contains("disabled")) {
                  if (!fields["disabled"].is_boolean()) {
                    return error_reply(400, "invalid", "'disabled' must be true or false");
                  }
                  auto changed = context.services.accounts.set_disabled(
                      request.principal->actor(), name, fields["disabled"].get<bool>());
                  if (!changed.ok()) return error_reply(changed.error());
                }
                auto account = context.services.accounts.find(name);
                if (!account.ok()) return error_reply(account.error());
                return json_reply(200, account_json(account.value()));
              },
              "changes an account's role and cameras, or disables/enables it"});
}

void add_audit_routes(Router& router, WebContext& context) {
  router.add(
      {Method::kGet, "/api/v1/audit",
       Access::any_of(
           {Permission::kReadAuditAll, Permission::kReadAuditSystem, Permission::kReadAuditOwn}),
       0,
       [&context](Request& request) {
         firmware::AuditQuery query;
         for (const auto& [key, value] : request.http.params) {
           static const std::vector<std::string> known{"since",  "until",   "actor", "action",
                                                       "camera", "outcome", "limit"};
           if (std::find(known.begin(), known.end(), key) == known.end()) {
             return error_reply(400, "invalid", "unknown filter '" + key.substr(0, 32) + "'");
           }
         }
         if (request.http.has_param("since")) {
           auto since = time_query(request, "since");
           if (!since.ok()) return error_reply(since.error());
           query.since_utc_us = since.value();
         }
         if (request.http.has_param("until")) {
           auto until = time_query(request, "until");
           if (!until.ok()) return error_reply(until.error());
           query.until_utc_us = until.value();
         }
         for (const auto& [key, target] :
              std::vector<std::pair<std::string, std::optional<std::string>*>>{
                  {"actor", &query.actor}, {"action", &query.action}, {"camera", &query.camera}}) {
           if (!request.http.has_param(key.c_str())) continue;
           auto value = request.query(key);
           if (!value || !is_identifier(*value, 64)) {
             return error_reply(400, "invalid",
                                "'" + key + "' must be a name of letters, digits, . _ -");
           }
           *target = *value;
         }
         if (request.http.has_param("outcome")) {
           auto outcome = request.query("outcome");
           if (!outcome || (*outcome != "allowed" && *outcome != "denied")) {
             return error_reply(400, "invalid", "'outcome' must be allowed or denied");
           }
           query.allowed = *outcome == "allowed";
         }
         if (request.http.has_param("limit")) {
           auto limit = request.query("limit");
           int64_t value = 0;
           if (!limit || limit->size() > 5 ||
               std::from_chars(limit->data(), limit->data() + limit->size(), value).ptr !=
                   limit->data() + limit->size()) {
             return error_reply(400, "invalid", "'limit' must be a number 1–1000");
           }
           query.limit = value;
         }
         auto entries = firmware::read_audit(context.appliance.catalog(), context.services.audit,
                                             *request.principal, query);
         if (!entries.ok()) return error_reply(entries.error());
         json list = json::array();
         for (const auto& entry : entries.value()) {
           json details = json::parse(entry.event.details, nullptr, false);
           list.push_back(json{{"seq", entry.seq},
                               {"time", iso(entry.time_utc_us)},
                               {"actor", entry.actor.name},
                               {"role", entry.actor.role},
                               {"client_address", entry.actor.client_address},
                               {"action", entry.event.action},
                               {"object_type", entry.event.object_type},
                               {"object_id", entry.event.object_id},
                               {"camera", entry.event.camera},
                               {"from", optional_time(entry.event.range_from_utc_us)},
                               {"to", optional_time(entry.event.range_to_utc_us)},
                               {"purpose", entry.event.purpose},
                               {"outcome", entry.event.allowed ? "allowed" : "denied"},
                               {"reason", entry.event.reason},
                               {"details", details.is_discarded() ? json::object() : details}});
         }
         return json_reply(200, json{{"scope", firmware::audit_scope_name(
                                                   firmware::audit_scope(request.principal->role))},
                                     {"entries", list}});
       },
       "searches the audit journal within the reader's scope (the read is audited)"});

  router.add({Method::kGet, "/api/v1/audit/export", Access::any_of({Permission::kReadAuditAll}), 0,
              [&context](Request& request) {
                auto text = firmware::export_audit(context.services.audit, *request.principal,
                                                   context.appliance.data_dir());
                if (!text.ok()) return error_reply(text.error());
                Reply reply = bytes_reply("application/x-ndjson", std::move(text).value());
                reply.headers.emplace_back("Content-Disposition",
                                           "attachment; filename=\"yardwatch-audit.jsonl\"");
                return reply;
              },
              "the whole journal as verifiable JSON lines (yardwatch-verify --audit)"});

  router.add({Method::kGet, "/api/v1/audit/verify",
              Access::any_of({Permission::kReadAuditAll, Permission::kReadAuditSystem}), 0,
              [&context](Request& request) {
                auto verified = context.services.audit.verify();
                if (!verified.ok()) return error_reply(verified.error());
                const auto& v = verified.value();
                firmware::AuditEvent event;
                event.action = "audit_verify";
                event.object_type = "audit";
                event.details = json{{"ok", v.ok}, {"entries", v.entries}}.dump();
                (void)context.services.audit.append(request.principal->actor(), event);
                return json_reply(
                    200, json{{"ok", v.ok},
                              {"entries", v.entries},
                              {"checkpoints", v.checkpoints},
                              {"first_broken_seq",
                               v.first_broken_seq ? json(*v.first_broken_seq) : json(nullptr)},
                              {"problem", v.problem}});
              },
              "checks the journal's chain and signed checkpoints"});
}

}  // namespace yardwatch::web_admin
