#pragma once

// `yardwatch breaches list|show|add|decide` (the breach register, R8) and `yardwatch dpia
// status` (the DPIA reminder, R10): thin adapters over firmware::BreachService and
// firmware::DpiaService (firmware/design/privacy_desk.md). Registering and deciding need a
// director signed in at the console (--user, password on stdin, --totp), who is recorded as the
// one who registered or decided. Reading takes a signed-in director or privacy officer, or
// without --user the appliance console (audited as `console`, as `audit list` is). The --json
// shapes are documented in tools/cli/README.md.

#include <CLI/CLI.hpp>
#include <functional>
#include <optional>

namespace yardwatch::cli {

// Runs the command the user chose, after app.parse(): its exit code, or nullopt if none of
// these commands was chosen.
using BreachCommandRunner = std::function<std::optional<int>()>;

BreachCommandRunner register_breach_commands(CLI::App& app);

}  // namespace yardwatch::cli
