#include "harness/report/plots.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "harness/report/decimate.h"
#include "harness/report/errors.h"
#include "harness/report/gnuplot_run.h"
#include "harness/report/handshake_need.h"
#include "harness/report/time_axis.h"
#include "sim/host/child_process.h"

namespace lwipsim::report {
namespace fs = std::filesystem;

namespace {

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

// "scenario field_case · seed 42 · profile esp-idf-v4.4 (ilp32)": the values of all runs, each
// distinct value once, so a comparison of seeds or profiles says so.
std::string caption(const Context& c) {
    auto values = [&](auto field) {
        std::vector<std::string> seen;
        for (const RunResult& r : c.runs) {
            const std::string v = field(r.summary);
            if (std::find(seen.begin(), seen.end(), v) == seen.end())
                seen.push_back(v);
        }
        std::string out;
        for (const std::string& v : seen)
            out += (out.empty() ? "" : ", ") + (v.empty() ? std::string("?") : v);
        return out;
    };
    return "scenario " + values([](const Summary& s) { return s.scenario; }) + "  \xc2\xb7  seed " +
           values([](const Summary& s) { return s.seed; }) + "  \xc2\xb7  profile " +
           values([](const Summary& s) {
               return s.abi.empty() ? s.profile : s.profile + " (" + s.abi + ")";
           });
}

// Pixel plan of a figure of stacked panels sharing the time axis: a title on top, per panel
// its own title line, the time axis and the caption line at the bottom.
constexpr int kTopPx = 58;
constexpr int kBottomPx = 78;
constexpr int kPanelTitlePx = 34;
constexpr double kLeftMargin = 0.08;
constexpr double kRightMargin = 0.72; // the key lives right of this
// The legend of each panel, in the space right of the plot area, level with the panel's top.
constexpr const char* kKey =
    "set key at screen 0.735, graph 1 left top vertical Left reverse noautotitle font ',9'\n";

int figure_height(int panels, int panel_px) {
    return std::min(kTopPx + kBottomPx + panels * (panel_px + kPanelTitlePx), 6000);
}

// Pixel columns of the plot area: the decimation target (one bucket per column).
std::size_t plot_columns(const Context& c) {
    return static_cast<std::size_t>(c.options.width * (kRightMargin - kLeftMargin));
}

// "Free heap (field_case: linger_off)" for one run; the panels name the variants otherwise.
std::string figure_title(const Context& c, const std::string& what) {
    std::string t = what;
    t[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(t[0])));
    if (c.runs.size() == 1)
        return t + " (" + c.title + ")";
    return t;
}

// Opens a multiplot of `panels` panels, one under the other, with the figure title and the
// caption line; every panel gets the same left and right margins so their time axes line up.
std::string figure_begin(const Context& c, const std::string& what, int panels, int height,
                         double left_margin = kLeftMargin, const std::string& note = "") {
    std::ostringstream s;
    const double h = height;
    s << "reset\n"
      << "ts = " << num(c.unit.seconds_per_unit) << "  # seconds per time-axis unit\n"
      << "set xrange [0:" << num(std::max(c.length_s, 1e-3)) << "/ts]\n"
      << "set grid xtics ytics lc rgb '#dddddd'\n"
      << "set border lc rgb '#444444'\n"
      << "set label 1000 " << quoted(caption(c) + note) << " at screen 0.01, screen "
      << num(10.0 / h) << " left font ',9' tc rgb '#555555' noenhanced\n"
      << "set multiplot layout " << panels << ",1 title " << quoted(figure_title(c, what))
      << " font ',13' noenhanced margins " << num(left_margin) << "," << num(kRightMargin) << ","
      << num(kBottomPx / h) << "," << num(1 - kTopPx / h) << " spacing 0," << num(kPanelTitlePx / h)
      << "\n";
    return s.str();
}

// Only the bottom panel carries the time axis' tic labels and its label.
std::string panel_axis(const Context& c, std::size_t i, std::size_t panels) {
    if (i + 1 < panels)
        return "set format x ''\nunset xlabel\n";
    return "set format x '% h'\nset xlabel " + quoted(time_axis_label(c.unit)) + "\n";
}

std::string plot_command(const std::vector<std::string>& clauses) {
    std::ostringstream s;
    s << "plot ";
    for (std::size_t i = 0; i < clauses.size(); ++i)
        s << (i ? ", \\\n     " : "") << clauses[i];
    s << "\n";
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

// The band's two edges (columns 3 and 4: lowest and highest free bytes), in KiB of what the
// heap axis shows.
std::string heap_band(const Context& c, std::size_t i) {
    if (!plots_heap_in_use(c))
        return "($3/1024.0):($4/1024.0)";
    const std::string budget = num(static_cast<double>(c.runs[i].summary.heap.budget));
    return "((" + budget + " - $4)/1024.0):((" + budget + " - $3)/1024.0)";
}

// Fault colours by fault name, in order of first appearance.
constexpr const char* kFaultColours[] = {"#fdb863", "#b2abd2", "#a6dba0", "#f1b6da"};

struct FaultStyle {
    std::string name;
    const char* colour;
    std::vector<Window> windows;
};

std::vector<FaultStyle> fault_styles(const Context& c) {
    std::vector<FaultStyle> out;
    for (const Window& w : fault_windows(c.runs)) {
        auto it = std::find_if(out.begin(), out.end(),
                               [&](const FaultStyle& f) { return f.name == w.name; });
        if (it == out.end()) {
            out.push_back({w.name, kFaultColours[out.size() % std::size(kFaultColours)], {}});
            it = out.end() - 1;
        }
        it->windows.push_back(w);
    }
    return out;
}

// Shaded fault windows for a panel; with `labelled`, each fault's name once, at its first
// window, on the first text row where it does not run into an earlier label.
std::string fault_shading(const Context& c, const std::vector<FaultStyle>& faults, bool labelled) {
    std::ostringstream s;
    s << "unset object\n";
    int object = 1;
    const double px_per_s = static_cast<double>(plot_columns(c)) / std::max(c.length_s, 1e-3);
    std::vector<double> row_end_px; // right end of the last label on each text row
    for (const FaultStyle& f : faults) {
        for (const Window& w : f.windows) {
            s << "set object " << object++ << " rectangle from first " << num(w.start)
              << "/ts, graph 0 to first " << num(w.end) << "/ts, graph 1 behind fillcolor rgb '"
              << f.colour << "' fillstyle transparent solid 0.35 noborder\n";
        }
        if (!labelled)
            continue;
        const std::string text =
            f.windows.size() > 1 ? f.name + " (" + std::to_string(f.windows.size()) + "x)" : f.name;
        const double x0 = f.windows.front().start * px_per_s;
        const double x1 = x0 + 4 + 6.0 * static_cast<double>(text.size()); // ~6 px a char at 9 pt
        std::size_t row = 0;
        while (row < row_end_px.size() && row_end_px[row] > x0)
            ++row;
        if (row == row_end_px.size())
            row_end_px.push_back(0);
        row_end_px[row] = x1;
        s << "set label " << 100 + object << " " << quoted(text) << " at first "
          << num(f.windows.front().start) << "/ts, graph "
          << num(0.72 - 0.1 * static_cast<double>(row))
          << " left front offset 0.3,0 font ',9' tc rgb '#7f3b08' noenhanced\n";
    }
    return s.str();
}

std::string unset_fault_labels() {
    return "unset for [i=100:999] label i\n";
}

std::string panel_title(const RunResult& r) {
    std::string t = r.summary.variant;
    if (!r.summary.heap.unlimited)
        t += " \xe2\x80\x94 lowest free heap " + std::to_string(r.summary.heap.min_free) + " B";
    return t;
}

void heap_data(const Context& c, const std::vector<std::vector<HandshakePeak>>& peaks) {
    for (std::size_t i = 0; i < c.runs.size(); ++i) {
        const RunResult& run = c.runs[i];
        std::ostringstream d;
        // Columns 3 and 4: the lowest and highest free heap since the previous sample (budget
        // minus the highest / lowest use), so a peak shorter than the sampling interval still
        // shows; the budget at a sample is free + used. Long runs keep, per pixel column, the
        // rows with the extremes of each column (decimate.h): every peak still shows.
        std::vector<double> t, free, low, high;
        for (const Sample& s : run.samples) {
            const double budget = s[kColFree] + s[kColUsed];
            t.push_back(s[kColTime]);
            free.push_back(s[kColFree]);
            low.push_back(budget - s[kColUsedMax]);
            high.push_back(budget - s[kColUsedMin]);
        }
        const auto rows = keep_extremes(t, {free, low, high},
                                        c.options.decimate ? plot_columns(c) : std::size_t{0});
        d << "# " << run.summary.variant
          << ": t_s free_bytes free_low_bytes free_high_bytes (from timeseries.csv; " << rows.size()
          << " of " << t.size() << " rows: per pixel column the extremes)\n";
        for (std::size_t r : rows)
            d << num(t[r]) << ' ' << num(free[r]) << ' ' << num(low[r]) << ' ' << num(high[r])
              << '\n';
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
        std::ostringstream h;
        h << "# " << run.summary.variant
          << ": successful TLS handshakes, t_s lowest_free_bytes need_bytes (handshake_need.h)\n";
        for (const HandshakePeak& p : peaks[i])
            h << num(p.t_s) << ' ' << num(p.lowest_free) << ' ' << num(p.need) << '\n';
        write_text(c.dir / ("handshake_" + c.tags[i] + ".dat"), h.str());
    }
}

std::string heap_body(const Context& c, int& height) {
    const bool in_use = plots_heap_in_use(c);
    const std::string what = in_use ? "heap in use" : "free heap";
    std::vector<std::vector<HandshakePeak>> peaks;
    for (const RunResult& r : c.runs)
        peaks.push_back(handshake_peaks(r));
    const std::optional<double> need = handshake_need(c.runs);
    heap_data(c, peaks);
    const auto faults = fault_styles(c);
    double y_max = 1;
    for (const RunResult& r : c.runs)
        y_max = std::max(y_max, static_cast<double>(in_use ? r.summary.heap.peak_used()
                                                           : r.summary.heap.budget));
    for (const RunResult& r : c.runs)
        for (const Sample& s : r.samples)
            y_max = std::max(y_max, in_use ? s[kColUsedMax] : s[kColFree] + s[kColUsed]);

    const int panels = static_cast<int>(c.runs.size());
    height = figure_height(panels, panels == 1 ? c.options.height - 150 : 190);
    std::ostringstream s;
    s << figure_begin(c,
                      what + (need && !in_use ? " and the level a new TLS connection needs" : ""),
                      panels, height)
      << "set ylabel '" << what << " [KiB]'\nset yrange [0:" << num(y_max * 1.05 / 1024.0) << "]\n"
      << kKey;
    std::set<std::string> markers_present;
    for (const RunResult& r : c.runs)
        for (const Event& e : r.events)
            markers_present.insert(e.type);
    for (std::size_t i = 0; i < c.runs.size(); ++i) {
        const RunResult& run = c.runs[i];
        const std::string lc = std::to_string(i + 1);
        const std::string dat = quoted("heap_" + c.tags[i] + ".dat");
        s << panel_axis(c, i, c.runs.size()) << fault_shading(c, faults, i == 0) << "set title "
          << quoted(panel_title(run)) << " noenhanced\n";
        std::vector<std::string> clauses;
        // The band (lowest..highest free between samples) goes below the sampled line.
        clauses.push_back(dat + " using ($1/ts):" + heap_band(c, i) + " with filledcurves lt " +
                          lc + " fs transparent solid 0.25 noborder notitle");
        clauses.push_back(dat + " using ($1/ts):" + heap_y(c, i) + " with lines lw 2 lc " + lc +
                          " title " + quoted(run.summary.variant) + " noenhanced");
        if (!run.summary.heap.unlimited)
            clauses.push_back(num(static_cast<double>(run.summary.heap.budget)) +
                              "/1024.0 with lines dt 2 lw 1.5 lc rgb '#444444' " +
                              (i == 0 ? std::string("title 'heap budget'") : "notitle"));
        if (need && !in_use)
            clauses.push_back(num(*need) + "/1024.0 with lines dt 4 lw 2 lc rgb '#7b3294' " +
                              (i == 0 ? "title " + quoted("TLS connect needs " +
                                                          std::to_string(std::lround(*need)) + " B")
                                      : std::string("notitle")));
        if (!peaks[i].empty() && !in_use)
            clauses.push_back(quoted("handshake_" + c.tags[i] + ".dat") +
                              " using ($1/ts):($2/1024.0) with points pt 9 ps 1.1 lc rgb "
                              "'#7b3294' " +
                              (i == 0 ? "title 'TLS handshake peak'" : "notitle"));
        int index = 0;
        for (const MarkerStyle& m : kMarkers) {
            bool any = false;
            for (const Event& e : run.events)
                any = any || e.type == m.type;
            if (!any)
                continue;
            clauses.push_back(quoted("events_" + c.tags[i] + ".dat") + " index " +
                              std::to_string(index) + " using ($1/ts):" + heap_y(c, i) +
                              " with points pt " + std::to_string(m.point_type) +
                              " ps 1.1 lc rgb '" + m.colour + "' notitle");
            ++index;
        }
        if (i == 0) {
            // The legend of what every panel shares, once, in the first panel.
            clauses.push_back("keyentry with boxes fillstyle transparent solid 0.25 noborder fc "
                              "rgb '#999999' title 'range between samples'");
            for (const FaultStyle& f : faults)
                clauses.push_back("keyentry with boxes fillstyle transparent solid 0.35 noborder "
                                  "fc rgb '" +
                                  std::string(f.colour) + "' title " + quoted("fault: " + f.name) +
                                  " noenhanced");
            for (const MarkerStyle& m : kMarkers)
                if (markers_present.count(m.type))
                    clauses.push_back("keyentry with points pt " + std::to_string(m.point_type) +
                                      " ps 1.1 lc rgb '" + m.colour + "' title " + quoted(m.label) +
                                      " noenhanced");
        }
        s << plot_command(clauses);
        if (i == 0)
            s << unset_fault_labels() << "unset label 1000\n";
    }
    s << "unset multiplot\n";
    return s.str();
}

// A panel's stacked step bands: the per-state columns from `first_column` (kStateColumnCount
// of them, in state order) of run i, written to `file` and returned as plot clauses. Rows
// that repeat the previous one are left out (decimate.h: nothing changes in a step plot);
// each kept row after the first is written twice, at its time with the previous values, then
// with its own, so filledcurves draws steps instead of slanted edges.
std::vector<std::string> stacked_states(const Context& c, std::size_t i, std::size_t first_column,
                                        double scale, const std::string& file, double& max_total) {
    const RunResult& run = c.runs[i];
    const auto& rows = run.samples;
    const auto kept = change_rows(rows.size(), [&](std::size_t a, std::size_t b) {
        for (std::size_t k = 0; k < kStateColumnCount; ++k)
            if (rows[a][first_column + k] != rows[b][first_column + k])
                return false;
        return true;
    });
    std::ostringstream d;
    d << "# " << run.summary.variant << ": t_s then cumulative (stacked) values, step-expanded: 0";
    for (std::size_t k = 0; k < kStateColumnCount; ++k)
        d << " +" << kTimeseriesColumns[first_column + k];
    d << "\n";
    std::vector<bool> present(kStateColumnCount, false);
    auto write_row = [&](double t, const Sample& row) {
        d << num(t) << " 0";
        double cum = 0;
        for (std::size_t k = 0; k < kStateColumnCount; ++k) {
            cum += row[first_column + k] / scale;
            present[k] = present[k] || row[first_column + k] > 0;
            d << ' ' << num(cum);
        }
        max_total = std::max(max_total, cum);
        d << '\n';
    };
    for (std::size_t j = 0; j < kept.size(); ++j) {
        if (j > 0)
            write_row(rows[kept[j]][kColTime], rows[kept[j - 1]]);
        write_row(rows[kept[j]][kColTime], rows[kept[j]]);
    }
    if (!kept.empty() && rows[kept.back()][kColTime] < c.length_s)
        write_row(c.length_s, rows[kept.back()]); // the last value holds until the run ends
    write_text(c.dir / file, d.str());
    std::vector<std::string> clauses;
    for (std::size_t k = 0; k < kStateColumnCount; ++k) {
        if (!present[k])
            continue;
        const std::string name(kTimeseriesColumns[kFirstStateColumn + k]);
        clauses.push_back(quoted(file) + " using ($1/ts):" + std::to_string(2 + k) + ":" +
                          std::to_string(3 + k) +
                          " with filledcurves fillstyle solid 0.85 noborder lc rgb '" +
                          state_colour(name) + "' title " + quoted(name) + " noenhanced");
    }
    return clauses;
}

std::string closed_pcb_heap_body(const Context& c, int& height) {
    const int panels = static_cast<int>(c.runs.size());
    height = figure_height(panels, panels == 1 ? c.options.height - 150 : 150);
    const auto faults = fault_styles(c);
    std::vector<std::vector<std::string>> clauses(c.runs.size());
    std::vector<bool> recorded(c.runs.size(), true);
    double max_total = 0;
    for (std::size_t i = 0; i < c.runs.size(); ++i) {
        for (const Sample& s : c.runs[i].samples)
            recorded[i] = recorded[i] && !std::isnan(s[kColClosedHeap]);
        if (recorded[i])
            clauses[i] = stacked_states(c, i, kFirstClosedHeapColumn, 1024.0,
                                        "closed_pcb_heap_" + c.tags[i] + ".dat", max_total);
    }
    std::ostringstream s;
    s << figure_begin(c, "heap held by PCBs the application already closed, by TCP state", panels,
                      height)
      << "set ylabel 'held [KiB]'\nset yrange [0:" << num(std::max(max_total * 1.15, 1.0)) << "]\n"
      << kKey;
    for (std::size_t i = 0; i < c.runs.size(); ++i) {
        const RunResult& run = c.runs[i];
        double most = 0;
        for (const Sample& r : run.samples)
            most = std::max(most, r[kColClosedHeap]);
        s << panel_axis(c, i, c.runs.size()) << fault_shading(c, faults, i == 0) << "set title "
          << quoted(recorded[i] ? run.summary.variant + " \xe2\x80\x94 at most " +
                                      std::to_string(std::lround(most)) + " B held"
                                : run.summary.variant)
          << " noenhanced\n";
        if (clauses[i].empty()) {
            s << "set label 1001 "
              << quoted(recorded[i] ? "no closed PCB held heap"
                                    : "not recorded (timeseries.csv has no closed_pcb_heap)")
              << " at graph 0.5, graph 0.5 center noenhanced\n"
              << "plot NaN notitle\nunset label 1001\n";
        } else {
            s << plot_command(clauses[i]);
        }
        if (i == 0)
            s << unset_fault_labels() << "unset label 1000\n";
    }
    s << "unset multiplot\n";
    return s.str();
}

std::string pcb_states(const Context& c, int& height) {
    const int panels = static_cast<int>(c.runs.size());
    height = figure_height(panels, panels == 1 ? c.options.height - 150 : 150);
    const auto faults = fault_styles(c);
    std::vector<std::vector<std::string>> clauses(c.runs.size());
    double max_count = 1;
    for (std::size_t i = 0; i < c.runs.size(); ++i) {
        const std::string file = "pcb_states_" + c.tags[i] + ".dat";
        clauses[i] = stacked_states(c, i, kFirstStateColumn, 1.0, file, max_count);
        for (const Sample& r : c.runs[i].samples)
            max_count = std::max(max_count, r[kColPcbsLive]);
    }
    std::ostringstream s;
    s << figure_begin(c, "TCP PCBs by state", panels, height)
      << "set ylabel 'PCBs'\nset yrange [0:" << num(max_count + 1) << "]\n"
      << (max_count <= 12 ? "set ytics 1\n" : "set ytics autofreq\n") << kKey;
    for (std::size_t i = 0; i < c.runs.size(); ++i) {
        s << panel_axis(c, i, c.runs.size()) << fault_shading(c, faults, i == 0) << "set title "
          << quoted(c.runs[i].summary.variant) << " noenhanced\n";
        if (clauses[i].empty())
            s << "plot NaN notitle\n";
        else
            s << plot_command(clauses[i]);
        if (i == 0)
            s << unset_fault_labels() << "unset label 1000\n";
    }
    s << "unset multiplot\n";
    return s.str();
}

// Up to this many PCBs, one row each; beyond, PCBs that never overlap in time share a row
// (a lane), so a run with hundreds of reconnects stays readable.
constexpr std::size_t kMaxPcbRows = 60;
constexpr int kRowPx = 16;

struct TimelineRow {
    std::string label;
    std::vector<const PcbRecord*> pcbs;
    std::vector<double> ends; // per PCB: freed, or the run's end
};

std::vector<TimelineRow> timeline_rows(const Context& c, bool lanes,
                                       std::vector<double>& group_breaks) {
    std::vector<TimelineRow> rows;
    for (std::size_t i = 0; i < c.runs.size(); ++i) {
        if (i > 0 && !rows.empty())
            group_breaks.push_back(static_cast<double>(rows.size()) - 0.5);
        const std::string prefix = c.runs.size() > 1 ? c.runs[i].summary.variant + " " : "";
        const std::size_t first = rows.size();
        for (const PcbRecord& p : c.runs[i].summary.pcbs) {
            const double end = p.freed_at_s.value_or(c.runs[i].run_length_s());
            std::size_t r = rows.size();
            if (lanes) {
                for (r = first; r < rows.size(); ++r)
                    if (rows[r].ends.back() < p.opened_at_s)
                        break;
            }
            if (r == rows.size())
                rows.push_back({prefix, {}, {}});
            rows[r].pcbs.push_back(&p);
            rows[r].ends.push_back(end);
        }
        for (std::size_t r = first; r < rows.size(); ++r) {
            const auto& ps = rows[r].pcbs;
            const PcbRecord& p = *ps.front();
            if (!lanes)
                rows[r].label += "#" + std::to_string(p.id) + " :" + std::to_string(p.local_port) +
                                 "->" + std::to_string(p.remote_port);
            else if (ps.size() == 1)
                rows[r].label += "#" + std::to_string(p.id);
            else
                rows[r].label += "#" + std::to_string(p.id) + "..#" +
                                 std::to_string(ps.back()->id) + " (" + std::to_string(ps.size()) +
                                 " PCBs)";
        }
    }
    return rows;
}

std::string pcb_timeline(const Context& c, int& height) {
    std::size_t total = 0;
    for (const RunResult& r : c.runs)
        total += r.summary.pcbs.size();
    const bool lanes = total > kMaxPcbRows;
    std::vector<double> group_breaks;
    const std::vector<TimelineRow> rows = timeline_rows(c, lanes, group_breaks);
    // Segments grouped by state so each state is one legend entry (one gnuplot `index`).
    std::vector<std::string> order;
    for (const auto& st : kStates)
        order.emplace_back(st.name);
    std::map<std::string, std::ostringstream> by_state;
    std::ostringstream closes, frees;
    for (std::size_t y = 0; y < rows.size(); ++y) {
        for (std::size_t j = 0; j < rows[y].pcbs.size(); ++j) {
            const PcbRecord& p = *rows[y].pcbs[j];
            for (std::size_t k = 0; k < p.states.size(); ++k) {
                const double start = p.states[k].at_s;
                const double end = k + 1 < p.states.size() ? p.states[k + 1].at_s : rows[y].ends[j];
                if (std::find(order.begin(), order.end(), p.states[k].state) == order.end())
                    order.push_back(p.states[k].state);
                by_state[p.states[k].state] << num(start) << ' ' << num(end) << ' ' << y << '\n';
            }
            if (p.closed_at_s)
                closes << num(*p.closed_at_s) << ' ' << y << '\n';
            if (p.freed_at_s)
                frees << num(*p.freed_at_s) << ' ' << y << '\n';
        }
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
        // A thin white border keeps PCBs that follow each other in a lane apart.
        clauses.push_back("'pcb_timeline.dat' index " + std::to_string(index) +
                          " using (($1+$2)/2/ts):3:(($2-$1)/2/ts):(0.34) with boxxyerror fillstyle "
                          "solid 0.9 border lc rgb '#ffffff' fc rgb '" +
                          state_colour(st) + "' title " + quoted(st) + " noenhanced");
        ++index;
    }
    marks << "# t_s row; block 0: application close() calls, block 1: PCB freed by lwIP\n"
          << closes.str() << "\n\n"
          << frees.str();
    if (!closes.str().empty())
        clauses.push_back("'pcb_marks.dat' index 0 using ($1/ts):2 with points pt 11 ps 0.9 lc rgb "
                          "'#000000' title 'close() called' noenhanced");
    if (!frees.str().empty())
        clauses.push_back("'pcb_marks.dat' index 1 using ($1/ts):2 with points pt 2 ps 0.9 lw 1.5 "
                          "lc rgb '#6a3d9a' title 'PCB freed' noenhanced");
    write_text(c.dir / "pcb_timeline.dat", data.str());
    write_text(c.dir / "pcb_marks.dat", marks.str());

    const int panel_px = std::max(200, kRowPx * static_cast<int>(rows.size()) + 20);
    height = figure_height(1, panel_px);
    const std::string what = lanes ? "TCP PCB lifetimes: " + std::to_string(total) + " PCBs in " +
                                         std::to_string(rows.size()) + " lanes"
                                   : "TCP PCB lifetimes, one row per PCB";
    const std::string note =
        lanes ? "  \xc2\xb7  a lane holds PCBs that followed each other (ids first..last)" : "";
    s << figure_begin(c, what, 1, height, 0.2, note) << panel_axis(c, 0, 1)
      << "unset ylabel\nunset title\n"
      << kKey;
    if (rows.empty()) {
        s << "set yrange [0:1]\nunset ytics\n"
          << "set label 1 'no PCBs recorded' at graph 0.5, graph 0.5 center noenhanced\nplot NaN "
             "notitle\nunset multiplot\n";
        return s.str();
    }
    s << "set yrange [" << num(static_cast<double>(rows.size()) - 0.5)
      << ":-0.5]\nset grid noytics\nset ytics (";
    for (std::size_t y = 0; y < rows.size(); ++y)
        s << (y ? ", " : "") << quoted(rows[y].label) << ' ' << y;
    s << ") font ',8' noenhanced\n";
    int arrow = 1;
    for (double b : group_breaks)
        s << "set arrow " << arrow++ << " from graph 0, first " << num(b) << " to graph 1, first "
          << num(b) << " nohead dt 3 lc rgb '#888888'\n";
    s << plot_command(clauses) << "unset multiplot\n";
    return s.str();
}

// One gnuplot process: <name>.gp (both formats, for the reader who regenerates), and the
// per-format scripts the renderer runs in parallel.
struct PlotJob {
    std::string name;
    std::string body;
    int height;
};

std::string terminal_pass(const Context& c, const std::string& name, const std::string& body,
                          int height, bool svg) {
    std::ostringstream gp;
    const std::string size =
        " size " + std::to_string(c.options.width) + "," + std::to_string(height);
    if (svg)
        gp << "set terminal svg" << size
           << " dynamic enhanced font 'sans,11' background '#ffffff'\n";
    else
        gp << "set terminal " << c.options.png_terminal << size
           << " enhanced font 'sans,10' background '#ffffff'\n";
    gp << "set output " << quoted(name + (svg ? ".svg" : ".png")) << "\n"
       << body << "unset output\n";
    return gp.str();
}

// Writes each job's <name>.gp (every format, what a reader reruns) and runs one gnuplot per
// job and format at once: gnuplot is single-threaded and the plots do not depend on each other.
void render_all(const Context& c, const std::vector<PlotJob>& jobs, PlotResult& result) {
    const std::string header_note = "# Data files hold times in seconds; ts converts them to the "
                                    "axis unit.\n";
    std::vector<GnuplotRun> runs;
    std::error_code ec;
    for (const PlotJob& job : jobs) {
        std::ostringstream all;
        all << "# lwipsim plot '" << job.name << "'. Regenerate: cd into this folder, run: gnuplot "
            << job.name << ".gp\n"
            << header_note;
        for (bool svg : {true, false}) {
            if (svg ? !c.options.svg : !c.options.png)
                continue;
            const std::string pass = terminal_pass(c, job.name, job.body, job.height, svg);
            all << pass;
            const std::string ext = svg ? ".svg" : ".png";
            GnuplotRun run;
            run.main_script = c.dir / (job.name + ".gp");
            run.script = c.dir / (job.name + ext + ".gp");
            run.log = c.dir / (job.name + ext + ".gnuplot.log");
            run.outputs.push_back(c.dir / (job.name + ext));
            write_text(run.script, "# one pass of " + job.name + ".gp\n" + header_note + pass);
            fs::remove(run.log, ec);
            fs::remove(run.outputs.back(), ec);
            runs.push_back(std::move(run));
        }
        write_text(c.dir / (job.name + ".gp"), all.str());
    }
    run_gnuplot(c.dir, c.options.gnuplot, runs);
    for (GnuplotRun& run : runs) {
        const std::string messages = read_text(run.log);
        result.images.insert(result.images.end(), run.outputs.begin(), run.outputs.end());
        std::istringstream lines(messages);
        for (std::string line; std::getline(lines, line);)
            if (!line.empty())
                result.gnuplot_warnings.push_back(run.script.filename().string() + ": " + line);
        // <name>.gp holds every pass; the one-pass script and an empty log are clutter.
        fs::remove(run.script, ec);
        if (messages.empty())
            fs::remove(run.log, ec);
    }
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
    std::vector<PlotJob> jobs;
    auto add = [&](const char* name, auto body_of) {
        int height = options.height;
        std::string body = body_of(c, height);
        jobs.push_back({name, std::move(body), height});
    };
    if (options.heap)
        add(kHeapPlot, heap_body);
    if (options.closed_pcb_heap)
        add(kClosedPcbHeapPlot, closed_pcb_heap_body);
    if (options.pcb_timeline)
        add(kPcbTimelinePlot, pcb_timeline);
    if (options.pcb_states)
        add(kPcbStatesPlot, pcb_states);
    render_all(c, jobs, result);
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
