// lwipsim diff: a regression diff of two result folders for CI. Every metric of every run,
// baseline against new, with the change and its tolerance; the heap curves of both in one
// picture; exit 1 when a metric moved past its tolerance. Reference: docs/cli.md ("diff").
#include "harness/cli/cli_common.h"
#include "harness/cli/commands.h"
#include "harness/cli/junit.h"
#include "harness/report/diff_plot.h"
#include "harness/report/errors.h"
#include "harness/report/metric_diff.h"
#include "harness/report/result_folder.h"

#include <cstdio>
#include <memory>
#include <sstream>

namespace lwipsim::cli {

namespace fs = std::filesystem;

namespace {

struct DiffOptions {
    std::string baseline, fresh;
    std::vector<std::string> tolerances;
    std::string junit, out;
    bool no_plot = false;
};

std::string value_text(bool present, const std::optional<double>& v) {
    if (!present)
        return "-";
    if (!v)
        return "null";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.10g", *v);
    return buf;
}

// Every row, or with --quiet only the moved ones; a run label repeats only when it changes.
void print_table(const report::DiffResult& diff) {
    std::printf("%-28s %-32s %14s %14s %-24s %-9s %s\n", "run", "metric", "baseline", "new",
                "change", "tolerance", "");
    std::string last_run;
    for (const report::MetricDiff& d : diff.rows) {
        if (quiet() && !d.moved)
            continue;
        std::printf("%-28s %-32s %14s %14s %-24s %-9s %s\n", d.run == last_run ? "" : d.run.c_str(),
                    d.metric.c_str(), value_text(d.in_old, d.old_value).c_str(),
                    value_text(d.in_new, d.new_value).c_str(), report::change_text(d).c_str(),
                    d.tolerance.text().c_str(), d.moved ? "MOVED" : "");
        last_run = d.run;
    }
}

void write_csv(const report::DiffResult& diff, const fs::path& file) {
    std::ostringstream csv;
    csv << "run,metric,baseline,new,change,tolerance,moved\n";
    for (const report::MetricDiff& d : diff.rows)
        csv << '"' << d.run << "\"," << d.metric << ',' << value_text(d.in_old, d.old_value) << ','
            << value_text(d.in_new, d.new_value) << ",\"" << report::change_text(d) << "\","
            << d.tolerance.text() << ',' << (d.moved ? "true" : "false") << '\n';
    report::write_text(file, csv.str());
}

void run_diff(const DiffOptions& o) {
    std::map<std::string, report::Tolerance> tolerances;
    for (const std::string& t : o.tolerances)
        tolerances.insert_or_assign(report::parse_tolerance(t).first,
                                    report::parse_tolerance(t).second);
    report::DiffResult diff;
    try {
        diff = report::diff_results(o.baseline, o.fresh, tolerances);
    } catch (const report::ReportError& e) {
        throw UsageError(e.what()); // a folder that is not a (matching) result folder
    }
    const fs::path out = o.out.empty() ? fs::path(o.fresh) / "diff" : fs::path(o.out);
    prepare_out_folder(out.string());
    write_csv(diff, out / "diff.csv");
    if (!o.no_plot)
        report::plot_heap_overlay(diff, out);
    if (!o.junit.empty())
        write_diff_junit(o.junit, diff);
    print_table(diff);
    const std::size_t moved = diff.moved();
    if (!quiet())
        std::printf("\n%zu of %zu metrics moved past their tolerance (%zu runs); table and "
                    "heap overlay in %s\n",
                    moved, diff.rows.size(), diff.old_runs.size(), out.c_str());
    finish(moved ? kExitFailed : kExitPassed);
}

} // namespace

void setup_diff(CLI::App& app) {
    auto o = std::make_shared<DiffOptions>();
    auto* cmd = app.add_subcommand("diff", "regression diff of two result folders (for CI)");
    cmd->footer("Examples:\n  lwipsim diff baseline/field_case results/field_case\n"
                "  lwipsim diff old new --tolerance heap.min_free=2% --tolerance "
                "tcp.retransmissions=3 --junit diff.xml\n"
                "Exit codes: 0 nothing moved past its tolerance, 1 a metric did, 2 bad input.");
    cmd->add_option("baseline", o->baseline,
                    "result folder to compare against (run, variant "
                    "or sweep folder)")
        ->required()
        ->check(readable_folder());
    cmd->add_option("new", o->fresh, "result folder of the same kind, same runs")
        ->required()
        ->check(readable_folder());
    cmd->add_option("--tolerance", o->tolerances,
                    "METRIC=REL% or METRIC=ABS: how far METRIC may move (repeatable; defaults: "
                    "docs/cli.md)");
    cmd->add_option("--junit", o->junit, "also write JUnit XML: one testcase per run and metric");
    cmd->add_option("--out", o->out, "folder for diff.csv and the heap overlay (default NEW/diff)");
    cmd->add_flag("--no-plot", o->no_plot, "skip the heap overlay picture (no gnuplot needed)");
    cmd->callback([o] { run_diff(*o); });
}

} // namespace lwipsim::cli
