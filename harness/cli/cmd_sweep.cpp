// lwipsim sweep: a grid of runs (parameters x seeds x variants), each run in its own worker,
// optionally one shard of the grid; writes a table of the key figures (sweep.csv/json).
#include "harness/cli/cli_common.h"
#include "harness/cli/commands.h"
#include "harness/cli/junit.h"
#include "harness/cli/shard_env.h"
#include "harness/cli/sweep_grid.h"
#include "harness/scenario/loader.h"
#include "harness/scenario/serialize.h"

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
    bool resume = false;
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

Grid make_grid(const SweepOptions& o, const scenario::Scenario& base) {
    Grid grid;
    grid.scenario = base.name;
    grid.scenario_file = o.scenario;
    grid.scenario_digest = scenario_digest(scenario::to_json(base));
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
    return grid;
}

struct Shard {
    int k = 0, n = 0;   ///< {0, 0}: the whole grid
    std::string source; ///< "--shard" or the engine's variables (--shard auto)
};

Shard pick_shard(const std::string& text) {
    if (text.empty())
        return {};
    if (text == "auto") {
        ShardFromEnv e = shard_from_environment();
        return {e.k, e.n, e.source};
    }
    auto [k, n] = parse_shard(text);
    return {k, n, "--shard"};
}

// --resume: the folder must hold this very sweep (same grid fingerprint, same shard), or be
// new. Returns whether an earlier attempt's sweep.json was found.
bool check_resumable(const fs::path& out, const Grid& grid, const Shard& shard) {
    std::ifstream in(out / "sweep.json");
    if (!in)
        return false;
    nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        throw UsageError("--resume: " + (out / "sweep.json").string() + " is not JSON");
    if (j.value("grid_fingerprint", "") != grid.fingerprint()) {
        throw UsageError(
            "--resume: " + out.string() + " holds a different sweep (grid fingerprint " +
            j.value("grid_fingerprint", std::string("none")) + ", this one " + grid.fingerprint() +
            "): scenario, --set, --param, seeds or variants changed");
    }
    const nlohmann::json& s = j.value("shard", nlohmann::json());
    int k = s.is_object() ? s.value("k", 0) : 0, n = s.is_object() ? s.value("n", 0) : 0;
    if (k != shard.k || n != shard.n) {
        throw UsageError("--resume: " + out.string() + " holds shard " + std::to_string(k) + "/" +
                         std::to_string(n) + " of this sweep, not " + std::to_string(shard.k) +
                         "/" + std::to_string(shard.n) + " (0/0 = the whole grid)");
    }
    return true;
}

// A run that completed earlier (its result folder is only renamed into place once complete):
// its exit code, or nullopt when it must run (again).
std::optional<int> finished_run(const VariantJob& job) {
    KeyFigures k = read_key_figures(job.parent_out / job.variant);
    if (k.status == "passed")
        return kExitPassed;
    if (k.status == "failed")
        return kExitFailed;
    return std::nullopt;
}

