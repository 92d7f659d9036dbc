#include "harness/cli/cli_common.h"

#include "harness/broker/pki_cache.h"
#include "harness/program/program_watchdog.h"
#include "harness/runner/variant_run.h"
#include "harness/scenario/loader.h"
#include "harness/scenario/scenario_error.h"
#include "sim/host/child_registry.h"
#include "sim/host/cpu_claim.h"
#include "sim/host/errors.h"
#include "sim/port/lwip/device_stack.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <set>
#include <string_view>

namespace lwipsim::cli {

namespace fs = std::filesystem;
using nlohmann::json;

Verbosity& verbosity() {
    static Verbosity v = Verbosity::kNormal;
    return v;
}

int worse(int a, int b) {
    auto rank = [](int c) { return c == kExitPassed ? 0 : c == kExitFailed ? 1 : 2; };
    if (rank(a) != rank(b))
        return rank(a) > rank(b) ? a : b;
    return std::max(a, b);
}

std::string describe_exit(int code) {
    switch (code) {
    case kExitPassed:
        return "passed";
    case kExitFailed:
        return "expectation failed";
    case kExitUsage:
        return "scenario or usage error";
    case kExitEnvironment:
        return "environment problem";
    default:
        return "internal error (exit " + std::to_string(code) + ")";
    }
}

namespace {

// The executable built for a scenario's lwIP profile and device ABI, as installed side by side:
// lwipsim (esp-idf-v4.4, host sizes), lwipsim-ilp32 (esp-idf-v4.4, 32-bit device) and
// lwipsim-upstream-2.1.3.
std::string worker_binary_of(const scenario::Scenario& sc) {
    if (sc.profile == scenario::Profile::kUpstream213)
        return "lwipsim-upstream-2.1.3";
    return sc.abi == scenario::Abi::kIlp32 ? "lwipsim-ilp32" : "lwipsim";
}

// Which of those this executable is: its profile and word size are compiled in.
std::string this_worker_binary() {
    if (std::string_view(port::profile_name()) == "upstream-2.1.3")
        return "lwipsim-upstream-2.1.3";
    return sizeof(void*) == 4 ? "lwipsim-ilp32" : "lwipsim";
}

bool is_worker_for(const scenario::Scenario& sc) {
    return worker_binary_of(sc) == this_worker_binary();
}

// Set in a sibling's environment: the fd of the first CLI's error pipe for this variant.
constexpr const char* kErrorFdEnv = "LWIPSIM_PARENT_ERROR_FD";

// A kernel without 32-bit support (IA32 emulation off, or a VM that lacks it) refuses the
// 32-bit worker with ENOEXEC. It then runs under qemu-i386 (Debian's qemu-user): the same
// 32-bit code, its system calls passed to this kernel (docs/design.md, "The device in 32 bits").
[[noreturn]] void exec_under_qemu(std::vector<char*>& argv) {
    std::string qemu = "qemu-i386";
    argv.insert(argv.begin(), qemu.data());
    setenv("LWIPSIM_DEVICE_EMULATOR", "qemu-i386", 1); // summary.json's device.emulator
    execvp(argv[0], argv.data());
    // The device's runner is part of lwipsim's install, not a tool the user picks by PATH
    // (tests narrow PATH to hide mosquitto): Debian's qemu-user puts it here.
    std::string packaged = "/usr/bin/qemu-i386";
    argv[0] = packaged.data();
    execv(argv[0], argv.data());
    std::fprintf(stderr,
                 "lwipsim: this kernel cannot run the 32-bit device worker %s (abi: ilp32), and "
                 "qemu-i386 cannot be started (%s): install Debian's qemu-user "
                 "(scripts/bootstrap does), or set abi: host\n",
                 argv[1], std::strerror(errno));
    _exit(kExitEnvironment);
}

// lwIP's options are compile-time, and so are structure sizes: a variant of another profile or
// ABI runs in the sibling binary built for it, as a one-variant `run` into the same parent
// folder.
[[noreturn]] void exec_sibling(const std::string& binary, const VariantJob& job, int error_fd) {
    // The sibling's own worker reports why it failed to this process's parent too (JUnit's
    // <error> message), through the pipe it inherits.
    fcntl(error_fd, F_SETFD, 0);
    setenv(kErrorFdEnv, std::to_string(error_fd).c_str(), 1);
    fs::path self = fs::read_symlink("/proc/self/exe");
    fs::path sibling = self.parent_path() / binary;
    std::vector<std::string> args = {
        sibling.string(), "--quiet",   "run",   job.scenario,
        "--variant",      job.variant, "--out", job.parent_out.string(),
        "--no-plots",     "--jobs",    "1"};
    for (const auto& s : job.sets)
        args.insert(args.end(), {"--set", s});
    if (job.seed)
        args.insert(args.end(), {"--seed", std::to_string(*job.seed)});
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    if (errno == ENOEXEC && binary == "lwipsim-ilp32")
        exec_under_qemu(argv);
    std::fprintf(stderr, "lwipsim: cannot exec %s: %s%s\n", sibling.c_str(), std::strerror(errno),
                 binary == "lwipsim-ilp32" && errno == ENOENT
                     ? " (abi: ilp32 needs the 32-bit build: configure with LWIPSIM_ILP32=ON "
                       "after scripts/bootstrap, or set abi: host)"
                     : "");
    _exit(kExitEnvironment);
}

// The worker's own CPU for its whole life (sim/host/cpu_claim.h), unless --cpu-pinning off
// (LWIPSIM_CPU_PINNING=off; main() refuses values other than auto and off, from the flag or
// the environment). Its lock files live in lwipsim's cache folder, beside the test PKI.
std::optional<host::CpuClaim> claim_worker_cpu(const VariantJob& job) {
    const char* mode = std::getenv(kCpuPinningEnv);
    if (mode != nullptr && std::string_view(mode) == "off")
        return std::nullopt;
    const auto cache = broker::default_pki_cache_dir();
    std::string why_not = "no cache folder ($LWIPSIM_CACHE_DIR, $XDG_CACHE_HOME and $HOME unset)";
    auto claim = cache ? host::CpuClaim::claim(*cache / "cpus", &why_not) : std::nullopt;
    if (verbose()) {
        if (claim)
            std::fprintf(stderr, "lwipsim: %s: on CPU %d\n", job.label.c_str(), claim->cpu());
        else
            std::fprintf(stderr, "lwipsim: %s: not pinned: %s\n", job.label.c_str(),
                         why_not.c_str());
    }
    return claim;
}

// The worker: one variant in this forked process. Why it failed goes to stderr and, for the
// parent's reports (JUnit), to `error_fd`.
[[noreturn]] void run_worker(const VariantJob& job, int error_fd) {
    int rc = kExitInternal;
    std::string error;
    try {
        auto base = scenario::load_scenario(job.scenario, job.sets);
        auto sc = job.variant == "base" ? base : scenario::resolve_variant(base, job.variant);
        if (job.seed)
            sc.seed = *job.seed;
        if (!is_worker_for(sc))
            exec_sibling(worker_binary_of(sc), job, error_fd);
        const char* outer = std::getenv(kErrorFdEnv);
        program::report_stalls_to(error_fd, outer != nullptr ? std::atoi(outer) : -1);
        const auto cpu = claim_worker_cpu(job); // before the run starts any thread or child
        auto result = runner::run_variant(sc, job.parent_out / job.variant);
        rc = result.expectations_passed ? kExitPassed : kExitFailed;
        for (const auto& w : result.warnings)
            std::fprintf(stderr, "lwipsim: %s: warning: %s\n", job.label.c_str(), w.c_str());
        if (result.failure)
            std::fprintf(stderr, "lwipsim: %s: %s\n", job.label.c_str(), result.failure->c_str());
    } catch (const scenario::ScenarioError& e) {
        error = e.what();
        rc = kExitUsage;
    } catch (const host::EnvironmentError& e) { // no mosquitto; TAP: no root, /dev/net/tun, ip
        error = std::string("environment: ") + e.what();
        rc = kExitEnvironment;
    } catch (const std::invalid_argument& e) {
        error = e.what();
        rc = kExitUsage;
    } catch (const std::exception& e) {
        error = std::string("internal error: ") + e.what();
    }
    if (!error.empty()) {
        std::fprintf(stderr, "lwipsim: %s: %s\n", job.label.c_str(), error.c_str());
        (void)!write(error_fd, error.data(), error.size());
        if (const char* outer = std::getenv(kErrorFdEnv)) // run as a sibling: the first CLI's
            (void)!write(std::atoi(outer), error.data(), error.size());
    }
    std::fflush(nullptr);
    _exit(rc); // lwIP's threads stay parked; nothing else to tear down
}

std::string read_all(int fd) {
    std::string s;
    char buf[4096];
    for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;)
        s.append(buf, static_cast<size_t>(n));
    return s;
}

} // namespace

