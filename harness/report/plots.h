#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "harness/report/result_folder.h"

namespace lwipsim::report {

// What to draw and in which formats. The CLI maps its --no-plots/--plot flags onto this.
struct PlotOptions {
    bool svg = true; // needed for the plots inlined in report.html
    bool png = true;
    bool heap = true;            // (a) free heap, one panel per variant: budget, faults, events,
                                 //     TLS handshake peaks and the level a new connection needs
    bool pcb_timeline = true;    // (b) one bar per PCB (or lane of PCBs) coloured by TCP state
    bool pcb_states = true;      // (c) PCB count by state over time (stacked), per variant
    bool closed_pcb_heap = true; // (d) heap held by PCBs the app closed, stacked by state
    // Long series keep per pixel column only their extremes (decimate.h); off draws every
    // sample (bench/plot_bench compares the two).
    bool decimate = true;
    std::string gnuplot = "gnuplot";       // program, looked up in PATH
    std::string png_terminal = "pngcairo"; // "png" (libgd) works too
    int width = 1000;                      // pixels (SVG user units)
    int height = 520;
};

// What a plot call produced. Files are in <dir>/plots: per plot a gnuplot script (.gp), its
// data files (.dat, whitespace separated, times in seconds) and the images; running
// `gnuplot <name>.gp` inside that folder regenerates the images.
struct PlotResult {
    std::filesystem::path plot_dir;
    std::vector<std::filesystem::path> images; // .svg/.png written
    std::vector<std::string> gnuplot_warnings; // gnuplot's stderr lines, if it wrote any
};

// Plot names; image files are <name>.svg / <name>.png in the plots folder.
inline constexpr const char* kHeapPlot = "heap";
inline constexpr const char* kPcbTimelinePlot = "pcb_timeline";
inline constexpr const char* kPcbStatesPlot = "pcb_states";
inline constexpr const char* kClosedPcbHeapPlot = "closed_pcb_heap";

// Plots of one variant's result folder into <dir>/plots.
// Throws ReportError (bad input, gnuplot error with its message), EnvironmentError (no gnuplot)
// or host::ProcessError (gnuplot could not be started for another reason).
PlotResult plot_run(const std::filesystem::path& dir, const PlotOptions& options = {});

// Same plots for a multi-variant parent folder into <parent>/plots: all variants on the same
// time axis (heap: one curve per variant; PCBs: one bar group / one panel per variant).
PlotResult plot_comparison(const std::filesystem::path& parent, const PlotOptions& options = {});

// Lower level, for callers that already hold the runs (the runner at the end of a sweep).
PlotResult plot_runs(const std::vector<RunResult>& runs, const std::filesystem::path& plot_dir,
                     const std::string& title, const PlotOptions& options);

} // namespace lwipsim::report