int sweep(const SweepOptions& o) {
    auto base = scenario::load_scenario(o.scenario, o.sets);
    Grid grid = make_grid(o, base);
    Shard shard = pick_shard(o.shard);

    // Every point's overrides must load (with every variant) before anything runs.
    auto points = grid.points();
    std::vector<size_t> mine;
    std::vector<VariantJob> jobs;
    std::vector<std::string> checked;
    for (const auto& p : points) {
        if (shard.n != 0 && !in_shard(p.index, shard.k, shard.n))
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
    prepare_out_folder(o.out);
    refuse_mixed_results(o.out, base.name, false);
    bool resuming = o.resume && check_resumable(o.out, grid, shard);
    // The grid is on disk before the first run: `merge` of an interrupted shard names what is
    // missing, and --resume recognises the folder.
    if (!resuming)
        write_sweep_table(o.out, grid, {}, {shard.k, shard.n}, shard.source);

    int worst = kExitPassed;
    std::vector<size_t> to_run; // indices into jobs
    std::vector<JobResult> results(jobs.size());
    for (size_t i = 0; i < jobs.size(); ++i) {
        std::optional<int> done = resuming ? finished_run(jobs[i]) : std::nullopt;
        if (done) {
            results[i].exit_code = *done;
            worst = worse(worst, *done);
        } else {
            to_run.push_back(i);
        }
    }
    if (!quiet()) {
        std::string where =
            shard.n
                ? " (shard " + std::to_string(shard.k) + "/" + std::to_string(shard.n) + " of " +
                      std::to_string(points.size()) + " points, from " + shard.source + ")"
                : "";
        std::fprintf(stderr, "lwipsim: sweep of %s: %zu points x %zu variants = %zu runs%s\n",
                     grid.scenario.c_str(), mine.size(), grid.variants.size(), jobs.size(),
                     where.c_str());
        if (resuming) {
            std::fprintf(stderr,
                         "lwipsim: resuming: %zu of %zu runs already finished, %zu to run\n",
                         jobs.size() - to_run.size(), jobs.size(), to_run.size());
        }
    }
    std::vector<VariantJob> pending;
    for (size_t i : to_run) {
        // A stale reason from an earlier attempt must not outlive this one.
        fs::remove(jobs[i].parent_out / (jobs[i].variant + ".error.txt"));
        pending.push_back(jobs[i]);
    }
    Progress progress(pending.size());
    auto ran = run_jobs(pending, o.jobs, [&](size_t i, const JobResult& r) {
        worst = worse(worst, r.exit_code);
        if (!r.error.empty()) {
            std::ofstream(pending[i].parent_out / (pending[i].variant + ".error.txt"))
                << r.error << '\n';
        }
        progress.done(pending[i].label, r.exit_code);
    });
    for (size_t j = 0; j < to_run.size(); ++j)
        results[to_run[j]] = ran[j];
    write_sweep_table(o.out, grid, mine, {shard.k, shard.n}, shard.source);
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
        "(the scenario seed, or --seed, then +1, +2... for --seeds N) is a grid point; without\n"
        "--param the grid is the seeds alone. Every variant of the scenario (or those given\n"
        "with --variant) runs at each point, each run in its own worker. Results:\n"
        "OUT/<point>/<variant>/, e.g. OUT/app.linger=0,seed=2/linger_0, and the table\n"
        "OUT/sweep.csv + OUT/sweep.json. --shard K/N (1-based) runs only the points whose\n"
        "0-based index i has i % N == K-1; --shard auto reads K and N from a Slurm array,\n"
        "Kubernetes Indexed Job or GitLab parallel job (docs/scale.md); join shard folders\n"
        "with `lwipsim merge`. --resume skips the runs an interrupted attempt finished.\n"
        "Examples:\n"
        "  lwipsim sweep scenarios/field_case.yaml --param app.keepalive=30s,60s,120s \\\n"
        "      --param heap.budget=40KiB,64KiB --seeds 3 --variant linger_off --out results/sweep\n"
        "  lwipsim sweep scenarios/field_case.yaml --seeds 10 --out results/seeds\n"
        "  lwipsim sweep scenarios/field_case.yaml --param app.keepalive=30s,60s --shard auto \\\n"
        "      --resume --out shard-$SLURM_ARRAY_TASK_ID\n"
        "Exit: 0 every run passed, 1 an expectation failed somewhere, 2/3/70 as for run.");
    cmd->add_option("scenario", o->scenario, "scenario YAML file")
        ->required()
        ->check(readable_file());
    cmd->add_option("--param", o->params,
                    "KEY=V1,V2,... one grid axis (repeatable; values split at commas)");
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
    cmd->add_option("--shard", o->shard,
                    "run only shard K of N (1-based), e.g. 1/2; `auto`: from the job engine");
    cmd->add_flag("--resume", o->resume,
                  "skip the runs an interrupted attempt of this same sweep finished in --out");
    cmd->add_option("--out", o->out, "sweep folder")->required();
    cmd->add_option("--junit", o->junit, "also write JUnit XML here");
    cmd->callback([o] { finish(sweep(*o)); });
}

} // namespace lwipsim::cli
