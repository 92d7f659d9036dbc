#pragma once
// Running gnuplot on scripts lwipsim wrote (plots.cpp's figures, diff_plot.cpp's overlay): one
// process per script, all at once (gnuplot is single-threaded; the scripts are independent).

#include "sim/host/child_process.h"

#include <exception>
#include <filesystem>
#include <string>
#include <vector>

namespace lwipsim::report {

struct GnuplotRun {
    std::filesystem::path main_script; ///< what the reader reruns (named in errors)
    std::filesystem::path script, log; ///< the script gnuplot runs, its stdout+stderr
    std::vector<std::filesystem::path> outputs; ///< images it must write, non-empty
    host::CommandResult result;
    std::exception_ptr error;
};

/// Runs `gnuplot` on every run's script in `dir` at once. Throws ReportError naming the script
/// (with gnuplot's messages) when one fails, times out or leaves an output empty.
void run_gnuplot(const std::filesystem::path& dir, const std::string& gnuplot,
                 std::vector<GnuplotRun>& runs);

} // namespace lwipsim::report
