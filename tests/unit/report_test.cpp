#include <algorithm>
#include <cstdlib>
#include <functional>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness/report/errors.h"
#include "harness/report/html_report.h"
#include "harness/report/plots.h"
#include "harness/report/time_axis.h"
#include "tests/unit/report_test_support.h"

namespace lwipsim::report {
namespace {

using test_support::read_file;
using test_support::SyntheticRun;
using test_support::TempDir;
using test_support::write_file;
using test_support::write_run_folder;
namespace fs = std::filesystem;

// Number of points in each subpath ("M x,y L x,y x,y ...") of every <path d='...'> inside the
// SVG group gnuplot writes for the plot titled `title`.
//
// How gnuplot 5.4's svg terminal writes a `with lines` plot: each plot clause becomes
//   <g id="gnuplot_plot_K" ><title>TITLE</title> ... <path stroke='...' d='M.. L.. ..'/></g>
// and the path first draws the legend sample ("M x1,y L x2,y", 2 points), then moves (M) to
// the first data point and continues with one "L x,y" (later just "x,y") per further sample.
// A data point that is undefined or clipped would start a new subpath; our data has none.
std::vector<int> subpath_points(const std::string& svg, const std::string& title) {
    const std::string head = "<title>" + title + "</title>";
    const auto start = svg.find(head);
    if (start == std::string::npos)
        return {};
    auto end = svg.find("<g id=\"gnuplot_plot_", start);
    if (end == std::string::npos)
        end = svg.size();
    const std::string group = svg.substr(start, end - start);
    std::vector<int> counts;
    static const std::regex d_attr(R"(\sd='([^']*)')");
    static const std::regex pair(R"(-?[0-9.]+,-?[0-9.]+)");
    for (std::sregex_iterator it(group.begin(), group.end(), d_attr), e; it != e; ++it) {
        const std::string d = (*it)[1];
        std::size_t pos = 0;
        while ((pos = d.find('M', pos)) != std::string::npos) {
            const auto next = d.find('M', pos + 1);
            const std::string sub =
                d.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
            counts.push_back(static_cast<int>(std::distance(
                std::sregex_iterator(sub.begin(), sub.end(), pair), std::sregex_iterator())));
            pos = pos + 1;
        }
    }
    return counts;
}

TEST(ReportTimeAxis, UnitFollowsRunLength) {
    // Brief: seconds up to ~3 min, minutes up to ~3 h, hours beyond.
    EXPECT_EQ(choose_time_unit(60).name, "s");
    EXPECT_EQ(choose_time_unit(180).name, "s");
    EXPECT_EQ(choose_time_unit(181).name, "min");
    EXPECT_EQ(choose_time_unit(3600).name, "min");
    EXPECT_EQ(choose_time_unit(10800).name, "min");
    EXPECT_EQ(choose_time_unit(10801).name, "h");
    EXPECT_EQ(choose_time_unit(36000).name, "h");
    EXPECT_DOUBLE_EQ(choose_time_unit(3600).seconds_per_unit, 60.0);
    EXPECT_DOUBLE_EQ(choose_time_unit(36000).seconds_per_unit, 3600.0);
}

TEST(ReportPlots, WritesImagesScriptsAndData) {
    TempDir tmp;
    write_run_folder(tmp.path(), {});
    const PlotResult r = plot_run(tmp.path());
    EXPECT_EQ(r.images.size(), 8u); // 4 plots x {svg, png}
    for (const char* name : {"heap", "closed_pcb_heap", "pcb_timeline", "pcb_states"}) {
        const fs::path dir = tmp.path() / "plots";
        EXPECT_TRUE(fs::exists(dir / (std::string(name) + ".gp"))) << name;
        const std::string png = read_file(dir / (std::string(name) + ".png"));
        // PNG signature (RFC 2083, 3.1): the file is a PNG, not an error text.
        ASSERT_GE(png.size(), 8u) << name;
        EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << name;
        const std::string svg = read_file(dir / (std::string(name) + ".svg"));
        EXPECT_NE(svg.find("<svg"), std::string::npos) << name;
    }
    EXPECT_TRUE(fs::exists(tmp.path() / "plots" / "heap_1_linger_off.dat"));
    EXPECT_TRUE(fs::exists(tmp.path() / "plots" / "pcb_timeline.dat"));
}

TEST(ReportPlots, HeapSeriesHasOnePointPerSample) {
    TempDir tmp;
    SyntheticRun run;
    run.rows = 37;
    write_run_folder(tmp.path(), run);
    PlotOptions opt;
    opt.png = false;
    opt.pcb_timeline = opt.pcb_states = false;
    plot_run(tmp.path(), opt);
    const auto counts = subpath_points(read_file(tmp.path() / "plots" / "heap.svg"), "linger_off");
    // Legend sample (2 points), then the data line with one point per timeseries.csv row.
    ASSERT_EQ(counts.size(), 2u);
    EXPECT_EQ(counts[0], 2);
    EXPECT_EQ(counts[1], 37);
}

TEST(ReportPlots, ComparisonDrawsEachVariantWithItsOwnSamples) {
    TempDir tmp;
    SyntheticRun a, b;
    a.variant = "linger_off";
    a.rows = 40;
    b.variant = "linger_0";
    b.rows = 25;
    write_run_folder(tmp.path() / "linger_off", a);
    write_run_folder(tmp.path() / "linger_0", b);
    PlotOptions opt;
    opt.png = false;
    plot_comparison(tmp.path(), opt);
    const std::string svg = read_file(tmp.path() / "plots" / "heap.svg");
    EXPECT_EQ(subpath_points(svg, "linger_off"), (std::vector<int>{2, 40}));
    EXPECT_EQ(subpath_points(svg, "linger_0"), (std::vector<int>{2, 25}));
    // Both variants' PCBs are on the timeline, labelled with the variant.
    const std::string timeline = read_file(tmp.path() / "plots" / "pcb_timeline.svg");
    EXPECT_NE(timeline.find("linger_0 #1 :49152->8883"), std::string::npos);
    EXPECT_NE(timeline.find("linger_off #3 :49154->8883"), std::string::npos);
}

TEST(ReportPlots, AxisLabelCarriesTheChosenUnit) {
    for (const auto& [length, unit] : std::vector<std::pair<double, std::string>>{
             {60.0, "s"}, {3600.0, "min"}, {36000.0, "h"}}) {
        TempDir tmp;
        SyntheticRun run;
        run.sim_time_s = length;
        write_run_folder(tmp.path(), run);
        PlotOptions opt;
        opt.png = false;
        opt.pcb_timeline = opt.pcb_states = false;
        plot_run(tmp.path(), opt);
        const std::string svg = read_file(tmp.path() / "plots" / "heap.svg");
        EXPECT_NE(svg.find("virtual time [" + unit + "]"), std::string::npos) << length;
    }
}

TEST(ReportHtml, ListsEveryPcbAndExpectationWithoutExternalResources) {
    TempDir tmp;
    write_run_folder(tmp.path(), {});
    const fs::path html_file = render_results(tmp.path());
    EXPECT_EQ(html_file, tmp.path() / "report.html");
    const std::string html = read_file(html_file);

    // One row per PCB of summary.json, with its ports and reason.
    for (const char* row :
         {"<tr id=\"pcb-1\"><td class=\"num\">1</td><td class=\"num\">49152</td>",
          "<tr id=\"pcb-2\"><td class=\"num\">2</td><td class=\"num\">49153</td>",
          "<tr id=\"pcb-3\"><td class=\"num\">3</td><td class=\"num\">49154</td>"})
        EXPECT_NE(html.find(row), std::string::npos) << row;
    EXPECT_NE(html.find("retransmissions_exhausted"), std::string::npos);
    // Close-to-free of PCB 1: freed 42.5 s - closed 10.0 s = 32.5 s.
    EXPECT_NE(html.find("32.500 s"), std::string::npos);
    // PCB 2 closed at 20 s and never freed in a 60 s run: at least 40 s.
    EXPECT_NE(html.find("not freed (&ge; 40.000 s)"), std::string::npos);

    for (const char* metric :
         {"heap.min_free", "app.alloc_failures_tls", "pcbs.max_close_to_free_s"})
        EXPECT_NE(html.find("<td>" + std::string(metric) + "</td>"), std::string::npos) << metric;
    // Measured values with their unit (heap metrics in bytes, _s metrics in seconds).
    EXPECT_NE(html.find("<td class=\"num\">61,000 B</td>"), std::string::npos);
    EXPECT_NE(html.find("<td class=\"num\">32.5 s</td>"), std::string::npos);
    // Options in force, as written in summary.json.
    EXPECT_NE(html.find("<tr><th>LWIP_SO_LINGER</th><td>0</td></tr>"), std::string::npos);
    EXPECT_NE(html.find("<tr><th>linger</th><td>off</td></tr>"), std::string::npos);

    // Plots are inline; the only absolute URLs allowed are the SVG namespace name and the
    // licence named in the inlined chart library's comment (nothing is fetched from either).
    std::size_t svgs = 0;
    for (std::size_t p = 0; (p = html.find("<svg", p)) != std::string::npos; ++p)
        ++svgs;
    EXPECT_EQ(svgs, 4u); // heap, closed_pcb_heap, pcb_timeline, pcb_states (plots.h)
    static const std::regex url(R"(https?://[^"'\s)<>]*)");
    for (std::sregex_iterator it(html.begin(), html.end(), url), e; it != e; ++it) {
        if (it->str() != "http://www.w3.org/2000/svg") {
            EXPECT_TRUE(it->str().ends_with("/LICENSE.txt")) << it->str();
        }
    }
    // Scripts are inline only: no src, no stylesheet links, no source map references.
    EXPECT_EQ(html.find("<script src"), std::string::npos);
    EXPECT_EQ(html.find("<link"), std::string::npos);
    EXPECT_EQ(html.find("sourceMappingURL"), std::string::npos);
    EXPECT_EQ(html.find("xlink:"), std::string::npos);
    EXPECT_EQ(html.find(" src="), std::string::npos); // as an attribute (the library has ".src=")
    // Captures and logs are linked relatively.
    for (const char* link : {"href=\"device.pcap\"", "href=\"wire.pcap\"", "href=\"tls-keys.log\"",
                             "href=\"broker.log\"", "href=\"run.log\"", "href=\"pcbs.csv\""})
        EXPECT_NE(html.find(link), std::string::npos) << link;
}

TEST(ReportHtml, ComparisonLinksEachVariantReport) {
    TempDir tmp;
    SyntheticRun a, b;
    a.variant = "linger_off";
    b.variant = "linger_10s";
    write_run_folder(tmp.path() / "linger_off", a);
    write_run_folder(tmp.path() / "linger_10s", b);
    const fs::path top = render_results(tmp.path());
    EXPECT_EQ(top, tmp.path() / "report.html");
    const std::string html = read_file(top);
    EXPECT_NE(html.find("href=\"linger_off/report.html\""), std::string::npos);
    EXPECT_NE(html.find("href=\"linger_10s/report.html\""), std::string::npos);
    EXPECT_TRUE(fs::exists(tmp.path() / "linger_off" / "report.html"));
    EXPECT_TRUE(fs::exists(tmp.path() / "linger_10s" / "report.html"));
    // Expectations side by side: one row per expectation (3), one cell per variant (2).
    const auto table = html.substr(html.find("<table id=\"expectations\">"));
    std::size_t rows = 0;
    for (std::size_t p = 0; (p = table.find("<tr><td>", p)) != std::string::npos; ++p)
        ++rows;
    EXPECT_EQ(rows, 3u);
    EXPECT_NE(table.find("<th>expectation</th><th>linger_10s</th><th>linger_off</th>"),
              std::string::npos);
    EXPECT_NE(table.find("<tr><td>heap.min_free &ge; 70,000 B</td><td class=\"num\">61,000 B "
                         "<span class=\"failed\">failed</span></td><td class=\"num\">61,000 B "
                         "<span class=\"failed\">failed</span></td></tr>"),
              std::string::npos);
}

// The numbers a reader saw in report.html: a JSON double printed with all its digits and
// "null" for a metric the run could not measure.
TEST(ReportHtml, NumbersAreFormattedAndNullIsNotMeasurable) {
    TempDir tmp;
    write_run_folder(tmp.path(), {});
    std::string summary = read_file(tmp.path() / "summary.json");
    auto replace = [&](const std::string& from, const std::string& to) {
        const auto at = summary.find(from);
        ASSERT_NE(at, std::string::npos) << from;
        summary.replace(at, from.size(), to);
    };
    replace("\"measured\": 32.5", "\"measured\": 45.152000000000015");
    replace("\"measured\": 2,", "\"measured\": null,");
    replace("\"messages_received\": 4}", "\"messages_received\": 4, \"max_reconnect_s\": null, "
                                         "\"connected_fraction\": 0.99612345678}");
    write_file(tmp.path() / "summary.json", summary);
    const std::string html = read_file(write_report(tmp.path()));
    EXPECT_EQ(html.find("45.152000000000015"), std::string::npos);
    EXPECT_NE(html.find("<td class=\"num\">45.152 s</td>"), std::string::npos);
    EXPECT_EQ(html.find(">null<"), std::string::npos);
    // The null measurement: shown as such, and its outcome says why it failed.
    EXPECT_NE(html.find("<td class=\"num\">not measurable</td><td><span class=\"failed\">not "
                        "measurable</span>"),
              std::string::npos);
    EXPECT_NE(html.find("<tr><th>max_reconnect_s</th><td>not measurable</td></tr>"),
              std::string::npos);
    EXPECT_NE(html.find("<tr><th>connected_fraction</th><td>0.9961</td></tr>"), std::string::npos);
    EXPECT_NE(html.find("<tr><th>skipped_s</th><td>50.5 s</td></tr>"), std::string::npos);
    EXPECT_NE(html.find("<tr><th>jumps</th><td>100</td></tr>"), std::string::npos);
}

// A heap peak between two samples (a TLS handshake lasts milliseconds, samples come every
// second): the plot's data carries each interval's lowest and highest free heap, so the plot
// reaches the run's minimum.
TEST(ReportPlots, HeapPlotReachesThePeakBetweenSamples) {
    TempDir tmp;
    SyntheticRun run;
    run.rows = 10;
    write_run_folder(tmp.path(), run);
    // Add the two columns: in use stays at `used` except for row 4, where it reached
    // used + 30000 between the samples and row 6, where it dipped by 1000.
    std::istringstream in(read_file(tmp.path() / "timeseries.csv"));
    std::ostringstream out;
    std::string line;
    std::getline(in, line);
    out << line << ",heap_used_min,heap_used_max\n";
    long peak_used = 0;
    for (int row = 0; std::getline(in, line); ++row) {
        const long used = std::stol(line.substr(line.find(',', line.find(',') + 1) + 1));
        const long hi = used + (row == 4 ? 30000 : 0);
        const long lo = used - (row == 6 ? 1000 : 0);
        peak_used = std::max(peak_used, hi);
        out << line << ',' << lo << ',' << hi << '\n';
    }
    write_file(tmp.path() / "timeseries.csv", out.str());
    PlotOptions opt;
    opt.png = false;
    opt.pcb_timeline = opt.pcb_states = false;
    plot_run(tmp.path(), opt);
    std::istringstream dat(read_file(tmp.path() / "plots" / "heap_1_linger_off.dat"));
    double lowest = 1e18, highest = 0;
    std::size_t rows = 0;
    while (std::getline(dat, line)) {
        if (line.empty() || line[0] == '#')
            continue;
        std::istringstream cols(line);
        double t = 0, free = 0, low = 0, high = 0;
        ASSERT_TRUE(cols >> t >> free >> low >> high) << line;
        EXPECT_LE(low, free) << line;
        EXPECT_GE(high, free) << line;
        lowest = std::min(lowest, low);
        highest = std::max(highest, high);
        ++rows;
    }
    EXPECT_EQ(rows, 10u);
    EXPECT_EQ(lowest, static_cast<double>(run.budget - peak_used));
    // The band is drawn: a filled curve from columns 3 and 4.
    EXPECT_NE(read_file(tmp.path() / "plots" / "heap.gp")
                  .find("($3/1024.0):($4/1024.0) with "
                        "filledcurves"),
              std::string::npos);
}

// A sweep folder: each grid point is a multi-variant parent; the sweep's report.html is the
// table of all runs, a run that did not complete shown with its reason.
TEST(ReportHtml, SweepFolderGetsPointReportsAndTheSweepTable) {
    TempDir tmp;
    const fs::path d = tmp.path();
    SyntheticRun a;
    a.variant = "linger_0";
    write_run_folder(d / "app.keepalive=20s,seed=7" / "linger_0", a);
    write_run_folder(d / "app.keepalive=40s,seed=7" / "linger_0", a);
    write_file(d / "app.keepalive=60s,seed=7" / "linger_0.error.txt", "worker killed\n");
    write_file(d / "sweep.json",
               "{\"scenario\": \"hotspot_dropout\", \"rows\": ["
               "{\"point_name\": \"app.keepalive=20s,seed=7\", \"variant\": \"linger_0\", "
               "\"status\": \"failed\", \"error\": null},"
               "{\"point_name\": \"app.keepalive=40s,seed=7\", \"variant\": \"linger_0\", "
               "\"status\": \"failed\", \"error\": null},"
               "{\"point_name\": \"app.keepalive=60s,seed=7\", \"variant\": \"linger_0\", "
               "\"status\": \"error\", \"error\": \"worker killed by signal 9\"}]}\n");
    const fs::path top = render_results(d);
    EXPECT_EQ(top, d / "report.html");
    const std::string html = read_file(top);
    EXPECT_NE(html.find("href=\"app.keepalive%3D20s%2Cseed%3D7/linger_0/report.html\""),
              std::string::npos);
    EXPECT_NE(html.find("href=\"app.keepalive%3D40s%2Cseed%3D7/report.html\""), std::string::npos);
    EXPECT_NE(html.find("worker killed by signal 9"), std::string::npos);
    for (const char* p : {"app.keepalive=20s,seed=7", "app.keepalive=40s,seed=7"}) {
        EXPECT_TRUE(fs::exists(d / p / "report.html")) << p;
        EXPECT_TRUE(fs::exists(d / p / "linger_0" / "report.html")) << p;
        EXPECT_TRUE(fs::exists(d / p / "linger_0" / "plots" / "heap.svg")) << p;
    }
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const ReportError& e) {
        return e.what();
    }
    return "(no ReportError thrown)";
}

TEST(ReportErrors, MissingAndMalformedFilesAreNamed) {
    TempDir tmp;
    const fs::path dir = tmp.path() / "run";
    write_run_folder(dir, {});

    fs::remove(dir / "events.jsonl");
    EXPECT_NE(error_of([&] { plot_run(dir); }).find("events.jsonl: cannot open"),
              std::string::npos);

    write_file(dir / "events.jsonl",
               "{\"t_s\": 1, \"type\": \"app_close\"}\n{\"t_s\": 2, \"type\": \n");
    EXPECT_NE(error_of([&] { write_report(dir); }).find("events.jsonl:2: not valid JSON"),
              std::string::npos);
    write_file(dir / "events.jsonl", "{\"type\": \"app_close\"}\n");
    EXPECT_NE(
        error_of([&] { write_report(dir); }).find("events.jsonl:1: missing or non-numeric \"t_s\""),
        std::string::npos);
    write_file(dir / "events.jsonl", "");

    const std::string csv = read_file(dir / "timeseries.csv");
    std::string broken = csv;
    // Second data row (line 3 of the file): replace its first cell by a word.
    const auto line3 = broken.find('\n', broken.find('\n') + 1) + 1;
    broken.replace(line3, broken.find(',', line3) - line3, "soon");
    write_file(dir / "timeseries.csv", broken);
    EXPECT_NE(error_of([&] {
                  write_report(dir);
              }).find("timeseries.csv:3: column 't_s': not a number: 'soon'"),
              std::string::npos);
    write_file(dir / "timeseries.csv", "t_s,free\n0,1\n");
    EXPECT_NE(
        error_of([&] { write_report(dir); }).find("timeseries.csv:1: header lacks column 'used'"),
        std::string::npos);
    write_file(dir / "timeseries.csv", csv);

    const std::string summary = read_file(dir / "summary.json");
    write_file(dir / "summary.json", "{\n\"status\": \"passed\",\n\"scenario\": }\n");
    EXPECT_NE(error_of([&] { write_report(dir); }).find("summary.json:3: not valid JSON"),
              std::string::npos);
    std::string no_heap = summary;
    no_heap.replace(no_heap.find("\"heap\""), 6, "\"heapx\"");
    write_file(dir / "summary.json", no_heap);
    EXPECT_NE(error_of([&] { write_report(dir); }).find("summary.json: $: missing key 'heap'"),
              std::string::npos);
    std::string bad_pcb = summary;
    bad_pcb.replace(bad_pcb.find("\"local_port\": 49153"), 19, "\"local_port\": \"x\"");
    write_file(dir / "summary.json", bad_pcb);
    EXPECT_NE(error_of([&] {
                  write_report(dir);
              }).find("summary.json: $.pcbs[1].local_port: expected an integer"),
              std::string::npos);
    fs::remove(dir / "summary.json");
    EXPECT_NE(error_of([&] { plot_run(dir); }).find("summary.json: cannot open"),
              std::string::npos);

    EXPECT_NE(error_of([&] { write_report(tmp.path() / "nowhere"); }).find("not a result folder"),
              std::string::npos);
}

TEST(ReportErrors, MissingGnuplotIsAnEnvironmentError) {
    TempDir tmp;
    write_run_folder(tmp.path(), {});
    PlotOptions opt;
    opt.gnuplot = "/nonexistent/gnuplot";
    EXPECT_THROW(plot_run(tmp.path(), opt), EnvironmentError);
}

TEST(ReportErrors, GnuplotErrorsAreSurfaced) {
    TempDir tmp;
    write_run_folder(tmp.path(), {});
    PlotOptions opt;
    opt.png_terminal = "no_such_terminal";
    opt.svg = false;
    const std::string msg = error_of([&] { plot_run(tmp.path(), opt); });
    EXPECT_NE(msg.find("gnuplot failed on"), std::string::npos) << msg;
    EXPECT_NE(msg.find("heap.gp"), std::string::npos) << msg;
    EXPECT_NE(msg.find("unknown or ambiguous terminal type"), std::string::npos) << msg;
}

TEST(ReportHtml, InlineSvgDropsPrologAndPrefixesIds) {
    const std::string svg =
        "<?xml version=\"1.0\"?>\n<!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" "
        "\"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd\">\n<svg "
        "xmlns=\"http://www.w3.org/2000/svg\"\n"
        " xmlns:xlink=\"http://www.w3.org/1999/xlink\">\n<path id='gpPt1'/><use "
        "xlink:href='#gpPt1' "
        "clip-path='url(#c1)'/></svg>";
    const std::string out = inline_svg(svg, "p3_");
    EXPECT_EQ(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\">\n<path id='p3_gpPt1'/><use href='#p3_gpPt1' "
        "clip-path='url(#p3_c1)'/></svg>");
}

} // namespace
} // namespace lwipsim::report

