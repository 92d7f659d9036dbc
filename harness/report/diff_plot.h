#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "harness/report/metric_diff.h"

namespace lwipsim::report {

// The diff's picture: heap in use over virtual time of every run of both folders in one plot,
// the baseline dashed and the new run solid in the same colour, so a curve that moved stands
// out. Writes heap_overlay.gp, its .dat files (times in seconds, bytes in use) and
// heap_overlay.svg/.png into `out_dir` (created); returns the images. Throws ReportError
// (gnuplot failed, naming the script and its messages) or EnvironmentError (no gnuplot).
std::vector<std::filesystem::path> plot_heap_overlay(const DiffResult& diff,
                                                     const std::filesystem::path& out_dir,
                                                     const std::string& gnuplot = "gnuplot");

} // namespace lwipsim::report
