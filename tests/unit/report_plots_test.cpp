#include <algorithm>
#include <cmath>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness/report/decimate.h"
#include "harness/report/handshake_need.h"
#include "harness/report/plots.h"
#include "tests/unit/report_test_support.h"

namespace lwipsim::report {
namespace {

using test_support::read_file;
using test_support::SyntheticPcb;
using test_support::SyntheticRun;
using test_support::TempDir;
using test_support::write_run_folder;
namespace fs = std::filesystem;

std::size_t count_of(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (std::size_t p = 0; (p = text.find(what, p)) != std::string::npos; p += what.size())
        ++n;
    return n;
}

// Values from a fixed linear congruential generator: noisy data with no structure the
// decimation could lean on.
std::vector<double> noise(std::size_t n, unsigned seed) {
    std::vector<double> v;
    unsigned x = seed;
    for (std::size_t i = 0; i < n; ++i) {
        x = x * 1103515245u + 12345u;
        v.push_back(static_cast<double>((x >> 8) % 100000));
    }
    return v;
}

TEST(PlotDecimation, KeepsEveryBucketsLowestAndHighestOfEachSeries) {
    const std::size_t n = 86400, buckets = 700;
    std::vector<double> t(n);
    for (std::size_t i = 0; i < n; ++i)
        t[i] = static_cast<double>(i); // a day at 1 s
    const std::vector<std::vector<double>> series = {noise(n, 1), noise(n, 2)};
    const auto kept = keep_extremes(t, series, buckets);
    ASSERT_TRUE(std::is_sorted(kept.begin(), kept.end()));
    EXPECT_EQ(kept.front(), 0u);
    EXPECT_EQ(kept.back(), n - 1);
    EXPECT_LE(kept.size(), 2 * buckets * series.size() + 2);
    // Independently: bucket b holds the rows with floor(t / span * buckets) == b.
    const double span = t.back() - t.front();
    for (const auto& v : series) {
        std::vector<double> lo(buckets, 1e300), hi(buckets, -1e300), kept_lo(buckets, 1e300),
            kept_hi(buckets, -1e300);
        auto bucket = [&](std::size_t i) {
            return std::min(buckets - 1, static_cast<std::size_t>(t[i] / span * buckets));
        };
        for (std::size_t i = 0; i < n; ++i) {
            lo[bucket(i)] = std::min(lo[bucket(i)], v[i]);
            hi[bucket(i)] = std::max(hi[bucket(i)], v[i]);
        }
        for (std::size_t i : kept) {
            kept_lo[bucket(i)] = std::min(kept_lo[bucket(i)], v[i]);
            kept_hi[bucket(i)] = std::max(kept_hi[bucket(i)], v[i]);
        }
        EXPECT_EQ(kept_lo, lo);
        EXPECT_EQ(kept_hi, hi);
    }
}

TEST(PlotDecimation, ShortSeriesStayWhole) {
    const std::vector<double> t = {0, 1, 2, 3, 4, 5};
    EXPECT_EQ(keep_extremes(t, {{5, 1, 4, 1, 5, 9}}, 3).size(), 6u);
}

TEST(PlotDecimation, StepSeriesKeepsOnlyChanges) {
    const std::vector<int> v = {1, 1, 1, 2, 2, 1, 1, 1};
    const auto kept =
        change_rows(v.size(), [&](std::size_t a, std::size_t b) { return v[a] == v[b]; });
    // First row, each change (rows 3 and 5), and the last row.
    EXPECT_EQ(kept, (std::vector<std::size_t>{0, 3, 5, 7}));
}

Sample row(double t, double used, double used_max, double budget) {
    Sample s{};
    s[kColTime] = t;
    s[kColUsed] = used;
    s[kColFree] = budget - used;
    s[kColUsedMin] = used;
    s[kColUsedMax] = used_max;
    return s;
}

TEST(HandshakeNeed, PeakOfTheCoveringIntervalsMinusUseBeforeTheConnection) {
    RunResult run;
    const double budget = 50000;
    run.samples = {row(0, 1000, 1000, budget), row(1, 2000, 2500, budget),
                   row(2, 9000, 39000, budget), row(3, 9000, 9000, budget),
                   row(4, 9000, 45000, budget)};
    // The connection opens at 1.5 s, its handshake succeeds at 2.0 s: the interval (1, 2] holds
    // the peak (39000 in use); before the connection, the row at 1 s had 2000 in use.
    run.events = {{1.5, "pcb_opened", ""}, {2.0, "tls_handshake_ok", ""}};
    const auto peaks = handshake_peaks(run);
    ASSERT_EQ(peaks.size(), 1u);
    EXPECT_EQ(peaks[0].need, 39000 - 2000);
    EXPECT_EQ(peaks[0].lowest_free, budget - 39000);
    // A second run with a bigger handshake: the need over both is the larger one.
    RunResult other = run;
    other.samples[2][kColUsedMax] = 41000;
    EXPECT_EQ(handshake_need({run, other}), 41000 - 2000);
    // No successful handshake: nothing measured, not 0.
    run.events = {{1.5, "pcb_opened", ""}, {2.0, "tls_handshake_failed", ""}};
    EXPECT_FALSE(handshake_need({run}).has_value());
}

PlotOptions svg_only() {
    PlotOptions opt;
    opt.png = false;
    return opt;
}

TEST(PlotLayout, OnePanelPerVariantAndEachFaultNamedOnce) {
    TempDir tmp;
    const std::vector<std::string> variants = {"linger_off", "linger_0", "linger_10s"};
    for (const std::string& v : variants) {
        SyntheticRun r;
        r.variant = v;
        write_run_folder(tmp.path() / v, r);
    }
    PlotOptions opt = svg_only();
    opt.pcb_timeline = false;
    plot_comparison(tmp.path(), opt);
    for (const char* plot : {"heap", "closed_pcb_heap", "pcb_states"}) {
        const std::string svg = read_file(tmp.path() / "plots" / (std::string(plot) + ".svg"));
        for (const std::string& v : variants) {
            // One panel title per variant: the heap panels add the variant's lowest free heap
            // (the legend names the curve "<variant>" too), the others are titled with the name.
            const std::string title = std::string(plot) == "heap"
                                          ? "<text>" + v + " \xe2\x80\x94 lowest free heap "
                                          : "<text>" + v + "</text>";
            EXPECT_EQ(count_of(svg, title), 1u) << plot << ": " << v;
        }
        // Shaded in every panel, named once (the synthetic fault has one window per run, the
        // same in all three).
        EXPECT_EQ(count_of(svg, ">cellular_drop</text>"), 1u) << plot;
        // The caption line, once.
        EXPECT_EQ(count_of(svg, "scenario hotspot_dropout  \xc2\xb7  seed 42  \xc2\xb7  profile "
                                "esp-idf-v4.4</text>"),
                  1u)
            << plot;
    }
}

TEST(PlotLayout, ClosedPcbHeapSaysNotRecordedForOldFolders) {
    TempDir tmp;
    write_run_folder(tmp.path(), {}); // timeseries.csv without the closed_pcb_heap columns
    PlotOptions opt = svg_only();
    opt.heap = opt.pcb_timeline = opt.pcb_states = false;
    plot_run(tmp.path(), opt);
    const std::string svg = read_file(tmp.path() / "plots" / "closed_pcb_heap.svg");
    EXPECT_NE(svg.find("not recorded"), std::string::npos);
}

TEST(PlotLayout, ManyPcbsShareLanesAndEveryPcbIsDrawn) {
    TempDir tmp;
    SyntheticRun r;
    r.sim_time_s = 3600;
    r.pcbs.clear();
    // 150 reconnects one after another, every 20th lingering (never freed): the linger_off
    // picture of the field case.
    for (int i = 0; i < 150; ++i) {
        const double open = 20.0 * i + 1;
        const bool leaks = i % 20 == 0;
        r.pcbs.push_back({i + 1, 49152 + i, open, open + 10, leaks ? -1 : open + 12,
                          leaks ? nullptr : "closed_normally"});
    }
    write_run_folder(tmp.path(), r);
    PlotOptions opt = svg_only();
    opt.heap = opt.closed_pcb_heap = opt.pcb_states = false;
    plot_run(tmp.path(), opt);
    const std::string gp = read_file(tmp.path() / "plots" / "pcb_timeline.gp");
    const auto tics = gp.find("set ytics (");
    ASSERT_NE(tics, std::string::npos);
    const std::string tic_list = gp.substr(tics, gp.find('\n', tics) - tics);
    const std::size_t rows = count_of(tic_list, "'#");
    // Packed in id order, a leak (never freed) ends its lane: 8 leaks (#1, #21, ... #141) close
    // 8 lanes, and the PCBs after the last leak fill a ninth.
    EXPECT_EQ(rows, 9u);
    // Every PCB's three states are drawn: 150 x (SYN_SENT, ESTABLISHED, FIN_WAIT_1) segments.
    const std::string dat = read_file(tmp.path() / "plots" / "pcb_timeline.dat");
    std::size_t segments = 0;
    std::istringstream lines(dat);
    for (std::string line; std::getline(lines, line);)
        segments += !line.empty() && line[0] != '#';
    EXPECT_EQ(segments, 150u * 3);
    EXPECT_NE(gp.find("150 PCBs in 9 lanes"), std::string::npos);
}

} // namespace
} // namespace lwipsim::report
