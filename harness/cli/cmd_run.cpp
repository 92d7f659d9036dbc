// lwipsim run: every variant of one scenario, each in its own worker process, in parallel.
#include "harness/cli/cli_common.h"
#include "harness/cli/commands.h"
#include "harness/cli/junit.h"
#include "harness/report/html_report.h"
#include "harness/report/plots.h"
#include "harness/scenario/loader.h"

#include <cstdio>
#include <memory>

namespace lwipsim::cli {

namespace fs = std::filesystem;

namespace {

struct RunOptions {
    std::string scenario;
    std::vector<std::string> variants;
    std::vector<std::string> sets;
    std::optional<uint64_t> seed;
    std::string out = "results";
    int jobs = 2;
    bool no_plots = false;
    bool force = false;
    std::string junit;
};

int run(const RunOptions& o) {
    auto base = scenario::load_scenario(o.scenario, o.sets); // validates before anything runs
    std::vector<std::string> variants = o.variants;
    if (variants.empty())
        variants = scenario::variant_names(base);
    if (variants.empty())
        variants = {"base"};
    for (const auto& v : variants) {
        if (v != "base")
            (void)scenario::resolve_variant(base, v);
    }
    fs::path out = o.out;
    prepare_out_folder(o.out);
    refuse_mixed_results(out, base.name, o.force);
    std::vector<VariantJob> jobs;
    for (const auto& v : variants)
        jobs.push_back({o.scenario, o.sets, o.seed, v, out, v});
    int worst = kExitPassed;
    auto results = run_jobs(jobs, o.jobs, [&](size_t i, const JobResult& r) {
        worst = worse(worst, r.exit_code);
        if (!quiet()) {
            std::fprintf(stderr, "lwipsim: variant %s: %s\n", variants[i].c_str(),
                         describe_exit(r.exit_code).c_str());
        }
    });
    if (!quiet())
        print_table(out, variants);
    if (!o.junit.empty()) {
        std::vector<JunitRun> runs;
        for (size_t i = 0; i < variants.size(); ++i) {
            runs.push_back({base.name, variants[i], "", out / variants[i], results[i]});
        }
        write_junit(o.junit, base.name, runs);
    }
    if (!o.no_plots) {
        try {
            if (variants.size() > 1) {
                report::plot_comparison(out);
                for (const auto& v : variants)
                    report::plot_run(out / v);
                // Each variant's report, and the comparison report.html in `out` (every
                // variant folder there, so an earlier run's variants are compared too).
                report::write_report(out);
            } else {
                report::plot_run(out / variants.front());
                report::write_report(out / variants.front());
            }
            if (!quiet())
                std::printf("results, plots and reports in %s/\n", out.c_str());
        } catch (const std::exception& e) {
            std::fprintf(stderr, "lwipsim: plots: %s\n", e.what());
            worst = worse(worst, kExitEnvironment);
        }
    }
    return worst;
}

} // namespace

void setup_run(CLI::App& app) {
    auto o = std::make_shared<RunOptions>();
    auto* cmd =
        app.add_subcommand("run", "run a scenario: every variant in its own worker, in parallel");
    cmd->footer(
        "Examples:\n"
        "  lwipsim run scenarios/field_case.yaml --out results/field_case\n"
        "  lwipsim run scenarios/field_case.yaml --variant linger_0 --set app.keepalive=60s\n"
        "  lwipsim run scenarios/field_case.yaml --no-plots --junit results/junit.xml\n"
        "Exit: 0 all expectations held, 1 one failed, 2 scenario/usage error, "
        "3 environment, 70 internal.");
    cmd->add_option("scenario", o->scenario, "scenario YAML file")
        ->required()
        ->check(readable_file());
    cmd->add_option("--variant", o->variants,
                    "run only this variant (repeatable; 'base' = no variant)");
    cmd->add_option("--set", o->sets,
                    "override KEY=VALUE with YAML key paths, e.g. app.linger=0 (repeatable)");
    cmd->add_option("--seed", o->seed, "override the scenario seed (0 or more)")
        ->check(seed_validator());
    cmd->add_option("--out", o->out, "result folder, one subfolder per variant")
        ->capture_default_str();
    cmd->add_option("--jobs", o->jobs, "variants run at once")
        ->check(CLI::Range(1, 64))
        ->capture_default_str();
    cmd->add_flag("--no-plots", o->no_plots, "skip plots and report.html");
    cmd->add_flag("--force", o->force,
                  "remove the results of another scenario from --out first (refused otherwise)");
    cmd->add_option("--junit", o->junit,
                    "also write JUnit XML here (one testcase per expectation)");
    cmd->callback([o] { finish(run(*o)); });
}

} // namespace lwipsim::cli
