// host::CpuClaim (sim/host/cpu_claim.h): each claim pins to an allowed CPU nobody else holds,
// never more claims than CPUs, a released CPU can be claimed again. Every claim runs on a
// thread of its own, as the pin belongs to the calling thread, so the test's thread stays free.

#include "sim/host/cpu_claim.h"
#include "tests/support/temp_dir.h"

#include <gtest/gtest.h>

#include <sched.h>

#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace lwipsim::host {
namespace {

namespace fs = std::filesystem;

struct Attempt {
    std::optional<CpuClaim> claim;
    std::string why_not;
    std::set<int> affinity_after; // the claiming thread's CPUs once claim() returned
};

std::set<int> cpus_of(const cpu_set_t& set) {
    std::set<int> cpus;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (CPU_ISSET(cpu, &set))
            cpus.insert(cpu);
    }
    return cpus;
}

std::set<int> my_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    EXPECT_EQ(sched_getaffinity(0, sizeof set, &set), 0);
    return cpus_of(set);
}

// `narrow_to`: first restrict the claiming thread to this one CPU (as `taskset -c N` would).
Attempt claim_on_a_thread(const fs::path& lock_dir, std::optional<int> narrow_to = {}) {
    Attempt a;
    std::thread([&] {
        if (narrow_to) {
            cpu_set_t one;
            CPU_ZERO(&one);
            CPU_SET(*narrow_to, &one);
            ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0);
        }
        a.claim = CpuClaim::claim(lock_dir, &a.why_not);
        a.affinity_after = my_cpus();
    }).join();
    return a;
}

TEST(CpuClaim, ClaimsDistinctCpusUntilNoneIsLeftAndReleasesThem) {
    const std::set<int> allowed = my_cpus();
    if (allowed.size() < 2)
        GTEST_SKIP() << "this machine lets the test run on one CPU only";
    lwipsim::testing::TempDir dir("cpu-claim");
    std::vector<Attempt> held;
    std::set<int> claimed;
    for (size_t i = 0; i < allowed.size(); ++i) {
        Attempt a = claim_on_a_thread(dir.path());
        ASSERT_TRUE(a.claim.has_value()) << "claim " << i << ": " << a.why_not;
        const int cpu = a.claim->cpu();
        EXPECT_EQ(allowed.count(cpu), 1U) << cpu << " is not an allowed CPU";
        EXPECT_EQ(a.affinity_after, std::set<int>{cpu}) << "the thread is not pinned to it";
        EXPECT_TRUE(claimed.insert(cpu).second) << "CPU " << cpu << " claimed twice";
        held.push_back(std::move(a));
    }
    Attempt extra = claim_on_a_thread(dir.path());
    EXPECT_FALSE(extra.claim.has_value()) << "more claims than CPUs";
    EXPECT_EQ(extra.why_not, "every allowed CPU is claimed by another lwipsim worker");
    EXPECT_EQ(extra.affinity_after, allowed) << "an unsuccessful claim pinned the thread";

    const int released = held.front().claim->cpu();
    held.erase(held.begin());
    Attempt again = claim_on_a_thread(dir.path());
    ASSERT_TRUE(again.claim.has_value()) << again.why_not;
    EXPECT_EQ(again.claim->cpu(), released) << "the released CPU is the only free one";
}

TEST(CpuClaim, LeavesAThreadAlreadyNarrowedToOneCpuAlone) {
    lwipsim::testing::TempDir dir("cpu-claim");
    const int cpu = *my_cpus().rbegin();
    Attempt a = claim_on_a_thread(dir.path(), cpu);
    EXPECT_FALSE(a.claim.has_value());
    EXPECT_EQ(a.why_not, "the process may run on one CPU only already");
    EXPECT_EQ(a.affinity_after, std::set<int>{cpu});
    EXPECT_TRUE(fs::is_empty(dir.path())) << "a lock was taken for nothing";
}

// claim() looks at the lock folder only when there is more than one CPU to choose from.
#define SKIP_ON_ONE_CPU()                                                                          \
    if (my_cpus().size() < 2)                                                                      \
    GTEST_SKIP() << "this machine lets the test run on one CPU only"

TEST(CpuClaim, AnUnusableLockFolderPinsNothing) {
    SKIP_ON_ONE_CPU();
    lwipsim::testing::TempDir dir("cpu-claim");
    const fs::path file = dir.path() / "a-file";
    std::ofstream(file) << "not a folder\n";
    Attempt a = claim_on_a_thread(file / "cpus");
    EXPECT_FALSE(a.claim.has_value());
    EXPECT_NE(a.why_not.find("cannot make"), std::string::npos) << a.why_not;
    EXPECT_EQ(a.affinity_after, my_cpus());
}

// A lock file that cannot be opened is not mistaken for a CPU another worker holds. The lock
// files are opened without following symbolic links, so a link in their place fails with ELOOP
// for any user, root included.
TEST(CpuClaim, ALockFileThatCannotBeOpenedIsNamed) {
    SKIP_ON_ONE_CPU();
    lwipsim::testing::TempDir dir("cpu-claim");
    for (const int cpu : my_cpus())
        fs::create_symlink(dir.path() / "elsewhere",
                           dir.path() / ("cpu" + std::to_string(cpu) + ".lock"));
    Attempt a = claim_on_a_thread(dir.path());
    EXPECT_FALSE(a.claim.has_value());
    EXPECT_EQ(a.why_not.rfind("cannot open " + dir.path().string() + "/cpu", 0), 0U) << a.why_not;
    EXPECT_NE(a.why_not.find("symbolic links"), std::string::npos) << a.why_not;
    EXPECT_EQ(a.affinity_after, my_cpus());
}

} // namespace
} // namespace lwipsim::host
