// lwipsim sweep: a grid of runs (parameters x seeds x variants), each run in its own worker,
// optionally one shard of the grid; writes a table of the key figures (sweep.csv/json).
#include "harness/cli/cli_common.h"
#include "harness/cli/commands.h"
#include "harness/cli/junit.h"
#include "harness/cli/sweep_grid.h"
#include "harness/scenario/loader.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>

namespace lwipsim::cli {

namespace fs = std::filesystem;

namespace {

struct SweepOptions {
    std::string scenario;
    std::vector<std::string> params;
    std::vector<std::string> sets;
    std::vector<std::string> variants;
    std::optional<uint64_t> seed;
    uint64_t seeds = 1;
    int jobs = 2;
    std::string shard;
    std::string out;
    std::string junit;
};

// A progress bar redrawn in place on a terminal; one plain line per run otherwise (CI logs).
class Progress {
  public:
    explicit Progress(size_t total) : total_(total), tty_(isatty(STDERR_FILENO) == 1) {}
    void done(const std::string& label, int exit_code) {
        ++done_;
        if (exit_code == kExitFailed)
            ++failed_;
        if (exit_code != kExitPassed && exit_code != kExitFailed)
            ++errors_;
        if (quiet())
            return;
        if (!tty_) {
            std::fprintf(stderr, "lwipsim: [%zu/%zu] %s: %s\n", done_, total_, label.c_str(),
                         describe_exit(exit_code).c_str());
            return;
        }
        constexpr size_t kWidth = 30;
        size_t filled = total_ ? done_ * kWidth / total_ : kWidth;
        std::string bar(filled, '#');
        bar.resize(kWidth, '.');
        std::fprintf(stderr, "\r\033[K[%s] %zu/%zu runs, %zu failed, %zu errors  %s", bar.c_str(),
                     done_, total_, failed_, errors_, label.c_str());
        if (done_ == total_)
            std::fputc('\n', stderr);
        std::fflush(stderr);
    }

