#include "appliance_commands.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "yardwatch/firmware/config.h"
#include "yardwatch/firmware/firewall.h"
#include "yardwatch/firmware/provisioning.h"
#include "yardwatch/firmware/services.h"
#include "yardwatch/hal/journal.h"
#include "yardwatch/hal/smart.h"

namespace yardwatch::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kServiceUser = "yardwatch";
constexpr const char* kConfirmFlag = "--yes-destroy-all-keys-and-footage";

int fail(const Error& error) {
  std::fprintf(stderr, "yardwatch: %s\n", error.message.c_str());
  return 1;
}

fs::path config_or_default(const fs::path& given) {
  return given.empty() ? fs::path(firmware::kDefaultConfigPath) : given;
}

int cmd_config_check(const ApplianceCommands& commands) {
  const fs::path path = config_or_default(commands.config_file);
  auto config = firmware::load_config(path);
  if (!config.ok()) {
    // One problem per line, each with file:line:column.
    std::fprintf(stderr, "%s\n", config.error().message.c_str());
    return 1;
  }
  std::printf(
      "%s: ok (board %s, data %s)\n", path.c_str(), config.value().board.c_str(),
      config.value().data_dir.empty() ? "(board default)" : config.value().data_dir.c_str());
  return 0;
}

int cmd_firewall_render(const ApplianceCommands& commands) {
  const fs::path path = config_or_default(commands.config_file);
  auto config = firmware::load_config(path);
  if (!config.ok()) return fail(config.error());
  const std::string rules = firmware::render_firewall(config.value(), path.string());
  if (commands.out.empty()) {
    std::cout << rules;
    return 0;
  }
  std::ofstream out(commands.out, std::ios::binary | std::ios::trunc);
  out << rules;
  out.close();
  if (out.fail()) return fail(make_error(ErrorKind::kInternal, "write " + commands.out.string()));
  return 0;
}

int cmd_smart_check(const ApplianceCommands& commands,
                    const firmware::ResolvedAppliance& resolved) {
  const std::string& device = resolved.board.smart_device;
  if (device.empty()) {
    std::printf("board %s watches no disk with SMART\n", resolved.board.name.c_str());
    return 0;
  }
  fs::path disk = device;
  if (device == "auto") {
    auto found = hal::disk_of_filesystem(resolved.options.volume.filesystem_uuid);
    if (!found.ok()) return fail(found.error());
    disk = found.value();
  }
  auto report = hal::run_smartctl(disk);
  if (!report.ok()) return fail(report.error());
  auto clock = hal::make_board_clock(resolved.board.name);
  if (clock.ok()) report.value().checked_utc_us = clock.value()->now_utc_us();
  const fs::path out = commands.out.empty() ? resolved.board.smart_report : commands.out;
  if (!out.empty()) {
    if (auto written = hal::write_smart_report(out, report.value()); !written.ok()) {
      return fail(written.error());
    }
  }
  std::printf("%s\n", report.value().summary.c_str());
  return report.value().supported && !report.value().passed ? 2 : 0;
}

int cmd_config_set(const ApplianceCommands& commands, const firmware::ResolvedAppliance& resolved) {
  if (resolved.options.config_file.empty()) {
    return fail(make_error(ErrorKind::kInvalidArgument,
                           "no configuration file in use: give --config FILE"));
  }
  auto appliance = firmware::Appliance::open(resolved.options);
  if (!appliance.ok()) return fail(appliance.error());
  firmware::Services services(*appliance.value());
  auto changed = firmware::change_config(resolved.options.config_file, appliance.value()->catalog(),
                                         services.audit, firmware::Actor::console(), commands.key,
                                         commands.value);
  if (!changed.ok()) return fail(changed.error());
  std::printf("%s: %s = %s (audited; yardwatchd applies it at its next start)\n",
              resolved.options.config_file.c_str(), commands.key.c_str(), commands.value.c_str());
  return 0;
}

