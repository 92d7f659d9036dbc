#include "harness/report/plots.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "harness/report/errors.h"
#include "harness/report/time_axis.h"
#include "sim/host/child_process.h"

namespace lwipsim::report {
namespace fs = std::filesystem;

namespace {

// A plot takes gnuplot well under a second; the bound only keeps a hung gnuplot from hanging
// the CLI.
constexpr std::chrono::minutes kGnuplotTimeout{5};

// Enough digits for milliseconds over days of virtual time and for exact byte counts.
std::string num(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.10g", v);
    return buf;
}

// gnuplot single-quoted string: only '' needs escaping; backslashes stay literal.
std::string quoted(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'')
            out += "''";
        else if (c == '\n')
            out += ' ';
        else
            out += c;
    }
    return out + "'";
}

std::string file_safe(const std::string& s) {
    std::string out;
    for (char c : s) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '_';
        out += ok ? c : '_';
    }
    return out.empty() ? "run" : out;
}

// Colours follow the TCP life cycle: cool while opening/established, warm while closing,
// grey for TIME_WAIT, so the lingering FIN_WAIT_1 of the field case stands out in red.
struct StateStyle {
    const char* name;
    const char* colour;
};
constexpr StateStyle kStates[] = {
    {"CLOSED", "#bdbdbd"},     {"LISTEN", "#c6dbef"},      {"SYN_SENT", "#6baed6"},
    {"SYN_RCVD", "#9ecae1"},   {"ESTABLISHED", "#31a354"}, {"FIN_WAIT_1", "#de2d26"},
    {"FIN_WAIT_2", "#fc9272"}, {"CLOSE_WAIT", "#fdae6b"},  {"CLOSING", "#e6550d"},
    {"LAST_ACK", "#9e9ac8"},   {"TIME_WAIT", "#737373"},
};

const char* state_colour(const std::string& state) {
    for (const auto& s : kStates)
        if (state == s.name)
            return s.colour;
    return "#000000";
}

// Event types marked on the heap curve, in legend order.
struct MarkerStyle {
    const char* type;
    const char* label;
    int point_type;
    const char* colour;
};
constexpr MarkerStyle kMarkers[] = {
    {"app_close", "app close()", 11, "#000000"},
    {"mqtt_connected", "MQTT (re)connected", 7, "#1a9850"},
    {"tls_handshake_failed", "TLS handshake failed", 5, "#f46d43"},
    {"alloc_failure", "allocation failure", 3, "#d73027"},
    {"app_action", "app action (app.actions)", 9, "#7b3294"},
};

struct Window {
    std::string name;
    double start, end;
    bool operator<(const Window& o) const {
        return std::tie(start, end, name) < std::tie(o.start, o.end, o.name);
    }
};

// Fault windows from summary.json; when a runner wrote none there, paired fault_start/fault_end
// events stand in, so a run that failed before writing faults still shows them.
std::set<Window> fault_windows(const std::vector<RunResult>& runs) {
    std::set<Window> out;
    for (const RunResult& run : runs) {
        if (!run.summary.faults.empty()) {
            for (const FaultRecord& f : run.summary.faults)
                for (auto [s, e] : f.windows)
                    out.insert({f.name, s, e});
            continue;
        }
        std::map<std::string, double> open;
        for (const Event& ev : run.events) {
            if (ev.type == "fault_start")
                open[ev.fault] = ev.t_s;
            if (ev.type == "fault_end" && open.count(ev.fault)) {
                out.insert({ev.fault, open[ev.fault], ev.t_s});
                open.erase(ev.fault);
            }
        }
        for (auto& [name, s] : open)
            out.insert({name, s, run.run_length_s()});
    }
    return out;
}

// Free heap at time t: the last sample at or before t (samples are step values).
double free_at(const RunResult& run, double t) {
    if (run.samples.empty())
        return static_cast<double>(run.summary.heap.budget);
    auto it = std::upper_bound(run.samples.begin(), run.samples.end(), t,
                               [](double v, const Sample& s) { return v < s[kColTime]; });
    if (it == run.samples.begin())
        return run.samples.front()[kColFree];
    return (*(it - 1))[kColFree];
}

