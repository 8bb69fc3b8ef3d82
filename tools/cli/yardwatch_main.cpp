// yardwatch: the administrator's command line, a thin adapter over the firmware services.
// The --json shapes printed here are a public contract (tools/cli/README.md).

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

#include "appliance_commands.h"
#include "audit_commands.h"
#include "breach_commands.h"
#include "console_session.h"
#include "export_commands.h"
#include "four_eyes_prompt.h"
#include "report_commands.h"
#include "request_commands.h"
#include "retention_commands.h"
#include "yardwatch/firmware/appliance.h"
#include "yardwatch/firmware/audit_format.h"
#include "yardwatch/firmware/cameras.h"
#include "yardwatch/firmware/config.h"
#include "yardwatch/firmware/dpia.h"
#include "yardwatch/firmware/provisioning.h"
#include "yardwatch/firmware/services.h"
#include "yardwatch/firmware/settings.h"
#include "yardwatch/firmware/tls_certificate.h"
#include "yardwatch/firmware/totp.h"
#include "yardwatch/recorder/playback.h"
#include "yardwatch/recorder/recovery.h"

namespace {

using namespace yardwatch;
using nlohmann::json;

constexpr int kExitFailure = 1;
constexpr int kExitViolations = 2;

struct CommonOptions {
  firmware::ApplianceArguments arguments;  // as given
  firmware::ResolvedAppliance resolved;    // with the configuration file and the board
  firmware::ApplianceOptions appliance;    // = resolved.options
  bool json_output = false;
};

void add_common(CLI::App* command, CommonOptions& options, bool with_json) {
  cli::add_appliance_options(command, options.arguments);
  if (with_json) command->add_flag("--json", options.json_output, "machine-readable output");
}

int fail(const Error& error) {
  std::fprintf(stderr, "yardwatch: %s\n", error.message.c_str());
  return kExitFailure;
}

std::string iso(int64_t utc_us) { return hal::format_iso8601_utc(utc_us); }

json optional_time(const std::optional<int64_t>& utc_us) {
  return utc_us ? json(iso(*utc_us)) : json(nullptr);
}

Result<std::unique_ptr<firmware::Appliance>> open_appliance(const CommonOptions& options) {
  return firmware::Appliance::open(options.appliance);
}

// A personal account signing in at the console (console_session.h).
using SignIn = cli::SignInOptions;
using cli::add_sign_in_options;
using cli::read_stdin_line;
using cli::sign_in;

int cmd_init(const CommonOptions& options, bool new_setup_code) {
  // First boot: keys, catalog and the setup code; the record goes to the console, the journal
  // and the label file (firmware/provisioning.h).
  const auto label = firmware::label_file_for(options.appliance, options.resolved.board.label_file);
  auto provisioning = firmware::provision(options.appliance, label, new_setup_code);
  if (!provisioning.ok()) return fail(provisioning.error());
  const auto& p = provisioning.value();
  if (!new_setup_code) {
    std::printf("initialised %s\n  keys: %s (%s key store)\n  device id: %s\n",
                options.appliance.data_dir.c_str(), p.key_dir.c_str(), p.key_store.c_str(),
                p.device_id.c_str());
    std::printf("  web admin certificate SHA-256: %s\n", p.tls_fingerprint.c_str());
  }
  std::printf(
      "  device fingerprint: %s\n"
      "  one-time setup code: %s  (valid 24 hours, for the first admin only)\n"
      "  label: %s\n"
      "  create the first admin with:\n"
      "    yardwatch user create-first-admin --data %s --name NAME --setup-code CODE "
      "--password-stdin\n",
      p.fingerprint.c_str(), p.setup_code.c_str(), p.label_file.c_str(),
      options.appliance.data_dir.c_str());
  return 0;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= text.size() && !text.empty()) {
    size_t comma = text.find(',', start);
    std::string item =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty()) items.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return items;
}

struct UserOptions {
  std::string name;
  std::string role;
  std::string cameras;
  bool cameras_given = false;
  std::string setup_code;
  std::string code;
};

int with_services(const CommonOptions& options,
                  const std::function<int(firmware::Appliance&, firmware::Services&)>& body) {
  auto appliance = open_appliance(options);
  if (!appliance.ok()) return fail(appliance.error());
  firmware::Services services(*appliance.value());
  return body(*appliance.value(), services);
}