  private:
    size_t total_, done_ = 0, failed_ = 0, errors_ = 0;
    bool tty_;
};

int sweep(const SweepOptions& o) {
    auto base = scenario::load_scenario(o.scenario, o.sets);
    Grid grid;
    grid.scenario = base.name;
    grid.scenario_file = o.scenario;
    for (const auto& p : o.params) {
        grid.params.push_back(parse_param(p));
        for (size_t i = 0; i + 1 < grid.params.size(); ++i) {
            if (grid.params[i].key == grid.params.back().key) {
                throw UsageError("--param " + grid.params.back().key + " given twice");
            }
        }
    }
    uint64_t first_seed = o.seed.value_or(base.seed);
    for (uint64_t i = 0; i < o.seeds; ++i)
        grid.seeds.push_back(first_seed + i);
    grid.variants = o.variants;
    if (grid.variants.empty())
        grid.variants = scenario::variant_names(base);
    if (grid.variants.empty())
        grid.variants = {"base"};
    std::pair<int, int> shard{0, 0};
    if (!o.shard.empty())
        shard = parse_shard(o.shard);

    // Every point's overrides must load (with every variant) before anything runs.
    auto points = grid.points();
    std::vector<size_t> mine;
    std::vector<VariantJob> jobs;
    std::vector<std::string> checked;
    for (const auto& p : points) {
        if (shard.second != 0 && !in_shard(p.index, shard.first, shard.second))
            continue;
        mine.push_back(p.index);
        std::vector<std::string> sets = o.sets;
        for (const auto& s : p.sets())
            sets.push_back(s);
        std::string key = nlohmann::json(sets).dump();
        if (std::find(checked.begin(), checked.end(), key) == checked.end()) {
            auto sc = scenario::load_scenario(o.scenario, sets);
            for (const auto& v : grid.variants) {
                if (v != "base")
                    (void)scenario::resolve_variant(sc, v);
            }
            checked.push_back(key);
        }
        for (const auto& v : grid.variants) {
            jobs.push_back(
                {o.scenario, sets, p.seed, v, fs::path(o.out) / p.name(), p.name() + "/" + v});
        }
    }
    prepare_out_dir(o.out);
    refuse_mixed_results(o.out, base.name, false);
    if (!quiet()) {
        std::fprintf(stderr, "lwipsim: sweep of %s: %zu points x %zu variants = %zu runs%s\n",
                     grid.scenario.c_str(), mine.size(), grid.variants.size(), jobs.size(),
                     shard.second ? (" (shard " + o.shard + " of " + std::to_string(points.size()) +
                                     " points)")
                                        .c_str()
                                  : "");
    }
    Progress progress(jobs.size());
    int worst = kExitPassed;
    auto results = run_jobs(jobs, o.jobs, [&](size_t i, const JobResult& r) {
        worst = worse(worst, r.exit_code);
        if (!r.error.empty()) {
            std::ofstream(jobs[i].parent_out / (jobs[i].variant + ".error.txt")) << r.error << '\n';
        }
        progress.done(jobs[i].label, r.exit_code);
    });
    write_sweep_table(o.out, grid, mine, shard);
    if (!o.junit.empty()) {
        std::vector<JunitRun> runs;
        for (size_t i = 0; i < jobs.size(); ++i) {
            runs.push_back({grid.scenario, jobs[i].variant, jobs[i].parent_out.filename(),
                            jobs[i].parent_out / jobs[i].variant, results[i]});
        }
        write_junit(o.junit, grid.scenario + " sweep", runs);
    }
    if (!quiet())
        std::printf("sweep table: %s/sweep.csv\n", o.out.c_str());
    return worst;
}

} // namespace

void setup_sweep(CLI::App& app) {
    auto o = std::make_shared<SweepOptions>();
    auto* cmd = app.add_subcommand("sweep", "run a grid of parameter values x seeds (x variants)");
    cmd->footer(
        "Every combination of the --param values (first --param outermost) and of the seeds\n"
        "(the scenario seed, or --seed, then +1, +2... for --seeds N) is a grid point; every\n"
        "variant of the scenario (or those given with --variant) runs at each point, each run\n"
        "in its own worker. Results: OUT/<point>/<variant>/, e.g. "
        "OUT/app.linger=0,seed=2/linger_0,\n"
        "and the table OUT/sweep.csv + OUT/sweep.json. --shard K/N (1-based) runs only the\n"
        "points whose 0-based index i has i % N == K-1; join shard folders with `lwipsim merge`.\n"
        "Examples:\n"
        "  lwipsim sweep scenarios/field_case.yaml --param app.keepalive=30s,60s,120s \\\n"
        "      --param heap.budget=40KiB,64KiB --seeds 3 --variant linger_off --out results/sweep\n"
        "  lwipsim sweep scenarios/field_case.yaml --param app.keepalive=30s,60s --shard 2/4 --out "
        "s2\n"
        "Exit: 0 every run passed, 1 an expectation failed somewhere, 2/3/70 as for run.");
    cmd->add_option("scenario", o->scenario, "scenario YAML file")
        ->required()
        ->check(CLI::ExistingFile);
    cmd->add_option("--param", o->params,
                    "KEY=V1,V2,... one grid axis (repeatable; values split at commas)")
        ->required();
    cmd->add_option("--set", o->sets, "fixed override KEY=VALUE for every run (repeatable)");
    cmd->add_option("--variant", o->variants, "run only this variant at each point (repeatable)");
    cmd->add_option("--seed", o->seed, "first seed (default: the scenario's)")
        ->check(seed_validator());
    cmd->add_option("--seeds", o->seeds, "seeds per point: first, first+1, ...")
        ->check(CLI::Range(uint64_t{1}, uint64_t{100000}))
        ->capture_default_str();
    cmd->add_option("--jobs", o->jobs, "runs at once")
        ->check(CLI::Range(1, 64))
        ->capture_default_str();
    cmd->add_option("--shard", o->shard, "run only shard K of N (1-based), e.g. 1/2");
    cmd->add_option("--out", o->out, "sweep folder")->required();
    cmd->add_option("--junit", o->junit, "also write JUnit XML here");
    cmd->callback([o] { finish(sweep(*o)); });
}

} // namespace lwipsim::cli
