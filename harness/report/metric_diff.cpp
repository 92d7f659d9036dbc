#include "harness/report/metric_diff.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "harness/report/errors.h"
#include "harness/report/result_folder.h"
#include "harness/scenario/metrics.h"

namespace lwipsim::report {
namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

// Chosen, not measured (docs/cli.md explains them): a count that changes is a change in
// behaviour; byte and time figures get 1 % so a run flagged as not repeatable (a late broker
// reply) does not fail CI on a few bytes or milliseconds, while one more allocation per dead
// connection still shows in the figures that add them up.
constexpr double kBytesRelative = 0.01;
constexpr double kSecondsRelative = 0.01;
constexpr double kFractionAbsolute = 0.01; // one percentage point of the run

std::string number(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.10g", v);
    return buf;
}

bool parse_double(const std::string& text, double& out) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

// summary.json's `metrics` of one run: name -> value (nullopt for null). A folder written
// before `metrics` existed has only its expectations' measured values.
std::map<std::string, std::optional<double>> run_metrics(const fs::path& dir) {
    const fs::path file = dir / "summary.json";
    load_summary(file); // validates the folder, naming the file and JSON path if malformed
    const Json doc = Json::parse(read_text(file));
    std::map<std::string, std::optional<double>> out;
    auto put = [&](const std::string& name, const Json& v, const std::string& where) {
        if (!v.is_null() && !v.is_number())
            throw ReportError(file.string() + ": " + where + ": expected a number or null, got " +
                              v.dump());
        out[name] = v.is_null() ? std::nullopt : std::optional<double>(v.get<double>());
    };
    if (auto m = doc.find("metrics"); m != doc.end()) {
        if (!m->is_object())
            throw ReportError(file.string() + ": $.metrics: expected an object");
        for (auto it = m->begin(); it != m->end(); ++it)
            put(it.key(), *it, "$.metrics." + it.key());
        return out;
    }
    const Json& exps = doc["expectations"];
    for (std::size_t i = 0; i < exps.size(); ++i)
        put(exps[i]["metric"].get<std::string>(), exps[i]["measured"],
            "$.expectations[" + std::to_string(i) + "].measured");
    return out;
}

bool moved_past(const MetricDiff& d) {
    if (!d.in_old || !d.in_new)
        return false; // nothing to compare against: shown, not judged
    if (!d.old_value || !d.new_value)
        return d.old_value.has_value() != d.new_value.has_value();
    const double delta = std::fabs(*d.new_value - *d.old_value);
    const double allowed =
        d.tolerance.relative ? d.tolerance.amount * std::fabs(*d.old_value) : d.tolerance.amount;
    return delta > allowed;
}

std::string labels_text(const std::vector<std::string>& labels) {
    std::string out;
    for (const std::string& l : labels)
        out += (out.empty() ? "" : ", ") + l;
    return out;
}

} // namespace

std::string Tolerance::text() const {
    return relative ? number(amount * 100) + "%" : number(amount);
}

Tolerance default_tolerance(const std::string& metric) {
    if (metric.ends_with("_fraction"))
        return {kFractionAbsolute, false};
    const scenario::MetricInfo* info = scenario::find_metric(metric);
    if (!info)
        return {0, false}; // a metric this build does not know: any change counts
    switch (info->unit) {
    case scenario::MetricUnit::kBytes:
        return {kBytesRelative, true};
    case scenario::MetricUnit::kSeconds:
        return {kSecondsRelative, true};
    case scenario::MetricUnit::kCount:
        break;
    }
    return {0, false};
}

std::pair<std::string, Tolerance> parse_tolerance(const std::string& text) {
    const auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0)
        throw std::invalid_argument("--tolerance '" + text +
                                    "': expected METRIC=REL% or METRIC=ABS, e.g. "
                                    "heap.min_free=2% or tcp.retransmissions=3");
    const std::string metric = text.substr(0, eq);
    if (!scenario::find_metric(metric))
        throw std::invalid_argument("--tolerance '" + text + "': unknown metric '" + metric +
                                    "' (docs/scenarios.md, Metrics)");
    std::string value = text.substr(eq + 1);
    Tolerance t;
    t.relative = !value.empty() && value.back() == '%';
    if (t.relative)
        value.pop_back();
    if (!parse_double(value, t.amount) || !std::isfinite(t.amount) || t.amount < 0)
        throw std::invalid_argument("--tolerance '" + text + "': '" + text.substr(eq + 1) +
                                    "' is not a number 0 or more (with % for relative)");
    if (t.relative)
        t.amount /= 100;
    return {metric, t};
}

