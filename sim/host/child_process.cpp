#include "sim/host/child_process.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim/host/child_registry.h"
#include "sim/host/errors.h"

namespace lwipsim::host {
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

// What the forked child needs, all prepared before fork() (the child may not allocate).
struct ChildSetup {
    const char* cwd = nullptr;   // nullptr: stay in ours
    char* const* envp = nullptr; // nullptr: ours
    int stdout_fd = -1;          // < 0: /dev/null
    int stderr_fd = -1;          // < 0: /dev/null
    bool fixed_layout = false;   // no address-space randomisation (as `setarch -R`)
};

// What a child reports through the exec-failure pipe: which step failed, and its errno.
enum class FailedStep : int { kRedirect = 1, kChdir = 2, kExec = 3, kPersonality = 4 };
struct ChildFailure {
    FailedStep step;
    int err;
};

[[noreturn]] void report_failure(int error_fd, FailedStep step) {
    const ChildFailure failure{step, errno};
    // Smaller than PIPE_BUF, so the parent reads all of it or nothing.
    [[maybe_unused]] auto n = ::write(error_fd, &failure, sizeof failure);
    ::_exit(127);
}

// Runs in the forked child: only async-signal-safe calls until exec.
[[noreturn]] void exec_child(const char* path, char* const* argv, pid_t parent,
                             const ChildSetup& setup, int devnull_fd, int error_fd) {
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
    const int out = setup.stdout_fd >= 0 ? setup.stdout_fd : devnull_fd;
    const int err = setup.stderr_fd >= 0 ? setup.stderr_fd : devnull_fd;
    if (::dup2(devnull_fd, STDIN_FILENO) < 0 || ::dup2(out, STDOUT_FILENO) < 0 ||
        ::dup2(err, STDERR_FILENO) < 0) {
        report_failure(error_fd, FailedStep::kRedirect);
    }
    if (setup.cwd != nullptr && ::chdir(setup.cwd) != 0) {
        report_failure(error_fd, FailedStep::kChdir);
    }
    // Added to the flags we run with; kept across exec, also through `ip netns exec`.
    if (setup.fixed_layout) {
        const int current = ::personality(0xffffffff);
        if (current < 0 ||
            ::personality(static_cast<unsigned long>(current) | ADDR_NO_RANDOMIZE) < 0)
            report_failure(error_fd, FailedStep::kPersonality);
    }
    // Do not leak the harness's other descriptors (sockets, log files) into the child.
    ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    if (setup.envp != nullptr) {
        ::execve(path, argv, setup.envp);
    } else {
        ::execv(path, argv);
    }
    report_failure(error_fd, FailedStep::kExec);
}

// kill(0 or negative) addresses a process group or every process we may signal; a bad pid
// reaching here is a bug and must never turn into such a signal.
void require_child_pid(const char* who, pid_t pid) {
    if (pid <= 0) {
        throw ProcessError(std::string(who) + ": invalid child pid " + std::to_string(pid));
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

namespace {

// Our environment with `extra` ("NAME=value") added, replacing entries of the same name.
std::vector<std::string> merged_environment(const std::vector<std::string>& extra) {
    std::vector<std::string> env;
    auto name_of = [](const std::string& entry) { return entry.substr(0, entry.find('=')); };
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        const std::string entry(*e);
        const bool replaced = std::any_of(extra.begin(), extra.end(), [&](const std::string& x) {
            return name_of(x) == name_of(entry);
        });
        if (!replaced)
            env.push_back(entry);
    }
    env.insert(env.end(), extra.begin(), extra.end());
    return env;
}

pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& cwd, int stdout_fd,
            int stderr_fd, const std::vector<std::string>& extra_env = {},
            bool fixed_layout = false) {
    if (argv.empty()) {
        throw ProcessError("spawn_child: empty command line");
    }
    const auto path = find_in_path(argv[0]);
    if (!path) {
        const char* env = std::getenv("PATH");
        throw EnvironmentError("'" + argv[0] + "' not found in PATH (" +
                               (env != nullptr ? env : "unset") + "); install the Debian package " +
                               "that provides it (see scripts/packages.txt)");
    }
    // Everything the child needs is prepared before fork(): it may not allocate afterwards.
    // Absolute, because the child may change directory before exec.
    const std::string exec_path = std::filesystem::absolute(*path).string();
    const std::string cwd_text = cwd.string();
    ChildSetup setup;
    setup.cwd = cwd.empty() ? nullptr : cwd_text.c_str();
    setup.stdout_fd = stdout_fd;
    setup.stderr_fd = stderr_fd;
    setup.fixed_layout = fixed_layout;
    std::vector<std::string> args = argv;
    std::vector<char*> raw;
    raw.reserve(args.size() + 1);
    for (auto& arg : args) {
        raw.push_back(arg.data());
    }
    raw.push_back(nullptr);
    std::vector<std::string> env;
    std::vector<char*> raw_env;
    if (!extra_env.empty()) {
        env = merged_environment(extra_env);
        for (auto& entry : env)
            raw_env.push_back(entry.data());
        raw_env.push_back(nullptr);
        setup.envp = raw_env.data();
    }

    const int devnull_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull_fd < 0) {
        throw ProcessError("spawn_child: cannot open /dev/null: " + errno_text(errno));
    }
    int error_pipe[2];
    if (::pipe2(error_pipe, O_CLOEXEC) != 0) {
        const int err = errno;
        ::close(devnull_fd);
        throw ProcessError("spawn_child: pipe2 failed: " + errno_text(err));
    }
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::close(error_pipe[0]);
        exec_child(exec_path.c_str(), raw.data(), parent, setup, devnull_fd, error_pipe[1]);
    }
    const int fork_errno = errno;
    ::close(error_pipe[1]);
    ::close(devnull_fd);
    if (pid < 0) {
        ::close(error_pipe[0]);
        throw ProcessError("spawn_child: fork failed for " + describe_command(argv) + ": " +
                           errno_text(fork_errno));
    }
    register_child(pid);
    // Also set the group from the parent side so it holds before we return, whichever runs first.
    ::setpgid(pid, pid);

