// lwipsim plot: plots and report.html for a result folder (all its variants, plus the
// comparison plots and report), one variant's folder, or a sweep folder (each point as a
// result folder, plus the sweep table as report.html).
#include "harness/cli/cli_common.h"
#include "harness/cli/commands.h"
#include "harness/report/html_report.h"
#include "harness/report/plots.h"

#include <cstdio>
#include <memory>

namespace lwipsim::cli {

namespace fs = std::filesystem;

void setup_plot(CLI::App& app) {
    auto dir = std::make_shared<std::string>();
    auto* cmd = app.add_subcommand("plot", "plots and report.html for a result or sweep folder");
    cmd->footer("Examples:\n  lwipsim plot results/field_case   (needs gnuplot)\n"
                "  lwipsim plot results/sweep        (each point, and the sweep table)");
    cmd->add_option("dir", *dir, "result folder of a run, one variant's folder, or a sweep folder")
        ->required()
        ->check(readable_folder());
    cmd->callback([dir] {
        fs::path d = *dir;
        if (!report::is_run_folder(d) && !report::is_sweep_folder(d) &&
            report::variant_folders(d).empty())
            throw UsageError(*dir + ": no result folders (summary.json) and no sweep.json found");
        fs::path top = report::render_results(d);
        if (!quiet())
            std::printf("plots and reports in %s (start with %s)\n", d.c_str(), top.c_str());
    });
}

} // namespace lwipsim::cli