namespace lwipsim::report {
namespace {

// Sets an environment variable for one test, restoring the old value after.
class ScopedEnv {
  public:
    ScopedEnv(const char* name, const std::string& value) : name_(name) {
        if (const char* old = std::getenv(name))
            old_ = old;
        setenv(name, value.c_str(), 1);
    }
    ~ScopedEnv() {
        if (old_)
            setenv(name_, old_->c_str(), 1);
        else
            unsetenv(name_);
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

  private:
    const char* name_;
    std::optional<std::string> old_;
};

TEST(ReportCharts, MissingChartLibraryIsAnEnvironmentErrorNamingThePackage) {
    TempDir tmp;
    write_run_folder(tmp.path() / "run", {});
    ScopedEnv env("LWIPSIM_DYGRAPHS_DIR", (tmp.path() / "empty").string());
    try {
        write_report(tmp.path() / "run");
        FAIL() << "no error without the chart library";
    } catch (const EnvironmentError& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("dygraph.min."), std::string::npos) << msg;
        EXPECT_NE(msg.find("libjs-dygraphs"), std::string::npos) << msg;
    }
    // No half-written report.
    EXPECT_FALSE(fs::exists(tmp.path() / "run" / "report.html"));
}

TEST(ReportCharts, DataBlockHoldsEverySampleAndTheEventsToHover) {
    TempDir tmp;
    SyntheticRun r;
    r.rows = 37;
    write_run_folder(tmp.path(), r);
    const std::string html = read_file(write_report(tmp.path()));
    const auto start = html.find("<script type=\"application/json\" id=\"lwipsim-chart-data\">");
    ASSERT_NE(start, std::string::npos);
    const std::string data = html.substr(start, html.find("</script>", start) - start);
    // The stacked heap chart has one row per sample: [t, lwip, mbedtls, app]; the writer puts
    // 5000, 40000, 200 in every row.
    std::size_t rows = 0;
    for (std::size_t p = 0; (p = data.find(",5000.0,40000.0,200.0]", p)) != std::string::npos; ++p)
        ++rows;
    EXPECT_EQ(rows, 37u) << data.substr(0, 600);
    for (const char* ev : {"\"text\":\"fault_start cellular_drop\"", "\"text\":\"app_close\"",
                           "\"text\":\"tls_handshake_failed\"", "\"text\":\"alloc_failure\""})
        EXPECT_NE(data.find(ev), std::string::npos) << ev;
    // The fault window of summary.json (6 s .. 18 s of a 60 s run; axis in seconds).
    EXPECT_NE(data.find("\"faults\":[[6.0,18.0,\"cellular_drop\"]]"), std::string::npos);
    // No closed-PCB column in this folder: the chart is left out and the page says why.
    EXPECT_EQ(data.find("chart-closed-heap"), std::string::npos);
    EXPECT_NE(html.find("Heap held by closed PCBs: not recorded"), std::string::npos);
}

TEST(ReportCharts, ClosedPcbHeapColumnsGetTheirOwnChart) {
    TempDir tmp;
    write_run_folder(tmp.path(), {});
    // The runner's closed-PCB heap columns (docs/results.md): the total, then one per state;
    // one FIN_WAIT_1 PCB holding 1904 B.
    std::istringstream in(read_file(tmp.path() / "timeseries.csv"));
    std::ostringstream out;
    std::string line;
    const char* states[] = {"SYN_SENT",   "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2",
                            "CLOSE_WAIT", "CLOSING",     "LAST_ACK",   "TIME_WAIT"};
    for (bool header = true; std::getline(in, line); header = false) {
        out << line << (header ? ",closed_pcb_heap" : ",1904");
        for (const char* st : states) {
            if (header)
                out << ",closed_pcb_heap_" << st;
            else
                out << (std::string_view(st) == "FIN_WAIT_1" ? ",1904" : ",0");
        }
        out << '\n';
    }
    write_file(tmp.path() / "timeseries.csv", out.str());
    const std::string html = read_file(write_report(tmp.path()));
    EXPECT_NE(html.find("\"id\":\"chart-closed-heap\""), std::string::npos);
    // Stacked by state, and only the states: charting the total too would double the height.
    EXPECT_NE(html.find("\"labels\":[\"virtual time [s]\",\"SYN_SENT\",\"ESTABLISHED\","
                        "\"FIN_WAIT_1\",\"FIN_WAIT_2\",\"CLOSE_WAIT\",\"CLOSING\",\"LAST_ACK\","
                        "\"TIME_WAIT\"]"),
              std::string::npos);
    EXPECT_NE(html.find(",0.0,0.0,1904.0,0.0,0.0,0.0,0.0,0.0]"), std::string::npos);
    EXPECT_EQ(html.find(",1904.0,0.0,0.0,1904.0"), std::string::npos);
    EXPECT_EQ(html.find("Heap held by closed PCBs: not recorded"), std::string::npos);
}

} // namespace
} // namespace lwipsim::report
