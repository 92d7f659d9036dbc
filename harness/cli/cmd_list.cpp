// lwipsim list: the scenarios of a folder with their descriptions.
#include "harness/cli/commands.h"
#include "harness/scenario/loader.h"

#include <algorithm>
#include <cstdio>
#include <memory>

namespace lwipsim::cli {

void setup_list(CLI::App& app) {
    auto dir = std::make_shared<std::string>("scenarios");
    auto* cmd = app.add_subcommand("list", "scenarios in a folder with their descriptions");
    cmd->footer("Example:\n  lwipsim list scenarios");
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
        for (const auto& f : files) {
            auto sc = scenario::load_scenario(f);
            std::string d = sc.description;
            std::replace(d.begin(), d.end(), '\n', ' ');
            std::printf("%-28s %s\n", f.filename().c_str(), d.c_str());
        }
    });
}

} // namespace lwipsim::cli
