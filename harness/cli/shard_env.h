#pragma once
// `--shard auto`: which slice of a sweep grid this process runs, read from the job engine's own
// environment (docs/scale.md). Slurm array jobs, Kubernetes Indexed Jobs and GitLab `parallel:`
// number their tasks; GitHub Actions matrices do not, so they pass `--shard K/N` themselves.

#include <functional>
#include <optional>
#include <string>

namespace lwipsim::cli {

/// Shard K of N (1-based K) and where it came from, for messages and sweep.json.
struct ShardFromEnv {
    int k = 0, n = 0;
    std::string source; ///< e.g. "SLURM_ARRAY_TASK_ID=3 (SLURM_ARRAY_TASK_MIN=0, ...)"
};

/// Looks up an environment variable; std::nullopt when unset or empty.
using EnvLookup = std::function<std::optional<std::string>(const char*)>;

/// The name the Kubernetes manifest must give the Job's completions count (Kubernetes sets
/// JOB_COMPLETION_INDEX itself but does not export the count).
inline constexpr const char* kKubernetesCountVariable = "JOB_COMPLETIONS";

/// The shard from the first engine whose index variable is set, in this order: Slurm
/// (SLURM_ARRAY_TASK_ID), Kubernetes (JOB_COMPLETION_INDEX), GitLab (CI_NODE_INDEX).
/// Throws UsageError naming the variables when none is set, when a companion variable is
/// missing, or when the values do not describe a slice (not numbers, index out of range,
/// a Slurm array whose indices are not evenly spaced).
ShardFromEnv shard_from_environment(const EnvLookup& env);

/// shard_from_environment over the process environment.
ShardFromEnv shard_from_environment();

} // namespace lwipsim::cli
