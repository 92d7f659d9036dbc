#include "harness/report/interactive_chart.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "harness/report/errors.h"
#include "harness/report/time_axis.h"

namespace lwipsim::report {
namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

constexpr const char* kDefaultDygraphsDir = "/usr/share/javascript/dygraphs";

// Events listed on hover; `line`: also drawn as a vertical mark on every chart.
struct EventKind {
    const char* type;
    const char* colour;
    bool line;
};
// Fault start/end are not ticked: their windows are shaded.
constexpr EventKind kEventKinds[] = {
    {"fault_start", "#c62828", false},       {"fault_end", "#c62828", false},
    {"app_close", "#6a1b9a", true},          {"tls_handshake_failed", "#e65100", true},
    {"alloc_failure", "#b71c1c", false},     {"mqtt_connected", "#1a7f37", true},
    {"mqtt_disconnected", "#795548", false}, {"connect_failed", "#e65100", false},
    {"pcb_freed", "#455a64", false},         {"ping_timeout", "#795548", false},
};

const EventKind* event_kind(const std::string& type) {
    for (const EventKind& k : kEventKinds)
        if (type == k.type)
            return &k;
    return nullptr;
}

// The library files, with their source-map comments dropped: the page must not name a file
// it does not carry (the licence comment stays).
std::string library_file(const fs::path& file) {
    std::error_code ec;
    if (!fs::is_regular_file(file, ec))
        throw EnvironmentError(file.string() +
                               " not found: report.html needs the chart library dygraphs "
                               "(Debian package libjs-dygraphs, in scripts/packages.txt; or set "
                               "LWIPSIM_DYGRAPHS_DIR to a folder holding dygraph.min.js/.css)");
    std::string text = read_text(file);
    for (const char* marker : {"//# sourceMappingURL=", "/*# sourceMappingURL="}) {
        const auto at = text.find(marker);
        if (at != std::string::npos)
            text.erase(at, text.find('\n', at) == std::string::npos ? std::string::npos
                                                                    : text.find('\n', at) - at);
    }
    return text;
}

// JSON made safe inside a <script> element: "</" would end it early.
std::string script_json(const Json& j) {
    std::string s = j.dump();
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '<' && i + 1 < s.size() && s[i + 1] == '/')
            out += "<\\";
        else
            out += s[i];
    }
    return out;
}

// Whether the run recorded the heap held by closed PCBs (timeseries.csv's closed_pcb_heap
// columns; result_folder.h reads them as NaN in folders written before they existed).
bool has_closed_pcb_heap(const RunResult& run) {
    return !run.samples.empty() && !std::isnan(run.samples.front()[kColClosedHeap]);
}

struct Chart {
    std::string id, title, ylabel;
    std::vector<std::string> labels; // series names, without the time axis
    Json rows = Json::array();       // [[t, y1, y2, ...], ...] in axis units
    bool stacked = false, step = false;
};

Json chart_json(const Chart& c, const std::string& xlabel) {
    Json labels = Json::array({xlabel});
    for (const std::string& l : c.labels)
        labels.push_back(l);
    return {{"id", c.id},     {"title", c.title},     {"ylabel", c.ylabel}, {"labels", labels},
            {"rows", c.rows}, {"stacked", c.stacked}, {"step", c.step}};
}

// Cumulative frame drops: a step at every frame_dropped event, from 0 to the end of the run.
std::vector<std::pair<double, double>> drops_over_time(const RunResult& run) {
    std::vector<std::pair<double, double>> out{{0.0, 0.0}};
    double n = 0;
    for (const Event& e : run.events)
        if (e.type == "frame_dropped")
            out.emplace_back(e.t_s, ++n);
    out.emplace_back(run.run_length_s(), n);
    return out;
}

