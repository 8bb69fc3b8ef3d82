#pragma once

// `yardwatch report kwaliteitskaart|access-review` (R9 and the monthly access review) and the
// director's camera descriptions for the card, `yardwatch camera describe|still` (also spelled
// `cameras`). Thin adapters over firmware::KwaliteitskaartService and AccessReviewService.

#include <CLI/CLI.hpp>
#include <functional>
#include <optional>

namespace yardwatch::cli {

using ReportCommandRunner = std::function<std::optional<int>()>;

// Call after the `camera` command is registered (it adds `describe` and `still` to it).
ReportCommandRunner register_report_commands(CLI::App& app);

}  // namespace yardwatch::cli
