#include "harness/cli/shard_env.h"

#include "harness/cli/cli_common.h"

#include <cerrno>
#include <cstdlib>

namespace lwipsim::cli {

namespace {

// A variable's value as a non-negative integer; UsageError otherwise.
long long number(const EnvLookup& env, const char* name) {
    auto v = env(name);
    if (!v)
        throw UsageError(std::string("--shard auto: ") + name + " is not set");
    char* end = nullptr;
    errno = 0;
    long long n = std::strtoll(v->c_str(), &end, 10);
    if (errno != 0 || end == v->c_str() || *end != '\0' || n < 0 || n > 1000000000) {
        throw UsageError(std::string("--shard auto: ") + name + "=" + *v +
                         " is not a non-negative integer");
    }
    return n;
}

std::string show(const EnvLookup& env, const char* name) {
    return std::string(name) + "=" + env(name).value_or("");
}

ShardFromEnv checked(long long k, long long n, std::string source) {
    if (n < 1 || k < 1 || k > n) {
        throw UsageError("--shard auto: " + source + " gives shard " + std::to_string(k) + "/" +
                         std::to_string(n) + ", not one of 1.." + std::to_string(n));
    }
    return {static_cast<int>(k), static_cast<int>(n), std::move(source)};
}

// Slurm numbers array tasks with the indices of --array=MIN-MAX[:STEP]; the task's place in
// that range is the shard. A list such as --array=1,3,8 has no such place (COUNT disagrees
// with the range), so it is refused rather than guessed.
ShardFromEnv from_slurm(const EnvLookup& env) {
    long long id = number(env, "SLURM_ARRAY_TASK_ID");
    long long min = number(env, "SLURM_ARRAY_TASK_MIN");
    long long step = env("SLURM_ARRAY_TASK_STEP") ? number(env, "SLURM_ARRAY_TASK_STEP") : 1;
    if (step < 1)
        throw UsageError("--shard auto: SLURM_ARRAY_TASK_STEP must be at least 1");
    std::optional<long long> by_range, by_count;
    if (env("SLURM_ARRAY_TASK_MAX")) {
        long long max = number(env, "SLURM_ARRAY_TASK_MAX");
        if (max < min)
            throw UsageError("--shard auto: SLURM_ARRAY_TASK_MAX is below SLURM_ARRAY_TASK_MIN");
        by_range = (max - min) / step + 1;
    }
    if (env("SLURM_ARRAY_TASK_COUNT"))
        by_count = number(env, "SLURM_ARRAY_TASK_COUNT");
    if (!by_range && !by_count) {
        throw UsageError("--shard auto: SLURM_ARRAY_TASK_ID is set but neither "
                         "SLURM_ARRAY_TASK_MAX nor SLURM_ARRAY_TASK_COUNT is");
    }
    if (by_range && by_count && *by_range != *by_count) {
        throw UsageError("--shard auto: the Slurm array's indices are not evenly spaced (" +
                         show(env, "SLURM_ARRAY_TASK_COUNT") + " but MIN..MAX:STEP holds " +
                         std::to_string(*by_range) + "); submit it as --array=MIN-MAX[:STEP]");
    }
    if (id < min || (id - min) % step != 0) {
        throw UsageError("--shard auto: " + show(env, "SLURM_ARRAY_TASK_ID") +
                         " is not in the array's range");
    }
    std::string source =
        show(env, "SLURM_ARRAY_TASK_ID") + " (" + show(env, "SLURM_ARRAY_TASK_MIN") + ", " +
        (by_range ? show(env, "SLURM_ARRAY_TASK_MAX") : show(env, "SLURM_ARRAY_TASK_COUNT")) +
        (step != 1 ? ", " + show(env, "SLURM_ARRAY_TASK_STEP") : "") + ")";
    return checked((id - min) / step + 1, by_range.value_or(by_count.value_or(0)), source);
}

// Kubernetes Indexed Job: JOB_COMPLETION_INDEX is 0-based; the count is the Job's
// .spec.completions, which the manifest passes as kKubernetesCountVariable.
ShardFromEnv from_kubernetes(const EnvLookup& env) {
    long long index = number(env, "JOB_COMPLETION_INDEX");
    if (!env(kKubernetesCountVariable)) {
        throw UsageError(std::string("--shard auto: JOB_COMPLETION_INDEX is set but ") +
                         kKubernetesCountVariable +
                         " is not; Kubernetes does not export the completions count, so "
                         "the Job's manifest must set it (docs/scale.md)");
    }
    long long count = number(env, kKubernetesCountVariable);
    return checked(index + 1, count,
                   show(env, "JOB_COMPLETION_INDEX") + " (" + show(env, kKubernetesCountVariable) +
                       ")");
}

// GitLab `parallel: N`: CI_NODE_INDEX is already 1-based.
ShardFromEnv from_gitlab(const EnvLookup& env) {
    long long index = number(env, "CI_NODE_INDEX");
    long long total = number(env, "CI_NODE_TOTAL");
    return checked(index, total,
                   show(env, "CI_NODE_INDEX") + " (" + show(env, "CI_NODE_TOTAL") + ")");
}

} // namespace

ShardFromEnv shard_from_environment(const EnvLookup& env) {
    // The innermost engine first: a Slurm array submitted from a CI job inherits the job's
    // variables, but the array index is the slice this process was started for.
    if (env("SLURM_ARRAY_TASK_ID"))
        return from_slurm(env);
    if (env("JOB_COMPLETION_INDEX"))
        return from_kubernetes(env);
    if (env("CI_NODE_INDEX"))
        return from_gitlab(env);
    throw UsageError(std::string("--shard auto: no job engine's task index is set; expected "
                                 "SLURM_ARRAY_TASK_ID (with SLURM_ARRAY_TASK_MIN and "
                                 "SLURM_ARRAY_TASK_MAX or SLURM_ARRAY_TASK_COUNT), "
                                 "JOB_COMPLETION_INDEX (with ") +
                     kKubernetesCountVariable +
                     ") or CI_NODE_INDEX (with CI_NODE_TOTAL); elsewhere (e.g. a GitHub Actions "
                     "matrix) give --shard K/N");
}

ShardFromEnv shard_from_environment() {
    return shard_from_environment([](const char* name) -> std::optional<std::string> {
        const char* v = std::getenv(name);
        if (v == nullptr || *v == '\0')
            return std::nullopt;
        return std::string(v);
    });
}

} // namespace lwipsim::cli