int cmd_user_create_first_admin(const CommonOptions& options, const UserOptions& user) {
  return with_services(options, [&](firmware::Appliance&, firmware::Services& services) {
    auto account = services.accounts.create_first_admin(user.name, user.setup_code,
                                                        read_stdin_line(), "console");
    if (!account.ok()) return fail(account.error());
    std::printf(
        "created the first admin '%s'. Set up two-factor sign-in next:\n"
        "  yardwatch user totp-enrol --user %s --password-stdin\n",
        user.name.c_str(), user.name.c_str());
    return 0;
  });
}

int cmd_user_add(const CommonOptions& options, const UserOptions& user) {
  auto role = firmware::parse_role(user.role);
  if (!role) {
    return fail(make_error(ErrorKind::kInvalidArgument,
                           "role must be admin, director, viewer or privacy_officer"));
  }
  return with_services(options, [&](firmware::Appliance&, firmware::Services& services) {
    auto account = services.accounts.add_account(firmware::Actor::console(), user.name, *role,
                                                 split_list(user.cameras), read_stdin_line());
    if (!account.ok()) return fail(account.error());
    std::printf(
        "added %s '%s' with a temporary password; they must change it at first "
        "sign-in (yardwatch user passwd)\n",
        user.role.c_str(), user.name.c_str());
    return 0;
  });
}

int cmd_user_list(const CommonOptions& options) {
  return with_services(options, [&](firmware::Appliance&, firmware::Services& services) {
    auto accounts = services.accounts.list();
    if (!accounts.ok()) return fail(accounts.error());
    json list = json::array();
    for (const auto& account : accounts.value()) {
      list.push_back(
          json{{"name", account.name},
               {"role", std::string(firmware::role_name(account.role))},
               {"cameras", account.cameras},
               {"disabled", account.disabled},
               {"must_change_password", account.must_change_password},
               {"totp", account.has_totp},
               {"created", iso(account.created_utc_us)},
               {"last_login", account.last_login_utc_us ? json(iso(*account.last_login_utc_us))
                                                        : json(nullptr)}});
    }
    if (options.json_output) {
      std::cout << json{{"accounts", list}}.dump(2) << "\n";
      return 0;
    }
    for (const auto& entry : list) {
      std::printf("%-20s %-16s %s%s\n", entry["name"].get<std::string>().c_str(),
                  entry["role"].get<std::string>().c_str(),
                  entry["disabled"].get<bool>() ? "disabled " : "",
                  entry["cameras"].empty() ? "" : entry["cameras"].dump().c_str());
    }
    return 0;
  });
}

int cmd_user_set_disabled(const CommonOptions& options, const UserOptions& user, bool disabled) {
  return with_services(options, [&](firmware::Appliance&, firmware::Services& services) {
    auto status = services.accounts.set_disabled(firmware::Actor::console(), user.name, disabled);
    if (!status.ok()) return fail(status.error());
    std::printf("%s '%s'\n", disabled ? "disabled" : "enabled", user.name.c_str());
    return 0;
  });
}

int cmd_user_set_role(const CommonOptions& options, const UserOptions& user) {
  auto role = firmware::parse_role(user.role);
  if (!role) {
    return fail(make_error(ErrorKind::kInvalidArgument,
                           "role must be admin, director, viewer or privacy_officer"));
  }
  return with_services(options, [&](firmware::Appliance&, firmware::Services& services) {
    std::optional<std::vector<std::string>> cameras;
    if (user.cameras_given) cameras = split_list(user.cameras);
    auto status = services.accounts.set_role(firmware::Actor::console(), user.name, *role, cameras);
    if (!status.ok()) return fail(status.error());
    std::printf("'%s' is now %s\n", user.name.c_str(), user.role.c_str());
    return 0;
  });
}

int cmd_user_passwd(const CommonOptions& options, const SignIn& who) {
  return with_services(options, [&](firmware::Appliance&, firmware::Services& services) {
    firmware::Credentials credentials{who.user, read_stdin_line(), who.totp, "console"};
    const std::string new_password = read_stdin_line();
    auto status = services.accounts.change_password(credentials, new_password);
    if (!status.ok()) return fail(status.error());
    std::printf("password changed for '%s'\n", who.user.c_str());
    return 0;
  });
}

