#pragma once
// The grid of a sweep and its result table, shared by `sweep` (writes it) and `merge` (checks
// shards against it and rebuilds the table). Layout of a sweep folder (docs/cli.md):
//   DIR/sweep.json, DIR/sweep.csv, DIR/<point>/<variant>/ (a result folder, docs/results.md),
//   DIR/<point>/<variant>.error.txt when that run did not complete.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace lwipsim::cli {

struct SweepParam {
    std::string key;                 ///< scenario key path, as for --set
    std::vector<std::string> values; ///< YAML texts
};

/// One grid point: a value for every parameter and a seed. Variants run inside each point.
struct GridPoint {
    size_t index = 0;                                        ///< 0-based position in the grid
    std::vector<std::pair<std::string, std::string>> values; ///< key -> value, in --param order
    uint64_t seed = 0;
    [[nodiscard]] std::string name() const;              ///< folder name, "app.linger=0,seed=2"
    [[nodiscard]] std::vector<std::string> sets() const; ///< as --set texts
};

struct Grid {
    std::string scenario; ///< scenario name
    std::string
        scenario_file; ///< as given on the command line (informative: paths differ per node)
    /// Digest of the scenario as resolved with the fixed --set overrides (scenario_digest()):
    /// the same on every node that loads the same scenario, whatever its path or comments.
    std::string scenario_digest;
    std::vector<SweepParam> params;
    std::vector<uint64_t> seeds;
    std::vector<std::string> variants;
    /// Cartesian product, first --param outermost, seeds innermost.
    [[nodiscard]] std::vector<GridPoint> points() const;
    /// 16 hex digits over scenario_digest, params, seeds and variants: two sweep folders with
    /// the same fingerprint ran the same grid of the same scenario.
    [[nodiscard]] std::string fingerprint() const;
    [[nodiscard]] nlohmann::json to_json() const;
    /// Throws UsageError when a key is missing (a sweep.json written by another version).
    static Grid from_json(const nlohmann::json& j);
};

/// Digest (16 hex digits) of a resolved scenario's JSON (scenario::to_json) without the parts
/// that name where files live (the scenario's own path; external broker files by folder).
std::string scenario_digest(const nlohmann::json& resolved_scenario);

/// "KEY=V1,V2,..." -> SweepParam. Throws UsageError.
SweepParam parse_param(const std::string& text);

/// "K/N" (1-based K) -> {K, N}. Throws UsageError.
std::pair<int, int> parse_shard(const std::string& text);

/// Whether point `index` belongs to shard K of N: index % N == K - 1.
inline bool in_shard(size_t index, int k, int n) {
    return static_cast<int>(index % static_cast<size_t>(n)) == k - 1;
}

/// Reads each run's summary.json under `dir` and writes sweep.json and sweep.csv there (each
/// to a temporary file renamed into place, so a killed sweep never leaves half a table).
/// `ran` are the point indices this folder holds; `shard` is {K, N} or {0, 0} for a whole grid,
/// `shard_source` where it came from ("--shard" or the engine's variables).
/// Returns the rows.
nlohmann::json write_sweep_table(const std::filesystem::path& dir, const Grid& grid,
                                 const std::vector<size_t>& ran, std::pair<int, int> shard,
                                 const std::string& shard_source = "");

} // namespace lwipsim::cli
