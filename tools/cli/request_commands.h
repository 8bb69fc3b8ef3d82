#pragma once

// `yardwatch requests add|list|show|extend|close|link|purge`: the register of data subjects'
// requests (R7; firmware/design/requests.md), a thin adapter over firmware::RequestService.
// Everything but `purge` needs a personal account signed in at the console (--user, password on
// stdin, --totp): directors manage the register, privacy officers read it. `purge` is the
// console's housekeeping (closed requests older than 2 years; yardwatchd runs it daily too). The
// --json shapes are documented in tools/cli/README.md.

#include <CLI/CLI.hpp>
#include <functional>
#include <optional>

namespace yardwatch::cli {

// Runs the command the user chose, after app.parse(): its exit code, or nullopt if none of
// these commands was chosen.
using RequestCommandRunner = std::function<std::optional<int>()>;

RequestCommandRunner register_request_commands(CLI::App& app);

}  // namespace yardwatch::cli