    // The pipe closes on successful exec (CLOEXEC); a ChildFailure arrives only if a step failed.
    ChildFailure failure{};
    ssize_t got = 0;
    do {
        got = ::read(error_pipe[0], &failure, sizeof failure);
    } while (got < 0 && errno == EINTR);
    ::close(error_pipe[0]);
    if (got != static_cast<ssize_t>(sizeof failure)) {
        return pid;
    }
    reap(pid);
    const std::string command = describe_command(argv);
    switch (failure.step) {
    case FailedStep::kChdir:
        throw ProcessError("cannot run " + command + " in " + cwd_text + ": " +
                           errno_text(failure.err));
    case FailedStep::kExec:
        // Not permitted (noexec mount, no x bit for us) or a missing interpreter: the machine's
        // setup, not a bug of ours.
        if (failure.err == EACCES || failure.err == EPERM || failure.err == ENOENT) {
            throw EnvironmentError("cannot execute " + command + " (" + exec_path +
                                   "): " + errno_text(failure.err));
        }
        break;
    case FailedStep::kPersonality:
        throw EnvironmentError("cannot turn address-space randomisation off for " + command +
                               " (personality): " + errno_text(failure.err));
    case FailedStep::kRedirect:
        break;
    }
    throw ProcessError("cannot execute " + command + " (" + exec_path +
                       "): " + errno_text(failure.err));
}

// An output file of run_command(), closed when the command is done.
class OutputFile {
  public:
    OutputFile() = default;
    explicit OutputFile(const std::filesystem::path& path) {
        fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd_ < 0) {
            throw ProcessError("cannot open " + path.string() +
                               " for output: " + errno_text(errno));
        }
    }
    ~OutputFile() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    OutputFile(const OutputFile&) = delete;
    OutputFile& operator=(const OutputFile&) = delete;
    int fd() const { return fd_; }

  private:
    int fd_ = -1;
};

