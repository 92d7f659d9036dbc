#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace lwipsim::report {

// Runs an external program (gnuplot; chromium in tests) to completion without a shell:
// posix_spawnp with argv as given, working directory `cwd`, stdin from /dev/null, stdout and
// stderr appended to the given files. Blocks until the child exits.
// TODO(lead): harness/broker/child_process.h has a richer spawner (timeouts, registry); once it
// is a library of its own this should call it instead, to keep one room for child processes.
struct ChildExit {
    int exit_code = -1; // 0..255 when it exited, -1 when killed by a signal
    int signal = 0;
    bool success() const { return signal == 0 && exit_code == 0; }
    std::string describe() const;
};

// Throws EnvironmentError when argv[0] cannot be found/executed, ReportError when the output
// files cannot be opened.
ChildExit run_child(const std::vector<std::string>& argv, const std::filesystem::path& cwd,
                    const std::filesystem::path& stdout_file,
                    const std::filesystem::path& stderr_file);

} // namespace lwipsim::report