struct Context {
    const std::vector<RunResult>& runs;
    fs::path dir;
    std::string title;
    const PlotOptions& options;
    TimeUnit unit;
    double length_s;
    std::vector<std::string> tags; // per run: "<index>_<variant>" for data file names
};

std::string common_settings(const Context& c) {
    std::ostringstream s;
    s << "reset\n"
      << "ts = " << num(c.unit.seconds_per_unit) << "  # seconds per time-axis unit\n"
      << "set xlabel " << quoted(time_axis_label(c.unit)) << "\n"
      << "set xrange [0:" << num(std::max(c.length_s, 1e-3)) << "/ts]\n"
      << "set grid xtics ytics lc rgb '#dddddd'\n"
      << "set border lc rgb '#444444'\n";
    return s.str();
}

// Without a budget the free heap is a stand-in (1 TiB minus use) that flattens every curve: a
// plot with such a run shows the heap in use (budget - free, in gnuplot) for every run instead.
bool plots_heap_in_use(const Context& c) {
    for (const RunResult& r : c.runs) {
        if (r.summary.heap.unlimited)
            return true;
    }
    return false;
}

// The y expression of run i's heap and marker data (column 2: free bytes), in KiB.
std::string heap_y(const Context& c, std::size_t i) {
    if (!plots_heap_in_use(c))
        return "($2/1024.0)";
    return "((" + num(static_cast<double>(c.runs[i].summary.heap.budget)) + " - $2)/1024.0)";
}

std::string heap_body(const Context& c) {
    const bool in_use = plots_heap_in_use(c);
    const std::string what = in_use ? "heap in use" : "free heap";
    std::ostringstream s;
    s << common_settings(c) << "set title " << quoted(c.title + ": " + what) << " noenhanced\n"
      << "set ylabel '" << what << " [KiB]'\nset yrange [0:*]\n"
      << "set key outside right top vertical Left reverse noautotitle\n";
    int object = 1;
    for (const Window& w : fault_windows(c.runs)) {
        s << "set object " << object << " rectangle from first " << num(w.start)
          << "/ts, graph 0 to first " << num(w.end)
          << "/ts, graph 1 behind fillcolor rgb '#fdb863' fillstyle transparent solid 0.3 "
             "noborder\n"
          << "set label " << object << " " << quoted(w.name) << " at first " << num(w.start)
          << "/ts, graph 0.97 left front offset 0.3,0 font ',9' tc rgb '#b35806' noenhanced\n";
        ++object;
    }
    std::vector<std::string> clauses;
    // The band (lowest..highest free between samples) goes below the sampled line. Steps:
    // a value holds from its sample until the next one (docs/results.md).
    for (std::size_t i = 0; i < c.runs.size(); ++i) {
        clauses.push_back(quoted("heap_" + c.tags[i] + ".dat") +
                          " using ($1/ts):($3/1024.0):($4/1024.0) with filledcurves lt " +
                          std::to_string(i + 1) + " fs transparent solid 0.25 noborder notitle");
    }
    for (std::size_t i = 0; i < c.runs.size(); ++i) {
        clauses.push_back(quoted("heap_" + c.tags[i] + ".dat") + " using ($1/ts):" + heap_y(c, i) +
                          " with lines lw 2 lc " + std::to_string(i + 1) + " title " +
                          quoted(c.runs[i].summary.variant) + " noenhanced");
    }
    clauses.push_back("keyentry with boxes fillstyle transparent solid 0.25 noborder fc rgb "
                      "'#999999' title 'lowest..highest between samples'");
    // One dashed line per distinct budget; when variants differ, the legend says whose it is.
    std::map<std::int64_t, std::string> budgets;
    for (const RunResult& r : c.runs) {
        if (r.summary.heap.unlimited)
            continue; // no budget to draw
        std::string& who = budgets[r.summary.heap.budget];
        who += (who.empty() ? "" : ", ") + r.summary.variant;
    }
    for (const auto& [b, who] : budgets)
        clauses.push_back(num(static_cast<double>(b)) +
                          "/1024.0 with lines dt 2 lw 1.5 lc rgb '#444444' title " +
                          quoted("heap budget (" + std::to_string(b) + " B" +
                                 (budgets.size() > 1 ? ": " + who : std::string()) + ")") +
                          " noenhanced");
    if (object > 1)
        clauses.push_back("keyentry with boxes fillstyle transparent solid 0.3 noborder fc rgb "
                          "'#fdb863' title 'fault window'");
    std::set<std::string> titled;
    for (std::size_t i = 0; i < c.runs.size(); ++i) {
        int index = 0;
        for (const MarkerStyle& m : kMarkers) {
            bool any = false;
            for (const Event& e : c.runs[i].events)
                any = any || e.type == m.type;
            if (!any)
                continue;
            const bool first = titled.insert(m.type).second;
            clauses.push_back(
                quoted("events_" + c.tags[i] + ".dat") + " index " + std::to_string(index) +
                " using ($1/ts):" + heap_y(c, i) + " with points pt " +
                std::to_string(m.point_type) + " ps 1.2 lc rgb '" + m.colour + "' " +
                (first ? "title " + quoted(m.label) + " noenhanced" : std::string("notitle")));
            ++index;
        }
    }
    s << "plot ";
    for (std::size_t i = 0; i < clauses.size(); ++i)
        s << (i ? ", \\\n     " : "") << clauses[i];
    s << "\n";
    return s.str();
}