int cmd_user_totp_enrol(const CommonOptions& options, const SignIn& who) {
  return with_services(options, [&](firmware::Appliance&, firmware::Services& services) {
    auto principal = sign_in(services, who);
    if (!principal.ok()) return fail(principal.error());
    auto enrolment = services.accounts.begin_totp_enrolment(principal.value());
    if (!enrolment.ok()) return fail(enrolment.error());
    if (options.json_output) {
      std::cout << json{{"secret", enrolment.value().secret_base32}, {"uri", enrolment.value().uri}}
                       .dump()
                << "\n";
      return 0;
    }
    auto qr = firmware::qr_text(enrolment.value().uri);
    std::printf(
        "Scan this with an authenticator app (shown once):\n\n%s\n%s\nsecret: %s\n\n"
        "Then confirm with: yardwatch user totp-confirm --user %s --code CODE "
        "--password-stdin\n",
        qr.ok() ? qr.value().c_str() : "", enrolment.value().uri.c_str(),
        enrolment.value().secret_base32.c_str(), who.user.c_str());
    return 0;
  });
}

int cmd_user_totp_confirm(const CommonOptions& options, const SignIn& who,
                          const std::string& code) {
  return with_services(options, [&](firmware::Appliance&, firmware::Services& services) {
    auto principal = sign_in(services, who);
    if (!principal.ok()) return fail(principal.error());
    auto status = services.accounts.confirm_totp_enrolment(principal.value(), code);
    if (!status.ok()) return fail(status.error());
    std::printf("two-factor sign-in is on for '%s'\n", who.user.c_str());
    return 0;
  });
}

int cmd_camera_add(const CommonOptions& options, const recorder::CameraSpec& spec) {
  auto appliance = open_appliance(options);
  if (!appliance.ok()) return fail(appliance.error());
  auto& app = *appliance.value();
  firmware::Services services(app);
  auto camera = firmware::add_camera(app.catalog(), services.audit, app.clock(),
                                     firmware::Actor::console(), spec);
  if (!camera.ok()) return fail(camera.error());
  if (options.json_output) {
    std::cout << json{{"id", camera.value().id}, {"name", spec.name}}.dump() << "\n";
  } else {
    std::printf("added camera %s (zone %s, retention %d days)\n", spec.name.c_str(),
                spec.zone.c_str(), spec.retention_days);
  }
  return 0;
}

json camera_json(const recorder::Camera& camera) {
  return json{{"id", camera.id},
              {"name", camera.spec.name},
              {"url", camera.spec.url},
              {"zone", camera.spec.zone},
              {"location", camera.spec.location},
              {"retention_days", camera.spec.retention_days},
              {"priority", camera.spec.priority},
              {"transport", camera.spec.transport},
              {"created", iso(camera.created_utc_us)}};
}

int cmd_camera_list(const CommonOptions& options) {
  auto appliance = open_appliance(options);
  if (!appliance.ok()) return fail(appliance.error());
  auto cameras = appliance.value()->catalog().cameras(false);
  if (!cameras.ok()) return fail(cameras.error());
  if (options.json_output) {
    json list = json::array();
    for (const auto& camera : cameras.value()) list.push_back(camera_json(camera));
    std::cout << json{{"cameras", list}}.dump(2) << "\n";
    return 0;
  }
  for (const auto& camera : cameras.value()) {
    std::printf("%-16s %-14s %2d days  %s  %s\n", camera.spec.name.c_str(),
                camera.spec.zone.c_str(), camera.spec.retention_days, camera.spec.url.c_str(),
                camera.spec.location.c_str());
  }
  return 0;
}

int cmd_camera_remove(const CommonOptions& options, const std::string& name) {
  auto appliance = open_appliance(options);
  if (!appliance.ok()) return fail(appliance.error());
  auto& app = *appliance.value();
  firmware::Services services(app);
  if (auto removed = firmware::remove_camera(app.catalog(), services.audit, app.clock(),
                                             firmware::Actor::console(), name);
      !removed.ok()) {
    return fail(removed.error());
  }
  std::printf("removed camera %s; it stops recording and its footage ages out as usual\n",
              name.c_str());
  return 0;
}

