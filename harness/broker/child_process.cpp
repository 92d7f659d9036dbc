#include "harness/broker/child_process.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness/broker/child_registry.h"
#include "harness/broker/errors.h"

namespace lwipsim::broker {
namespace {

using Clock = std::chrono::steady_clock;

std::string errno_text(int err) {
    return std::strerror(err);
}

ExitStatus status_from_siginfo(const siginfo_t& info) {
    ExitStatus status;
    if (info.si_code == CLD_EXITED) {
        status.exit_code = info.si_status;
    } else {
        status.signal = info.si_status;
    }
    return status;
}

// Unregister first, then reap: while the zombie exists its pid cannot be reused, so a signal
// handler racing with us can at worst hit a zombie.
void reap(pid_t pid) {
    unregister_child(pid);
    int ignored = 0;
    while (::waitpid(pid, &ignored, 0) < 0 && errno == EINTR) {
    }
}

// Runs in the forked child: only async-signal-safe calls until exec.
[[noreturn]] void exec_child(const std::string& path, char* const* argv, pid_t parent,
                             int output_fd, int devnull_fd, int error_fd) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    // The parent may have died between fork() and prctl(); then no signal will ever come.
    if (::getppid() != parent) {
        ::_exit(127);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    // Ignored dispositions survive exec; the child should react to SIGINT/SIGTERM normally.
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGPIPE, SIG_DFL);
    const int out = output_fd >= 0 ? output_fd : devnull_fd;
    if (::dup2(devnull_fd, STDIN_FILENO) < 0 || ::dup2(out, STDOUT_FILENO) < 0 ||
        ::dup2(out, STDERR_FILENO) < 0) {
        const int err = errno;
        [[maybe_unused]] auto n = ::write(error_fd, &err, sizeof err);
        ::_exit(127);
    }
    // Do not leak the harness's other descriptors (sockets, log files) into the child.
    ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    ::execv(path.c_str(), argv);
    const int err = errno;
    [[maybe_unused]] auto n = ::write(error_fd, &err, sizeof err);
    ::_exit(127);
}

// kill(0 or negative) addresses a process group or every process we may signal; a bad pid
// reaching here is a bug and must never turn into such a signal.
void require_child_pid(const char* who, pid_t pid) {
    if (pid <= 0) {
        throw BrokerError(std::string(who) + ": invalid child pid " + std::to_string(pid));
    }
}

} // namespace

std::string ExitStatus::describe() const {
    if (signal != 0) {
        return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
    }
    return "exit code " + std::to_string(exit_code);
}

std::string describe_command(const std::vector<std::string>& argv) {
    std::string text;
    for (const auto& arg : argv) {
        if (!text.empty()) {
            text += ' ';
        }
        if (arg.empty() || arg.find_first_of(" \t'\"") != std::string::npos) {
            text += "'" + arg + "'";
        } else {
            text += arg;
        }
    }
    return text;
}

std::optional<std::filesystem::path> find_in_path(std::string_view name) {
    if (name.empty()) {
        return std::nullopt;
    }
    auto executable = [](const std::filesystem::path& p) {
        std::error_code ec;
        return std::filesystem::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
    };
    if (name.find('/') != std::string_view::npos) {
        std::filesystem::path p(name);
        return executable(p) ? std::optional(p) : std::nullopt;
    }
    const char* env = std::getenv("PATH");
    const std::string path_list = env != nullptr ? env : "";
    std::size_t start = 0;
    while (start <= path_list.size()) {
        const std::size_t end = std::min(path_list.find(':', start), path_list.size());
        // An empty PATH element means the current directory, as in execvp.
        const std::string dir = path_list.substr(start, end - start);
        const std::filesystem::path candidate =
            std::filesystem::path(dir.empty() ? "." : dir) / std::string(name);
        if (!path_list.empty() && executable(candidate)) {
            return candidate;
        }
        start = end + 1;
    }
    return std::nullopt;
}