void heap_data(const Context& c) {
    for (std::size_t i = 0; i < c.runs.size(); ++i) {
        const RunResult& run = c.runs[i];
        std::ostringstream d;
        // Columns 3 and 4: the lowest and highest free heap since the previous sample (budget
        // minus the highest / lowest use), so a peak shorter than the sampling interval still
        // shows; the budget at a sample is free + used.
        d << "# " << run.summary.variant
          << ": t_s free_bytes free_low_bytes free_high_bytes (from timeseries.csv)\n";
        for (const Sample& s : run.samples) {
            const double budget = s[kColFree] + s[kColUsed];
            d << num(s[kColTime]) << ' ' << num(s[kColFree]) << ' ' << num(budget - s[kColUsedMax])
              << ' ' << num(budget - s[kColUsedMin]) << '\n';
        }
        write_text(c.dir / ("heap_" + c.tags[i] + ".dat"), d.str());
        // One block per marker type present (gnuplot `index`), y = free heap at that moment so
        // the marker sits on the curve it explains.
        std::ostringstream e;
        e << "# " << run.summary.variant << ": event markers, t_s free_bytes; blocks:";
        for (const MarkerStyle& m : kMarkers)
            e << ' ' << m.type;
        e << " (absent types have no block)\n";
        bool first_block = true;
        for (const MarkerStyle& m : kMarkers) {
            std::ostringstream block;
            bool any = false;
            for (const Event& ev : run.events) {
                if (ev.type != m.type)
                    continue;
                any = true;
                block << num(ev.t_s) << ' ' << num(free_at(run, ev.t_s)) << '\n';
            }
            if (!any)
                continue;
            if (!first_block)
                e << "\n\n";
            e << "# " << m.type << '\n' << block.str();
            first_block = false;
        }
        write_text(c.dir / ("events_" + c.tags[i] + ".dat"), e.str());
    }
}

