#include "harness/report/child_run.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness/report/errors.h"

extern char** environ;

namespace lwipsim::report {

std::string ChildExit::describe() const {
    if (signal != 0)
        return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
    return "exit code " + std::to_string(exit_code);
}

ChildExit run_child(const std::vector<std::string>& argv, const std::filesystem::path& cwd,
                    const std::filesystem::path& stdout_file,
                    const std::filesystem::path& stderr_file) {
    if (argv.empty())
        throw ReportError("run_child: empty command");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    // Opened in the child, so a failure to open shows up as a failed spawn with its errno.
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    const std::string out = std::filesystem::absolute(stdout_file).string();
    const std::string err = std::filesystem::absolute(stderr_file).string();
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    const std::string dir = cwd.string();
    posix_spawn_file_actions_addchdir_np(&actions, dir.c_str());

    std::vector<char*> args;
    for (const std::string& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);

    pid_t pid = -1;
    const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc == ENOENT || rc == EACCES)
        throw EnvironmentError("cannot run '" + argv[0] + "': " + std::strerror(rc) +
                               " (is it installed? see scripts/packages.txt)");
    if (rc != 0)
        throw ReportError("cannot start '" + argv[0] + "' in " + dir + ": " + std::strerror(rc));

    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            throw ReportError("waitpid for '" + argv[0] + "': " + std::strerror(errno));
    }
    ChildExit result;
    if (WIFEXITED(status))
        result.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        result.signal = WTERMSIG(status);
    return result;
}

} // namespace lwipsim::report
