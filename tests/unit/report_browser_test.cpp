// Renders report.html in headless Chromium: the DOM a real browser builds from our HTML must
// hold the tables, and a screenshot must come out as a PNG of the requested size.
// Skipped, with the reason, where chromium is not installed (scripts/packages.txt lists it).

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness/report/html_report.h"
#include "sim/host/child_process.h"
#include "tests/support/png_pixels.h"
#include "tests/unit/report_test_support.h"

#include <algorithm>
#include <set>

namespace lwipsim::report {
namespace {

using test_support::read_file;
using test_support::TempDir;
using test_support::write_run_folder;
namespace fs = std::filesystem;

std::string find_chromium() {
    for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser"})
        if (fs::exists(p))
            return p;
    return {};
}

// Flags keep the browser off the network entirely: the page is a local file without external
// resources, background services are disabled, any host name fails to resolve and any proxied
// request would go to a closed port on 127.0.0.1.
std::vector<std::string> chromium_argv(const std::string& chromium, const fs::path& profile) {
    return {chromium,
            "--headless",
            "--disable-gpu",
            "--no-sandbox", // we run as root in CI containers
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--disable-extensions",
            "--disable-domain-reliability",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--proxy-server=127.0.0.1:9",
            "--user-data-dir=" + profile.string()};
}

// Chromium start-up on a shared 2-core machine can take tens of seconds; the bound only stops a
// hung browser (two runs stay within the test's CTest TIMEOUT of 300 s).
constexpr std::chrono::seconds kBrowserTimeout{120};

// Runs the browser in `dir`, its stdout and stderr appended to the given files.
host::CommandResult run_browser(const std::vector<std::string>& argv, const fs::path& dir,
                                const fs::path& out, const fs::path& err) {
    host::CommandOptions io;
    io.cwd = dir;
    io.stdout_file = out;
    io.stderr_file = err;
    return host::run_command(argv, kBrowserTimeout, io);
}

std::string describe(const host::CommandResult& r) {
    return r.timed_out ? "timed out" : r.status.describe();
}

std::uint32_t be32(const std::string& s, std::size_t at) {
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i)
        v = (v << 8) | static_cast<unsigned char>(s[at + i]);
    return v;
}

TEST(ReportBrowser, ChromiumRendersTablesAndScreenshot) {
    const std::string chromium = find_chromium();
    if (chromium.empty())
        GTEST_SKIP() << "chromium not installed (apt-get install chromium)";
    TempDir tmp;
    const fs::path run = tmp.path() / "run";
    write_run_folder(run, {});
    const fs::path html = render_results(run);
    const std::string url = "file://" + fs::absolute(html).string();

    auto argv = chromium_argv(chromium, tmp.path() / "profile-dom");
    argv.push_back("--dump-dom");
    argv.push_back(url);
    const host::CommandResult dom_exit =
        run_browser(argv, tmp.path(), tmp.path() / "dom.html", tmp.path() / "dom.err");
    ASSERT_TRUE(dom_exit.success()) << describe(dom_exit) << "\n"
                                    << read_file(tmp.path() / "dom.err");
    const std::string dom = read_file(tmp.path() / "dom.html");
    // The serialised DOM is the browser's parse of our file, not our text: tables and inline
    // SVG survive as elements.
    EXPECT_NE(dom.find("<table id=\"pcbs\">"), std::string::npos);
    EXPECT_NE(dom.find("<table id=\"expectations\">"), std::string::npos);
    for (const char* row : {"<tr id=\"pcb-1\">", "<tr id=\"pcb-2\">", "<tr id=\"pcb-3\">"})
        EXPECT_NE(dom.find(row), std::string::npos) << row;
    EXPECT_NE(dom.find("<svg"), std::string::npos);
    EXPECT_NE(dom.find("<tbody>"), std::string::npos); // inserted by the HTML parser itself

    const fs::path shot = tmp.path() / "shot.png";
    argv = chromium_argv(chromium, tmp.path() / "profile-shot");
    argv.push_back("--window-size=1200,900");
    argv.push_back("--screenshot=" + shot.string());
    argv.push_back(url);
    const host::CommandResult shot_exit =
        run_browser(argv, tmp.path(), tmp.path() / "shot.out", tmp.path() / "shot.err");
    ASSERT_TRUE(shot_exit.success()) << describe(shot_exit) << "\n"
                                     << read_file(tmp.path() / "shot.err");
    const std::string png = read_file(shot);
    // PNG signature, then the IHDR chunk whose width/height (RFC 2083, 4.1.1) must be the window.
    ASSERT_GE(png.size(), 24u);
    EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
    EXPECT_EQ(png.substr(12, 4), "IHDR");
    EXPECT_EQ(be32(png, 16), 1200u);
    EXPECT_EQ(be32(png, 20), 900u);
}

// The interactive charts are drawn by the inlined dygraphs script: the DOM the browser ends
// with holds its canvases and the chart titles it wrote, and a screenshot of the report
// differs from one of the same page without chart data over the chart areas.
TEST(ReportBrowser, InteractiveChartsDrawInHeadlessChromium) {
    const std::string chromium = find_chromium();
    if (chromium.empty())
        GTEST_SKIP() << "chromium not installed (apt-get install chromium)";
    TempDir tmp;
    const fs::path run = tmp.path() / "run";
    write_run_folder(run, {});
    const fs::path html = write_report(run); // no gnuplot plots: only the charts draw pictures
    const std::string url = "file://" + fs::absolute(html).string();

    auto argv = chromium_argv(chromium, tmp.path() / "profile-dom");
    argv.push_back("--dump-dom");
    argv.push_back(url);
    const host::CommandResult dom_exit =
        run_browser(argv, tmp.path(), tmp.path() / "dom.html", tmp.path() / "dom.err");
    ASSERT_TRUE(dom_exit.success()) << describe(dom_exit) << "\n"
                                    << read_file(tmp.path() / "dom.err");
    const std::string dom = read_file(tmp.path() / "dom.html");
    std::size_t canvases = 0;
    for (std::size_t p = 0; (p = dom.find("<canvas", p)) != std::string::npos; ++p)
        ++canvases;
    // Heap, PCB states and link drops charts (no closed-PCB column in the synthetic folder);
    // dygraphs gives each a drawing canvas and a highlight canvas.
    EXPECT_GE(canvases, 6u) << dom.substr(0, 2000);
    for (const char* title :
         {"Heap in use by subsystem", "TCP PCBs by state", "Link: frames dropped (cumulative)"})
        EXPECT_NE(dom.find("class=\"dygraph-label dygraph-title\">" + std::string(title)),
                  std::string::npos)
            << title;
    // The legend, written by the library into our labelsDiv, names the series.
    EXPECT_NE(dom.find("mbedtls"), std::string::npos);

    // The control: the same page whose chart code cannot find its data (the block renamed),
    // so the library loads but draws nothing and the chart boxes stay empty.
    std::string control = read_file(html);
    const std::string data_id = "id=\"lwipsim-chart-data\"";
    ASSERT_NE(control.find(data_id), std::string::npos);
    control.replace(control.find(data_id), data_id.size(), "id=\"no-chart-data\"");
    test_support::write_file(run / "control.html", control);

    auto screenshot = [&](const std::string& name, const fs::path& page) {
        const fs::path shot = tmp.path() / (name + ".png");
        auto a = chromium_argv(chromium, tmp.path() / ("profile-" + name));
        a.push_back("--window-size=1200,1400");
        a.push_back("--screenshot=" + shot.string());
        a.push_back("file://" + fs::absolute(page).string());
        const host::CommandResult r =
            run_browser(a, tmp.path(), tmp.path() / (name + ".out"), tmp.path() / (name + ".err"));
        EXPECT_TRUE(r.success()) << describe(r) << "\n" << read_file(tmp.path() / (name + ".err"));
        return testing::decode_png(read_file(shot));
    };
    const testing::PngPixels on = screenshot("charts", html);
    const testing::PngPixels off = screenshot("control", run / "control.html");
    ASSERT_TRUE(on.error.empty()) << on.error;
    ASSERT_TRUE(off.error.empty()) << off.error;
    ASSERT_EQ(on.rgb.size(), std::size_t{1200} * 1400);
    ASSERT_EQ(off.rgb.size(), on.rgb.size());

    // Not blank: a real share of non-white pixels and many colours (text, tables and the
    // charts' series, fills, shading and ticks).
    const auto non_white =
        std::count_if(on.rgb.begin(), on.rgb.end(), [](std::uint32_t c) { return c != 0xFFFFFF; });
    EXPECT_GT(non_white, static_cast<std::ptrdiff_t>(on.rgb.size() / 20));
    const std::set<std::uint32_t> colours(on.rgb.begin(), on.rgb.end());
    EXPECT_GE(colours.size(), 64u);
    // The charts drew: a 1200 px wide chart of 280 px with curves, fills and axes changes far
    // more than a few thousand pixels against the empty boxes of the control page.
    std::size_t changed = 0;
    for (std::size_t i = 0; i < on.rgb.size(); ++i)
        changed += on.rgb[i] != off.rgb[i] ? 1 : 0;
    EXPECT_GT(changed, 20000u);
}

} // namespace
} // namespace lwipsim::report
