// lwipsim plot: plots and report.html for a result folder (all its variants, plus the
// comparison plots) or one variant's folder.
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
    auto* cmd = app.add_subcommand("plot", "plots and report.html for a result folder");
    cmd->footer("Example:\n  lwipsim plot results/field_case   (needs gnuplot)");
    cmd->add_option("dir", *dir, "result folder of a run (or one variant's folder)")
        ->required()
        ->check(readable_folder());
    cmd->callback([dir] {
        fs::path d = *dir;
        if (fs::exists(d / "summary.json")) {
            report::plot_run(d);
            report::write_report(d);
        } else {
            auto [parent, variants] = variant_folders(d);
            if (variants.empty())
                throw UsageError(*dir + ": no result folders (summary.json) found");
            report::plot_comparison(parent);
            for (const auto& v : variants) {
                report::plot_run(parent / v);
                report::write_report(parent / v);
            }
        }
        if (!quiet())
            std::printf("plots and reports in %s\n", d.c_str());
    });
}

} // namespace lwipsim::cli
