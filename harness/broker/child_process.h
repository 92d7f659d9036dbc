#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

namespace lwipsim::broker {

// Starting and ending the external programs the harness relies on (mosquitto, openssl, the
// mosquitto clients in tests), without a shell. Every child:
//   - runs in its own process group (a Ctrl-C on our terminal reaches us, not it, and we decide);
//   - gets PR_SET_PDEATHSIG(SIGKILL), so it dies when the spawning *thread* dies, even by SIGKILL.
//     Spawn long-lived children from a thread that outlives them (normally the main thread);
//   - is in the child registry (child_registry.h) from fork until it is reaped.
// Only pids returned by spawn_child() are ever signalled.

// How a child ended.
struct ExitStatus {
    int exit_code = -1; // 0..255 when it exited, -1 when killed by a signal
    int signal = 0;     // terminating signal, 0 when it exited normally
    bool success() const { return signal == 0 && exit_code == 0; }
    std::string describe() const; // "exit code 1" / "killed by signal 9 (Killed)"
};

// Result of run_command().
struct CommandResult {
    ExitStatus status;
    bool timed_out = false; // the deadline passed and the child was SIGKILLed
    std::string output;     // stdout and stderr interleaved as written
    bool success() const { return !timed_out && status.success(); }
};

// Look a program up like execvp would, using the PATH of this process at call time.
// A name containing '/' is checked as given. Returns nullopt when nothing executable is found.
std::optional<std::filesystem::path> find_in_path(std::string_view name);

// Fork and exec argv (argv[0] looked up with find_in_path). stdin is /dev/null; stdout and
// stderr go to output_fd, or to /dev/null when output_fd < 0. Returns the child's pid.
// Throws EnvironmentError when argv[0] is not found, BrokerError when fork or exec fails.
pid_t spawn_child(const std::vector<std::string>& argv, int output_fd = -1);

// True when the child has exited (it is not reaped, so the pid stays ours).
bool child_has_exited(pid_t pid);

// Wait up to `timeout` (real time) for the child to exit, then unregister and reap it.
// Returns nullopt if it is still running at the deadline (it is left untouched).
std::optional<ExitStatus> wait_child(pid_t pid, std::chrono::milliseconds timeout);

// SIGTERM, wait up to `grace`, then SIGKILL and wait. Always reaps; returns how it ended.
ExitStatus stop_child(pid_t pid, std::chrono::milliseconds grace);

// Run argv to completion, capturing its output, for at most `timeout` of real time (then it
// is killed and timed_out is set). Throws like spawn_child().
CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

// "prog 'arg with space' arg" for error messages.
std::string describe_command(const std::vector<std::string>& argv);

} // namespace lwipsim::broker
