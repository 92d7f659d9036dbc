#include "harness/report/html_report.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>

#include "harness/report/errors.h"
#include "harness/report/interactive_chart.h"

namespace lwipsim::report {
namespace fs = std::filesystem;

namespace {

std::string esc(const std::string& s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        switch (c) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += "&quot;";
            break;
        case '\'':
            out += "&#39;";
            break;
        default:
            out += c;
        }
    }
    return out;
}

// Percent-encodes one path segment for a relative href (variant folder names are user text).
std::string url_segment(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", c);
            out += buf;
        }
    }
    return out;
}

std::string seconds(double s) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3f s", s);
    return buf;
}

std::string opt_seconds(const std::optional<double>& s) {
    return s ? seconds(*s) : "&mdash;";
}

// ---- numbers as a reader wants them: units, sensible precision, no JSON artefacts ----------

enum class Unit { kBytes, kSeconds, kFraction, kCount };

// The unit of a metric or summary key, from its name (docs/scenarios.md "Metrics": `_s` are
// seconds, heap figures bytes).
Unit unit_of(std::string_view key) {
    if (key.ends_with("_s"))
        return Unit::kSeconds;
    if (key.ends_with("_fraction"))
        return Unit::kFraction;
    if (key.starts_with("heap.") && key != "heap.alloc_failures")
        return Unit::kBytes;
    return Unit::kCount;
}

std::string thousands(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.0f", v);
    std::string digits = buf, out;
    const std::size_t sign = digits[0] == '-' ? 1 : 0;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > sign && (digits.size() - i) % 3 == 0)
            out += ',';
        out += digits[i];
    }
    return out;
}

// Up to `decimals` decimals, trailing zeros dropped: 45.152000000000015 -> "45.152".
std::string trimmed(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    std::string out = buf;
    if (out.find('.') != std::string::npos) {
        out.erase(out.find_last_not_of('0') + 1);
        if (out.back() == '.')
            out.pop_back();
    }
    return out == "-0" ? "0" : out;
}

std::string format_number(double v, Unit u) {
    const bool whole = v == std::floor(v) && std::fabs(v) < 1e15;
    switch (u) {
    case Unit::kBytes:
        return thousands(v) + " B";
    case Unit::kSeconds:
        return trimmed(v, 3) + " s"; // virtual time has millisecond meaning at most
    case Unit::kFraction:
        return trimmed(v, 4);
    case Unit::kCount:
        break;
    }
    return whole ? thousands(v) : trimmed(v, 3);
}

// A value as summary.json renders it (see result_folder): null is a metric the run could not
// measure; numbers get their unit; anything else is shown as written.
std::string format_rendered(const std::string& rendered, Unit u) {
    if (rendered == "null")
        return "not measurable";
    double v = 0;
    auto [end, ec] = std::from_chars(rendered.data(), rendered.data() + rendered.size(), v);
    if (ec != std::errc() || end != rendered.data() + rendered.size())
        return esc(rendered);
    return format_number(v, u);
}

const char* const kStyle =
    "<style>\n"
    "body{font-family:sans-serif;margin:1.5em;color:#222;max-width:1200px}\n"
    "h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}\n"
    "table{border-collapse:collapse;margin:.4em 0}"
    "td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}\n"
    "th{background:#f0f0f0}td.num{text-align:right;font-variant-numeric:tabular-nums}\n"
    ".passed{color:#1a7f37;font-weight:bold}.failed,.error{color:#c62828;font-weight:bold}\n"
    "figure{margin:1em 0}figure svg{width:100%;height:auto;border:1px solid #eee}\n"
    ".missing{color:#888}\n"
    "</style>\n";

std::string status_span(const std::string& status) {
    return "<span class=\"" + esc(status) + "\">" + esc(status) + "</span>";
}

// `measured`: the values are measurements (app, time), so null means "not measurable" and
// numbers are formatted; otherwise (options) they are shown exactly as written.
void key_value_table(std::ostringstream& h, const std::string& id, const KeyValues& kv,
                     bool measured = false) {
    if (kv.empty()) {
        h << "<p class=\"missing\">none</p>\n";
        return;
    }
    h << "<table id=\"" << id << "\">\n";
    for (const auto& [k, v] : kv)
        h << "<tr><th>" << esc(k) << "</th><td>"
          << (measured ? format_rendered(v, unit_of(k)) : esc(v)) << "</td></tr>\n";
    h << "</table>\n";
}

