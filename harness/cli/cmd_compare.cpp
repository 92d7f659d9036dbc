// lwipsim compare: the variants of a result folder side by side (key figures, failed
// expectations; every expectation with --verbose); for a sweep folder, one such table per
// grid point.
#include "harness/cli/cli_common.h"
#include "harness/cli/commands.h"
#include "harness/report/result_folder.h"

#include <cstdio>
#include <memory>

namespace lwipsim::cli {

namespace fs = std::filesystem;

namespace {

void compare_sweep(const fs::path& dir) {
    const report::Sweep sweep = report::load_sweep(dir);
    const auto points = sweep.points();
    if (points.empty())
        throw UsageError(dir.string() + ": a sweep folder without any point's results");
    size_t passed = 0, failed = 0, errors = 0;
    for (const report::SweepRow& row : sweep.rows)
        (row.status == "passed" ? passed : row.status == "failed" ? failed : errors)++;
    for (const fs::path& point : points) {
        std::printf("point %s\n", point.filename().c_str());
        auto [parent, variants] = variant_folders(point);
        print_table(parent, variants);
        std::printf("\n");
    }
    std::printf("sweep of %s: %zu runs, %zu passed, %zu failed, %zu errors (table: %s)\n",
                sweep.scenario.c_str(), sweep.rows.size(), passed, failed, errors,
                (dir / "sweep.csv").c_str());
}

} // namespace

void setup_compare(CLI::App& app) {
    auto dir = std::make_shared<std::string>();
    auto* cmd = app.add_subcommand("compare", "variants of a result folder side by side");
    cmd->footer("Examples:\n  lwipsim compare results/field_case\n"
                "  lwipsim compare results/sweep   (one table per grid point)");
    cmd->add_option("dir", *dir, "result folder of a run, one variant's folder, or a sweep folder")
        ->required()
        ->check(readable_folder());
    cmd->callback([dir] {
        if (report::is_sweep_folder(*dir)) {
            compare_sweep(*dir);
            return;
        }
        auto [parent, variants] = variant_folders(*dir);
        if (variants.empty())
            throw UsageError(*dir + ": no result folders (summary.json) and no sweep.json found");
        print_table(parent, variants);
    });
}

} // namespace lwipsim::cli