pid_t spawn_child(const std::vector<std::string>& argv, int output_fd) {
    if (argv.empty()) {
        throw BrokerError("spawn_child: empty command line");
    }
    const auto path = find_in_path(argv[0]);
    if (!path) {
        const char* env = std::getenv("PATH");
        throw EnvironmentError("'" + argv[0] + "' not found in PATH (" +
                               (env != nullptr ? env : "unset") + "); install the Debian package " +
                               "that provides it (see scripts/packages.txt)");
    }
    // Everything the child needs is prepared before fork(): it may not allocate afterwards.
    const std::string exec_path = path->string();
    std::vector<std::string> args = argv;
    std::vector<char*> raw;
    raw.reserve(args.size() + 1);
    for (auto& arg : args) {
        raw.push_back(arg.data());
    }
    raw.push_back(nullptr);

    const int devnull_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull_fd < 0) {
        throw BrokerError("spawn_child: cannot open /dev/null: " + errno_text(errno));
    }
    int error_pipe[2];
    if (::pipe2(error_pipe, O_CLOEXEC) != 0) {
        const int err = errno;
        ::close(devnull_fd);
        throw BrokerError("spawn_child: pipe2 failed: " + errno_text(err));
    }
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::close(error_pipe[0]);
        exec_child(exec_path, raw.data(), parent, output_fd, devnull_fd, error_pipe[1]);
    }
    const int fork_errno = errno;
    ::close(error_pipe[1]);
    ::close(devnull_fd);
    if (pid < 0) {
        ::close(error_pipe[0]);
        throw BrokerError("spawn_child: fork failed for " + describe_command(argv) + ": " +
                          errno_text(fork_errno));
    }
    register_child(pid);
    // Also set the group from the parent side so it holds before we return, whichever runs first.
    ::setpgid(pid, pid);

    // The pipe closes on successful exec (CLOEXEC); an int arrives only if exec failed.
    int child_errno = 0;
    ssize_t got = 0;
    do {
        got = ::read(error_pipe[0], &child_errno, sizeof child_errno);
    } while (got < 0 && errno == EINTR);
    ::close(error_pipe[0]);
    if (got == static_cast<ssize_t>(sizeof child_errno)) {
        reap(pid);
        throw BrokerError("cannot execute " + describe_command(argv) + " (" + exec_path +
                          "): " + errno_text(child_errno));
    }
    return pid;
}

bool child_has_exited(pid_t pid) {
    require_child_pid("child_has_exited", pid);
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
        // ECHILD: not our child or already reaped; either way it is not running for us.
        return true;
    }
    return info.si_pid != 0;
}

std::optional<ExitStatus> wait_child(pid_t pid, std::chrono::milliseconds timeout) {
    require_child_pid("wait_child", pid);
    const auto deadline = Clock::now() + timeout;
    auto step = std::chrono::milliseconds(1);
    for (;;) {
        siginfo_t info{};
        const int rc = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
        if (rc != 0 && errno != EINTR) {
            throw BrokerError("wait_child(" + std::to_string(pid) +
                              "): waitid failed: " + errno_text(errno));
        }
        if (rc == 0 && info.si_pid != 0) {
            const ExitStatus status = status_from_siginfo(info);
            reap(pid);
            return status;
        }
        if (Clock::now() >= deadline) {
            return std::nullopt;
        }
        std::this_thread::sleep_for(step);
        step = std::min(step * 2, std::chrono::milliseconds(20));
    }
}

ExitStatus stop_child(pid_t pid, std::chrono::milliseconds grace) {
    require_child_pid("stop_child", pid);
    if (!child_has_exited(pid)) {
        ::kill(pid, SIGTERM);
    }
    if (auto status = wait_child(pid, grace)) {
        return *status;
    }
    ::kill(pid, SIGKILL);
    // SIGKILL cannot be ignored; the bound only guards against an unkillable (D-state) child.
    if (auto status = wait_child(pid, std::chrono::seconds(10))) {
        return *status;
    }
    throw BrokerError("process " + std::to_string(pid) + " survived SIGKILL for 10 s");
}

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
    int out_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
        throw BrokerError("run_command: pipe2 failed: " + errno_text(errno));
    }
    pid_t pid = -1;
    try {
        pid = spawn_child(argv, out_pipe[1]);
    } catch (...) {
        ::close(out_pipe[0]);
        ::close(out_pipe[1]);
        throw;
    }
    ::close(out_pipe[1]);

    CommandResult result;
    const auto deadline = Clock::now() + timeout;
    char buffer[4096];
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
            result.timed_out = true;
            break;
        }
        pollfd pfd{out_pipe[0], POLLIN, 0};
        const int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready <= 0) {
            result.timed_out = ready == 0;
            break;
        }
        const ssize_t n = ::read(out_pipe[0], buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break; // EOF: the child (and anything it forked) closed its output
        }
        result.output.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(out_pipe[0]);

    if (!result.timed_out) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (auto status = wait_child(pid, std::max(left, std::chrono::milliseconds(0)))) {
            result.status = *status;
            return result;
        }
        result.timed_out = true;
    }
    ::kill(pid, SIGKILL);
    if (auto status = wait_child(pid, std::chrono::seconds(10))) {
        result.status = *status;
    }
    return result;
}

} // namespace lwipsim::broker