std::string close_to_free(const PcbRecord& p, double run_length_s) {
    if (!p.closed_at_s)
        return "&mdash;";
    if (p.freed_at_s)
        return seconds(*p.freed_at_s - *p.closed_at_s);
    // Still holding heap when the run ended: the interval is at least this long.
    return "not freed (&ge; " + seconds(run_length_s - *p.closed_at_s) + ")";
}

// Inline SVGs from dir/plots; one figure per plot, or a note when it was not drawn.
void plots_section(std::ostringstream& h, const fs::path& dir, const std::string& prefix) {
    h << "<h2>Plots</h2>\n";
    const std::pair<const char*, const char*> plots[] = {
        {kHeapPlot, "Free heap over virtual time (line: samples; band: lowest..highest between "
                    "samples; shaded: fault windows; dashed: budget)"},
        {kClosedPcbHeapPlot, "Heap held by PCBs the application already closed, by TCP state"},
        {kPcbTimelinePlot, "TCP PCB lifetimes, coloured by state"},
        {kPcbStatesPlot, "PCB count by state"},
    };
    int n = 0;
    for (const auto& [name, caption] : plots) {
        const fs::path svg = dir / "plots" / (std::string(name) + ".svg");
        const fs::path png = dir / "plots" / (std::string(name) + ".png");
        std::error_code ec;
        if (!fs::is_regular_file(svg, ec)) {
            h << "<p class=\"missing\">" << esc(caption) << ": not plotted (no plots/" << name
              << ".svg)</p>\n";
            continue;
        }
        h << "<figure id=\"plot-" << name << "\">\n"
          << inline_svg(read_text(svg), prefix + std::to_string(++n) + "_") << "\n<figcaption>"
          << esc(caption);
        if (fs::is_regular_file(png, ec))
            h << " &middot; <a href=\"plots/" << name << ".png\">PNG</a>";
        h << " &middot; <a href=\"plots/" << name << ".gp\">gnuplot script</a></figcaption>\n"
          << "</figure>\n";
    }
}

void files_section(std::ostringstream& h, const fs::path& dir) {
    h << "<h2>Files</h2>\n<ul id=\"files\">\n";
    const std::pair<const char*, const char*> files[] = {
        {"summary.json", "summary"},
        {"timeseries.csv", "heap and PCB samples"},
        {"events.jsonl", "events"},
        {"pcbs.csv", "PCB table"},
        {"device.pcap", "capture at the device's netif"},
        {"wire.pcap", "capture on the simulated wire"},
        {"tls-keys.log", "TLS key log (for Wireshark decryption)"},
        {"broker.log", "broker log"},
        {"run.log", "run log"},
    };
    for (const auto& [name, what] : files) {
        std::error_code ec;
        const bool present = fs::exists(dir / name, ec);
        h << "<li><a href=\"" << name << "\">" << name << "</a> &ndash; " << what
          << (present ? "" : " <span class=\"missing\">(missing)</span>") << "</li>\n";
    }
    h << "</ul>\n";
}

// `charts`: the page has interactive charts, so the chart library goes into its head.
std::string head(const std::string& title, bool charts = false) {
    return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" +
           esc(title) + "</title>\n" + kStyle + (charts ? chart_library_html() : "") +
           "</head>\n<body>\n";
}

// "not measurable" is its own outcome: the run could not measure the metric (null), which
// is a failure of the expectation but not a value to compare.
std::string outcome(const Expectation& e) {
    return e.measured == "null" ? "not measurable" : e.passed ? "passed" : "failed";
}

std::string outcome_span(const Expectation& e) {
    return "<span class=\"" + std::string(e.passed ? "passed" : "failed") + "\">" + outcome(e) +
           "</span>";
}

std::string op_text(const std::string& op) {
    return op == ">=" ? "&ge;" : op == "<=" ? "&le;" : op == "!=" ? "&ne;" : esc(op);
}

void expectation_rows(std::ostringstream& h, const Summary& s) {
    for (const Expectation& e : s.expectations) {
        const Unit u = unit_of(e.metric);
        h << "<tr><td>" << esc(e.metric) << "</td><td>" << esc(e.op) << "</td><td class=\"num\">"
          << format_rendered(e.value, u) << "</td><td class=\"num\">"
          << format_rendered(e.measured, u) << "</td><td>" << outcome_span(e) << "</td></tr>\n";
    }
}

// A free-heap figure, or "unlimited" when the run had no budget (the stand-in budget's free
// bytes, ~1 TiB, would read as a real figure).
std::string free_cell(const HeapSummary& heap, std::int64_t free_bytes) {
    return heap.unlimited ? "unlimited" : std::to_string(free_bytes);
}