int cmd_factory_reset(const ApplianceCommands& commands,
                      const firmware::ResolvedAppliance& resolved) {
  if (!commands.confirmed) {
    std::fprintf(stderr,
                 "yardwatch: factory-reset destroys every device key: ALL recorded footage "
                 "becomes unreadable, for good, and the audit journal and accounts are deleted.\n"
                 "  Police bundles already handed over stay valid.\n"
                 "  To go ahead: yardwatch factory-reset %s\n",
                 kConfirmFlag);
    return 1;
  }
  const fs::path label = firmware::label_file_for(resolved.options, resolved.board.label_file);
  auto reset = firmware::factory_reset(resolved.options, label);
  if (!reset.ok()) {
    hal::journal_send(hal::JournalPriority::kError, "yardwatch",
                      "factory reset failed: " + reset.error().message);
    return fail(reset.error());
  }
  std::string destroyed;
  for (const auto& file : reset.value().keys.files) destroyed += " " + file;
  const std::string summary = "FACTORY RESET: device keys destroyed (" +
                              std::string(reset.value().keys.tpm_cleared ? "TPM cleared; " : "") +
                              "files:" + destroyed + "); " +
                              std::to_string(reset.value().data_entries_removed) +
                              " data entries removed from " + resolved.options.data_dir.string() +
                              ". All footage recorded on this appliance is unreadable.";
  // The console and the system journal are the record now: the audit journal went with the
  // catalog (its last entry, when it could be written, was this reset).
  std::printf("%s\n", summary.c_str());
  if (!reset.value().audited || !reset.value().marker_written) {
    std::printf("  note: %s\n", reset.value().note.c_str());
  }
  if (reset.value().marker_written) {
    std::printf("  the next `yardwatch init` registers this reset in the breach register (R8).\n");
  }
  std::printf("  run `yardwatch init` to provision the appliance again.\n");
  hal::journal_send(hal::JournalPriority::kWarning, "yardwatch", summary,
                    {{"action", "factory_reset"},
                     {"tpm_cleared", reset.value().keys.tpm_cleared ? "1" : "0"},
                     {"audited", reset.value().audited ? "1" : "0"}});
  return 0;
}

int cmd_media_list(const ApplianceCommands& commands, const firmware::ResolvedAppliance& resolved) {
  hal::UsbMedia media(media_options(resolved));
  auto list = media.list();
  if (!list.ok()) return fail(list.error());
  if (commands.json) {
    json sticks = json::array();
    for (const auto& stick : list.value()) {
      sticks.push_back(
          json{{"id", stick.id},
               {"label", stick.label},
               {"mounted", !stick.root.empty()},
               {"mount_point", stick.root.empty() ? json(nullptr) : json(stick.root)},
               {"free_bytes", stick.root.empty() ? json(nullptr) : json(stick.free_bytes)},
               {"total_bytes", stick.total_bytes}});
    }
    std::cout << json{{"media", sticks}}.dump(2) << "\n";
    return 0;
  }
  if (list.value().empty()) std::printf("no USB stick found\n");
  for (const auto& stick : list.value()) {
    std::printf(
        "%-44s %s  %s\n", stick.id.c_str(), stick.label.c_str(),
        stick.root.empty() ? "(not mounted)" : ("mounted at " + stick.root.string()).c_str());
  }
  return 0;
}

int cmd_media_mount(const ApplianceCommands& commands,
                    const firmware::ResolvedAppliance& resolved) {
  hal::UsbMedia media(media_options(resolved));
  auto mounted = media.mount(commands.media_id);
  if (!mounted.ok()) return fail(mounted.error());
  std::printf(
      "%s mounted at %s (nosuid,nodev,noexec); export to it with\n"
      "  yardwatch export create --media %s --out NAME …\n"
      "and eject it with `yardwatch media eject --media %s` before pulling it out\n",
      commands.media_id.c_str(), mounted.value().c_str(), commands.media_id.c_str(),
      commands.media_id.c_str());
  return 0;
}

int cmd_media_eject(const ApplianceCommands& commands,
                    const firmware::ResolvedAppliance& resolved) {
  hal::UsbMedia media(media_options(resolved));
  auto ejected = media.eject(commands.media_id);
  if (!ejected.ok()) return fail(ejected.error());
  if (!ejected.value().was_mounted) {
    std::printf("%s was not mounted\n", commands.media_id.c_str());
  } else if (!ejected.value().device_present) {
    std::printf(
        "%s had been pulled out before it was ejected: what was written last may be "
        "missing; check the bundle with yardwatch-verify\n",
        commands.media_id.c_str());
    return 1;
  } else {
    std::printf("%s synced and unmounted: it can be pulled out\n", commands.media_id.c_str());
  }
  return 0;
}

}  // namespace

void add_appliance_options(CLI::App* command, firmware::ApplianceArguments& arguments) {
  command->add_option("--data", arguments.data_dir,
                      "data directory (default: from the configuration file)");
  command->add_option("--key-dir", arguments.key_dir,
                      "key directory (default: the board's, else <data>.keys beside the data)");
  command->add_option("--board", arguments.board,
                      "board (default: the configuration file's, else host-sim)");
  command->add_option("--config", arguments.config_file,
                      "configuration file (default /etc/yardwatch/yardwatch.toml when --data is "
                      "not given)");
}

