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

// Up to five names, then "...".
std::string first_names(const std::vector<std::string>& names) {
    std::string list;
    for (size_t i = 0; i < names.size() && i < 5; ++i)
        list += (i ? ", " : "") + names[i];
    if (names.size() > 5)
        list += ", ... (" + std::to_string(names.size()) + " in all)";
    return list;
}

// Why two shard folders are not from the same sweep, in the user's terms.
std::string how_grids_differ(const Grid& a, const Grid& b) {
    if (a.scenario_digest != b.scenario_digest)
        return "the scenario (as resolved with --set) differs";
    std::vector<std::string> what;
    if (a.to_json()["params"] != b.to_json()["params"])
        what.push_back("--param");
    if (a.seeds != b.seeds)
        what.push_back("seeds");
    if (a.variants != b.variants)
        what.push_back("variants");
    std::string list;
    for (const auto& w : what)
        list += (list.empty() ? "" : ", ") + w;
    return list.empty() ? "the grid differs" : list + " differ";
}

struct Shard {
    fs::path dir;
    int k = 0, n = 0; ///< 0/0: a whole (unsharded) sweep folder
    std::vector<size_t> ran;
};

// The grid and shard of one sweep.json; a hand-edited file with wrong types is the user's
// input, so it is a usage error naming the file, not an internal one.
Grid parse_sweep(const fs::path& dir, const json& j, Shard& shard) {
    try {
        Grid g = Grid::from_json(j);
        const json& sh = j.value("shard", json());
        shard = {dir, sh.is_object() ? sh.value("k", 0) : 0, sh.is_object() ? sh.value("n", 0) : 0,
                 j.at("ran").get<std::vector<size_t>>()};
        return g;
    } catch (const json::exception& e) {
        throw UsageError((dir / "sweep.json").string() + ": not a sweep.json written by lwipsim (" +
                         e.what() + ")");
    }
}

// Which shards K/N are absent, when every folder names its shard with the same N.
std::string missing_shards(const std::vector<Shard>& shards) {
    int n = shards.front().n;
    std::vector<bool> seen(static_cast<size_t>(std::max(n, 0)) + 1, false);
    for (const auto& s : shards) {
        if (s.n != n || n == 0 || s.k < 1 || s.k > n)
            return "";
        seen[static_cast<size_t>(s.k)] = true;
    }
    std::string list;
    for (int k = 1; k <= n; ++k) {
        if (!seen[static_cast<size_t>(k)])
            list += (list.empty() ? "" : ", ") + std::to_string(k) + "/" + std::to_string(n);
    }
    return list.empty() ? "" : "shard " + list + " not given; ";
}

// Every grid point exactly once across the folders, or UsageError naming what is wrong.
void check_complete(const Grid& grid, const std::vector<Shard>& shards,
                    std::map<size_t, fs::path>& owner) {
    auto points = grid.points();
    std::vector<std::string> duplicates;
    for (const auto& s : shards) {
        for (size_t index : s.ran) {
            if (index >= points.size())
                throw UsageError((s.dir / "sweep.json").string() + ": point index out of grid");
            auto [it, fresh] = owner.emplace(index, s.dir);
            if (!fresh) {
                duplicates.push_back(points[index].name() + " (in both " + it->second.string() +
                                     " and " + s.dir.string() + ")");
            }
        }
    }
    if (!duplicates.empty()) {
        throw UsageError(std::to_string(duplicates.size()) +
                         " grid point(s) in more than one folder: " + first_names(duplicates));
    }
    std::vector<std::string> missing;
    for (const auto& p : points) {
        if (!owner.count(p.index))
            missing.push_back(p.name());
    }
    if (missing.empty())
        return;
    // A shard folder whose sweep stopped early lists fewer points than its slice holds.
    std::string interrupted;
    for (const auto& s : shards) {
        size_t expected = 0;
        for (const auto& p : points)
            expected += s.n == 0 || in_shard(p.index, s.k, s.n) ? 1 : 0;
        if (s.ran.size() < expected) {
            interrupted += "; " + s.dir.string() + " is incomplete (" +
                           std::to_string(s.ran.size()) + " of its " + std::to_string(expected) +
                           " points: interrupted? run its sweep again with --resume)";
        }
    }
    throw UsageError(missing_shards(shards) + std::to_string(missing.size()) + " of " +
                     std::to_string(points.size()) +
                     " grid points missing from the folders given: " + first_names(missing) +
                     interrupted);
}

int merge(const MergeOptions& o) {
    fs::path out = o.out;
    std::optional<Grid> grid;
    std::vector<Shard> shards;
    for (const auto& d : o.dirs) {
        if (fs::exists(out) && fs::equivalent(d, out)) {
            throw UsageError("--out " + o.out + " is one of the folders to merge");
        }
        json j = read_sweep(d);
        Shard shard;
        Grid g = parse_sweep(d, j, shard);
        if (j.value("grid_fingerprint", "") != g.fingerprint()) {
            throw UsageError((fs::path(d) / "sweep.json").string() +
                             ": grid_fingerprint does not match its grid (edited by hand?)");
        }
        if (!grid) {
            grid = g;
        } else if (g.fingerprint() != grid->fingerprint()) {
            throw UsageError(d + ": not the same sweep as " + o.dirs.front() + " (grid " +
                             g.fingerprint() + " vs " + grid->fingerprint() +
                             "): " + how_grids_differ(*grid, g));
        }
        shards.push_back(shard);
    }
    std::map<size_t, fs::path> owner; // point index -> shard folder holding it
    check_complete(*grid, shards, owner);
    auto points = grid->points();
    if (fs::exists(out) && !fs::is_empty(out)) {
        throw UsageError("--out " + o.out + " exists and is not empty");
    }
    for (const auto& [index, dir] : owner) {
        if (!fs::is_directory(dir / points[index].name())) {
            throw UsageError((dir / points[index].name()).string() +
                             ": listed in sweep.json but missing");
        }
    }
    // Written under a temporary name and renamed at the end, so a failed copy (disk full,
    // unreadable file) never leaves a folder that looks like a merged sweep.
    fs::path partial = out;
    partial += ".partial";
    fs::remove_all(partial);
    std::vector<size_t> ran;
    json rows;
    try {
        fs::create_directories(partial);
        for (const auto& [index, dir] : owner) {
            const std::string name = points[index].name();
            fs::copy(dir / name, partial / name, fs::copy_options::recursive);
            ran.push_back(index);
            if (verbose())
                std::fprintf(stderr, "lwipsim: %s from %s\n", name.c_str(), dir.c_str());
        }
        rows = write_sweep_table(partial, *grid, ran, {0, 0});
        if (fs::exists(out))
            fs::remove(out); // empty, checked above
        fs::rename(partial, out);
    } catch (...) {
        std::error_code ignored;
        fs::remove_all(partial, ignored);
        throw;
    }
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
        "The folders must come from the same sweep: the same grid fingerprint in their\n"
        "sweep.json (scenario as resolved with --set, --param, seeds, variants; not the\n"
        "scenario's path). A grid point present in two folders, or in none, is an error\n"
        "(exit 2, naming the points and missing shards) and nothing is written. Run folders\n"
        "are copied; the shards are left as they were.\n"
        "Example:\n"
        "  lwipsim merge results/s1 results/s2 --out results/sweep");
    cmd->add_option("dirs", o->dirs, "shard folders written by `sweep --shard`")
        ->required()
        ->check(readable_folder());
    cmd->add_option("--out", o->out, "merged sweep folder (must not exist or be empty)")
        ->required();
    cmd->callback([o] { finish(merge(*o)); });
}

} // namespace lwipsim::cli