// One row of key figures per run; `href` is the run's report relative to the page.
void variant_row(std::ostringstream& h, const std::string& first_cells, const Summary& s,
                 const std::string& href) {
    std::size_t alive = 0, passed = 0;
    double longest = -1;
    for (const PcbRecord& p : s.pcbs) {
        if (!p.freed_at_s)
            ++alive;
        if (p.closed_at_s && p.freed_at_s)
            longest = std::max(longest, *p.freed_at_s - *p.closed_at_s);
    }
    for (const Expectation& e : s.expectations)
        passed += e.passed ? 1 : 0;
    h << "<tr>" << first_cells << "<td><a href=\"" << href << "\">" << esc(s.variant)
      << "</a></td><td>" << status_span(s.status) << "</td><td class=\"num\">"
      << free_cell(s.heap, s.heap.min_free) << "</td><td class=\"num\">"
      << free_cell(s.heap, s.heap.final_free) << "</td><td class=\"num\">" << s.heap.peak_used()
      << "</td><td class=\"num\">" << s.heap.alloc_failures << "</td><td class=\"num\">"
      << s.pcbs.size() << "</td><td class=\"num\">" << alive << "</td><td class=\"num\">"
      << (longest >= 0 ? seconds(longest) : "&mdash;") << "</td><td class=\"num\">" << passed
      << " / " << s.expectations.size() << "</td></tr>\n";
}

const char* const kVariantColumns =
    "<th>variant</th><th>status</th><th>min free [B]</th><th>final free [B]</th>"
    "<th>peak used [B]</th><th>alloc failures</th><th>PCBs</th><th>alive at end</th>"
    "<th>longest close&rarr;free</th><th>expectations passed</th></tr>\n";

// Expectations side by side: one row per expectation (metric, op, value), one column per
// variant with its measured value and outcome; "does not apply" where the expectation is
// limited to other variants (it is then absent from that variant's summary.json).
void expectation_matrix(std::ostringstream& h, const std::vector<const Summary*>& runs) {
    struct Row {
        std::string metric, op, value;
    };
    std::vector<Row> rows;
    for (const Summary* s : runs) {
        for (const Expectation& e : s->expectations) {
            bool seen = std::any_of(rows.begin(), rows.end(), [&](const Row& r) {
                return r.metric == e.metric && r.op == e.op && r.value == e.value;
            });
            if (!seen)
                rows.push_back({e.metric, e.op, e.value});
        }
    }
    if (rows.empty()) {
        h << "<p class=\"missing\">none</p>\n";
        return;
    }
    h << "<table id=\"expectations\">\n<tr><th>expectation</th>";
    for (const Summary* s : runs)
        h << "<th>" << esc(s->variant) << "</th>";
    h << "</tr>\n";
    for (const Row& r : rows) {
        const Unit u = unit_of(r.metric);
        h << "<tr><td>" << esc(r.metric) << " " << op_text(r.op) << " "
          << format_rendered(r.value, u) << "</td>";
        for (const Summary* s : runs) {
            auto it = std::find_if(
                s->expectations.begin(), s->expectations.end(), [&](const Expectation& e) {
                    return e.metric == r.metric && e.op == r.op && e.value == r.value;
                });
            if (it == s->expectations.end()) {
                h << "<td class=\"missing\">does not apply</td>";
                continue;
            }
            h << "<td class=\"num\">";
            if (it->measured != "null")
                h << format_rendered(it->measured, u) << " ";
            h << outcome_span(*it) << "</td>";
        }
        h << "</tr>\n";
    }
    h << "</table>\n";
}

std::string comparison_html(const std::vector<RunResult>& runs, const fs::path& parent) {
    std::ostringstream h;
    const std::string scenario = runs.front().summary.scenario;
    h << head("lwipsim: " + scenario + " (comparison)", true) << "<h1>" << esc(scenario) << ": "
      << runs.size() << " variants</h1>\n<h2>Variants</h2>\n<table id=\"variants\">\n<tr>"
      << kVariantColumns;
    std::vector<const Summary*> summaries;
    for (const RunResult& r : runs) {
        variant_row(h, "", r.summary, url_segment(r.dir.filename().string()) + "/report.html");
        summaries.push_back(&r.summary);
    }
    h << "</table>\n";
    h << "<h2>Expectations</h2>\n";
    expectation_matrix(h, summaries);
    h << comparison_charts_html(runs);
    plots_section(h, parent, "cmp");
    h << "</body>\n</html>\n";
    return h.str();
}