// One row per distinct time over all series, null where a series has no value at that time
// (dygraphs connects the gaps).
Json merge_series(const std::vector<std::vector<std::pair<double, double>>>& series,
                  double per_unit) {
    std::map<double, std::vector<std::optional<double>>> by_time;
    for (std::size_t i = 0; i < series.size(); ++i) {
        for (const auto& [t, v] : series[i]) {
            auto& row = by_time[t];
            row.resize(series.size());
            row[i] = v;
        }
    }
    Json rows = Json::array();
    for (auto& [t, values] : by_time) {
        Json row = Json::array({t / per_unit});
        values.resize(series.size());
        for (const auto& v : values)
            row.push_back(v ? Json(*v) : Json(nullptr));
        rows.push_back(std::move(row));
    }
    return rows;
}

// Half the median sample interval, in axis units: how near an event must be to the hovered
// sample to be listed when zoomed all the way in.
double half_step(const std::vector<Sample>& samples, double per_unit) {
    std::vector<double> d;
    for (std::size_t i = 1; i < samples.size(); ++i)
        d.push_back(samples[i][kColTime] - samples[i - 1][kColTime]);
    if (d.empty())
        return 0.5 / per_unit;
    std::nth_element(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(d.size() / 2), d.end());
    return d[d.size() / 2] / 2 / per_unit;
}

void add_events(Json& events, const RunResult& run, const std::string& variant, double per_unit) {
    for (const Event& e : run.events) {
        const EventKind* k = event_kind(e.type);
        if (!k)
            continue;
        std::string text = e.type;
        if (!e.fault.empty())
            text += " " + e.fault;
        if (!variant.empty())
            text = variant + ": " + text;
        events.push_back(
            {{"t", e.t_s / per_unit}, {"text", text}, {"colour", k->colour}, {"line", k->line}});
    }
}

Json fault_windows(const std::vector<const RunResult*>& runs, double per_unit) {
    // Variants of one scenario share their fault windows: each is shaded once.
    std::map<std::pair<double, double>, std::string> windows;
    for (const RunResult* r : runs)
        for (const FaultRecord& f : r->summary.faults)
            for (auto [a, b] : f.windows)
                windows.emplace(std::make_pair(a, b), f.name);
    Json out = Json::array();
    for (const auto& [w, name] : windows)
        out.push_back({w.first / per_unit, w.second / per_unit, name});
    return out;
}

// The page's chart code (ours): builds one dygraph per chart from the JSON data block, shades
// fault windows and marks events under each, keeps the charts' time ranges in step and lists
// the events near the hovered time.
const char* const kChartScript = R"JS(
(function () {
  var data = JSON.parse(document.getElementById(DATA_ID).textContent);
  var graphs = [], syncing = false;
  function fmtTime(x) {
    var s = x * data.per_unit;
    return +x.toFixed(3) + ' ' + data.unit + (data.unit === 's' ? '' : ' (' + +s.toFixed(3) + ' s)');
  }
  function underlay(ctx, area, g) {
    data.faults.forEach(function (f) {
      var a = g.toDomXCoord(f[0]), b = g.toDomXCoord(f[1]);
      ctx.fillStyle = 'rgba(198,40,40,0.10)';
      ctx.fillRect(a, area.y, Math.max(b - a, 1), area.h);
    });
    // Events as short ticks along the top edge: full-height lines would hide the curves
    // where closes and failures come every few seconds.
    data.events.forEach(function (e) {
      if (!e.line) return;
      var x = g.toDomXCoord(e.t);
      if (x < area.x || x > area.x + area.w) return;
      ctx.strokeStyle = e.colour;
      ctx.lineWidth = 2;
      ctx.beginPath(); ctx.moveTo(x, area.y); ctx.lineTo(x, area.y + 9); ctx.stroke();
    });
  }
  function showEvents(list, x, g) {
    var r = g.xAxisRange(), w = Math.max((r[1] - r[0]) / 150, data.half_step);
    list.textContent = '';
    var near = data.events.filter(function (e) { return Math.abs(e.t - x) <= w; });
    var head = document.createElement('b');
    head.textContent = 'at ' + fmtTime(x) + ': ' + (near.length ? '' : 'no events nearby');
    list.appendChild(head);
    near.forEach(function (e) {
      var item = document.createElement('span');
      item.className = 'event';
      item.style.borderColor = e.colour;
      item.textContent = e.text + ' @ ' + fmtTime(e.t);
      list.appendChild(item);
    });
  }
  data.charts.forEach(function (c) {
    var list = document.getElementById(c.id + '-events');
    var g = new Dygraph(document.getElementById(c.id), c.rows, {
      labels: c.labels, title: c.title, ylabel: c.ylabel, xlabel: data.xlabel,
      stackedGraph: c.stacked, fillGraph: c.stacked, stepPlot: c.step,
      connectSeparatedPoints: true, legend: 'always', labelsDiv: c.id + '-legend',
      height: 280, animatedZooms: false, axes: { x: { valueFormatter: fmtTime } },
      underlayCallback: underlay,
      highlightCallback: function (ev, x) { showEvents(list, x, g); },
      drawCallback: function (me, initial) {
        if (syncing || initial) return;
        syncing = true;
        var range = me.xAxisRange();
        graphs.forEach(function (o) { if (o !== me) o.updateOptions({ dateWindow: range }); });
        syncing = false;
      }
    });
    graphs.push(g);
  });
})();
)JS";

