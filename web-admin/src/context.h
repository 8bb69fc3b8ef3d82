#pragma once

// Private to the web admin: what every route handler gets, and the small helpers they share
// (JSON replies, the mapping of firmware errors to HTTP statuses, strict input parsing).

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

#include "yardwatch/firmware/appliance.h"
#include "yardwatch/firmware/services.h"
#include "yardwatch/hal/result.h"
#include "yardwatch/web_admin/router.h"
#include "yardwatch/web_admin/server.h"

namespace yardwatch::web_admin {

struct WebContext {
  firmware::Appliance& appliance;
  firmware::Services& services;
  Metrics& metrics;
  const ServerOptions& options;
  std::string tls_fingerprint;
};

constexpr size_t kSmallBody = 4 * 1024;
constexpr size_t kMediumBody = 16 * 1024;
constexpr int kMaxJsonDepth = 8;
constexpr const char* kSessionCookie = "__Host-yw_session";

using nlohmann::json;

Reply json_reply(int status, const json& body);
Reply error_reply(int status, const std::string& code, const std::string& message);
// A firmware error as an HTTP reply: denied 403, unknown 404, bad input 400, conflicts 409,
// unavailable/exhausted 503, anything else 500 without detail (nothing internal leaks).
Reply error_reply(const Error& error);
Reply bytes_reply(const std::string& content_type, std::string body);

// The request body as a JSON object: a real parser, the route's size limit (already enforced),
// at most kMaxJsonDepth levels; kInvalidArgument otherwise.
Result<json> parse_body(const Request& request);

// Field access that refuses the wrong type with a message naming the field.
Result<std::string> string_field(const json& body, const std::string& name, size_t max_length,
                                 bool required = true);
Result<int64_t> int_field(const json& body, const std::string& name);
Result<int64_t> time_field(const json& body, const std::string& name);  // ISO-8601 UTC

// Path parameters, already shaped by the route's regex.
Result<int64_t> id_param(const std::string& text);
Result<int64_t> time_query(const Request& request, const std::string& name);

std::string iso(int64_t utc_us);
json optional_time(const std::optional<int64_t>& utc_us);

// Route registration, one function per area.
void add_session_routes(Router& router, WebContext& context);
void add_camera_routes(Router& router, WebContext& context);
void add_viewing_routes(Router& router, WebContext& context);
void add_account_routes(Router& router, WebContext& context);
void add_audit_routes(Router& router, WebContext& context);
void add_export_routes(Router& router, WebContext& context);
void add_hold_routes(Router& router, WebContext& context);
void add_request_routes(Router& router, WebContext& context);
void add_request_footage_routes(Router& router, WebContext& context);
void add_breach_routes(Router& router, WebContext& context);
void add_subject_export_routes(Router& router, WebContext& context);
void add_report_routes(Router& router, WebContext& context);
void add_status_routes(Router& router, WebContext& context);
void add_asset_routes(Router& router, WebContext& context);

// Four-eyes (firmware/four_eyes.h): with `policy.four_eyes` on, the routes that open recorded
// footage or create a police export take the second person's sign-in in the body
// ({"second_person": {"name", "password", "totp"}}) and get the approval within the same
// request; nothing of it is kept. nullopt without the field; an error (audited by the firmware)
// when the sign-in or the approval fails.
struct SecondPerson {
  firmware::Credentials credentials;
  SecondPerson() = default;
  // Copies are wiped too (a moved-from short string would keep its bytes in place).
  SecondPerson(const SecondPerson&) = default;
  SecondPerson& operator=(const SecondPerson&) = default;
  ~SecondPerson();
};
Result<std::optional<SecondPerson>> second_person_field(const json& body,
                                                        const std::string& client_address);
Result<std::optional<firmware::FourEyesApproval>> four_eyes_approval(
    WebContext& context, const Request& request, const json& body,
    const std::set<int64_t>& camera_ids, const firmware::AuditEvent& attempted);
// A firmware refusal as a reply: a four-eyes refusal gets its own code, `four_eyes_required`
// when no second person was given (the UI then asks for one), `four_eyes_refused` when the
// second person's sign-in or approval failed.
Reply footage_error_reply(const Error& error, bool second_person_given);

// The Prometheus text exposition (no personal data).
std::string metrics_text(WebContext& context);

}  // namespace yardwatch::web_admin
