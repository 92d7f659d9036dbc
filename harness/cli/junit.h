#pragma once
// JUnit XML for CI dashboards: one testcase per expectation per variant run (classname
// "scenario.variant", name "metric op value", a <failure> carrying the measured value), and
// one <error> testcase named "run" for a variant that did not complete. One <testsuite> per
// result folder. Format details: docs/cli.md.

#include "harness/cli/cli_common.h"
#include "harness/report/metric_diff.h"

#include <filesystem>
#include <string>
#include <vector>

namespace lwipsim::cli {

struct JunitRun {
    std::string scenario;         ///< scenario name (file stem)
    std::string variant;          ///< "base" when the scenario has none
    std::string point;            ///< sweep grid point ("" for run); added to testcase names
    std::filesystem::path folder; ///< result folder (summary.json)
    JobResult result;             ///< how the worker ended
};

/// Writes `file` (creating its folder). Throws std::runtime_error if it cannot be written.
void write_junit(const std::filesystem::path& file, const std::string& suite_name,
                 const std::vector<JunitRun>& runs);

/// `lwipsim diff`'s JUnit XML: one <testsuite> per run label, one testcase per metric
/// (classname "diff.LABEL", name the metric), a <failure> when it moved past its tolerance.
/// Throws std::runtime_error if the file cannot be written.
void write_diff_junit(const std::filesystem::path& file, const report::DiffResult& diff);

/// "pcbs.max_close_to_free_s < 600" from one summary.json expectation.
std::string expectation_text(const nlohmann::json& e);

} // namespace lwipsim::cli
