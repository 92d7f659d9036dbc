// `--shard auto`: expected K/N worked out by hand from each engine's numbering (Slurm: the
// indices of --array=MIN-MAX:STEP; Kubernetes Indexed Job: 0-based JOB_COMPLETION_INDEX;
// GitLab parallel: 1-based CI_NODE_INDEX), not from lwipsim's output.
#include "harness/cli/cli_common.h"
#include "harness/cli/shard_env.h"

#include <gtest/gtest.h>

#include <map>

using namespace lwipsim::cli;

namespace {

ShardFromEnv shard(const std::map<std::string, std::string>& vars) {
    return shard_from_environment([&](const char* name) -> std::optional<std::string> {
        auto it = vars.find(name);
        if (it == vars.end() || it->second.empty())
            return std::nullopt;
        return it->second;
    });
}

std::string error(const std::map<std::string, std::string>& vars) {
    try {
        auto s = shard(vars);
        ADD_FAILURE() << "expected an error, got " << s.k << "/" << s.n;
    } catch (const UsageError& e) {
        return e.what();
    }
    return {};
}

} // namespace

TEST(ShardEnv, SlurmRangeWithStep) {
    // --array=1-7:2 holds 1, 3, 5, 7: task 5 is the third of four.
    auto s = shard({{"SLURM_ARRAY_TASK_ID", "5"},
                    {"SLURM_ARRAY_TASK_MIN", "1"},
                    {"SLURM_ARRAY_TASK_MAX", "7"},
                    {"SLURM_ARRAY_TASK_STEP", "2"},
                    {"SLURM_ARRAY_TASK_COUNT", "4"}});
    EXPECT_EQ(s.k, 3);
    EXPECT_EQ(s.n, 4);
    EXPECT_NE(s.source.find("SLURM_ARRAY_TASK_ID=5"), std::string::npos);
}

TEST(ShardEnv, SlurmZeroBasedWithCountOnly) {
    // --array=0-9: task 0 is the first of ten.
    auto s = shard({{"SLURM_ARRAY_TASK_ID", "0"},
                    {"SLURM_ARRAY_TASK_MIN", "0"},
                    {"SLURM_ARRAY_TASK_COUNT", "10"}});
    EXPECT_EQ(s.k, 1);
    EXPECT_EQ(s.n, 10);
}

TEST(ShardEnv, SlurmRefusesWhatIsNotARange) {
    // --array=1,3,8: COUNT 3, but 1..8 holds 8 indices.
    EXPECT_NE(error({{"SLURM_ARRAY_TASK_ID", "3"},
                     {"SLURM_ARRAY_TASK_MIN", "1"},
                     {"SLURM_ARRAY_TASK_MAX", "8"},
                     {"SLURM_ARRAY_TASK_COUNT", "3"}})
                  .find("evenly spaced"),
              std::string::npos);
    EXPECT_NE(error({{"SLURM_ARRAY_TASK_ID", "3"}, {"SLURM_ARRAY_TASK_MAX", "8"}})
                  .find("SLURM_ARRAY_TASK_MIN"),
              std::string::npos);
    EXPECT_NE(error({{"SLURM_ARRAY_TASK_ID", "3"}, {"SLURM_ARRAY_TASK_MIN", "1"}})
                  .find("SLURM_ARRAY_TASK_MAX"),
              std::string::npos);
    // 4 is not an index of --array=1-7:2.
    EXPECT_FALSE(error({{"SLURM_ARRAY_TASK_ID", "4"},
                        {"SLURM_ARRAY_TASK_MIN", "1"},
                        {"SLURM_ARRAY_TASK_MAX", "7"},
                        {"SLURM_ARRAY_TASK_STEP", "2"}})
                     .empty());
}

TEST(ShardEnv, KubernetesIndexIsZeroBased) {
    auto s = shard({{"JOB_COMPLETION_INDEX", "0"}, {"JOB_COMPLETIONS", "4"}});
    EXPECT_EQ(s.k, 1);
    EXPECT_EQ(s.n, 4);
    s = shard({{"JOB_COMPLETION_INDEX", "3"}, {"JOB_COMPLETIONS", "4"}});
    EXPECT_EQ(s.k, 4);
    EXPECT_NE(error({{"JOB_COMPLETION_INDEX", "4"}, {"JOB_COMPLETIONS", "4"}}).find("shard 5/4"),
              std::string::npos); // index 4 would be shard 5 of 4
    EXPECT_NE(error({{"JOB_COMPLETION_INDEX", "1"}}).find("JOB_COMPLETIONS"), std::string::npos);
}

TEST(ShardEnv, GitlabIndexIsOneBased) {
    auto s = shard({{"CI_NODE_INDEX", "2"}, {"CI_NODE_TOTAL", "5"}});
    EXPECT_EQ(s.k, 2);
    EXPECT_EQ(s.n, 5);
    EXPECT_FALSE(error({{"CI_NODE_INDEX", "0"}, {"CI_NODE_TOTAL", "5"}}).empty());
    EXPECT_FALSE(error({{"CI_NODE_INDEX", "two"}, {"CI_NODE_TOTAL", "5"}}).empty());
}

TEST(ShardEnv, SlurmWinsOverAnInheritedCiJob) {
    // An array submitted from a GitLab parallel job inherits CI_NODE_*; the array index is
    // the slice this process runs.
    auto s = shard({{"CI_NODE_INDEX", "2"},
                    {"CI_NODE_TOTAL", "5"},
                    {"SLURM_ARRAY_TASK_ID", "1"},
                    {"SLURM_ARRAY_TASK_MIN", "1"},
                    {"SLURM_ARRAY_TASK_MAX", "3"}});
    EXPECT_EQ(s.k, 1);
    EXPECT_EQ(s.n, 3);
}

TEST(ShardEnv, NothingSetNamesEveryEngine) {
    std::string e = error({{"CI_NODE_TOTAL", "1"}}); // a GitLab job without parallel:
    for (const char* v : {"SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX", "JOB_COMPLETIONS",
                          "CI_NODE_INDEX", "CI_NODE_TOTAL", "--shard K/N"})
        EXPECT_NE(e.find(v), std::string::npos) << v;
}
