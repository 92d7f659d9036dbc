#pragma once
// What the subcommands share: exit codes, the global verbosity, the worker pool that runs one
// scenario variant per forked process, and reading the key figures back from summary.json.
// Only the CLI maps errors to exit codes (main.cpp); subcommands throw or return a code.
// Single-threaded: everything here is called from the CLI's main thread.

#include <nlohmann/json.hpp>

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace lwipsim::cli {

constexpr int kExitPassed = 0, kExitFailed = 1, kExitUsage = 2, kExitEnvironment = 3,
              kExitInternal = 70;

/// A command-line mistake found after parsing (bad --param, overlapping shards...): exit 2.
class UsageError : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

enum class Verbosity { kQuiet, kNormal, kVerbose };
/// Set once by main from --quiet / --verbose.
Verbosity& verbosity();
inline bool quiet() {
    return verbosity() == Verbosity::kQuiet;
}
inline bool verbose() {
    return verbosity() == Verbosity::kVerbose;
}

/// "auto" or "off" (`--cpu-pinning`): whether each worker claims a CPU of its own.
constexpr const char* kCpuPinningEnv = "LWIPSIM_CPU_PINNING";

/// The worse of two exit codes: errors (2, 3, 70) beat an expectation failure (1), which beats 0.
int worse(int a, int b);

/// One variant of a scenario to run in its own worker process: its result folder is
/// `parent_out / variant`.
struct VariantJob {
    std::string scenario;          ///< YAML file
    std::vector<std::string> sets; ///< --set texts (a sweep adds the grid point's)
    std::optional<uint64_t> seed;  ///< overrides the scenario seed
    std::string variant;           ///< "base" = no variant
    std::filesystem::path parent_out;
    std::string label; ///< for messages, e.g. "app.linger=0,seed=2/linger_0"
};

struct JobResult {
    int exit_code = kExitInternal; ///< worker exit code; kExitInternal if killed
    std::string error;             ///< why it did not complete (empty if it ran)
};

/// Runs jobs in forked workers, at most `jobs` at once (lwIP's globals: one device per
/// process). `on_done(index, result)` is called in the parent as each finishes. Workers are
/// registered with host::child_registry so Ctrl-C stops them.
std::vector<JobResult> run_jobs(const std::vector<VariantJob>& list, int jobs,
                                const std::function<void(size_t, const JobResult&)>& on_done);

/// The key figures of one result folder (summary.json), as the tables and sweep.csv show them.
struct KeyFigures {
    std::string status = "error"; ///< passed | failed | error (no summary.json)
    /// Free heap; empty when the scenario set no budget (free bytes of a stand-in budget
    /// mean nothing). peak_used/final_used: bytes in use at the peak and at the end.
    std::optional<uint64_t> min_free, final_free, alloc_failures;
    std::optional<uint64_t> peak_used, final_used;
    bool unlimited = false;
    std::optional<uint64_t> connects, tls_handshake_failures;
    std::optional<double> max_close_to_free_s; ///< same rule as the metric (alive = until end)
    std::optional<int> pcbs_alive_at_end;
    std::optional<double> wall_time_s;
    nlohmann::json expectations = nlohmann::json::array();
    std::string program_failure; ///< summary.json program.failure (app.program runs)
};
/// Reads `folder`/summary.json; status "error" and empty figures when it is missing.
KeyFigures read_key_figures(const std::filesystem::path& folder);

/// The variants table on stdout (run, compare); failed expectations below their row, every
/// expectation with --verbose.
void print_table(const std::filesystem::path& out, const std::vector<std::string>& variants);

/// The variant folders (those with a summary.json) of a run folder, sorted, with that folder;
/// or {parent, {name}} when `dir` is itself one variant's folder.
std::pair<std::filesystem::path, std::vector<std::string>>
variant_folders(const std::filesystem::path& dir);


/// UsageError when the folder `out` holds results of a scenario other than `scenario` (its
/// name): `compare` would mix the two. With `force` everything in `out` is removed instead,
/// but only if all of it is what lwipsim writes (else UsageError naming the stranger).
void refuse_mixed_results(const std::filesystem::path& out, const std::string& scenario,
                          bool force);

/// "passed"/"failed"/... in the words of an exit code, for messages.
std::string describe_exit(int code);

} // namespace lwipsim::cli