int cmd_status(const CommonOptions& options) {
  auto appliance = open_appliance(options);
  if (!appliance.ok()) return fail(appliance.error());
  auto& app = *appliance.value();
  auto& catalog = app.catalog();
  const bool running = firmware::RecorderLock::held_by_other(options.appliance.data_dir);
  auto cameras = catalog.cameras(false);
  auto statuses = catalog.camera_statuses();
  auto alarms = catalog.open_alarms();
  if (!cameras.ok()) return fail(cameras.error());
  if (!statuses.ok()) return fail(statuses.error());
  if (!alarms.ok()) return fail(alarms.error());

  json result;
  result["recorder_running"] = running;
  auto device_id = catalog.device_id();
  // Compared with the handover form of a police bundle and by `yardwatch-verify`.
  result["device"] = json{
      {"id", device_id.ok() ? device_id.value() : ""},
      {"fingerprint", firmware::audit_format::key_fingerprint(app.keys().signing_public_key())}};
  result["board"] = options.appliance.board;
  result["key_store"] = std::string(app.keys().kind());
  // Compared with what the browser shows the first time it connects to the web admin.
  auto tls_fingerprint =
      firmware::tls_certificate_fingerprint(firmware::tls_files(app.key_dir()).certificate);
  result["web"] = json{
      {"certificate_sha256", tls_fingerprint.ok() ? json(tls_fingerprint.value()) : json(nullptr)}};
  result["now"] = iso(app.clock().now_utc_us());
  result["clock"] = std::string(hal::sync_state_name(app.clock().sync_state()));
  json camera_list = json::array();
  for (const auto& camera : cameras.value()) {
    json entry{{"name", camera.spec.name}, {"zone", camera.spec.zone}};
    std::string state = "stopped";
    std::string reason = running ? "" : "yardwatchd is not running";
    std::optional<int64_t> since;
    if (running) {
      for (const auto& status : statuses.value()) {
        if (status.camera_id != camera.id) continue;
        state = status.state;
        reason = status.reason;
        since = status.since_utc_us;
      }
    }
    entry["state"] = state;
    entry["reason"] = reason;
    entry["since"] = optional_time(since);
    auto footage = catalog.footage_summary(camera.id);
    if (!footage.ok()) return fail(footage.error());
    entry["oldest"] = optional_time(footage.value().oldest_utc_us);
    entry["newest"] = optional_time(footage.value().newest_utc_us);
    entry["bytes"] = footage.value().bytes;
    entry["segments"] = footage.value().segment_count;
    camera_list.push_back(entry);
  }
  result["cameras"] = camera_list;
  auto free = app.storage().free_bytes();
  auto total = app.storage().total_bytes();
  const hal::VolumeHealth volume = app.storage().check_volume();
  json smart = nullptr;
  if (volume.smart) {
    smart = json{{"supported", volume.smart->supported},
                 {"passed", volume.smart->passed},
                 {"summary", volume.smart->summary}};
  }
  result["storage"] = json{{"data_dir", options.appliance.data_dir.string()},
                           {"free_bytes", free.ok() ? json(free.value()) : json(nullptr)},
                           {"total_bytes", total.ok() ? json(total.value()) : json(nullptr)},
                           {"volume", std::string(hal::volume_state_name(volume.state))},
                           {"volume_message", volume.message},
                           {"filesystem_errors", volume.filesystem_errors},
                           {"smart", smart}};
  json alarm_list = json::array();
  for (const auto& alarm : alarms.value()) {
    std::string camera_name;
    for (const auto& camera : cameras.value()) {
      if (alarm.camera_id && *alarm.camera_id == camera.id) camera_name = camera.spec.name;
    }
    alarm_list.push_back(json{{"kind", alarm.kind},
                              {"camera", camera_name.empty() ? json(nullptr) : json(camera_name)},
                              {"message", alarm.message},
                              {"raised", iso(alarm.raised_utc_us)}});
  }
  result["alarms"] = alarm_list;
  {
    firmware::Services services(app);
    cli::add_retention_status(result, services);
  }
  if (options.json_output) {
    std::cout << result.dump(2) << "\n";
    return 0;
  }
  std::printf("yardwatchd: %s   clock: %s\n", running ? "running" : "NOT RUNNING",
              result["clock"].get<std::string>().c_str());
  std::printf("  device key fingerprint: %s\n",
              result["device"]["fingerprint"].get<std::string>().c_str());
  std::printf("  web admin certificate SHA-256: %s\n",
              tls_fingerprint.ok() ? tls_fingerprint.value().c_str() : "none yet");
  for (const auto& entry : camera_list) {
    std::printf("  %-16s %-12s %-40s footage %s .. %s (%llu bytes)\n",
                entry["name"].get<std::string>().c_str(), entry["state"].get<std::string>().c_str(),
                entry["reason"].get<std::string>().c_str(),
                entry["oldest"].is_null() ? "-" : entry["oldest"].get<std::string>().c_str(),
                entry["newest"].is_null() ? "-" : entry["newest"].get<std::string>().c_str(),
                static_cast<unsigned long long>(entry["bytes"].get<uint64_t>()));
  }
  if (free.ok()) {
    std::printf("  storage: %llu MiB free\n", static_cast<unsigned long long>(free.value() >> 20));
  }
  cli::print_retention_status(result);
  for (const auto& alarm : alarm_list) {
    std::printf("  ALARM %s: %s\n", alarm["kind"].get<std::string>().c_str(),
                alarm["message"].get<std::string>().c_str());
  }
  return 0;
}

