// Sign-in, sign-out, the session, first run and the signed-in person's own settings
// (password, TOTP, language). Throttling, hashing and auditing are the AccountService's.

#include <httplib.h>

#include "context.h"
#include "yardwatch/firmware/totp.h"

namespace yardwatch::web_admin {

namespace {

std::string session_cookie(const std::string& token) {
  // __Host-: Secure, Path=/ and no Domain, so no other site or subdomain can set it.
  return std::string(kSessionCookie) + "=" + token + "; Path=/; Secure; HttpOnly; SameSite=Strict";
}

json account_json(const firmware::Principal& principal) {
  return json{{"name", principal.name},
              {"role", firmware::role_name(principal.role)},
              {"language", principal.language},
              {"must_change_password", principal.must_change_password},
              {"needs_totp_enrolment", principal.needs_totp_enrolment},
              {"camera_ids", principal.camera_ids}};
}

// The person's permissions as the firmware's role matrix states them, so the UI shows only
// what will work (the server checks again on every request).
json permissions_json(firmware::Role role) {
  using firmware::Permission;
  json permissions = json::object();
  for (Permission permission :
       {Permission::kManageCameras, Permission::kManageAccounts, Permission::kLiveView,
        Permission::kViewRecorded, Permission::kPlaceHold, Permission::kRequestHold,
        Permission::kReleaseHold, Permission::kPoliceExport, Permission::kReadSubjectRequests,
        Permission::kReadAuditAll, Permission::kReadAuditSystem, Permission::kReadAuditOwn,
        Permission::kManageSubjectRequests, Permission::kManageBreaches, Permission::kReadBreaches,
        Permission::kReadComplianceReports, Permission::kManageComplianceRecords}) {
    permissions[std::string(firmware::permission_name(permission))] =
        firmware::role_allows(role, permission);
  }
  return permissions;
}

Reply session_reply(const firmware::Principal& principal, const std::string& csrf_token) {
  return json_reply(200, json{{"account", account_json(principal)},
                              {"permissions", permissions_json(principal.role)},
                              {"csrf_token", csrf_token}});
}

// Starts a fresh session (a new token at every sign-in) and sets its cookie.
Reply start_session(WebContext& context, const firmware::Principal& principal) {
  auto session = context.services.sessions.create(principal.account_id, principal.client_address);
  if (!session.ok()) return error_reply(session.error());
  Reply reply = session_reply(principal, session.value().csrf_token);
  reply.headers.emplace_back("Set-Cookie", session_cookie(session.value().token));
  return reply;
}

}  // namespace

void add_session_routes(Router& router, WebContext& context) {
  router.add({Method::kGet, "/healthz", Access::public_route(), 0,
              [](Request&) {
                Reply reply;
                reply.content_type = "text/plain";
                reply.body = "ok\n";
                return reply;
              },
              "liveness: 200 \"ok\" while the web admin answers; no detail"});

  router.add({Method::kGet, "/api/v1/setup", Access::public_route(), 0,
              [&context](Request&) {
                auto accounts = context.services.accounts.list();
                if (!accounts.ok()) return error_reply(accounts.error());
                return json_reply(200, json{{"needs_first_admin", accounts.value().empty()}});
              },
              "whether the first admin still has to be created"});

  router.add({Method::kPost, "/api/v1/setup/first-admin", Access::public_route(), kSmallBody,
              [&context](Request& request) {
                auto body = parse_body(request);
                if (!body.ok()) return error_reply(body.error());
                auto code = string_field(body.value(), "setup_code", 64);
                auto name = string_field(body.value(), "name", 64);
                auto password = string_field(body.value(), "password", 256);
                for (const auto* field : {&code, &name, &password}) {
                  if (!field->ok()) return error_reply(field->error());
                }
                auto created = context.services.accounts.create_first_admin(
                    name.value(), code.value(), password.value(), request.client_address);
                if (!created.ok()) return error_reply(created.error());
                return json_reply(201, json{{"name", created.value().name}});
              },
              "creates the first admin with the one-time setup code"});

  router.add({Method::kPost, "/api/v1/session", Access::public_route(), kSmallBody,
              [&context](Request& request) {
                auto body = parse_body(request);
                if (!body.ok()) return error_reply(body.error());
                auto name = string_field(body.value(), "name", 64);
                auto password = string_field(body.value(), "password", 256);
                auto totp = string_field(body.value(), "totp", 16, false);
                for (const auto* field : {&name, &password, &totp}) {
                  if (!field->ok()) return error_reply(field->error());
                }
                firmware::Credentials credentials{name.value(), password.value(), totp.value(),
                                                  request.client_address};
                auto principal = context.services.accounts.authenticate(credentials);
                if (!principal.ok()) {
                  ++context.metrics.sign_ins_failed;
                  if (principal.error().kind == ErrorKind::kPermissionDenied) {
                    return error_reply(401, "sign_in_failed", principal.error().message);
                  }
                  return error_reply(principal.error());
                }
                return start_session(context, principal.value());
              },
              "signs in (name, password, TOTP code); sets the session cookie"});

  router.add(
      {Method::kGet, "/api/v1/session", Access::setup(), 0,
       [](Request& request) { return session_reply(*request.principal, request.csrf_token); },
       "the signed-in account, its permissions and the CSRF token"});

  router.add({Method::kDelete, "/api/v1/session", Access::setup(), 0,
              [&context](Request& request) {
                auto revoked = context.services.sessions.revoke(request.session_token);
                if (!revoked.ok()) return error_reply(revoked.error());
                firmware::AuditEvent event;
                event.action = "logout";
                event.object_type = "account";
                event.object_id = request.principal->name;
                (void)context.services.audit.append(request.principal->actor(), event);
                Reply reply = json_reply(200, json{{"signed_out", true}});
                reply.headers.emplace_back(
                    "Set-Cookie", std::string(kSessionCookie) +
                                      "=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0");
                return reply;
              },
              "signs out (the session is revoked)"});

  router.add({Method::kPost, "/api/v1/account/password", Access::setup(), kSmallBody,
              [&context](Request& request) {
                auto body = parse_body(request);
                if (!body.ok()) return error_reply(body.error());
                auto old_password = string_field(body.value(), "old_password", 256);
                auto new_password = string_field(body.value(), "new_password", 256);
                auto totp = string_field(body.value(), "totp", 16, false);
                for (const auto* field : {&old_password, &new_password, &totp}) {
                  if (!field->ok()) return error_reply(field->error());
                }
                const firmware::Principal& who = *request.principal;
                firmware::Credentials credentials{who.name, old_password.value(), totp.value(),
                                                  request.client_address};
                auto changed =
                    context.services.accounts.change_password(credentials, new_password.value());
                if (!changed.ok()) {
                  if (changed.error().kind == ErrorKind::kPermissionDenied) {
                    return error_reply(403, "wrong_password", changed.error().message);
                  }
                  return error_reply(changed.error());
                }
                // Every session of the account was revoked; the person who just proved the old
                // password goes on in a fresh one.
                auto principal =
                    context.services.accounts.principal(who.account_id, request.client_address);
                if (!principal.ok()) return error_reply(principal.error());
                return start_session(context, principal.value());
              },
              "changes the own password (old password, and TOTP code where enrolled)"});

  router.add({Method::kPost, "/api/v1/account/totp/begin", Access::setup(), 0,
              [&context](Request& request) {
                auto enrolment = context.services.accounts.begin_totp_enrolment(*request.principal);
                if (!enrolment.ok()) return error_reply(enrolment.error());
                return json_reply(200, json{{"secret", enrolment.value().secret_base32},
                                            {"uri", enrolment.value().uri}});
              },
              "starts TOTP enrolment: the secret and otpauth URI, shown once"});

  router.add({Method::kPost, "/api/v1/account/totp/confirm", Access::setup(), kSmallBody,
              [&context](Request& request) {
                auto body = parse_body(request);
                if (!body.ok()) return error_reply(body.error());
                auto code = string_field(body.value(), "code", 16);
                if (!code.ok()) return error_reply(code.error());
                auto confirmed = context.services.accounts.confirm_totp_enrolment(
                    *request.principal, code.value());
                if (!confirmed.ok()) return error_reply(confirmed.error());
                auto principal = context.services.accounts.principal(request.principal->account_id,
                                                                     request.client_address);
                if (!principal.ok()) return error_reply(principal.error());
                return session_reply(principal.value(), request.csrf_token);
              },
              "confirms TOTP enrolment with a first code"});

  router.add({Method::kPut, "/api/v1/account/language", Access::setup(), kSmallBody,
              [&context](Request& request) {
                auto body = parse_body(request);
                if (!body.ok()) return error_reply(body.error());
                auto language = string_field(body.value(), "language", 8);
                if (!language.ok()) return error_reply(language.error());
                auto set =
                    context.services.accounts.set_language(*request.principal, language.value());
                if (!set.ok()) return error_reply(set.error());
                return json_reply(200, json{{"language", language.value()}});
              },
              "the own language of the web admin: \"nl\" or \"en\""});
}

}  // namespace yardwatch::web_admin
