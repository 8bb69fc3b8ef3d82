#pragma once

// `yardwatch retention sweep|trust-clock`, `yardwatch hold add|list|show|extend|release|confirm|
// reject`, `yardwatch footage erase|restrict|unrestrict|restrictions` and `yardwatch camera set`:
// thin adapters over firmware::RetentionService, HoldService, SubjectFootageService and
// update_camera. People's decisions (holds, erasure, restriction) need a personal account
// signed in at the console (--user, password on stdin, --totp); the sweep and trust-clock are
// the console's. The --json shapes are documented in tools/cli/README.md.

#include <CLI/CLI.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>

#include "yardwatch/firmware/services.h"

namespace yardwatch::cli {

// Runs the command the user chose, after app.parse(): its exit code, or nullopt if none of
// these commands was chosen.
using CommandRunner = std::function<std::optional<int>()>;

// Adds the `retention`, `hold` and `footage` commands, and `set` under the existing `camera`
// command.
CommandRunner register_retention_commands(CLI::App& app);

// Adds what `yardwatch status` shows about retention to its JSON: "retention" (clock guard,
// holds, overdue holds, restrictions) and, per camera, "retention_days",
// "effective_retention_days" and "priority".
void add_retention_status(nlohmann::json& status, firmware::Services& services);
// The text lines of the same, for `yardwatch status` without --json.
void print_retention_status(const nlohmann::json& status);

}  // namespace yardwatch::cli
