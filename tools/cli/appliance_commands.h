#pragma once

// The appliance's own commands: `config check|set`, `firewall render`, `smart-check`,
// `media list|mount|eject` and `factory-reset` (tools/cli/README.md), and the switch to the
// `yardwatch` service user that every command touching the data makes when run as root on an
// installed appliance.

#include <CLI/CLI.hpp>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "yardwatch/firmware/appliance.h"
#include "yardwatch/hal/usb_media.h"

namespace yardwatch::cli {

struct ApplianceCommands {
  CLI::App* config_check = nullptr;
  CLI::App* config_set = nullptr;
  CLI::App* firewall_render = nullptr;
  CLI::App* smart_check = nullptr;
  CLI::App* factory_reset = nullptr;
  CLI::App* media_list = nullptr;
  CLI::App* media_mount = nullptr;
  CLI::App* media_eject = nullptr;

  std::filesystem::path config_file;  // config check, firewall render
  std::filesystem::path out;          // firewall render, smart-check
  std::string media_id;
  std::string key;
  std::string value;
  bool confirmed = false;
  bool json = false;
};

// --data, --key-dir, --board and --config: where the appliance is, as every command that opens
// it takes them (firmware::resolve_appliance combines them with the file and the board).
void add_appliance_options(CLI::App* command, firmware::ApplianceArguments& arguments);

// `add_common` adds --data/--key-dir/--board/--config to a command that opens the appliance.
void register_appliance_commands(CLI::App& app, ApplianceCommands& commands,
                                 const std::function<void(CLI::App*)>& add_common);

// Commands that need no appliance (they read only the configuration file). nullopt: none parsed.
std::optional<int> run_standalone_appliance_commands(const ApplianceCommands& commands);

// Commands on a resolved appliance. nullopt: none parsed.
std::optional<int> run_appliance_commands(const ApplianceCommands& commands,
                                          const firmware::ResolvedAppliance& resolved);

// The board's USB sticks (hal::UsbMedia): its mount root (default "<data>.media"), loop devices
// as sticks on host-sim, and vfat/exfat sticks owned by the service user when there is one.
hal::UsbMediaOptions media_options(const firmware::ResolvedAppliance& resolved);

// Whether the parsed command must keep root (factory-reset clears the TPM; smart-check reads
// the raw disk; media mount/eject mount); every other command drops to the service user first.
bool keeps_root(const ApplianceCommands& commands);

// Run as root on a board other than host-sim, with a `yardwatch` system user present: switch to
// it (groups, gid, uid) so that every file the command creates belongs to the service, as the
// daemon's do. Otherwise nothing.
Status drop_to_service_user(const firmware::ApplianceOptions& options);

}  // namespace yardwatch::cli
