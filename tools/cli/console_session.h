#pragma once

// What every command that opens the appliance does before its own work: open the appliance the
// command line and the configuration name as the service user (appliance_commands.h), build its
// services, and sign a person in at the console — --user NAME, the password as the first line of
// stdin (--password-stdin), --totp CODE where the account has TOTP. One place, so that the
// console sign-in is the same in every command file.

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "yardwatch/firmware/accounts.h"
#include "yardwatch/firmware/appliance.h"
#include "yardwatch/firmware/services.h"
#include "yardwatch/hal/result.h"

namespace yardwatch::cli {

constexpr int kExitFailure = 1;

// Prints "yardwatch: <message>" to stderr; returns kExitFailure.
int fail(const Error& error);

// One line of stdin without its line ending.
std::string read_stdin_line();

// An ISO-8601 UTC time option; kInvalidArgument naming the option (`what`) otherwise.
Result<int64_t> parse_time(const std::string& text, const std::string& what);

struct SignInOptions {
  std::string user;
  std::string totp;
};

constexpr const char* kPersonalAccount = "your personal account";

// --user (required, or optional where the command also runs as the appliance console),
// --password-stdin and --totp.
void add_sign_in_options(CLI::App* command, SignInOptions& sign_in, bool required = true,
                         const std::string& user_description = kPersonalAccount);

// Reads the password from stdin and signs `sign_in.user` in; the password is wiped afterwards.
Result<firmware::Principal> sign_in(firmware::Services& services, const SignInOptions& sign_in);

// Resolves the appliance (firmware::resolve_appliance), switches to the service user
// (drop_to_service_user) and opens it. `resolved`, when given, receives the resolution.
Result<std::unique_ptr<firmware::Appliance>> open_appliance_as_service(
    const firmware::ApplianceArguments& arguments, firmware::ResolvedAppliance* resolved = nullptr);

// Who a command runs as.
enum class SignInWhen {
  kNever,          // nobody: the body gets no principal
  kAlways,         // --user is required
  kWhenUserGiven,  // a person with --user, else the appliance console (no principal)
};

struct ConsoleSession {
  firmware::Services& services;
  const firmware::Principal* principal;  // nullptr: nobody signed in
  int64_t now_utc_us;                    // the appliance's clock when it was opened
  const firmware::ResolvedAppliance& resolved;
};

// Opens the appliance as the service user and its services, signs the person in as `when` says,
// and runs the body; a failure to open or to sign in is printed (fail) and returns
// kExitFailure.
int with_session(const firmware::ApplianceArguments& arguments, const SignInOptions& sign_in,
                 SignInWhen when, const std::function<int(ConsoleSession&)>& body);

}  // namespace yardwatch::cli
