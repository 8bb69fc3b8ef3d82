#pragma once

// `yardwatch export create|receipt`: thin adapters over firmware::ExportService (police exports,
// R5). `create` signs in a director, writes the bundle to --out (a new directory standing for
// the stick), prints the handover receipt and can write it as PDF or HTML; `receipt` prints or
// writes the receipt of an earlier export again. Documented in tools/cli/README.md.

#include <CLI/CLI.hpp>
#include <functional>
#include <optional>

namespace yardwatch::cli {

// Adds the `export` command group to `app`. After app.parse(), call the returned function: it
// runs the export command that was given and returns its exit status, or nullopt if none was.
std::function<std::optional<int>()> register_export_commands(CLI::App& app);

}  // namespace yardwatch::cli