std::string pcb_timeline(const Context& c, int& height) {
    struct Row {
        std::string label;
        const PcbRecord* pcb;
        double end_s;
    };
    std::vector<Row> rows;
    std::vector<double> group_breaks;
    for (std::size_t i = 0; i < c.runs.size(); ++i) {
        if (i > 0 && !rows.empty())
            group_breaks.push_back(static_cast<double>(rows.size()) - 0.5);
        for (const PcbRecord& p : c.runs[i].summary.pcbs) {
            std::string label = "#" + std::to_string(p.id) + " :" + std::to_string(p.local_port) +
                                "->" + std::to_string(p.remote_port);
            if (c.runs.size() > 1)
                label = c.runs[i].summary.variant + " " + label;
            rows.push_back({label, &p, p.freed_at_s.value_or(c.runs[i].run_length_s())});
        }
    }
    // Segments grouped by state so each state is one legend entry (one gnuplot `index`).
    std::vector<std::string> order;
    for (const auto& st : kStates)
        order.emplace_back(st.name);
    std::map<std::string, std::ostringstream> by_state;
    std::ostringstream closes, frees;
    for (std::size_t y = 0; y < rows.size(); ++y) {
        const PcbRecord& p = *rows[y].pcb;
        for (std::size_t k = 0; k < p.states.size(); ++k) {
            const double start = p.states[k].at_s;
            const double end = k + 1 < p.states.size() ? p.states[k + 1].at_s : rows[y].end_s;
            if (std::find(order.begin(), order.end(), p.states[k].state) == order.end())
                order.push_back(p.states[k].state);
            by_state[p.states[k].state] << num(start) << ' ' << num(end) << ' ' << y << '\n';
        }
        if (p.closed_at_s)
            closes << num(*p.closed_at_s) << ' ' << y << '\n';
        if (p.freed_at_s)
            frees << num(*p.freed_at_s) << ' ' << y << '\n';
    }
    std::ostringstream data, marks, s;
    data << "# PCB state segments: start_s end_s row; one block per state (see pcb_timeline.gp)\n";
    std::vector<std::string> clauses;
    int index = 0;
    for (const std::string& st : order) {
        auto it = by_state.find(st);
        if (it == by_state.end())
            continue;
        if (index > 0)
            data << "\n\n";
        data << "# " << st << '\n' << it->second.str();
        clauses.push_back("'pcb_timeline.dat' index " + std::to_string(index) +
                          " using (($1+$2)/2/ts):3:(($2-$1)/2/ts):(0.32) with boxxyerror fillstyle "
                          "solid 0.9 noborder lc rgb '" +
                          state_colour(st) + "' title " + quoted(st) + " noenhanced");
        ++index;
    }
    marks << "# t_s row; block 0: application close() calls, block 1: PCB freed by lwIP\n"
          << closes.str() << "\n\n"
          << frees.str();
    if (!closes.str().empty())
        clauses.push_back("'pcb_marks.dat' index 0 using ($1/ts):2 with points pt 11 ps 1.4 lc rgb "
                          "'#000000' title 'close() called' noenhanced");
    if (!frees.str().empty())
        clauses.push_back("'pcb_marks.dat' index 1 using ($1/ts):2 with points pt 2 ps 1.4 lw 2 lc "
                          "rgb '#6a3d9a' title 'PCB freed' noenhanced");
    write_text(c.dir / "pcb_timeline.dat", data.str());
    write_text(c.dir / "pcb_marks.dat", marks.str());

    height = std::clamp(140 + 24 * static_cast<int>(rows.size()), 300, 4000);
    s << common_settings(c) << "set title " << quoted(c.title + ": TCP PCB lifetimes")
      << " noenhanced\n"
      << "unset ylabel\nset key outside right top vertical Left reverse\n";
    if (rows.empty()) {
        s << "set yrange [0:1]\nunset ytics\n"
          << "set label 1 'no PCBs recorded' at graph 0.5, graph 0.5 center noenhanced\nplot NaN "
             "notitle\n";
        return s.str();
    }
    s << "set yrange [" << num(static_cast<double>(rows.size()) - 0.5)
      << ":-0.5]\nset grid noytics\nset ytics (";
    for (std::size_t y = 0; y < rows.size(); ++y)
        s << (y ? ", " : "") << quoted(rows[y].label) << ' ' << y;
    s << ") font ',9' noenhanced\n";
    int arrow = 1;
    for (double b : group_breaks)
        s << "set arrow " << arrow++ << " from graph 0, first " << num(b) << " to graph 1, first "
          << num(b) << " nohead dt 3 lc rgb '#888888'\n";
    s << "plot ";
    for (std::size_t i = 0; i < clauses.size(); ++i)
        s << (i ? ", \\\n     " : "") << clauses[i];
    s << "\n";
    return s.str();
}