hal::UsbMediaOptions media_options(const firmware::ResolvedAppliance& resolved) {
  return firmware::usb_media_options(resolved);
}

void register_appliance_commands(CLI::App& app, ApplianceCommands& commands,
                                 const std::function<void(CLI::App*)>& add_common) {
  auto* config =
      app.add_subcommand("config", "the configuration file (/etc/yardwatch/yardwatch.toml)");
  config->require_subcommand(1);
  commands.config_check =
      config->add_subcommand("check", "validate a configuration file (errors with line numbers)");
  commands.config_check->add_option("--config", commands.config_file,
                                    "file (default /etc/yardwatch/yardwatch.toml)");
  commands.config_set = config->add_subcommand(
      "set", "change one setting in the file (validated, written atomically, audited)");
  add_common(commands.config_set);
  commands.config_set->add_option("key", commands.key, "e.g. policy.require_totp")->required();
  commands.config_set->add_option("value", commands.value, "e.g. true")->required();

  auto* firewall = app.add_subcommand("firewall", "the appliance's nftables rules");
  firewall->require_subcommand(1);
  commands.firewall_render = firewall->add_subcommand(
      "render", "the ruleset for `nft -f`, with the networks of the configuration");
  commands.firewall_render->add_option("--config", commands.config_file,
                                       "file (default /etc/yardwatch/yardwatch.toml)");
  commands.firewall_render->add_option("--out", commands.out, "write here instead of stdout");

  commands.smart_check = app.add_subcommand(
      "smart-check", "SMART health of the data disk (root; run by yardwatch-smart.timer)");
  add_common(commands.smart_check);
  commands.smart_check->add_option("--out", commands.out, "report file (default: the board's)");

  auto* media = app.add_subcommand("media", "USB sticks for police bundles");
  media->require_subcommand(1);
  commands.media_list = media->add_subcommand("list", "the USB sticks present");
  add_common(commands.media_list);
  commands.media_list->add_flag("--json", commands.json, "machine-readable output");
  commands.media_mount =
      media->add_subcommand("mount", "mount a stick nosuid,nodev,noexec for an export (root)");
  add_common(commands.media_mount);
  commands.media_mount->add_option("--media", commands.media_id, "id from `media list`")
      ->required();
  commands.media_eject =
      media->add_subcommand("eject", "sync and unmount a stick so it can be pulled out (root)");
  add_common(commands.media_eject);
  commands.media_eject->add_option("--media", commands.media_id, "id from `media list`")
      ->required();

  commands.factory_reset = app.add_subcommand(
      "factory-reset", "destroy all device keys: every recording becomes unreadable");
  add_common(commands.factory_reset);
  commands.factory_reset->add_flag(kConfirmFlag, commands.confirmed,
                                   "confirm that all footage is to become unreadable");
}

std::optional<int> run_standalone_appliance_commands(const ApplianceCommands& commands) {
  if (commands.config_check->parsed()) return cmd_config_check(commands);
  if (commands.firewall_render->parsed()) return cmd_firewall_render(commands);
  return std::nullopt;
}

std::optional<int> run_appliance_commands(const ApplianceCommands& commands,
                                          const firmware::ResolvedAppliance& resolved) {
  if (commands.config_set->parsed()) return cmd_config_set(commands, resolved);
  if (commands.smart_check->parsed()) return cmd_smart_check(commands, resolved);
  if (commands.factory_reset->parsed()) return cmd_factory_reset(commands, resolved);
  if (commands.media_list->parsed()) return cmd_media_list(commands, resolved);
  if (commands.media_mount->parsed()) return cmd_media_mount(commands, resolved);
  if (commands.media_eject->parsed()) return cmd_media_eject(commands, resolved);
  return std::nullopt;
}

bool keeps_root(const ApplianceCommands& commands) {
  return commands.smart_check->parsed() || commands.factory_reset->parsed() ||
         commands.media_mount->parsed() || commands.media_eject->parsed();
}

Status drop_to_service_user(const firmware::ApplianceOptions& options) {
  if (::geteuid() != 0 || options.board == "host-sim") return {};
  const passwd* user = ::getpwnam(kServiceUser);
  if (user == nullptr) return {};  // not an installed appliance: nothing to switch to
  if (::initgroups(kServiceUser, user->pw_gid) != 0 || ::setgid(user->pw_gid) != 0 ||
      ::setuid(user->pw_uid) != 0) {
    return errno_error(errno, "switch to the yardwatch user");
  }
  if (::setuid(0) == 0) {
    return make_error(ErrorKind::kInternal, "could still regain root after dropping it");
  }
  return {};
}

}  // namespace yardwatch::cli
