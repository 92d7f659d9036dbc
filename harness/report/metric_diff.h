#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lwipsim::report {

// Regression diff of two result folders (`lwipsim diff`): every metric of summary.json's
// `metrics` (docs/results.md) per run, old against new, and whether it moved past its
// tolerance. Reference and the default tolerances: docs/cli.md ("diff").

// How far a metric may move before the diff calls it a move.
struct Tolerance {
    double amount = 0;        // absolute, in the metric's unit; or a fraction of the old value
    bool relative = false;    // amount is a fraction (0.01 = 1 %) of |old|
    std::string text() const; // "1%" / "0" / "0.01"
};

// The default for a metric, from its unit (harness/scenario/metrics.h): counts 0, bytes and
// seconds 1 %, `app.connected_fraction` 0.01.
Tolerance default_tolerance(const std::string& metric);

// "METRIC=REL%" or "METRIC=ABS" (e.g. "heap.min_free=2%", "tcp.retransmissions=3"). Throws
// std::invalid_argument saying what is wrong (unknown metric, bad number, negative).
std::pair<std::string, Tolerance> parse_tolerance(const std::string& text);

// One run of a result folder, keyed by a label that matches it with its counterpart:
// the variant name for a run or parent folder, "POINT/VARIANT" for a sweep folder.
struct DiffRun {
    std::string label;
    std::filesystem::path dir;
};

// The runs of a run folder, a multi-variant parent or a sweep folder, sorted by label.
// Throws ReportError when `dir` is none of these (naming it and what is missing).
std::vector<DiffRun> diff_runs(const std::filesystem::path& dir);

struct MetricDiff {
    std::string run, metric;
    // nullopt: null in summary.json (not measurable in that run).
    std::optional<double> old_value, new_value;
    bool in_old = true, in_new = true; // false: the folder's summary.json lacks the metric
    Tolerance tolerance;
    bool moved = false; // past the tolerance (a metric that became (un)measurable moved)
};

struct DiffResult {
    std::vector<DiffRun> old_runs, new_runs; // paired by index
    std::vector<MetricDiff> rows;            // per run (label order), per metric (name order)
    std::size_t moved() const;
};

// Pairs the runs of both folders and compares every metric. Both sides must hold the same
// labels (a single run folder on each side is paired whatever its variant); else ReportError
// listing the labels found on one side only. `tolerances` override the defaults per metric.
DiffResult diff_results(const std::filesystem::path& old_dir, const std::filesystem::path& new_dir,
                        const std::map<std::string, Tolerance>& tolerances = {});

// "+12.5%" / "+1,904" style change text of a row, "became null" etc. for measurability.
std::string change_text(const MetricDiff& d);

} // namespace lwipsim::report