std::string pcb_states(const Context& c, int& height) {
    std::ostringstream s;
    const std::size_t n_states = kTimeseriesColumnCount - kFirstStateColumn;
    s << common_settings(c);
    const bool multi = c.runs.size() > 1;
    height = multi ? std::min(220 * static_cast<int>(c.runs.size()) + 60, 4000) : c.options.height;
    if (multi)
        s << "set multiplot layout " << c.runs.size() << ",1 title "
          << quoted(c.title + ": TCP PCBs by state") << " noenhanced\n";
    for (std::size_t i = 0; i < c.runs.size(); ++i) {
        const RunResult& run = c.runs[i];
        const std::string file = "pcb_states_" + c.tags[i] + ".dat";
        // Cumulative columns turn the per-state counts into stacked bands for filledcurves.
        std::ostringstream d;
        d << "# " << run.summary.variant
          << ": t_s pcbs_live then cumulative counts (step-expanded): 0";
        for (std::size_t k = 0; k < n_states; ++k)
            d << " +" << kTimeseriesColumns[kFirstStateColumn + k];
        d << '\n';
        std::vector<bool> present(n_states, false);
        double max_count = 1;
        // Counts hold until the next sample, so each sample after the first is written twice:
        // at its time with the previous counts, then with its own. filledcurves then draws
        // steps instead of slanted edges that would show PCBs that never existed.
        auto write_row = [&](double t, const Sample& row) {
            d << num(t) << ' ' << num(row[kColPcbsLive]) << " 0";
            double cum = 0;
            for (std::size_t k = 0; k < n_states; ++k) {
                cum += row[kFirstStateColumn + k];
                present[k] = present[k] || row[kFirstStateColumn + k] > 0;
                d << ' ' << num(cum);
            }
            max_count = std::max({max_count, cum, row[kColPcbsLive]});
            d << '\n';
        };
        for (std::size_t r = 0; r < run.samples.size(); ++r) {
            if (r > 0)
                write_row(run.samples[r][kColTime], run.samples[r - 1]);
            write_row(run.samples[r][kColTime], run.samples[r]);
        }
        write_text(c.dir / file, d.str());
        s << "set title " << quoted(multi ? run.summary.variant : c.title + ": TCP PCBs by state")
          << " noenhanced\n"
          << "set ylabel 'PCBs'\nset yrange [0:" << num(max_count + 1) << "]\n"
          << (max_count <= 12 ? "set ytics 1\n" : "set ytics autofreq\n")
          << "set key outside right top vertical Left reverse\n";
        std::vector<std::string> clauses;
        for (std::size_t k = 0; k < n_states; ++k) {
            if (!present[k])
                continue;
            const std::string name(kTimeseriesColumns[kFirstStateColumn + k]);
            clauses.push_back(quoted(file) + " using ($1/ts):" + std::to_string(3 + k) + ":" +
                              std::to_string(4 + k) +
                              " with filledcurves fillstyle solid 0.85 noborder lc rgb '" +
                              state_colour(name) + "' title " + quoted(name) + " noenhanced");
        }
        clauses.push_back(
            quoted(file) +
            " using ($1/ts):2 with lines lw 1.5 lc rgb '#000000' title 'pcbs_live' noenhanced");
        s << "plot ";
        for (std::size_t j = 0; j < clauses.size(); ++j)
            s << (j ? ", \\\n     " : "") << clauses[j];
        s << "\n";
    }
    if (multi)
        s << "unset multiplot\n";
    return s.str();
}

