// The deterministic side of liblwipsim_vclock.so (sim/host/vclock_determinism.c) on a real
// program (tests/integration/vclock_determinism_helper.c): with a seed, what it draws and its pid
// repeat; without one they are the machine's.
#include "sim/host/child_process.h"
#include "sim/host/vclock_determinism.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace lwipsim::host {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct Drawn {
    std::string entropy, random;
    long pid = 0, real_pid = 0;
};

// Runs the helper with the library preloaded and `env` added; its four lines.
Drawn run_helper(const std::vector<std::string>& env) {
    const fs::path out = fs::temp_directory_path() /
                         ("lwipsim-vclock-determinism-" + std::to_string(::getpid()) + ".txt");
    const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    EXPECT_GE(fd, 0);
    std::vector<std::string> all{std::string("LD_PRELOAD=") + LWIPSIM_VCLOCK_LIBRARY};
    all.insert(all.end(), env.begin(), env.end());
    const pid_t pid = spawn_child({LWIPSIM_VCLOCK_DETERMINISM_HELPER}, fd, all);
    ::close(fd);
    const auto status = wait_child(pid, 10s);
    EXPECT_TRUE(status && status->success());
    std::ifstream in(out);
    Drawn d;
    in >> d.entropy >> d.random >> d.pid >> d.real_pid;
    fs::remove(out);
    EXPECT_EQ(d.real_pid, pid); // the helper really is the child we started
    return d;
}

std::string seed(uint64_t s) {
    return std::string(LWIPSIM_VCLOCK_SEED_ENV) + "=" + std::to_string(s);
}

TEST(VclockDeterminism, SameSeedSameBytesAndAFixedPid) {
    const Drawn a = run_helper({seed(42)});
    const Drawn b = run_helper({seed(42)});
    EXPECT_EQ(a.entropy.size(), 96u);
    EXPECT_EQ(a.random.size(), 32u);
    EXPECT_EQ(a.entropy, b.entropy);
    EXPECT_EQ(a.random, b.random);
    EXPECT_NE(a.entropy.substr(0, 32), a.random); // the generator moves on between calls
    EXPECT_EQ(a.pid, LWIPSIM_VCLOCK_FIXED_PID);
    EXPECT_EQ(b.pid, LWIPSIM_VCLOCK_FIXED_PID);
}

TEST(VclockDeterminism, AnotherSeedOtherBytes) {
    const Drawn a = run_helper({seed(42)});
    const Drawn b = run_helper({seed(43)});
    EXPECT_NE(a.entropy, b.entropy);
    EXPECT_NE(a.random, b.random);
}

TEST(VclockDeterminism, WithoutASeedTheMachinesOwn) {
    const Drawn a = run_helper({});
    const Drawn b = run_helper({});
    EXPECT_NE(a.entropy, b.entropy); // 384 random bits never repeat
    EXPECT_EQ(a.pid, a.real_pid);
    EXPECT_EQ(b.pid, b.real_pid);
}

} // namespace
} // namespace lwipsim::host
