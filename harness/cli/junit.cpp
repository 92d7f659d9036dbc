#include "harness/cli/junit.h"

#include <cstdio>
#include <fstream>
#include <sstream>

namespace lwipsim::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// XML 1.0 text/attribute escaping; control characters XML cannot carry become '?'.
std::string xml(const std::string& s) {
    std::string o;
    o.reserve(s.size());
    for (char c : s) {
        switch (c) {
        case '&':
            o += "&amp;";
            break;
        case '<':
            o += "&lt;";
            break;
        case '>':
            o += "&gt;";
            break;
        case '"':
            o += "&quot;";
            break;
        case '\'':
            o += "&apos;";
            break;
        case '\n':
            o += "&#10;";
            break;
        case '\t':
            o += "&#9;";
            break;
        case '\r':
            o += "&#13;";
            break;
        default:
            o += (static_cast<unsigned char>(c) < 0x20) ? '?' : c;
        }
    }
    return o;
}

std::string number(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

} // namespace

std::string expectation_text(const json& e) {
    return e.value("metric", "?") + " " + e.value("op", "?") + " " + number(e.value("value", 0.0));
}

void write_junit(const fs::path& file, const std::string& suite_name,
                 const std::vector<JunitRun>& runs) {
    std::ostringstream body;
    int tests = 0, failures = 0, errors = 0;
    for (const auto& r : runs) {
        KeyFigures k = read_key_figures(r.folder);
        std::string classname = r.scenario + "." + r.variant;
        std::string suffix = r.point.empty() ? "" : " [" + r.point + "]";
        bool ran = r.result.exit_code == kExitPassed || r.result.exit_code == kExitFailed;
        int t = 0, f = 0, e = 0;
        std::ostringstream cases;
        if (ran && k.status != "error") {
            for (const auto& x : k.expectations) {
                ++t;
                cases << "    <testcase classname=\"" << xml(classname) << "\" name=\""
                      << xml(expectation_text(x) + suffix) << "\" time=\"0\"";
                if (x.value("passed", false)) {
                    cases << "/>\n";
                    continue;
                }
                ++f;
                std::string measured = x.contains("measured") && !x["measured"].is_null()
                                           ? number(x["measured"].get<double>())
                                           : "not measurable in this run";
                cases << ">\n      <failure type=\"expectation\" message=\""
                      << xml("measured " + measured) << "\">" << xml(expectation_text(x))
                      << " does not hold: measured " << xml(measured) << "</failure>\n"
                      << "    </testcase>\n";
            }
        } else {
            ++t;
            ++e;
            std::string why =
                r.result.error.empty() ? "no summary.json in " + r.folder.string() : r.result.error;
            cases << "    <testcase classname=\"" << xml(classname) << "\" name=\""
                  << xml("run" + suffix) << "\" time=\"0\">\n      <error type=\""
                  << xml(describe_exit(r.result.exit_code)) << "\" message=\"" << xml(why) << "\">"
                  << xml(why) << "</error>\n    </testcase>\n";
        }
        body << "  <testsuite name=\""
             << xml(r.point.empty() ? classname : r.point + "/" + r.variant) << "\" tests=\"" << t
             << "\" failures=\"" << f << "\" errors=\"" << e << "\" time=\""
             << number(k.wall_time_s.value_or(0)) << "\">\n"
             << cases.str() << "  </testsuite>\n";
        tests += t;
        failures += f;
        errors += e;
    }
    if (file.has_parent_path())
        fs::create_directories(file.parent_path());
    std::ofstream out(file);
    out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"" << xml(suite_name)
        << "\" tests=\"" << tests << "\" failures=\"" << failures << "\" errors=\"" << errors
        << "\">\n"
        << body.str() << "</testsuites>\n";
    if (!out.flush())
        throw std::runtime_error("cannot write " + file.string());
}

void write_diff_junit(const fs::path& file, const report::DiffResult& diff) {
    auto value = [](bool present, const std::optional<double>& v) {
        return !present ? std::string("absent") : v ? number(*v) : std::string("null");
    };
    std::ostringstream body;
    std::size_t tests = 0, failures = 0;
    for (std::size_t i = 0; i < diff.rows.size();) {
        const std::string run = diff.rows[i].run;
        std::ostringstream cases;
        std::size_t t = 0, f = 0;
        for (; i < diff.rows.size() && diff.rows[i].run == run; ++i) {
            const report::MetricDiff& d = diff.rows[i];
            ++t;
            cases << "    <testcase classname=\"" << xml("diff." + run) << "\" name=\""
                  << xml(d.metric) << "\" time=\"0\"";
            if (!d.moved) {
                cases << "/>\n";
                continue;
            }
            ++f;
            const std::string what = d.metric + " moved: " + value(d.in_old, d.old_value) + " -> " +
                                     value(d.in_new, d.new_value) + " (" + report::change_text(d) +
                                     "), tolerance " + d.tolerance.text();
            cases << ">\n      <failure type=\"metric moved\" message=\"" << xml(what) << "\">"
                  << xml(what) << "</failure>\n    </testcase>\n";
        }
        body << "  <testsuite name=\"" << xml("diff " + run) << "\" tests=\"" << t
             << "\" failures=\"" << f << "\" errors=\"0\" time=\"0\">\n"
             << cases.str() << "  </testsuite>\n";
        tests += t;
        failures += f;
    }
    if (file.has_parent_path())
        fs::create_directories(file.parent_path());
    std::ofstream out(file);
    out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"lwipsim diff\" "
        << "tests=\"" << tests << "\" failures=\"" << failures << "\" errors=\"0\">\n"
        << body.str() << "</testsuites>\n";
    if (!out.flush())
        throw std::runtime_error("cannot write " + file.string());
}

} // namespace lwipsim::cli
