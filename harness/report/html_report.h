#pragma once

#include <filesystem>
#include <string>

#include "harness/report/plots.h"
#include "harness/report/result_folder.h"

namespace lwipsim::report {

// Self-contained HTML reports (no external resources: plots are inlined SVG, the interactive
// charts' library and data are inlined scripts (interactive_chart.h), links to captures and
// logs are relative to the report). Writing a run or comparison report throws
// EnvironmentError when the chart library (libjs-dygraphs) is not installed.
//
// write_report(dir):
//   - dir is one variant's result folder: writes dir/report.html and returns its path;
//   - dir is a multi-variant parent: writes each variant's report.html and a comparison
//     dir/report.html linking them (key figures and every expectation side by side), returns
//     the parent's report path;
//   - dir is a sweep folder (sweep.json): does the above for each grid point's folder and
//     writes dir/report.html with the sweep table (one row per run), returns its path.
// Plots are taken from the plots/ folders as produced by plot_run()/plot_comparison(); a
// report written before plotting says the plots are missing instead of failing. Use
// render_results() to do both. Throws ReportError naming the file that is missing/malformed.
std::filesystem::path write_report(const std::filesystem::path& dir);

// Plots (per the options) then reports, for a run folder, a parent folder (each variant
// plus the comparison) or a sweep folder (each point as a parent). Returns the top report's
// path.
std::filesystem::path render_results(const std::filesystem::path& dir,
                                     const PlotOptions& options = {});

// HTML text of one run's report; `dir` is where it will be written (for relative links and
// for finding plots/*.svg).
std::string run_report_html(const RunResult& run);

// "<svg ...>...</svg>" from a gnuplot SVG file, made safe to inline next to other SVGs:
// XML prolog and DOCTYPE dropped, xlink:href turned into href (no xlink namespace needed),
// ids and their references prefixed with `id_prefix` so several plots can share a page.
std::string inline_svg(const std::string& svg_text, const std::string& id_prefix);

} // namespace lwipsim::report
