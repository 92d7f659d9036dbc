// lwipsim diff's comparison (harness/report/metric_diff): tolerances and what counts as a move,
// on synthetic result folders whose summary.json carries a `metrics` object (docs/results.md).

#include <string>

#include <gtest/gtest.h>

#include "harness/report/errors.h"
#include "harness/report/metric_diff.h"
#include "tests/unit/report_test_support.h"

namespace lwipsim::report {
namespace {

using test_support::read_file;
using test_support::SyntheticRun;
using test_support::TempDir;
using test_support::write_file;
using test_support::write_run_folder;
namespace fs = std::filesystem;

// A run folder whose summary.json has `metrics` with the given JSON members.
void write_with_metrics(const fs::path& dir, const std::string& variant,
                        const std::string& metrics) {
    SyntheticRun r;
    r.variant = variant;
    write_run_folder(dir, r);
    std::string summary = read_file(dir / "summary.json");
    const auto end = summary.rfind('}');
    summary.replace(end, 1, ", \"metrics\": {" + metrics + "}}");
    write_file(dir / "summary.json", summary);
}

const MetricDiff& row(const DiffResult& d, const std::string& metric) {
    for (const MetricDiff& m : d.rows)
        if (m.metric == metric)
            return m;
    throw std::runtime_error("no row " + metric);
}

TEST(MetricDiff, ToleranceTextIsParsed) {
    auto [m1, t1] = parse_tolerance("heap.min_free=2%");
    EXPECT_EQ(m1, "heap.min_free");
    EXPECT_TRUE(t1.relative);
    EXPECT_DOUBLE_EQ(t1.amount, 0.02);
    auto [m2, t2] = parse_tolerance("tcp.retransmissions=3");
    EXPECT_EQ(m2, "tcp.retransmissions");
    EXPECT_FALSE(t2.relative);
    EXPECT_DOUBLE_EQ(t2.amount, 3);
    for (const char* bad : {"heap.min_free", "=2%", "heap.nonsense=1%", "heap.min_free=-1",
                            "heap.min_free=abc", "heap.min_free=%"})
        EXPECT_THROW(parse_tolerance(bad), std::invalid_argument) << bad;
}

TEST(MetricDiff, DefaultsFollowTheMetricsUnit) {
    EXPECT_EQ(default_tolerance("tcp.retransmissions").text(), "0");
    EXPECT_EQ(default_tolerance("heap.min_free").text(), "1%");
    EXPECT_EQ(default_tolerance("pcbs.max_close_to_free_s").text(), "1%");
    EXPECT_EQ(default_tolerance("app.connected_fraction").text(), "0.01");
}

TEST(MetricDiff, MovesPastTheToleranceOnly) {
    TempDir tmp;
    write_with_metrics(tmp.path() / "old" / "v", "v",
                       "\"tcp.retransmissions\": 10, \"heap.min_free\": 10000, "
                       "\"heap.max_used\": 40000, \"pcbs.max_close_to_free_s\": null, "
                       "\"app.max_reconnect_s\": 12.0, \"app.connected_fraction\": 0.5");
    write_with_metrics(tmp.path() / "new" / "v", "v",
                       "\"tcp.retransmissions\": 11, \"heap.min_free\": 10050, "
                       "\"heap.max_used\": 40500, \"pcbs.max_close_to_free_s\": 3.5, "
                       "\"app.max_reconnect_s\": 12.0, \"link.frames_dropped\": 4");
    const DiffResult d = diff_results(tmp.path() / "old", tmp.path() / "new");
    EXPECT_TRUE(row(d, "tcp.retransmissions").moved);      // a count: any change
    EXPECT_FALSE(row(d, "heap.min_free").moved);           // +0.5 % of 10000 < 1 %
    EXPECT_TRUE(row(d, "heap.max_used").moved);            // +1.25 % > 1 %
    EXPECT_TRUE(row(d, "pcbs.max_close_to_free_s").moved); // null -> 3.5: became measurable
    EXPECT_EQ(change_text(row(d, "pcbs.max_close_to_free_s")), "became measurable");
    EXPECT_FALSE(row(d, "app.max_reconnect_s").moved);
    EXPECT_FALSE(row(d, "app.connected_fraction").moved); // only in the baseline: not judged
    EXPECT_FALSE(row(d, "app.connected_fraction").in_new);
    EXPECT_FALSE(row(d, "link.frames_dropped").in_old);
    EXPECT_EQ(d.moved(), 3u);
    EXPECT_EQ(change_text(row(d, "heap.max_used")), "+500 (+1.2%)");

    // A tolerance from the command line replaces the default.
    const DiffResult wide = diff_results(
        tmp.path() / "old", tmp.path() / "new",
        {parse_tolerance("heap.max_used=2%"), parse_tolerance("tcp.retransmissions=1")});
    EXPECT_FALSE(row(wide, "heap.max_used").moved);
    EXPECT_FALSE(row(wide, "tcp.retransmissions").moved);
    EXPECT_EQ(wide.moved(), 1u);
}

TEST(MetricDiff, RunsMustMatchAndFoldersMustBeResults) {
    TempDir tmp;
    write_with_metrics(tmp.path() / "old" / "linger_off", "linger_off", "\"tcp.rst_sent\": 1");
    write_with_metrics(tmp.path() / "new" / "linger_0", "linger_0", "\"tcp.rst_sent\": 1");
    try {
        diff_results(tmp.path() / "old", tmp.path() / "new");
        FAIL() << "mismatched variants accepted";
    } catch (const ReportError& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("[linger_off]"), std::string::npos) << msg;
        EXPECT_NE(msg.find("[linger_0]"), std::string::npos) << msg;
    }
    // Two single variant folders are paired whatever their names.
    EXPECT_EQ(diff_results(tmp.path() / "old" / "linger_off", tmp.path() / "new" / "linger_0")
                  .rows.size(),
              1u);
    fs::create_directories(tmp.path() / "empty");
    EXPECT_THROW(diff_results(tmp.path() / "empty", tmp.path() / "new"), ReportError);
    EXPECT_THROW(diff_results(tmp.path() / "missing", tmp.path() / "new"), ReportError);
    write_file(tmp.path() / "new" / "linger_0" / "summary.json", "{\"status\": ");
    EXPECT_THROW(diff_results(tmp.path() / "new", tmp.path() / "new"), ReportError);
}

} // namespace
} // namespace lwipsim::report
