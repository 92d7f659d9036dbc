#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "harness/report/result_folder.h"

namespace lwipsim::report {

// Zoomable, hoverable time series for report.html, drawn in the browser by dygraphs (Debian's
// libjs-dygraphs), whose script and style are inlined into the page so it stays one file that
// needs no network. Charts share one time axis: zooming one (drag; double-click resets) zooms
// all; hovering lists the events near that time (fault start/end, app close, handshake
// failure, (re)connect, allocation failure) under the chart. Fault windows are shaded.

// Folder holding dygraph.min.js and dygraph.min.css: $LWIPSIM_DYGRAPHS_DIR if set, else
// /usr/share/javascript/dygraphs (libjs-dygraphs).
std::filesystem::path dygraphs_dir();

// "<style>..</style><script>..</script>" with the library, for the page's <head>.
// Throws EnvironmentError naming the missing file and the package when it is not installed.
std::string chart_library_html();

// The charts of one run: heap in use by subsystem (stacked), heap held by PCBs the
// application already closed (only when timeseries.csv has such columns: every column whose
// name contains "closed", stacked), PCB count by state (stacked), link drops (cumulative
// frame_dropped events). Reads run.dir/timeseries.csv again for the closed-PCB columns.
std::string run_charts_html(const RunResult& run);

// The comparison page's charts: one series per variant for heap in use, PCBs alive, heap held
// by closed PCBs (when recorded) and link drops; hovering lists each variant's events.
std::string comparison_charts_html(const std::vector<RunResult>& runs);

} // namespace lwipsim::report
