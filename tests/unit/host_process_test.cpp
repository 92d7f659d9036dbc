// host::run_command against real programs: where the output goes (captured, files, both streams
// in one file), the working directory, the timeout, and which failures are the environment's.
// `sh -c` is only the program under test here; run_command itself never uses a shell.

#include "sim/host/child_process.h"
#include "sim/host/child_registry.h"
#include "sim/host/errors.h"
#include "tests/support/temp_dir.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

namespace lwipsim::host {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Generous: the box is shared; this only stops a hang.
constexpr auto kTimeout = 20s;

// Scratch folders of this test are lwipsim-host-XXXXXX.
class TempDir : public lwipsim::testing::TempDir {
  public:
    TempDir() : lwipsim::testing::TempDir("host") {}
};

std::string read_text(const fs::path& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(RunCommand, CapturesBothStreamsAndTheExitCode) {
    const auto r = run_command({"sh", "-c", "echo out; echo err >&2; exit 3"}, kTimeout);
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.status.exit_code, 3);
    EXPECT_EQ(r.status.signal, 0);
    EXPECT_FALSE(r.success());
    EXPECT_EQ(r.output, "out\nerr\n");
}

TEST(RunCommand, RunsInTheGivenWorkingDirectory) {
    TempDir dir;
    CommandOptions options;
    options.cwd = dir.path();
    const auto r = run_command({"pwd", "-P"}, kTimeout, options);
    ASSERT_TRUE(r.success()) << r.output;
    EXPECT_EQ(r.output, fs::canonical(dir.path()).string() + "\n");
    EXPECT_NE(fs::current_path(), fs::canonical(dir.path())) << "the caller moved too";
}

TEST(RunCommand, AppendsStreamsToTheirFiles) {
    TempDir dir;
    CommandOptions options;
    options.stdout_file = dir.path() / "out.txt";
    options.stderr_file = dir.path() / "err.txt";
    for (int i = 0; i < 2; ++i) {
        const auto r = run_command({"sh", "-c", "echo out; echo err >&2"}, kTimeout, options);
        ASSERT_TRUE(r.success());
        EXPECT_EQ(r.output, "") << "nothing is captured when both streams go to files";
    }
    EXPECT_EQ(read_text(options.stdout_file), "out\nout\n");
    EXPECT_EQ(read_text(options.stderr_file), "err\nerr\n");
}

TEST(RunCommand, OneFileForBothStreamsKeepsTheirOrder) {
    TempDir dir;
    CommandOptions options;
    options.stdout_file = dir.path() / "log";
    options.stderr_file = dir.path() / "." / "log"; // the same file, spelled differently
    const auto r =
        run_command({"sh", "-c", "echo a; echo b >&2; echo c; echo d >&2"}, kTimeout, options);
    ASSERT_TRUE(r.success());
    EXPECT_EQ(read_text(dir.path() / "log"), "a\nb\nc\nd\n");
}

TEST(RunCommand, OnlyStderrToAFileCapturesStdout) {
    TempDir dir;
    CommandOptions options;
    options.stderr_file = dir.path() / "err.txt";
    const auto r = run_command({"sh", "-c", "echo out; echo err >&2"}, kTimeout, options);
    ASSERT_TRUE(r.success());
    EXPECT_EQ(r.output, "out\n");
    EXPECT_EQ(read_text(options.stderr_file), "err\n");
}

TEST(RunCommand, KillsTheChildAtTheDeadline) {
    TempDir dir;
    const int registered_before = registered_child_count();
    for (const bool to_files : {false, true}) {
        CommandOptions options;
        if (to_files) {
            options.stdout_file = dir.path() / "out";
            options.stderr_file = dir.path() / "out";
        }
        const auto start = std::chrono::steady_clock::now();
        const auto r = run_command({"sleep", "30"}, 200ms, options);
        const auto took = std::chrono::steady_clock::now() - start;
        EXPECT_TRUE(r.timed_out) << "to_files " << to_files;
        EXPECT_EQ(r.status.signal, SIGKILL) << "to_files " << to_files;
        EXPECT_LT(took, 10s) << "to_files " << to_files;
    }
    EXPECT_EQ(registered_child_count(), registered_before);
}

// A program that loses its first SIGTERM (mosquitto 2.0 sets its run flag after installing
// the handler, so an early SIGTERM is overwritten) still ends with SIGTERM, not SIGKILL: here a
// shell ignores SIGTERM for 300 ms, then takes the default action.
TEST(StopChild, RepeatsSigtermDuringTheGrace) {
    const pid_t pid =
        spawn_child({"sh", "-c", "trap '' TERM; sleep 0.3; trap - TERM; exec sleep 30"});
    std::this_thread::sleep_for(50ms); // the trap is set
    const auto start = std::chrono::steady_clock::now();
    const ExitStatus status = stop_child(pid, 5s);
    EXPECT_EQ(status.signal, SIGTERM) << status.describe();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST(RunCommand, MissingProgramIsAnEnvironmentError) {
    EXPECT_THROW(run_command({"lwipsim-no-such-program"}, kTimeout), EnvironmentError);
}

TEST(RunCommand, UnexecutableProgramIsAnEnvironmentError) {
    // exec fails with ENOENT because the interpreter is missing: find_in_path cannot see that.
    TempDir dir;
    const fs::path script = dir.path() / "needs-missing-interpreter";
    std::ofstream(script) << "#!/nonexistent/lwipsim/interpreter\n";
    fs::permissions(script, fs::perms::owner_all);
    const int registered_before = registered_child_count();
    try {
        run_command({script.string()}, kTimeout);
        FAIL() << "expected EnvironmentError";
    } catch (const EnvironmentError& e) {
        EXPECT_NE(std::string(e.what()).find(script.string()), std::string::npos) << e.what();
    }
    EXPECT_EQ(registered_child_count(), registered_before);
}

TEST(RunCommand, MissingWorkingDirectoryIsAProcessError) {
    TempDir dir;
    CommandOptions options;
    options.cwd = dir.path() / "missing";
    const int registered_before = registered_child_count();
    try {
        run_command({"pwd"}, kTimeout, options);
        FAIL() << "expected ProcessError";
    } catch (const ProcessError& e) {
        EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos) << e.what();
    }
    EXPECT_EQ(registered_child_count(), registered_before);
}

TEST(RunCommand, UnwritableOutputFileIsAProcessError) {
    TempDir dir;
    CommandOptions options;
    options.stdout_file = dir.path() / "no-such-dir" / "out";
    EXPECT_THROW(run_command({"pwd"}, kTimeout, options), ProcessError);
}

// The personality word a program runs with (/proc/PID/personality, hexadecimal), read by the
// program itself through `cat`.
unsigned long personality_of_child(bool fixed_layout) {
    TempDir dir;
    const fs::path out = dir.path() / "personality";
    const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    EXPECT_GE(fd, 0);
    const pid_t pid = spawn_child({"cat", "/proc/self/personality"}, fd, {}, {}, fixed_layout);
    ::close(fd);
    const auto status = wait_child(pid, kTimeout);
    EXPECT_TRUE(status && status->success());
    return std::stoul(read_text(out), nullptr, 16);
}

// ADDR_NO_RANDOMIZE is 0x0040000 in the kernel's uapi personality.h, as `setarch -R` sets it.
TEST(SpawnChild, FixedLayoutTurnsAddressRandomisationOff) {
    constexpr unsigned long kAddrNoRandomize = 0x0040000;
    EXPECT_EQ(personality_of_child(true) & kAddrNoRandomize, kAddrNoRandomize);
    const unsigned long ours = std::stoul(read_text("/proc/self/personality"), nullptr, 16);
    if ((ours & kAddrNoRandomize) != 0)
        GTEST_SKIP() << "this test runs without randomisation itself (gdb, setarch -R)";
    EXPECT_EQ(personality_of_child(false) & kAddrNoRandomize, 0UL);
}

} // namespace
} // namespace lwipsim::host