// Writes <name>.gp (one pass per format) and runs gnuplot on it inside the plot folder.
void render(const Context& c, const std::string& name, const std::string& body, int height,
            PlotResult& result) {
    std::ostringstream gp;
    gp << "# lwipsim plot '" << name << "'. Regenerate: cd into this folder, run: gnuplot " << name
       << ".gp\n# Data files hold times in seconds; ts converts them to the axis unit.\n";
    std::vector<fs::path> outputs;
    const std::string size =
        " size " + std::to_string(c.options.width) + "," + std::to_string(height);
    if (c.options.svg) {
        gp << "set terminal svg" << size
           << " dynamic enhanced font 'sans,11' background '#ffffff'\n"
           << "set output " << quoted(name + ".svg") << "\n"
           << body << "unset output\n";
        outputs.push_back(c.dir / (name + ".svg"));
    }
    if (c.options.png) {
        gp << "set terminal " << c.options.png_terminal << size
           << " enhanced font 'sans,10' background '#ffffff'\n"
           << "set output " << quoted(name + ".png") << "\n"
           << body << "unset output\n";
        outputs.push_back(c.dir / (name + ".png"));
    }
    if (outputs.empty())
        return;
    const fs::path script = c.dir / (name + ".gp");
    const fs::path log = c.dir / (name + ".gnuplot.log");
    write_text(script, gp.str());
    std::error_code ec;
    fs::remove(log, ec);
    for (const fs::path& o : outputs)
        fs::remove(o, ec);
    host::CommandOptions io;
    io.cwd = c.dir;
    io.stdout_file = log;
    io.stderr_file = log;
    const host::CommandResult run =
        host::run_command({c.options.gnuplot, script.filename().string()}, kGnuplotTimeout, io);
    const std::string messages = read_text(log);
    if (!run.success())
        throw ReportError("gnuplot failed on " + script.string() + " (" +
                          (run.timed_out ? std::string("timed out") : run.status.describe()) +
                          "):\n" + messages);
    for (const fs::path& o : outputs) {
        if (fs::file_size(o, ec) == 0 || ec)
            throw ReportError("gnuplot wrote no " + o.string() + " from " + script.string() + "\n" +
                              messages);
        result.images.push_back(o);
    }
    std::istringstream lines(messages);
    for (std::string line; std::getline(lines, line);)
        if (!line.empty())
            result.gnuplot_warnings.push_back(script.filename().string() + ": " + line);
}

} // namespace

PlotResult plot_runs(const std::vector<RunResult>& runs, const fs::path& plot_dir,
                     const std::string& title, const PlotOptions& options) {
    if (runs.empty())
        throw ReportError(plot_dir.string() + ": nothing to plot (no runs)");
    std::error_code ec;
    fs::create_directories(plot_dir, ec);
    if (ec)
        throw ReportError(plot_dir.string() + ": cannot create: " + ec.message());
    double length = 0;
    for (const RunResult& r : runs)
        length = std::max(length, r.run_length_s());
    Context c{runs, plot_dir, title, options, choose_time_unit(length), length, {}};
    for (std::size_t i = 0; i < runs.size(); ++i)
        c.tags.push_back(std::to_string(i + 1) + "_" + file_safe(runs[i].summary.variant));

    PlotResult result;
    result.plot_dir = plot_dir;
    if (options.heap) {
        heap_data(c);
        render(c, kHeapPlot, heap_body(c), options.height, result);
    }
    if (options.pcb_timeline) {
        int height = options.height;
        const std::string body = pcb_timeline(c, height);
        render(c, kPcbTimelinePlot, body, height, result);
    }
    if (options.pcb_states) {
        int height = options.height;
        const std::string body = pcb_states(c, height);
        render(c, kPcbStatesPlot, body, height, result);
    }
    return result;
}

PlotResult plot_run(const fs::path& dir, const PlotOptions& options) {
    std::vector<RunResult> runs;
    runs.push_back(load_run(dir));
    const std::string title = runs[0].summary.scenario + " / " + runs[0].summary.variant;
    return plot_runs(runs, dir / "plots", title, options);
}

PlotResult plot_comparison(const fs::path& parent, const PlotOptions& options) {
    const auto folders = variant_folders(parent);
    if (folders.empty())
        throw ReportError(parent.string() + ": no variant subfolders with a summary.json");
    std::vector<RunResult> runs;
    for (const fs::path& f : folders)
        runs.push_back(load_run(f));
    std::string title = runs[0].summary.scenario + ": ";
    for (std::size_t i = 0; i < runs.size(); ++i)
        title += (i ? " vs " : "") + runs[i].summary.variant;
    return plot_runs(runs, parent / "plots", title, options);
}

} // namespace lwipsim::report
