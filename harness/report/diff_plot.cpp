#include "harness/report/diff_plot.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <sstream>

#include "harness/report/errors.h"
#include "harness/report/gnuplot_run.h"
#include "harness/report/result_folder.h"
#include "harness/report/time_axis.h"
#include "sim/host/child_process.h"

namespace lwipsim::report {
namespace fs = std::filesystem;

namespace {

// Run colours: one per run label, reused by its baseline and new curve.
constexpr const char* kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                    "#ff7f0e", "#8c564b", "#e377c2", "#17becf"};

std::string quoted(const std::string& s) {
    std::string out = "'";
    for (char c : s)
        out += c == '\'' ? std::string("''") : std::string(1, c == '\n' ? ' ' : c);
    return out + "'";
}

// Writes one run's heap in use as "t_s used" lines; returns the file name.
std::string write_series(const fs::path& out_dir, const std::string& side, std::size_t index,
                         const std::vector<Sample>& samples) {
    const std::string name = "heap_" + side + "_" + std::to_string(index + 1) + ".dat";
    std::ostringstream d;
    d << "# t_s used_bytes\n";
    for (const Sample& s : samples) {
        char line[64];
        std::snprintf(line, sizeof line, "%.10g %.10g\n", s[kColTime], s[kColUsed]);
        d << line;
    }
    write_text(out_dir / name, d.str());
    return name;
}

} // namespace

std::vector<fs::path> plot_heap_overlay(const DiffResult& diff, const fs::path& out_dir,
                                        const std::string& gnuplot) {
    std::error_code ec;
    fs::create_directories(out_dir, ec);
    if (ec)
        throw ReportError(out_dir.string() + ": cannot create: " + ec.message());
    std::ostringstream curves;
    double length = 1e-3;
    for (std::size_t i = 0; i < diff.old_runs.size(); ++i) {
        const auto old_samples = load_timeseries(diff.old_runs[i].dir / "timeseries.csv");
        const auto new_samples = load_timeseries(diff.new_runs[i].dir / "timeseries.csv");
        for (const auto* s : {&old_samples, &new_samples})
            if (!s->empty())
                length = std::max(length, s->back()[kColTime]);
        const std::string colour = kColours[i % std::size(kColours)];
        const std::string label = diff.old_runs[i].label;
        curves << (i ? ", \\\n     " : "plot ")
               << quoted(write_series(out_dir, "baseline", i, old_samples))
               << " using ($1/ts):($2/1024.0) with steps dt 2 lw 1.5 lc rgb '" << colour
               << "' noenhanced title " << quoted(label + " baseline") << ", \\\n     "
               << quoted(write_series(out_dir, "new", i, new_samples))
               << " using ($1/ts):($2/1024.0) with steps dt 1 lw 1.5 lc rgb '" << colour
               << "' noenhanced title " << quoted(label + " new");
    }
    const TimeUnit unit = choose_time_unit(length);
    std::ostringstream body;
    body << "ts = " << unit.seconds_per_unit << "\n"
         << "set title 'Heap in use: baseline (dashed) vs new (solid)'\n"
         << "set xlabel " << quoted(time_axis_label(unit)) << "\n"
         << "set ylabel 'heap in use [KiB]'\nset xrange [0:" << length << "/ts]\n"
         << "set grid lc rgb '#dddddd'\nset key outside right top\n"
         << curves.str() << "\n";
    std::ostringstream gp;
    gp << "# lwipsim diff: heap overlay. Regenerate: cd into this folder, gnuplot heap_overlay.gp\n"
       << "set terminal svg size 1100,520 dynamic enhanced font 'sans,11' background '#ffffff'\n"
       << "set output 'heap_overlay.svg'\n"
       << body.str() << "unset output\n"
       << "set terminal pngcairo size 1100,520 enhanced font 'sans,10' background '#ffffff'\n"
       << "set output 'heap_overlay.png'\n"
       << body.str() << "unset output\n";
    const fs::path script = out_dir / "heap_overlay.gp";
    const fs::path log = out_dir / "heap_overlay.gnuplot.log";
    write_text(script, gp.str());
    fs::remove(log, ec);
    std::vector<GnuplotRun> runs(1);
    runs[0].main_script = runs[0].script = script;
    runs[0].log = log;
    runs[0].outputs = {out_dir / "heap_overlay.svg", out_dir / "heap_overlay.png"};
    run_gnuplot(out_dir, gnuplot, runs);
    return runs[0].outputs;
}

} // namespace lwipsim::report