std::vector<JobResult> run_jobs(const std::vector<VariantJob>& list, int jobs,
                                const std::function<void(size_t, const JobResult&)>& on_done) {
    std::vector<JobResult> results(list.size());
    struct Running {
        size_t index;
        int error_fd;
    };
    std::map<pid_t, Running> running;
    auto reap_one = [&] {
        // Peek first: the registry wants a pid unregistered before it is reaped.
        siginfo_t info{};
        if (waitid(P_ALL, 0, &info, WEXITED | WNOWAIT) != 0 || info.si_pid <= 0) {
            throw std::runtime_error(std::string("waitid: ") + std::strerror(errno));
        }
        pid_t pid = info.si_pid;
        host::unregister_child(pid);
        int status = 0;
        waitpid(pid, &status, 0);
        auto it = running.find(pid);
        if (it == running.end())
            return; // not a worker (cannot happen: we start no others)
        JobResult& r = results[it->second.index];
        r.error = read_all(it->second.error_fd);
        close(it->second.error_fd);
        if (WIFEXITED(status)) {
            r.exit_code = WEXITSTATUS(status);
            if (r.error.empty() && r.exit_code != kExitPassed && r.exit_code != kExitFailed) {
                r.error = "worker exited with code " + std::to_string(r.exit_code) + " (" +
                          describe_exit(r.exit_code) + ")";
            }
        } else {
            r.exit_code = kExitInternal;
            r.error = "worker killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
                      strsignal(WTERMSIG(status)) + ")";
        }
        size_t index = it->second.index;
        running.erase(it);
        on_done(index, r);
    };
    for (size_t i = 0; i < list.size(); ++i) {
        while (static_cast<int>(running.size()) >= std::max(1, jobs))
            reap_one();
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) != 0)
            throw std::runtime_error("pipe failed");
        if (verbose()) {
            std::fprintf(stderr, "lwipsim: starting %s -> %s\n", list[i].label.c_str(),
                         (list[i].parent_out / list[i].variant).c_str());
        }
        std::fflush(nullptr);
        const pid_t parent = getpid();
        pid_t pid = fork();
        if (pid < 0)
            throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
        if (pid == 0) {
            // A worker dies with the CLI, even a SIGKILLed one; its broker dies with it in
            // turn (the broker's own PDEATHSIG), so nothing is left behind.
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent)
                _exit(70);
            close(fds[0]);
            run_worker(list[i], fds[1]);
        }
        close(fds[1]);
        host::register_child(pid);
        running[pid] = {i, fds[0]};
    }
    while (!running.empty())
        reap_one();
    return results;
}