std::vector<DiffRun> diff_runs(const fs::path& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        throw ReportError(dir.string() + ": not a folder (missing or not readable)");
    std::vector<DiffRun> out;
    if (is_run_folder(dir)) {
        out.push_back({load_summary(dir / "summary.json").variant, dir});
    } else if (is_sweep_folder(dir)) {
        for (const fs::path& point : load_sweep(dir).points())
            for (const fs::path& v : variant_folders(point))
                out.push_back({point.filename().string() + "/" + v.filename().string(), v});
    } else {
        for (const fs::path& v : variant_folders(dir))
            out.push_back({v.filename().string(), v});
    }
    if (out.empty())
        throw ReportError(dir.string() +
                          ": not a result folder (no summary.json, no variant subfolder with "
                          "one, no sweep.json)");
    std::sort(out.begin(), out.end(),
              [](const DiffRun& a, const DiffRun& b) { return a.label < b.label; });
    return out;
}

DiffResult diff_results(const fs::path& old_dir, const fs::path& new_dir,
                        const std::map<std::string, Tolerance>& tolerances) {
    DiffResult r;
    r.old_runs = diff_runs(old_dir);
    r.new_runs = diff_runs(new_dir);
    const bool single = r.old_runs.size() == 1 && r.new_runs.size() == 1 &&
                        is_run_folder(old_dir) && is_run_folder(new_dir);
    if (!single) {
        std::vector<std::string> only_old, only_new;
        auto has = [](const std::vector<DiffRun>& runs, const std::string& label) {
            return std::any_of(runs.begin(), runs.end(),
                               [&](const DiffRun& d) { return d.label == label; });
        };
        for (const DiffRun& d : r.old_runs)
            if (!has(r.new_runs, d.label))
                only_old.push_back(d.label);
        for (const DiffRun& d : r.new_runs)
            if (!has(r.old_runs, d.label))
                only_new.push_back(d.label);
        if (!only_old.empty() || !only_new.empty())
            throw ReportError("the folders hold different runs: only in " + old_dir.string() +
                              ": [" + labels_text(only_old) + "]; only in " + new_dir.string() +
                              ": [" + labels_text(only_new) + "]");
    }
    for (std::size_t i = 0; i < r.old_runs.size(); ++i) {
        const auto old_m = run_metrics(r.old_runs[i].dir);
        const auto new_m = run_metrics(r.new_runs[i].dir);
        std::set<std::string> names;
        for (const auto& [k, v] : old_m)
            names.insert(k);
        for (const auto& [k, v] : new_m)
            names.insert(k);
        for (const std::string& name : names) {
            MetricDiff d;
            d.run = r.old_runs[i].label;
            d.metric = name;
            auto o = old_m.find(name), n = new_m.find(name);
            d.in_old = o != old_m.end();
            d.in_new = n != new_m.end();
            if (d.in_old)
                d.old_value = o->second;
            if (d.in_new)
                d.new_value = n->second;
            auto t = tolerances.find(name);
            d.tolerance = t != tolerances.end() ? t->second : default_tolerance(name);
            d.moved = moved_past(d);
            r.rows.push_back(std::move(d));
        }
    }
    return r;
}

std::size_t DiffResult::moved() const {
    return static_cast<std::size_t>(
        std::count_if(rows.begin(), rows.end(), [](const MetricDiff& d) { return d.moved; }));
}

std::string change_text(const MetricDiff& d) {
    if (!d.in_old)
        return "not in baseline";
    if (!d.in_new)
        return "not in new";
    if (!d.old_value && !d.new_value)
        return "0";
    if (!d.old_value)
        return "became measurable";
    if (!d.new_value)
        return "became not measurable";
    const double delta = *d.new_value - *d.old_value;
    std::string out = (delta > 0 ? "+" : "") + number(delta);
    if (*d.old_value != 0 && delta != 0) {
        char buf[32];
        std::snprintf(buf, sizeof buf, " (%+.1f%%)", 100 * delta / std::fabs(*d.old_value));
        out += buf;
    }
    return out;
}

} // namespace lwipsim::report
