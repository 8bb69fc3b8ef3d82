#include "console_session.h"

#include <sodium.h>

#include <cstdio>
#include <iostream>

#include "appliance_commands.h"
#include "yardwatch/hal/clock.h"

namespace yardwatch::cli {

int fail(const Error& error) {
  std::fprintf(stderr, "yardwatch: %s\n", error.message.c_str());
  return kExitFailure;
}

std::string read_stdin_line() {
  std::string line;
  std::getline(std::cin, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  return line;
}

Result<int64_t> parse_time(const std::string& text, const std::string& what) {
  auto parsed = hal::parse_iso8601_utc_us(text);
  if (!parsed.ok()) {
    return make_error(ErrorKind::kInvalidArgument, what + ": " + parsed.error().message);
  }
  return parsed.value();
}

void add_sign_in_options(CLI::App* command, SignInOptions& sign_in, bool required,
                         const std::string& user_description) {
  auto* user = command->add_option("--user", sign_in.user, user_description);
  if (required) user->required();
  command->add_flag("--password-stdin")
      ->description("read the password from the first line of stdin (the only way)");
  command->add_option("--totp", sign_in.totp, "the current code of your authenticator app");
}

Result<firmware::Principal> sign_in(firmware::Services& services, const SignInOptions& sign_in) {
  firmware::Credentials credentials{sign_in.user, read_stdin_line(), sign_in.totp, "console"};
  auto principal = services.accounts.authenticate(credentials);
  sodium_memzero(credentials.password.data(), credentials.password.size());
  return principal;
}

Result<std::unique_ptr<firmware::Appliance>> open_appliance_as_service(
    const firmware::ApplianceArguments& arguments, firmware::ResolvedAppliance* resolved) {
  YW_ASSIGN_OR_RETURN(auto resolution, firmware::resolve_appliance(arguments));
  YW_TRY(drop_to_service_user(resolution.options));
  if (resolved != nullptr) *resolved = resolution;
  return firmware::Appliance::open(resolution.options);
}

int with_session(const firmware::ApplianceArguments& arguments, const SignInOptions& sign_in,
                 SignInWhen when, const std::function<int(ConsoleSession&)>& body) {
  firmware::ResolvedAppliance resolved;
  auto appliance = open_appliance_as_service(arguments, &resolved);
  if (!appliance.ok()) return fail(appliance.error());
  firmware::Services services(*appliance.value());
  const int64_t now = appliance.value()->clock().now_utc_us();
  const bool signs_in =
      when == SignInWhen::kAlways || (when == SignInWhen::kWhenUserGiven && !sign_in.user.empty());
  if (!signs_in) {
    ConsoleSession session{services, nullptr, now, resolved};
    return body(session);
  }
  auto principal = cli::sign_in(services, sign_in);
  if (!principal.ok()) return fail(principal.error());
  ConsoleSession session{services, &principal.value(), now, resolved};
  return body(session);
}

}  // namespace yardwatch::cli