KeyFigures read_key_figures(const fs::path& folder) {
    KeyFigures k;
    std::ifstream in(folder / "summary.json");
    if (!in)
        return k;
    json s = json::parse(in, nullptr, false);
    if (s.is_discarded() || !s.is_object())
        return k;
    auto u64 = [&](const json& j) -> std::optional<uint64_t> {
        return j.is_number() ? std::optional<uint64_t>(j.get<uint64_t>()) : std::nullopt;
    };
    k.status = s.value("status", "error");
    const json& heap = s.value("heap", json::object());
    k.unlimited = heap.value("unlimited", false);
    k.min_free = u64(heap.value("min_free", json()));
    k.final_free = u64(heap.value("final_free", json()));
    auto budget = u64(heap.value("budget", json()));
    if (budget && k.min_free && *k.min_free <= *budget)
        k.peak_used = *budget - *k.min_free;
    if (budget && k.final_free && *k.final_free <= *budget)
        k.final_used = *budget - *k.final_free;
    if (k.unlimited)
        k.min_free = k.final_free = std::nullopt;
    k.alloc_failures = u64(heap.value("alloc_failures", json()));
    const json& app = s.value("app", json::object());
    k.connects = u64(app.value("connects", json()));
    k.tls_handshake_failures = u64(app.value("tls_handshake_failures", json()));
    if (s.contains("wall_time_s"))
        k.wall_time_s = s["wall_time_s"].get<double>();
    double end = s.value("sim_time_s", 0.0);
    int alive = 0;
    for (const auto& p : s.value("pcbs", json::array())) {
        if (p["freed_at_s"].is_null())
            ++alive;
        if (p["closed_at_s"].is_null())
            continue; // no close, nothing to time: stays null unless another PCB was closed
        double freed = p["freed_at_s"].is_null() ? end : p["freed_at_s"].get<double>();
        k.max_close_to_free_s =
            std::max(k.max_close_to_free_s.value_or(0), freed - p["closed_at_s"].get<double>());
    }
    k.pcbs_alive_at_end = alive;
    k.expectations = s.value("expectations", json::array());
    if (const json& p = s.value("program", json::object()); p.value("failure", json()).is_string())
        k.program_failure = p["failure"].get<std::string>();
    return k;
}