bool same_file_name(const std::filesystem::path& a, const std::filesystem::path& b) {
    return std::filesystem::absolute(a).lexically_normal() ==
           std::filesystem::absolute(b).lexically_normal();
}

} // namespace

pid_t spawn_child(const std::vector<std::string>& argv, int output_fd,
                  const std::vector<std::string>& extra_env, const std::filesystem::path& cwd,
                  bool fixed_layout) {
    return spawn(argv, cwd, output_fd, output_fd, extra_env, fixed_layout);
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
            throw ProcessError("wait_child(" + std::to_string(pid) +
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
    // SIGTERM again every 100 ms of the grace: a program can lose an early one. mosquitto
    // 2.0 installs its handler, logs "running", and only then sets its run flag to 1, so a
    // SIGTERM in between (a caller stopping it as soon as it is ready) is overwritten.
    const auto give_up_at = std::chrono::steady_clock::now() + grace;
    for (;;) {
        if (!child_has_exited(pid)) {
            ::kill(pid, SIGTERM);
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            give_up_at - std::chrono::steady_clock::now());
        if (auto status = wait_child(pid, std::clamp(left, std::chrono::milliseconds(0),
                                                     std::chrono::milliseconds(100)))) {
            return *status;
        }
        if (left <= std::chrono::milliseconds(100)) {
            break;
        }
    }
    ::kill(pid, SIGKILL);
    // SIGKILL cannot be ignored; the bound only guards against an unkillable (D-state) child.
    if (auto status = wait_child(pid, std::chrono::seconds(10))) {
        return *status;
    }
    throw ProcessError("process " + std::to_string(pid) + " survived SIGKILL for 10 s");
}

bool signal_child(pid_t pid, int sig) {
    require_child_pid("signal_child", pid);
    // An exited, unreaped child cannot have been replaced: its pid is not reused until reaped.
    if (child_has_exited(pid)) {
        return false;
    }
    if (::kill(pid, sig) != 0) {
        throw ProcessError("signal " + std::to_string(sig) + " to process " + std::to_string(pid) +
                           ": " + std::strerror(errno));
    }
    return true;
}

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                          const CommandOptions& options) {
    // Both streams into one file share one descriptor, so their lines interleave as written.
    std::optional<OutputFile> out_file;
    std::optional<OutputFile> err_file;
    if (!options.stdout_file.empty()) {
        out_file.emplace(options.stdout_file);
    }
    if (!options.stderr_file.empty() &&
        (!out_file || !same_file_name(options.stdout_file, options.stderr_file))) {
        err_file.emplace(options.stderr_file);
    }
    const int stdout_to = out_file ? out_file->fd() : -1;
    const int stderr_to = err_file ? err_file->fd() : options.stderr_file.empty() ? -1 : stdout_to;

    const bool capture = stdout_to < 0 || stderr_to < 0;
    int out_pipe[2] = {-1, -1};
    if (capture && ::pipe2(out_pipe, O_CLOEXEC) != 0) {
        throw ProcessError("run_command: pipe2 failed for " + describe_command(argv) + ": " +
                           errno_text(errno));
    }
    pid_t pid = -1;
    try {
        pid = spawn(argv, options.cwd, stdout_to >= 0 ? stdout_to : out_pipe[1],
                    stderr_to >= 0 ? stderr_to : out_pipe[1]);
    } catch (...) {
        if (capture) {
            ::close(out_pipe[0]);
            ::close(out_pipe[1]);
        }
        throw;
    }

    CommandResult result;
    const auto deadline = Clock::now() + timeout;
    if (capture) {
        ::close(out_pipe[1]);
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
    }

    if (!result.timed_out) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (auto status = wait_child(pid, std::max(left, std::chrono::milliseconds(0)))) {
            result.status = *status;
            return result;
        }
        result.timed_out = true;
    }
    require_child_pid("run_command", pid);
    ::kill(pid, SIGKILL);
    if (auto status = wait_child(pid, std::chrono::seconds(10))) {
        result.status = *status;
    }
    return result;
}

} // namespace lwipsim::host