int cmd_segments(const CommonOptions& options, const std::string& camera_name,
                 const std::string& from, const std::string& to) {
  auto appliance = open_appliance(options);
  if (!appliance.ok()) return fail(appliance.error());
  auto& catalog = appliance.value()->catalog();
  auto camera = catalog.camera_by_name(camera_name);
  if (!camera.ok()) return fail(camera.error());
  int64_t from_us = INT64_MIN;
  int64_t to_us = INT64_MAX;
  if (!from.empty()) {
    auto parsed = hal::parse_iso8601_utc_us(from);
    if (!parsed.ok()) return fail(parsed.error());
    from_us = parsed.value();
  }
  if (!to.empty()) {
    auto parsed = hal::parse_iso8601_utc_us(to);
    if (!parsed.ok()) return fail(parsed.error());
    to_us = parsed.value();
  }
  auto segments = catalog.segments_for_camera(camera.value().id, from_us, to_us);
  if (!segments.ok()) return fail(segments.error());
  json list = json::array();
  for (const auto& row : segments.value()) {
    list.push_back(json{{"id", row.id},
                        {"start", iso(row.start_utc_us)},
                        {"end", iso(row.end_utc_us)},
                        {"start_utc_us", row.start_utc_us},
                        {"end_utc_us", row.end_utc_us},
                        {"bytes", row.bytes},
                        {"state", std::string(recorder::segment_state_name(row.state))},
                        {"codec", row.codec},
                        {"width", row.width},
                        {"height", row.height}});
  }
  if (options.json_output) {
    std::cout << json{{"camera", camera_name}, {"segments", list}}.dump(2) << "\n";
    return 0;
  }
  for (const auto& entry : list) {
    std::printf("%8lld  %s  %s  %10llu bytes  %s\n",
                static_cast<long long>(entry["id"].get<int64_t>()),
                entry["start"].get<std::string>().c_str(), entry["end"].get<std::string>().c_str(),
                static_cast<unsigned long long>(entry["bytes"].get<uint64_t>()),
                entry["state"].get<std::string>().c_str());
  }
  return 0;
}

int cmd_segment_cat(const CommonOptions& options, const SignIn& who, int64_t id,
                    const std::string& purpose, const std::string& second_user) {
  if (::isatty(STDOUT_FILENO) != 0) {
    std::fprintf(stderr, "yardwatch: refusing to write video to a terminal; redirect stdout\n");
    return kExitFailure;
  }
  auto appliance = open_appliance(options);
  if (!appliance.ok()) return fail(appliance.error());
  firmware::Services services(*appliance.value());
  auto principal = sign_in(services, who);
  if (!principal.ok()) return fail(principal.error());
  // A viewing: role-checked and audited; every byte is authenticated before the first is
  // written (see playback.h).
  // Four-eyes: with --second-user, the second person approves here (four_eyes_prompt.h).
  std::optional<firmware::FourEyesApproval> approval;
  if (!second_user.empty()) {
    firmware::AuditEvent attempted;
    attempted.action = "view_recorded";
    attempted.object_type = "segment";
    attempted.object_id = std::to_string(id);
    attempted.purpose = purpose;
    std::set<int64_t> camera_ids;
    if (auto row = appliance.value()->catalog().segment(id); row.ok() && row.value()) {
      camera_ids.insert(row.value()->camera_id);
    }
    auto approved = cli::approve_second_person(services.four_eyes, principal.value(), second_user,
                                               camera_ids, attempted);
    if (!approved.ok()) return fail(approved.error());
    approval = std::move(approved).value();
  }
  auto segment = services.footage.view_segment(principal.value(), id, purpose,
                                               approval ? &*approval : nullptr);
  if (!segment.ok()) return fail(segment.error());
  const auto& bytes = segment.value().mp4;
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = ::write(STDOUT_FILENO, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(errno_error(errno, "write to stdout"));
    written += static_cast<size_t>(n);
  }
  return 0;
}