// The sweep table: one row per run (point, variant) with its key figures, linking each run's
// report and each point's comparison; runs that did not complete show why.
std::string sweep_html(const Sweep& sweep) {
    std::ostringstream h;
    h << head("lwipsim: " + sweep.scenario + " (sweep)") << "<h1>" << esc(sweep.scenario)
      << ": sweep of " << sweep.rows.size() << " runs</h1>\n<h2>Runs</h2>\n"
      << "<table id=\"sweep\">\n<tr><th>point</th>" << kVariantColumns;
    for (const SweepRow& row : sweep.rows) {
        const std::string point_href = url_segment(row.point);
        const std::string point_cell =
            "<td><a href=\"" + point_href + "/report.html\">" + esc(row.point) + "</a></td>";
        const fs::path summary = sweep.dir / row.point / row.variant / "summary.json";
        std::error_code ec;
        if (!fs::is_regular_file(summary, ec)) {
            h << "<tr>" << point_cell << "<td>" << esc(row.variant) << "</td><td>"
              << status_span("error") << "</td><td colspan=\"8\">"
              << esc(row.error.empty() ? "no summary.json" : row.error) << "</td></tr>\n";
            continue;
        }
        variant_row(h, point_cell, load_summary(summary),
                    point_href + "/" + url_segment(row.variant) + "/report.html");
    }
    h << "</table>\n<p>The same table as CSV: <a href=\"sweep.csv\">sweep.csv</a>.</p>\n"
      << "</body>\n</html>\n";
    return h.str();
}

fs::path write_parent_report(const fs::path& dir) {
    const auto folders = variant_folders(dir);
    if (folders.empty())
        throw ReportError(
            dir.string() +
            ": not a result folder (no summary.json) and no variant subfolder has one");
    std::vector<RunResult> runs;
    for (const fs::path& f : folders) {
        runs.push_back(load_run(f));
        write_text(f / "report.html", run_report_html(runs.back()));
    }
    const fs::path out = dir / "report.html";
    write_text(out, comparison_html(runs, dir));
    return out;
}

} // namespace

