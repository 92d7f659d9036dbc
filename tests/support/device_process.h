#pragma once
// Runs a test body as a simulated device in a child process. lwIP keeps its state in globals
// and its tcpip thread never returns, so each device test needs a process of its own (as each
// scenario variant does in lwipsim itself). GoogleTest assertions work inside the body; the
// child's result comes back as its exit code.

#include "sim/clock/scheduler.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <functional>

namespace lwipsim::testing {

inline void run_as_device(const std::function<void()>& body,
                          clock::SchedulerOptions options = {}) {
    std::fflush(nullptr);
    pid_t pid = fork();
    ASSERT_GE(pid, 0) << "fork failed";
    if (pid == 0) {
        int rc = 0;
        try {
            clock::Scheduler::create(options).run("app", 5, body);
            rc = ::testing::Test::HasFailure() ? 1 : 0;
        } catch (const std::exception& e) {
            std::fprintf(stderr, "device test threw: %s\n", e.what());
            rc = 2;
        }
        std::fflush(nullptr);
        _exit(rc);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status)) << "device process died with signal " << WTERMSIG(status);
    EXPECT_EQ(WEXITSTATUS(status), 0) << "failures inside the device process (see above)";
}

} // namespace lwipsim::testing
