// lwipsim: the command line. Subcommands run, validate, list, compare and plot.
// Exit codes: 0 passed, 1 an expectation failed, 2 usage or scenario error, 3 environment
// problem (mosquitto missing...), 70 internal error. Only this file maps errors to codes.
#include "harness/broker/child_registry.h"
#include "harness/broker/errors.h"
#include "harness/report/html_report.h"
#include "harness/report/plots.h"
#include "harness/runner/variant_run.h"
#include "harness/scenario/loader.h"
#include "harness/scenario/scenario_error.h"
#include "sim/port/lwip/device_stack.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>

namespace fs = std::filesystem;
using namespace lwipsim;

namespace {

constexpr int kExitPassed = 0, kExitFailed = 1, kExitUsage = 2, kExitEnvironment = 3,
              kExitInternal = 70;

struct RunOptions {
    std::string scenario;
    std::vector<std::string> variants;
    std::vector<std::string> sets;
    std::optional<uint64_t> seed;
    std::string out = "results";
    int jobs = 2;
    bool no_plots = false;
    bool quiet = false;
};

std::string profile_of(const scenario::Scenario& sc) {
    return sc.profile == scenario::Profile::kEspIdfV44 ? "esp-idf-v4.4" : "upstream-2.1.3";
}

// A variant whose profile is not the one this binary was built with runs in the sibling
// binary built for it (lwIP's options are compile-time).
[[noreturn]] void exec_sibling(const std::string& profile, const RunOptions& o,
                               const std::string& variant, const fs::path& parent_out) {
    fs::path self = fs::read_symlink("/proc/self/exe");
    fs::path sibling = self.parent_path() /
                       (profile == "esp-idf-v4.4" ? "lwipsim" : "lwipsim-" + profile);
    std::vector<std::string> args = {sibling.string(), "run", o.scenario, "--variant", variant,
                                     "--out", parent_out.string(), "--no-plots", "--quiet",
                                     "--jobs", "1"};
    for (const auto& s : o.sets) args.insert(args.end(), {"--set", s});
    if (o.seed) args.insert(args.end(), {"--seed", std::to_string(*o.seed)});
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    std::perror(("lwipsim: cannot exec " + sibling.string()).c_str());
    _exit(kExitEnvironment);
}

// The worker: one variant in this (forked) process.
[[noreturn]] void run_worker(const RunOptions& o, const std::string& variant, const fs::path& out) {
    int rc = kExitInternal;
    try {
        auto base = scenario::load_scenario(o.scenario, o.sets);
        auto sc = variant == "base" ? base : scenario::resolve_variant(base, variant);
        if (o.seed) sc.seed = *o.seed;
        if (profile_of(sc) != port::profile_name()) exec_sibling(profile_of(sc), o, variant, out);
        auto result = runner::run_variant(sc, out / variant);
        rc = result.expectations_passed ? kExitPassed : kExitFailed;
    } catch (const scenario::ScenarioError& e) {
        std::fprintf(stderr, "%s\n", e.what());
        rc = kExitUsage;
    } catch (const broker::EnvironmentError& e) {
        std::fprintf(stderr, "lwipsim: environment: %s\n", e.what());
        rc = kExitEnvironment;
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "lwipsim: %s: %s\n", variant.c_str(), e.what());
        rc = kExitUsage;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "lwipsim: %s: internal error: %s\n", variant.c_str(), e.what());
    }
    std::fflush(nullptr);
    _exit(rc); // lwIP's threads stay parked; nothing else to tear down
}

void print_table(const fs::path& out, const std::vector<std::string>& variants) {
    std::printf("%-14s %-7s %10s %10s %8s %8s %10s %9s\n", "variant", "status", "min_free",
                "final_free", "connects", "tls_fail", "max_c2f_s", "pcbs_end");
    for (const auto& v : variants) {
        std::ifstream in(out / v / "summary.json");
        if (!in) {
            std::printf("%-14s %-7s\n", v.c_str(), "error");
            continue;
        }
        auto s = nlohmann::json::parse(in);
        double max_c2f = 0;
        int alive = 0;
        for (const auto& p : s["pcbs"]) {
            if (p["freed_at_s"].is_null()) ++alive;
            if (p["closed_at_s"].is_null()) continue;
            double end = p["freed_at_s"].is_null() ? s["sim_time_s"].get<double>() : p["freed_at_s"].get<double>();
            max_c2f = std::max(max_c2f, end - p["closed_at_s"].get<double>());
        }
        std::printf("%-14s %-7s %10zu %10zu %8d %8d %10.1f %9d\n", v.c_str(),
                    s["status"].get<std::string>().c_str(), s["heap"]["min_free"].get<size_t>(),
                    s["heap"]["final_free"].get<size_t>(), s["app"]["connects"].get<int>(),
                    s["app"]["tls_handshake_failures"].get<int>(), max_c2f, alive);
        for (const auto& e : s["expectations"]) {
            if (!e["passed"].get<bool>()) {
                std::printf("    FAILED %s %s %g (measured %s)\n", e["metric"].get<std::string>().c_str(),
                            e["op"].get<std::string>().c_str(), e["value"].get<double>(),
                            e["measured"].dump().c_str());
            }
        }
    }
}