std::string inline_svg(const std::string& svg_text, const std::string& id_prefix) {
    const auto start = svg_text.find("<svg");
    if (start == std::string::npos)
        throw ReportError("not an SVG document (no <svg element)");
    std::string svg = svg_text.substr(start);
    svg = std::regex_replace(svg, std::regex(R"(\s*xmlns:xlink=("[^"]*"|'[^']*'))"), "");
    svg = std::regex_replace(svg, std::regex("xlink:href="), "href=");
    svg = std::regex_replace(svg, std::regex(R"(\bid=(["']))"), "id=$1" + id_prefix);
    svg = std::regex_replace(svg, std::regex(R"(href=(["'])#)"), "href=$1#" + id_prefix);
    svg = std::regex_replace(svg, std::regex(R"(url\(#)"), "url(#" + id_prefix);
    return svg;
}

std::string run_report_html(const RunResult& run) {
    const Summary& s = run.summary;
    const double length = run.run_length_s();
    std::ostringstream h;
    h << head("lwipsim: " + s.scenario + " / " + s.variant, true) << "<h1>" << esc(s.scenario)
      << " / " << esc(s.variant) << ": " << status_span(s.status) << "</h1>\n";

    std::size_t alive = 0;
    for (const PcbRecord& p : s.pcbs)
        alive += p.freed_at_s ? 0 : 1;
    h << "<h2>Summary</h2>\n<table id=\"summary\">\n";
    const std::pair<std::string, std::string> rows[] = {
        {"status", status_span(s.status)},
        {"scenario", esc(s.scenario)},
        {"variant", esc(s.variant)},
        {"seed", esc(s.seed)},
        {"profile", esc(s.profile)},
        {"virtual time", seconds(s.sim_time_s)},
        {"wall time", seconds(s.wall_time_s)},
        {"heap budget [B]", s.heap.unlimited ? "unlimited (no budget in the scenario)"
                                             : std::to_string(s.heap.budget)},
        {"free at baseline [B]", free_cell(s.heap, s.heap.baseline_free)},
        {"minimum free [B]", free_cell(s.heap, s.heap.min_free)},
        {"free at end [B]", free_cell(s.heap, s.heap.final_free)},
        {"peak used [B]", std::to_string(s.heap.peak_used())},
        {"used at end [B]", std::to_string(s.heap.final_used())},
        {"allocation failures", std::to_string(s.heap.alloc_failures)},
        {"PCBs (alive at end)", std::to_string(s.pcbs.size()) + " (" + std::to_string(alive) + ")"},
    };
    for (const auto& [k, v] : rows)
        h << "<tr><th>" << esc(k) << "</th><td>" << v << "</td></tr>\n";
    h << "</table>\n";
    h << run_charts_html(run);

    h << "<h2>Expectations</h2>\n";
    if (s.expectations.empty()) {
        h << "<p class=\"missing\">none</p>\n";
    } else {
        h << "<table id=\"expectations\">\n<tr><th>metric</th><th>op</th><th>expected</th>"
          << "<th>measured</th><th>result</th></tr>\n";
        expectation_rows(h, s);
        h << "</table>\n";
    }

    h << "<h2>Options in force</h2>\n";
    key_value_table(h, "options", s.options);

    plots_section(h, run.dir, "p");

    h << "<h2>TCP PCBs</h2>\n<table id=\"pcbs\">\n<tr><th>id</th><th>local port</th>"
      << "<th>remote port</th><th>opened</th><th>closed</th><th>freed</th>"
      << "<th>close&rarr;free</th><th>reason</th><th>retransmissions</th><th>states</th></tr>\n";
    for (const PcbRecord& p : s.pcbs) {
        std::string states;
        for (const PcbStateChange& st : p.states)
            states += (states.empty() ? "" : " &rarr; ") + esc(st.state);
        h << "<tr id=\"pcb-" << p.id << "\"><td class=\"num\">" << p.id << "</td><td class=\"num\">"
          << p.local_port << "</td><td class=\"num\">" << p.remote_port << "</td><td class=\"num\">"
          << seconds(p.opened_at_s) << "</td><td class=\"num\">" << opt_seconds(p.closed_at_s)
          << "</td><td class=\"num\">" << opt_seconds(p.freed_at_s) << "</td><td class=\"num\">"
          << close_to_free(p, length) << "</td><td>"
          << (p.free_reason ? esc(*p.free_reason) : "&mdash;") << "</td><td class=\"num\">"
          << p.retransmissions << "</td><td>" << states << "</td></tr>\n";
    }
    h << "</table>\n";

    h << "<h2>Heap by subsystem</h2>\n<table id=\"heap\">\n<tr><th>subsystem</th>"
      << "<th>in use [B]</th><th>peak [B]</th><th>allocations</th><th>failures</th></tr>\n";
    for (const SubsystemHeap& sub : s.heap.by_subsystem)
        h << "<tr><td>" << esc(sub.name) << "</td><td class=\"num\">" << sub.in_use
          << "</td><td class=\"num\">" << sub.peak << "</td><td class=\"num\">" << sub.allocs
          << "</td><td class=\"num\">" << sub.failures << "</td></tr>\n";
    h << "</table>\n";

    h << "<h2>Faults</h2>\n";
    if (s.faults.empty()) {
        h << "<p class=\"missing\">none</p>\n";
    } else {
        h << "<table id=\"faults\">\n<tr><th>name</th><th>type</th><th>windows</th></tr>\n";
        for (const FaultRecord& f : s.faults) {
            std::string windows;
            for (auto [a, b] : f.windows)
                windows += (windows.empty() ? "" : ", ") + seconds(a) + " &ndash; " + seconds(b);
            h << "<tr><td>" << esc(f.name) << "</td><td>" << esc(f.type) << "</td><td>" << windows
              << "</td></tr>\n";
        }
        h << "</table>\n";
    }

    h << "<h2>Application</h2>\n";
    key_value_table(h, "app", s.app, true);
    h << "<h2>Time</h2>\n";
    key_value_table(h, "time", s.time, true);
    files_section(h, run.dir);
    h << "</body>\n</html>\n";
    return h.str();
}

fs::path write_report(const fs::path& dir) {
    if (is_run_folder(dir)) {
        const RunResult run = load_run(dir);
        const fs::path out = dir / "report.html";
        write_text(out, run_report_html(run));
        return out;
    }
    if (is_sweep_folder(dir)) {
        const Sweep sweep = load_sweep(dir);
        for (const fs::path& point : sweep.points())
            write_parent_report(point);
        const fs::path out = dir / "report.html";
        write_text(out, sweep_html(sweep));
        return out;
    }
    return write_parent_report(dir);
}

fs::path render_results(const fs::path& dir, const PlotOptions& options) {
    auto plot_parent = [&](const fs::path& parent) {
        for (const fs::path& f : variant_folders(parent))
            plot_run(f, options);
        plot_comparison(parent, options);
    };
    if (is_run_folder(dir)) {
        plot_run(dir, options);
    } else if (is_sweep_folder(dir)) {
        for (const fs::path& point : load_sweep(dir).points())
            plot_parent(point);
    } else {
        plot_parent(dir);
    }
    return write_report(dir);
}

} // namespace lwipsim::report