int cmd_catalog_check(const CommonOptions& options) {
  auto appliance = open_appliance(options);
  if (!appliance.ok()) return fail(appliance.error());
  auto& app = *appliance.value();
  const bool running = firmware::RecorderLock::held_by_other(options.appliance.data_dir);
  auto violations = recorder::check_data_dir(app.catalog(), app.storage(), app.keys(), running);
  if (!violations.ok()) return fail(violations.error());
  if (options.json_output) {
    json list = json::array();
    for (const auto& v : violations.value())
      list.push_back(json{{"rule", v.rule}, {"detail", v.detail}});
    std::cout << json{{"ok", violations.value().empty()}, {"violations", list}}.dump(2) << "\n";
  } else {
    for (const auto& v : violations.value()) {
      std::printf("violation of rule %d: %s\n", v.rule, v.detail.c_str());
    }
    if (violations.value().empty()) std::printf("catalog check: all rules hold\n");
  }
  return violations.value().empty() ? 0 : kExitViolations;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"yardwatch — administer a Yardwatch recorder"};
  app.require_subcommand(1);
  CommonOptions options;

  auto* init = app.add_subcommand("init", "create the data directory, device keys and catalog");
  add_common(init, options, false);
  bool new_setup_code = false;
  init->add_flag("--new-setup-code", new_setup_code,
                 "issue a fresh setup code for an initialised appliance without accounts");

  UserOptions user;
  SignIn who;
  auto* user_command = app.add_subcommand("user", "personal accounts");
  user_command->require_subcommand(1);
  auto* user_first = user_command->add_subcommand("create-first-admin",
                                                  "create the first admin with the setup code");
  add_common(user_first, options, false);
  user_first->add_option("--name", user.name, "account name")->required();
  user_first->add_option("--setup-code", user.setup_code, "printed by yardwatch init")->required();
  user_first->add_flag("--password-stdin")->description("the password is the first line of stdin");
  auto* user_add = user_command->add_subcommand("add", "add an account (temporary password)");
  add_common(user_add, options, false);
  user_add->add_option("--name", user.name, "account name")->required();
  user_add->add_option("--role", user.role, "admin, director, viewer or privacy_officer")
      ->required();
  user_add->add_option("--cameras", user.cameras, "viewers: comma-separated camera names");
  user_add->add_flag("--password-stdin")
      ->description("the temporary password is the first line of stdin");
  auto* user_list = user_command->add_subcommand("list", "list accounts");
  add_common(user_list, options, true);
  auto* user_disable = user_command->add_subcommand("disable", "disable an account");
  add_common(user_disable, options, false);
  user_disable->add_option("--name", user.name, "account name")->required();
  auto* user_enable = user_command->add_subcommand("enable", "enable an account");
  add_common(user_enable, options, false);
  user_enable->add_option("--name", user.name, "account name")->required();
  auto* user_set_role = user_command->add_subcommand("set-role", "change an account's role");
  add_common(user_set_role, options, false);
  user_set_role->add_option("--name", user.name, "account name")->required();
  user_set_role->add_option("--role", user.role, "new role")->required();
  user_set_role->add_option("--cameras", user.cameras, "viewers: comma-separated camera names");
  auto* user_passwd = user_command->add_subcommand(
      "passwd", "change your password (stdin: old password line, new password line)");
  add_common(user_passwd, options, false);
  user_passwd->add_option("--user", who.user, "your account")->required();
  user_passwd->add_option("--totp", who.totp, "the current TOTP code, if you have TOTP");
  auto* user_totp_enrol = user_command->add_subcommand("totp-enrol", "set up TOTP (2FA)");
  add_common(user_totp_enrol, options, true);
  add_sign_in_options(user_totp_enrol, who);
  auto* user_totp_confirm =
      user_command->add_subcommand("totp-confirm", "confirm TOTP with a first code");
  add_common(user_totp_confirm, options, false);
  add_sign_in_options(user_totp_confirm, who);
  user_totp_confirm->add_option("--code", user.code, "the code the app shows")->required();

  auto* camera = app.add_subcommand("camera", "manage cameras");
  camera->require_subcommand(1);
  recorder::CameraSpec spec;
  auto* camera_add = camera->add_subcommand("add", "add a camera (zones per rule R1)");
  add_common(camera_add, options, true);
  camera_add->add_option("--name", spec.name, "camera name")->required();
  camera_add->add_option("--url", spec.url, "rtsp:// URL")->required();
  camera_add->add_option("--zone", spec.zone, "zone type, e.g. schoolyard")->required();
  camera_add->add_option("--location", spec.location, "where it hangs, in words");
  camera_add->add_option("--retention-days", spec.retention_days, "1–28 days")
      ->capture_default_str();
  camera_add->add_option("--transport", spec.transport, "tcp or udp")->capture_default_str();
  camera_add
      ->add_option("--priority", spec.priority,
                   "0–100; when only held footage is left, the lowest stops recording first")
      ->capture_default_str();
  auto* camera_list = camera->add_subcommand("list", "list cameras");
  add_common(camera_list, options, true);
  std::string remove_name;
  auto* camera_remove = camera->add_subcommand("remove", "stop recording a camera");
  add_common(camera_remove, options, false);
  camera_remove->add_option("--name", remove_name, "camera name")->required();

  auto* status = app.add_subcommand("status", "recording state, footage and storage");
  add_common(status, options, true);

  std::string segments_camera, from, to;
  auto* segments = app.add_subcommand("segments", "list a camera's segments");
  add_common(segments, options, true);
  segments->add_option("--camera", segments_camera, "camera name")->required();
  segments->add_option("--from", from, "ISO-8601 UTC");
  segments->add_option("--to", to, "ISO-8601 UTC");

  auto* segment = app.add_subcommand("segment", "one segment");
  segment->require_subcommand(1);
  int64_t segment_id = 0;
  std::string purpose;
  auto* segment_cat = segment->add_subcommand(
      "cat", "view a segment: decrypted fMP4 on stdout (audited, with your purpose)");
  add_common(segment_cat, options, false);
  segment_cat->add_option("--id", segment_id, "segment id")->required();
  add_sign_in_options(segment_cat, who);
  segment_cat->add_option("--purpose", purpose, "why you look (recorded in the audit journal)")
      ->required();
  std::string second_user;
  segment_cat->add_option("--second-user", second_user,
                          "four-eyes: the second authorised person, who types their password "
                          "(and TOTP code) when asked");

  auto* catalog = app.add_subcommand("catalog", "catalog maintenance");
  catalog->require_subcommand(1);
  auto* catalog_check = catalog->add_subcommand("check", "verify the crash-safety rules");
  add_common(catalog_check, options, true);

  std::string setting_key;
  std::string setting_value;
  auto* settings = app.add_subcommand("setting", "policy switches (console, audited)");
  settings->require_subcommand(1);
  auto* setting_set = settings->add_subcommand("set", "change a switch");
  add_common(setting_set, options, false);
  setting_set->add_option("key", setting_key, "e.g. policy.require_totp")->required();
  setting_set->add_option("value", setting_value, "e.g. 1 or 0")->required();
  auto* setting_get = settings->add_subcommand("get", "show a switch");
  add_common(setting_get, options, false);
  setting_get->add_option("key", setting_key, "e.g. policy.require_totp")->required();

  auto* audit = app.add_subcommand("audit", "the audit journal (reading it is audited)");
  audit->require_subcommand(1);
  cli::AuditListOptions audit_list_options;
  auto* audit_list = audit->add_subcommand("list", "list entries");
  add_common(audit_list, options, true);
  cli::add_audit_list_options(*audit_list, audit_list_options);
  auto* audit_verify = audit->add_subcommand("verify", "check the chain and signed checkpoints");
  add_common(audit_verify, options, true);
  std::filesystem::path audit_out;
  auto* audit_export = audit->add_subcommand("export", "write a verifiable JSON-lines export");
  add_common(audit_export, options, false);
  audit_export->add_option("--out", audit_out, "file to write")->required();
  std::optional<int64_t> audit_retention_days;
  auto* audit_prune = audit->add_subcommand(
      "prune", "delete signed entries past the retention term (leaves a signed anchor; audited)");
  add_common(audit_prune, options, false);
  audit_prune
      ->add_option("--retention-days", audit_retention_days,
                   "keep this many days (default 730, the 2-year term)")
      ->check(CLI::Range(int64_t{1}, int64_t{36500}));

  cli::ApplianceCommands appliance_commands;
  cli::register_appliance_commands(app, appliance_commands, [&options](CLI::App* command) {
    add_common(command, options, false);
  });
  const cli::CommandRunner run_retention_command = cli::register_retention_commands(app);
  auto run_export_command = cli::register_export_commands(app);
  const cli::RequestCommandRunner run_request_command = cli::register_request_commands(app);
  const cli::BreachCommandRunner run_breach_command = cli::register_breach_commands(app);
  const cli::ReportCommandRunner run_report_command = cli::register_report_commands(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }
  try {
    if (auto code = cli::run_standalone_appliance_commands(appliance_commands)) return *code;
    if (auto code = run_retention_command()) return *code;
    if (auto code = run_export_command()) return *code;
    if (auto code = run_request_command()) return *code;
    if (auto code = run_breach_command()) return *code;
    if (auto code = run_report_command()) return *code;
    // Every other command works on an appliance: the command line, the configuration file and
    // the board together say where it is.
    auto resolved = firmware::resolve_appliance(options.arguments);
    if (!resolved.ok()) return fail(resolved.error());
    options.resolved = std::move(resolved).value();
    options.appliance = options.resolved.options;
    if (!cli::keeps_root(appliance_commands)) {
      if (auto dropped = cli::drop_to_service_user(options.appliance); !dropped.ok()) {
        return fail(dropped.error());
      }
    }
    if (auto code = cli::run_appliance_commands(appliance_commands, options.resolved)) {
      return *code;
    }
    if (audit_list->parsed() || audit_verify->parsed() || audit_export->parsed() ||
        audit_prune->parsed()) {
      return with_services(options, [&](firmware::Appliance& appliance, firmware::Services&) {
        if (audit_list->parsed()) {
          return cli::cmd_audit_list(appliance, audit_list_options, options.json_output);
        }
        if (audit_verify->parsed()) return cli::cmd_audit_verify(appliance, options.json_output);
        if (audit_prune->parsed()) return cli::cmd_audit_prune(appliance, audit_retention_days);
        return cli::cmd_audit_export(appliance, audit_out);
      });
    }
    if (setting_set->parsed() || setting_get->parsed()) {
      return with_services(
          options, [&](firmware::Appliance& appliance, firmware::Services& services) {
            if (setting_get->parsed()) {
              auto value = firmware::get_setting(appliance.catalog(), setting_key);
              if (!value.ok()) return fail(value.error());
              std::printf("%s = %s\n", setting_key.c_str(), value.value().c_str());
              return 0;
            }
            // With a configuration file, the file is the switches' source of truth: change it
            // there (validated, written back, audited), which updates the setting too.
            if (!options.appliance.config_file.empty() && setting_key.starts_with("policy.") &&
                setting_key != firmware::kDpiaDateSetting) {
              const std::string as_bool = setting_value == "1"   ? "true"
                                          : setting_value == "0" ? "false"
                                                                 : setting_value;
              auto changed = firmware::change_config(
                  options.appliance.config_file, appliance.catalog(), services.audit,
                  firmware::Actor::console(), setting_key, as_bool);
              if (!changed.ok()) return fail(changed.error());
              std::printf("%s = %s\n", setting_key.c_str(), setting_value.c_str());
              return 0;
            }
            auto changed =
                firmware::set_setting(appliance.catalog(), services.audit,
                                      firmware::Actor::console(), setting_key, setting_value);
            if (!changed.ok()) return fail(changed.error());
            std::printf("%s = %s\n", setting_key.c_str(), setting_value.c_str());
            return 0;
          });
    }
    if (init->parsed()) return cmd_init(options, new_setup_code);
    if (user_first->parsed()) return cmd_user_create_first_admin(options, user);
    if (user_add->parsed()) return cmd_user_add(options, user);
    if (user_list->parsed()) return cmd_user_list(options);
    if (user_disable->parsed()) return cmd_user_set_disabled(options, user, true);
    if (user_enable->parsed()) return cmd_user_set_disabled(options, user, false);
    if (user_set_role->parsed()) {
      user.cameras_given = user_set_role->count("--cameras") > 0;
      return cmd_user_set_role(options, user);
    }
    if (user_passwd->parsed()) return cmd_user_passwd(options, who);
    if (user_totp_enrol->parsed()) return cmd_user_totp_enrol(options, who);
    if (user_totp_confirm->parsed()) return cmd_user_totp_confirm(options, who, user.code);
    if (camera_add->parsed()) {
      // Without --retention-days a new camera gets the configuration's default (R2: ≤ 28).
      if (camera_add->count("--retention-days") == 0 && !options.appliance.config_file.empty()) {
        spec.retention_days = options.resolved.config.default_retention_days;
      }
      return cmd_camera_add(options, spec);
    }
    if (camera_list->parsed()) return cmd_camera_list(options);
    if (camera_remove->parsed()) return cmd_camera_remove(options, remove_name);
    if (status->parsed()) return cmd_status(options);
    if (segments->parsed()) return cmd_segments(options, segments_camera, from, to);
    if (segment_cat->parsed())
      return cmd_segment_cat(options, who, segment_id, purpose, second_user);
    if (catalog_check->parsed()) return cmd_catalog_check(options);
  } catch (const std::exception& exception) {
    std::fprintf(stderr, "yardwatch: internal error: %s\n", exception.what());
    return 70;
  }
  return kExitFailure;
}