void print_table(const fs::path& out, const std::vector<std::string>& variants) {
    std::printf("%-14s %-7s %10s %10s %10s %8s %8s %10s %9s\n", "variant", "status", "min_free",
                "final_free", "peak_used", "connects", "tls_fail", "max_c2f_s", "pcbs_end");
    auto bytes = [](const std::optional<uint64_t>& v, bool unlimited) {
        if (unlimited)
            return std::string("unlimited");
        return v ? std::to_string(*v) : std::string("-");
    };
    for (const auto& v : variants) {
        KeyFigures k = read_key_figures(out / v);
        if (k.status == "error") {
            std::printf("%-14s %-7s\n", v.c_str(), "error");
            continue;
        }
        char c2f[32] = "-"; // no socket closed: nothing to time
        if (k.max_close_to_free_s)
            std::snprintf(c2f, sizeof c2f, "%.1f", *k.max_close_to_free_s);
        std::printf("%-14s %-7s %10s %10s %10s %8llu %8llu %10s %9d\n", v.c_str(), k.status.c_str(),
                    bytes(k.min_free, k.unlimited).c_str(),
                    bytes(k.final_free, k.unlimited).c_str(), bytes(k.peak_used, false).c_str(),
                    static_cast<unsigned long long>(k.connects.value_or(0)),
                    static_cast<unsigned long long>(k.tls_handshake_failures.value_or(0)), c2f,
                    k.pcbs_alive_at_end.value_or(0));
        if (!k.program_failure.empty())
            std::printf("    FAILED device program: %s\n", k.program_failure.c_str());
        for (const auto& e : k.expectations) {
            bool passed = e.value("passed", false);
            if (passed && !verbose())
                continue;
            const json& m = e.value("measured", json());
            char measured[64] = "not measurable";
            if (m.is_number())
                std::snprintf(measured, sizeof measured, "%g", m.get<double>());
            std::printf("    %s %s %s %g (measured %s)\n", passed ? "passed" : "FAILED",
                        e.value("metric", "?").c_str(), e.value("op", "?").c_str(),
                        e.value("value", 0.0), measured);
        }
    }
}

