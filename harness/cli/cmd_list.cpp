// lwipsim list: the scenarios of a folder with their descriptions.
#include "harness/cli/cli_common.h"
#include "harness/cli/commands.h"
#include "harness/scenario/loader.h"
#include "harness/scenario/scenario_error.h"

#include <algorithm>
#include <cstdio>
#include <memory>

namespace lwipsim::cli {

void setup_list(CLI::App& app) {
    auto dir = std::make_shared<std::string>("scenarios");
    auto* cmd = app.add_subcommand("list", "scenarios in a folder with their descriptions");
    cmd->footer("Example:\n  lwipsim list scenarios\n"
                "Exit: 0 every file loads, 2 one or more are invalid (marked, with the error).");
    cmd->add_option("dir", *dir, "folder of *.yaml scenarios")
        ->check(readable_folder())
        ->capture_default_str();
    cmd->callback([dir] {
        std::vector<std::filesystem::path> files;
        for (const auto& e : std::filesystem::directory_iterator(*dir)) {
            if (e.path().extension() == ".yaml")
                files.push_back(e.path());
        }
        std::sort(files.begin(), files.end());
        // One broken file must not hide the others: each is listed, the broken ones marked
        // with their error (stdout, with the list) and the exit code says some are invalid.
        size_t invalid = 0;
        for (const auto& f : files) {
            try {
                auto sc = scenario::load_scenario(f);
                std::string d = sc.description;
                std::replace(d.begin(), d.end(), '\n', ' ');
                std::printf("%-28s %s\n", f.filename().c_str(), d.c_str());
            } catch (const scenario::ScenarioError& e) {
                ++invalid;
                std::printf("%-28s INVALID: %s\n", f.filename().c_str(), e.what());
            }
        }
        if (invalid > 0) {
            std::fprintf(stderr, "lwipsim: %zu of %zu scenario files in %s are invalid\n", invalid,
                         files.size(), dir->c_str());
            finish(kExitUsage);
        }
    });
}

} // namespace lwipsim::cli
