// lwipsim validate: load every scenario file (and each of its variants) without running.
#include "harness/cli/cli_common.h"
#include "harness/cli/commands.h"
#include "harness/scenario/loader.h"

#include <cstdio>
#include <memory>

namespace lwipsim::cli {

void setup_validate(CLI::App& app) {
    auto files = std::make_shared<std::vector<std::string>>();
    auto sets = std::make_shared<std::vector<std::string>>();
    auto* cmd = app.add_subcommand("validate",
                                   "check scenario files (and --set overrides) without running");
    cmd->footer("Example:\n  lwipsim validate scenarios/*.yaml\n"
                "Exit 2 at the first bad file, with file:line:col on stderr.");
    cmd->add_option("scenarios", *files, "scenario YAML files")->required()->check(readable_file());
    cmd->add_option("--set", *sets, "override KEY=VALUE, checked too (repeatable)");
    cmd->callback([files, sets] {
        for (const auto& f : *files) {
            auto sc = scenario::load_scenario(f, *sets);
            auto variants = scenario::variant_names(sc);
            for (const auto& v : variants)
                (void)scenario::resolve_variant(sc, v);
            if (!quiet()) {
                std::printf("%s: ok (%zu variants, %zu expectations)\n", f.c_str(), variants.size(),
                            sc.expectations.size());
            }
        }
    });
}

} // namespace lwipsim::cli
