// Four-eyes in the web admin (firmware/design/privacy_desk.md, "The second person's prompt"):
// the second person's name, password and TOTP code arrive in the body of the request that opens
// recorded footage or creates a police export, are checked by FourEyesService::approve (a real,
// throttled sign-in) within that request, and are wiped when it ends. Nothing is stored: no
// session, no cookie, no token for the second person.

#include <httplib.h>
#include <sodium.h>

#include "context.h"

namespace yardwatch::web_admin {

namespace {

constexpr size_t kMaxName = 64;
constexpr size_t kMaxPassword = 256;
constexpr size_t kMaxTotp = 16;
constexpr const char* kFourEyesPrefix = "permission denied (four-eyes)";

}  // namespace

SecondPerson::~SecondPerson() {
  sodium_memzero(credentials.password.data(), credentials.password.size());
  sodium_memzero(credentials.totp_code.data(), credentials.totp_code.size());
}

Result<std::optional<SecondPerson>> second_person_field(const json& body,
                                                        const std::string& client_address) {
  auto found = body.find("second_person");
  if (found == body.end() || found->is_null()) return std::optional<SecondPerson>();
  if (!found->is_object()) {
    return make_error(ErrorKind::kInvalidArgument,
                      "'second_person' must be an object {name, password, totp}");
  }
  std::optional<SecondPerson> person(std::in_place);
  YW_ASSIGN_OR_RETURN(person->credentials.name, string_field(*found, "name", kMaxName));
  YW_ASSIGN_OR_RETURN(person->credentials.password, string_field(*found, "password", kMaxPassword));
  YW_ASSIGN_OR_RETURN(person->credentials.totp_code,
                      string_field(*found, "totp", kMaxTotp, /*required=*/false));
  // The second person's failed sign-ins are throttled per address like any other sign-in.
  person->credentials.client_address = client_address;
  return person;
}

Result<std::optional<firmware::FourEyesApproval>> four_eyes_approval(
    WebContext& context, const Request& request, const json& body,
    const std::set<int64_t>& camera_ids, const firmware::AuditEvent& attempted) {
  YW_ASSIGN_OR_RETURN(auto person, second_person_field(body, request.client_address));
  if (!person) return std::optional<firmware::FourEyesApproval>();
  YW_ASSIGN_OR_RETURN(auto approval,
                      context.services.four_eyes.approve(*request.principal, person->credentials,
                                                         camera_ids, attempted));
  return std::optional<firmware::FourEyesApproval>(std::move(approval));
}

Reply footage_error_reply(const Error& error, bool second_person_given) {
  if (error.kind == ErrorKind::kPermissionDenied && error.message.rfind(kFourEyesPrefix, 0) == 0) {
    return error_reply(403, second_person_given ? "four_eyes_refused" : "four_eyes_required",
                       error.message);
  }
  return error_reply(error);
}

}  // namespace yardwatch::web_admin
