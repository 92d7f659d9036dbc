// lwipsim merge: joins shard folders of one sweep into a whole sweep folder (run folders
// copied, table rebuilt from their summary.json files).
#include "harness/cli/cli_common.h"
#include "harness/cli/commands.h"
#include "harness/cli/sweep_grid.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>

namespace lwipsim::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct MergeOptions {
    std::vector<std::string> dirs;
    std::string out;
};

json read_sweep(const fs::path& dir) {
    std::ifstream in(dir / "sweep.json");
    if (!in)
        throw UsageError(dir.string() + ": no sweep.json (not a sweep folder)");
    json j = json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        throw UsageError((dir / "sweep.json").string() + ": not JSON");
    return j;
}

int merge(const MergeOptions& o) {
    fs::path out = o.out;
    std::optional<Grid> grid;
    json grid_json;
    std::map<size_t, fs::path> owner; // point index -> shard folder holding it
    for (const auto& d : o.dirs) {
        if (fs::exists(out) && fs::equivalent(d, out)) {
            throw UsageError("--out " + o.out + " is one of the folders to merge");
        }
        json j = read_sweep(d);
        Grid g = Grid::from_json(j);
        if (!grid) {
            grid = g;
            grid_json = g.to_json();
        } else if (g.to_json() != grid_json) {
            throw UsageError(
                d + ": a different sweep (scenario, parameters, seeds or variants differ from " +
                o.dirs.front() + ")");
        }
        for (size_t index : j.at("ran").get<std::vector<size_t>>()) {
            auto [it, fresh] = owner.emplace(index, d);
            if (!fresh) {
                throw UsageError("point " + grid->points().at(index).name() + " is in both " +
                                 it->second.string() + " and " + d);
            }
        }
    }
    auto points = grid->points();
    std::vector<std::string> missing;
    for (const auto& p : points) {
        if (!owner.count(p.index))
            missing.push_back(p.name());
    }
    if (!missing.empty()) {
        std::string list;
        for (size_t i = 0; i < missing.size() && i < 5; ++i)
            list += (i ? ", " : "") + missing[i];
        if (missing.size() > 5)
            list += ", ...";
        throw UsageError(std::to_string(missing.size()) + " of " + std::to_string(points.size()) +
                         " grid points missing from the folders given: " + list);
    }
    if (fs::exists(out) && !fs::is_empty(out)) {
        throw UsageError("--out " + o.out + " exists and is not empty");
    }
    fs::create_directories(out);
    std::vector<size_t> ran;
    for (const auto& [index, dir] : owner) {
        const std::string name = points[index].name();
        if (!fs::is_directory(dir / name)) {
            throw UsageError((dir / name).string() + ": listed in sweep.json but missing");
        }
        fs::copy(dir / name, out / name, fs::copy_options::recursive);
        ran.push_back(index);
        if (verbose())
            std::fprintf(stderr, "lwipsim: %s from %s\n", name.c_str(), dir.c_str());
    }
    json rows = write_sweep_table(out, *grid, ran, {0, 0});
    if (!quiet()) {
        std::printf("merged %zu folders: %zu points, %zu runs -> %s/sweep.csv\n", o.dirs.size(),
                    ran.size(), rows.size(), out.c_str());
    }
    return kExitPassed;
}

} // namespace

void setup_merge(CLI::App& app) {
    auto o = std::make_shared<MergeOptions>();
    auto* cmd = app.add_subcommand("merge", "join sweep shard folders into one sweep folder");
    cmd->footer(
        "The folders must come from the same sweep (same scenario, --param, seeds and\n"
        "variants). A grid point present in two folders, or in none, is an error (exit 2)\n"
        "and nothing is written. Run folders are copied; the shards are left as they were.\n"
        "Example:\n"
        "  lwipsim merge results/s1 results/s2 --out results/sweep");
    cmd->add_option("dirs", o->dirs, "shard folders written by `sweep --shard`")
        ->required()
        ->check(CLI::ExistingDirectory);
    cmd->add_option("--out", o->out, "merged sweep folder (must not exist or be empty)")
        ->required();
    cmd->callback([o] { finish(merge(*o)); });
}

} // namespace lwipsim::cli
