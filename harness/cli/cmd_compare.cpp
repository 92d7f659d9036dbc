// lwipsim compare: the variants of a result folder side by side (key figures, failed
// expectations; every expectation with --verbose).
#include "harness/cli/cli_common.h"
#include "harness/cli/commands.h"

#include <memory>

namespace lwipsim::cli {

namespace fs = std::filesystem;

void setup_compare(CLI::App& app) {
    auto dir = std::make_shared<std::string>();
    auto* cmd = app.add_subcommand("compare", "variants of a result folder side by side");
    cmd->footer("Example:\n  lwipsim compare results/field_case");
    cmd->add_option("dir", *dir, "result folder of a run (or one variant's folder)")
        ->required()
        ->check(readable_folder());
    cmd->callback([dir] {
        auto [parent, variants] = variant_folders(*dir);
        if (variants.empty())
            throw UsageError(*dir + ": no result folders (summary.json) found");
        print_table(parent, variants);
    });
}

} // namespace lwipsim::cli