const char* const kChartStyle =
    "<style>\n.chart{width:100%;height:280px}.chart-legend{font-size:.85em;min-height:1.3em}\n"
    ".chart-events{font-size:.85em;min-height:1.3em;margin-bottom:1.2em}\n"
    ".chart-events .event{display:inline-block;margin:0 .3em;padding:0 .3em;border-left:4px "
    "solid}\n</style>\n";

std::string charts_html(const std::vector<Chart>& charts, Json events, Json faults,
                        const TimeUnit& unit, double half, const std::string& note) {
    const std::string xlabel = time_axis_label(unit);
    Json data = {{"unit", unit.name},      {"per_unit", unit.seconds_per_unit},
                 {"xlabel", xlabel},       {"half_step", half},
                 {"events", events},       {"faults", faults},
                 {"charts", Json::array()}};
    std::ostringstream h;
    h << "<h2>Interactive charts</h2>\n<p class=\"hint\">Drag to zoom (all charts follow), "
         "double-click to reset; hover to list the events near that time (fault start/end, "
         "application close, TLS handshake failure, allocation failure, connect, PCB freed). "
         "Shaded: fault windows; ticks along the top: application close (purple), TLS "
         "handshake failure (orange), MQTT connected (green)."
      << note << "</p>\n";
    for (const Chart& c : charts) {
        data["charts"].push_back(chart_json(c, xlabel));
        h << "<div class=\"chart-legend\" id=\"" << c.id
          << "-legend\"></div>\n<div class=\"chart\" id=\"" << c.id
          << "\"></div>\n<div class=\"chart-events\" id=\"" << c.id << "-events\"></div>\n";
    }
    std::string script = kChartScript;
    script.replace(script.find("DATA_ID"), 7, "'lwipsim-chart-data'");
    h << kChartStyle << "<script type=\"application/json\" id=\"lwipsim-chart-data\">"
      << script_json(data) << "</script>\n<script>" << script << "</script>\n";
    return h.str();
}

} // namespace

fs::path dygraphs_dir() {
    if (const char* d = std::getenv("LWIPSIM_DYGRAPHS_DIR"); d && *d)
        return d;
    return kDefaultDygraphsDir;
}

std::string chart_library_html() {
    const fs::path dir = dygraphs_dir();
    const std::string css = library_file(dir / "dygraph.min.css");
    const std::string js = library_file(dir / "dygraph.min.js");
    return "<style>\n" + css + "\n</style>\n<script>\n" + js + "\n</script>\n";
}