int cmd_run(const RunOptions& o) {
    auto base = scenario::load_scenario(o.scenario, o.sets); // validates before anything runs
    std::vector<std::string> variants = o.variants;
    if (variants.empty()) variants = scenario::variant_names(base);
    if (variants.empty()) variants = {"base"};
    for (const auto& v : variants) {
        if (v != "base") (void)scenario::resolve_variant(base, v);
    }
    fs::path out = o.out;
    fs::create_directories(out);
    std::map<pid_t, std::string> running;
    int worst = kExitPassed;
    auto reap_one = [&] {
        int status = 0;
        pid_t pid = wait(&status);
        if (pid <= 0) return;
        int rc = WIFEXITED(status) ? WEXITSTATUS(status) : kExitInternal;
        if (!o.quiet) std::fprintf(stderr, "lwipsim: variant %s finished (exit %d)\n", running[pid].c_str(), rc);
        if (rc == kExitFailed && worst == kExitPassed) worst = kExitFailed;
        if (rc != kExitPassed && rc != kExitFailed) worst = std::max(worst == kExitFailed ? 0 : worst, rc);
        running.erase(pid);
    };
    for (const auto& v : variants) {
        while (static_cast<int>(running.size()) >= std::max(1, o.jobs)) reap_one();
        std::fflush(nullptr);
        pid_t pid = fork();
        if (pid < 0) throw std::runtime_error("fork failed");
        if (pid == 0) run_worker(o, v, out);
        broker::register_child(pid);
        running[pid] = v;
    }
    while (!running.empty()) reap_one();
    if (!o.quiet) print_table(out, variants);
    if (!o.no_plots) {
        try {
            if (variants.size() > 1) {
                report::plot_comparison(out);
                for (const auto& v : variants) report::plot_run(out / v);
            } else {
                report::plot_run(out / variants.front());
            }
            for (const auto& v : variants) report::write_report(out / v);
            if (!o.quiet) std::printf("results, plots and reports in %s/\n", out.c_str());
        } catch (const std::exception& e) {
            std::fprintf(stderr, "lwipsim: plots: %s\n", e.what());
            if (worst == kExitPassed) worst = kExitEnvironment;
        }
    }
    return worst;
}

} // namespace

int main(int argc, char** argv) {
    broker::install_cleanup_handlers();
    CLI::App app{"lwipsim: lwIP + mbedTLS device simulator with scripted network faults"};
    app.set_version_flag("--version", std::string("lwipsim 0.1.0 (lwIP profile ") + port::profile_name() + ")");
    app.require_subcommand(1);

    RunOptions run;
    auto* run_cmd = app.add_subcommand("run", "run a scenario (every variant, in parallel workers)");
    run_cmd->add_option("scenario", run.scenario, "scenario YAML file")->required()->check(CLI::ExistingFile);
    run_cmd->add_option("--variant", run.variants, "run only these variants (repeatable)");
    run_cmd->add_option("--set", run.sets, "override KEY=VALUE (YAML key paths, e.g. app.linger=0)");
    run_cmd->add_option("--seed", run.seed, "override the scenario seed");
    run_cmd->add_option("--out", run.out, "result folder (one subfolder per variant)");
    run_cmd->add_option("--jobs", run.jobs, "variants run at once")->check(CLI::Range(1, 64));
    run_cmd->add_flag("--no-plots", run.no_plots, "skip plots and report.html");
    run_cmd->add_flag("--quiet", run.quiet, "no summary table");

    std::vector<std::string> to_validate;
    auto* validate_cmd = app.add_subcommand("validate", "check scenario files");
    validate_cmd->add_option("scenarios", to_validate)->required()->check(CLI::ExistingFile);

    std::string list_dir = "scenarios";
    auto* list_cmd = app.add_subcommand("list", "scenarios in a folder with their descriptions");
    list_cmd->add_option("dir", list_dir);

    std::string plot_dir;
    auto* plot_cmd = app.add_subcommand("plot", "plots and report.html for a result folder");
    plot_cmd->add_option("dir", plot_dir)->required()->check(CLI::ExistingDirectory);

    std::string compare_dir;
    auto* compare_cmd = app.add_subcommand("compare", "variants of a result folder side by side");
    compare_cmd->add_option("dir", compare_dir)->required()->check(CLI::ExistingDirectory);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? kExitPassed : kExitUsage;
    }
    try {
        if (*run_cmd) return cmd_run(run);
        if (*validate_cmd) {
            for (const auto& f : to_validate) {
                auto sc = scenario::load_scenario(f);
                for (const auto& v : scenario::variant_names(sc)) (void)scenario::resolve_variant(sc, v);
                std::printf("%s: ok\n", f.c_str());
            }
            return kExitPassed;
        }
        if (*list_cmd) {
            for (const auto& e : fs::directory_iterator(list_dir)) {
                if (e.path().extension() != ".yaml") continue;
                auto sc = scenario::load_scenario(e.path());
                std::printf("%-28s %s\n", e.path().filename().c_str(), sc.description.c_str());
            }
            return kExitPassed;
        }
        std::vector<std::string> variants;
        fs::path dir = *plot_cmd ? fs::path(plot_dir) : fs::path(compare_dir);
        if (fs::exists(dir / "summary.json")) {
            if (*plot_cmd) { report::plot_run(dir); report::write_report(dir); }
            if (*compare_cmd) print_table(dir.parent_path(), {dir.filename()});
            return kExitPassed;
        }
        for (const auto& e : fs::directory_iterator(dir)) {
            if (fs::exists(e.path() / "summary.json")) variants.push_back(e.path().filename());
        }
        std::sort(variants.begin(), variants.end());
        if (*compare_cmd) print_table(dir, variants);
        if (*plot_cmd) {
            report::plot_comparison(dir);
            for (const auto& v : variants) { report::plot_run(dir / v); report::write_report(dir / v); }
        }
        return kExitPassed;
    } catch (const scenario::ScenarioError& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return kExitUsage;
    } catch (const broker::EnvironmentError& e) {
        std::fprintf(stderr, "lwipsim: environment: %s\n", e.what());
        return kExitEnvironment;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "lwipsim: internal error: %s\n", e.what());
        return kExitInternal;
    }
}
