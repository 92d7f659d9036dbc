#pragma once
// One scenario variant, run to completion inside this process (a worker: lwIP's globals allow
// one device per process). Writes the result folder under a temporary name and renames it
// when complete, so a folder without ".partial" is always whole.

#include "harness/scenario/scenario.h"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace lwipsim::runner {

struct RunOutcome {
    bool expectations_passed = true;
    std::filesystem::path folder;
    std::vector<std::string> warnings;  ///< "check this before trusting the results" (terminal)
    std::optional<std::string> failure; ///< why the run failed besides expectations (app.program)
};

/// Runs `scenario` (already resolved for its variant) and writes `out_dir` (e.g. out/linger_0).
/// Throws broker::EnvironmentError (exit 3), std::invalid_argument for settings the run cannot
/// honour (exit 2), std::runtime_error otherwise.
RunOutcome run_variant(const scenario::Scenario& scenario, const std::filesystem::path& out_dir);

} // namespace lwipsim::runner