namespace {

/// The scenario a result folder or sweep folder belongs to ("" when its file is unreadable).
std::string scenario_of(const fs::path& json_file) {
    std::ifstream in(json_file);
    json j = json::parse(in, nullptr, false);
    return j.is_object() && j.value("scenario", json()).is_string()
               ? j["scenario"].get<std::string>()
               : std::string();
}

/// A flat folder whose files all have one of `extensions` (empty: any file).
bool only_flat_files(const fs::path& dir, std::initializer_list<std::string_view> extensions) {
    for (const auto& e : fs::directory_iterator(dir)) {
        if (!e.is_regular_file())
            return false;
        const std::string ext = e.path().extension().string();
        if (extensions.size() &&
            std::find(extensions.begin(), extensions.end(), ext) == extensions.end())
            return false;
    }
    return true;
}

/// A `plots/` folder as lwipsim writes it: pictures, their data and gnuplot scripts/logs.
bool is_our_plots(const fs::path& dir) {
    return only_flat_files(dir, {".png", ".svg", ".dat", ".gp", ".log", ".csv"});
}

/// A `<variant>.partial/` result folder of a run cut short: empty, or result files of the
/// kinds a run writes (docs/results.md) with its plots/, pki/ and www/ folders.
bool is_our_partial(const fs::path& dir) {
    static constexpr std::string_view kResultFiles[] = {".log",  ".pcap", ".jsonl", ".csv", ".json",
                                                        ".html", ".conf", ".clock", ".db"};
    for (const auto& e : fs::directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        const bool ok =
            e.is_directory()
                ? (name == "plots" && is_our_plots(e.path())) || name == "pki" || name == "www"
                : e.is_regular_file() &&
                      std::find(std::begin(kResultFiles), std::end(kResultFiles),
                                e.path().extension().string()) != std::end(kResultFiles);
        if (!ok)
            return false;
    }
    return true;
}

/// What lwipsim wrote into an --out folder: result folders (`<variant>/`, `<variant>.partial/`),
/// sweep points (`<point>/<variant>/`), plots, reports, tables and error notes. `scenarios`
/// gets the scenario names found; `foreign` the first entry lwipsim did not write.
void survey(const fs::path& dir, int depth, std::set<std::string>& scenarios,
            std::optional<fs::path>& foreign) {
    for (const auto& e : fs::directory_iterator(dir)) {
        const fs::path& p = e.path();
        const std::string name = p.filename().string();
        if (e.is_directory()) {
            if (fs::exists(p / "summary.json")) {
                if (std::string s = scenario_of(p / "summary.json"); !s.empty())
                    scenarios.insert(s);
            } else if ((name == "plots" && is_our_plots(p)) ||
                       (name.ends_with(".partial") && is_our_partial(p))) {
                // plots of a parent folder; a run cut short (its worker was killed)
            } else if (depth == 0) {
                survey(p, depth + 1, scenarios, foreign); // a sweep point
            } else if (!foreign) {
                foreign = p;
            }
        } else if (name == "sweep.json") {
            if (std::string s = scenario_of(p); !s.empty())
                scenarios.insert(s);
        } else if (name != "report.html" && name != "sweep.csv" && !name.ends_with(".error.txt") &&
                   !foreign) {
            foreign = p;
        }
    }
}

} // namespace

void refuse_mixed_results(const fs::path& out, const std::string& scenario, bool force) {
    std::error_code ec;
    if (!fs::is_directory(out, ec))
        return;
    std::set<std::string> scenarios;
    std::optional<fs::path> foreign;
    survey(out, 0, scenarios, foreign);
    scenarios.erase(scenario);
    if (!force) {
        if (!scenarios.empty())
            throw UsageError("--out " + out.string() + " holds results of scenario '" +
                             *scenarios.begin() + "', not '" + scenario +
                             "'; they would be mixed in one comparison. Use another --out, or "
                             "--force to remove the results there first");
        return;
    }
    if (foreign)
        throw UsageError("--force: " + out.string() + " also holds " + foreign->string() +
                         ", which lwipsim did not write; remove it yourself or use another --out");
    for (const auto& e : fs::directory_iterator(out))
        fs::remove_all(e.path());
}

/// The variant folders of `dir` (sorted), or `dir` itself when it is one result folder.
std::pair<fs::path, std::vector<std::string>> variant_folders(const fs::path& dir) {
    if (fs::exists(dir / "summary.json"))
        return {dir.parent_path(), {dir.filename().string()}};
    std::vector<std::string> variants;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (fs::exists(e.path() / "summary.json"))
            variants.push_back(e.path().filename());
    }
    std::sort(variants.begin(), variants.end());
    return {dir, variants};
}

} // namespace lwipsim::cli
