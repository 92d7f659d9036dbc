#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

namespace lwipsim::host {

// Starting and ending the programs of the machine outside the simulated world (mosquitto and
// openssl for the broker, `ip` for the TAP link, gnuplot for plots, the mosquitto clients and
// Chromium in tests), without a shell. sim/ and harness/ both use this one room. Every child:
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
    std::string output;     // the captured streams (see CommandOptions), interleaved as written
    bool success() const { return !timed_out && status.success(); }
};

// Where run_command() runs a program and where its output goes. The defaults run it in this
// process's working directory and capture stdout and stderr into CommandResult::output.
struct CommandOptions {
    std::filesystem::path cwd;         // working directory of the child; empty: ours
    std::filesystem::path stdout_file; // stdout is appended here (created 0644); empty: captured
    std::filesystem::path stderr_file; // likewise for stderr; may name the same file as stdout
};

// Look a program up like execvp would, using the PATH of this process at call time.
// A name containing '/' is checked as given. Returns nullopt when nothing executable is found.
std::optional<std::filesystem::path> find_in_path(std::string_view name);

// Fork and exec argv (argv[0] looked up with find_in_path, relative to our working directory).
// stdin is /dev/null; stdout and stderr go to output_fd, or to /dev/null when output_fd < 0.
// `extra_env` ("NAME=value") is added to our environment for the child, replacing same names.
// Returns the child's pid. Throws EnvironmentError when argv[0] is not found or may not be
// executed (EACCES, EPERM, ENOENT from exec), ProcessError when fork, pipe or exec otherwise fail.
// `cwd`: the child's working directory (empty: ours). `fixed_layout`: without address-space
// randomisation, as `setarch -R` would run it (personality ADDR_NO_RANDOMIZE, kept across exec;
// EnvironmentError when the machine refuses it).
pid_t spawn_child(const std::vector<std::string>& argv, int output_fd = -1,
                  const std::vector<std::string>& extra_env = {},
                  const std::filesystem::path& cwd = {}, bool fixed_layout = false);

// True when the child has exited (it is not reaped, so the pid stays ours).
bool child_has_exited(pid_t pid);

// Wait up to `timeout` (real time) for the child to exit, then unregister and reap it.
// Returns nullopt if it is still running at the deadline (it is left untouched).
std::optional<ExitStatus> wait_child(pid_t pid, std::chrono::milliseconds timeout);

// SIGTERM, wait up to `grace`, then SIGKILL and wait. Always reaps; returns how it ended.
ExitStatus stop_child(pid_t pid, std::chrono::milliseconds grace);

// Send `sig` to a child that has not exited (SIGSTOP / SIGCONT freeze and thaw it). Returns
// false, sending nothing, when it has already exited (its pid is still ours until reaped).
bool signal_child(pid_t pid, int sig);

// Run argv to completion for at most `timeout` of real time (then it is SIGKILLed and timed_out
// is set), in options.cwd, with its output captured or appended to files (CommandOptions).
// While output is captured, the command ends when every process holding the pipe has closed it.
// Throws like spawn_child(); ProcessError also when options.cwd cannot be entered or an output
// file cannot be opened.
CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                          const CommandOptions& options = {});

// "prog 'arg with space' arg" for error messages.
std::string describe_command(const std::vector<std::string>& argv);

} // namespace lwipsim::host