std::string run_charts_html(const RunResult& run) {
    const TimeUnit unit = choose_time_unit(run.run_length_s());
    const double per = unit.seconds_per_unit;
    std::vector<Chart> charts;

    Chart heap{"chart-heap", "Heap in use by subsystem", "bytes", {"lwip", "mbedtls", "app"}};
    heap.stacked = true;
    Chart states{"chart-pcb-states", "TCP PCBs by state", "PCBs", {}};
    states.stacked = true;
    for (std::size_t c = kFirstStateColumn; c < kRequiredTimeseriesColumns; ++c)
        states.labels.emplace_back(kTimeseriesColumns[c]);
    for (const Sample& s : run.samples) {
        heap.rows.push_back({s[kColTime] / per, s[3], s[4], s[5]}); // lwip, mbedtls, app
        Json row = Json::array({s[kColTime] / per});
        for (std::size_t c = kFirstStateColumn; c < kRequiredTimeseriesColumns; ++c)
            row.push_back(s[c]);
        states.rows.push_back(std::move(row));
    }
    charts.push_back(std::move(heap));

    std::string note;
    if (has_closed_pcb_heap(run)) {
        // One series per TCP state, stacked: their sum is the closed_pcb_heap total.
        std::vector<std::string> states_held;
        for (std::size_t k = 0; k < kStateColumnCount; ++k)
            states_held.emplace_back(kTimeseriesColumns[kFirstStateColumn + k]);
        Chart held{"chart-closed-heap", "Heap held by PCBs the application already closed", "bytes",
                   states_held};
        held.stacked = true;
        for (const Sample& smp : run.samples) {
            Json row = Json::array({smp[kColTime] / per});
            for (std::size_t k = 0; k < kStateColumnCount; ++k)
                row.push_back(smp[kFirstClosedHeapColumn + k]);
            held.rows.push_back(std::move(row));
        }
        charts.push_back(std::move(held));
    } else {
        note = " Heap held by closed PCBs: not recorded in this folder (timeseries.csv has no "
               "closed-PCB column).";
    }
    charts.push_back(std::move(states));

    Chart drops{"chart-drops", "Link: frames dropped (cumulative)", "frames", {"dropped"}};
    drops.step = true;
    for (const auto& [t, n] : drops_over_time(run))
        drops.rows.push_back({t / per, n});
    charts.push_back(std::move(drops));

    Json events = Json::array();
    add_events(events, run, "", per);
    return charts_html(charts, events, fault_windows({&run}, per), unit,
                       half_step(run.samples, per), note);
}

std::string comparison_charts_html(const std::vector<RunResult>& runs) {
    double length = 0;
    for (const RunResult& r : runs)
        length = std::max(length, r.run_length_s());
    const TimeUnit unit = choose_time_unit(length);
    const double per = unit.seconds_per_unit;
    using Series = std::vector<std::pair<double, double>>;
    std::vector<Series> used(runs.size()), alive(runs.size()), held(runs.size()),
        drops(runs.size());
    std::vector<std::string> names;
    std::vector<const RunResult*> all;
    Json events = Json::array();
    bool any_closed = false;
    for (std::size_t i = 0; i < runs.size(); ++i) {
        const RunResult& r = runs[i];
        names.push_back(r.summary.variant);
        all.push_back(&r);
        const bool has_closed = has_closed_pcb_heap(r);
        any_closed = any_closed || has_closed;
        for (const Sample& s : r.samples) {
            used[i].emplace_back(s[kColTime], s[kColUsed]);
            alive[i].emplace_back(s[kColTime], s[kColPcbsLive]);
            if (has_closed)
                held[i].emplace_back(s[kColTime], s[kColClosedHeap]);
        }
        drops[i] = drops_over_time(r);
        add_events(events, r, r.summary.variant, per);
    }
    std::vector<Chart> charts;
    charts.push_back({"chart-cmp-heap", "Heap in use", "bytes", names, merge_series(used, per)});
    std::string note;
    if (any_closed)
        charts.push_back({"chart-cmp-closed-heap",
                          "Heap held by PCBs the application already closed", "bytes", names,
                          merge_series(held, per)});
    else
        note = " Heap held by closed PCBs: not recorded in these folders.";
    charts.push_back({"chart-cmp-pcbs", "TCP PCBs alive", "PCBs", names, merge_series(alive, per)});
    Chart d{"chart-cmp-drops", "Link: frames dropped (cumulative)", "frames", names,
            merge_series(drops, per)};
    d.step = true;
    charts.push_back(std::move(d));
    return charts_html(charts, events, fault_windows(all, per), unit,
                       half_step(runs.front().samples, per), note);
}

} // namespace lwipsim::report
