// lwipsim: the command line. One file per subcommand (cmd_*.cpp); this file wires them up and
// is the only place where errors become exit codes: 0 passed, 1 an expectation failed,
// 2 usage or scenario error, 3 environment problem (mosquitto missing...), 70 internal error.
#include "harness/cli/cli_common.h"
#include "harness/cli/commands.h"
#include "harness/scenario/scenario_error.h"
#include "sim/host/child_registry.h"
#include "sim/host/errors.h"
#include "sim/port/lwip/device_stack.h"

#include <CLI/CLI.hpp>

#include <charconv>
#include <cstdio>
#include <filesystem>

using namespace lwipsim;
using namespace lwipsim::cli;

void lwipsim::cli::finish(int code) {
    if (code != kExitPassed)
        throw CLI::RuntimeError(code);
}

CLI::Validator lwipsim::cli::seed_validator() {
    return CLI::Validator(
        [](std::string& text) -> std::string {
            uint64_t v = 0;
            auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
            if (ec == std::errc::result_out_of_range)
                return "seed '" + text + "' is too large (at most 18446744073709551615)";
            if (ec != std::errc() || end != text.data() + text.size())
                return "expected a whole number 0 or more, got '" + text + "'";
            return {};
        },
        "SEED");
}

int main(int argc, char** argv) {
    host::install_cleanup_handlers();
    CLI::App app{"lwipsim: lwIP + mbedTLS device simulator with scripted network faults"};
    app.set_version_flag("--version",
                         std::string("lwipsim 0.1.0 (lwIP profile ") + port::profile_name() + ")");
    app.require_subcommand(1);
    app.fallthrough(); // --quiet / --verbose also after the subcommand
    bool quiet_flag = false, verbose_flag = false;
    auto* q = app.add_flag("-q,--quiet", quiet_flag, "print only errors (no tables, no progress)");
    app.add_flag("-v,--verbose", verbose_flag,
                 "also print each worker's start and every expectation")
        ->excludes(q);
    std::string cpu_pinning;
    app.add_option("--cpu-pinning", cpu_pinning,
                   "auto (default): each worker claims a CPU of its own; off: the kernel places "
                   "workers (docs/performance.md)")
        ->envname(kCpuPinningEnv) // checked the same way when only the environment sets it
        ->check(CLI::Validator(
            [](std::string& value) -> std::string {
                if (value == "auto" || value == "off")
                    return {};
                return "expected auto or off (the flag, or $" + std::string(kCpuPinningEnv) +
                       " without it), got '" + value + "'";
            },
            "auto|off"));
    app.footer("Examples:\n"
               "  lwipsim run scenarios/field_case.yaml --out results/field_case\n"
               "  lwipsim sweep scenarios/field_case.yaml --param app.keepalive=30s,120s --seeds 3 "
               "--out results/sweep\n"
               "  lwipsim validate scenarios/*.yaml\n"
               "`lwipsim SUBCOMMAND --help` for each; reference: docs/cli.md.\n"
               "Exit codes: 0 passed, 1 an expectation failed, 2 usage or scenario error,\n"
               "3 environment problem (e.g. mosquitto missing), 70 internal error.");
    // Flags are read before any subcommand callback runs (callbacks run after parsing).
    app.parse_complete_callback([&] {
        verbosity() = quiet_flag     ? Verbosity::kQuiet
                      : verbose_flag ? Verbosity::kVerbose
                                     : Verbosity::kNormal;
        // Read by every worker, also those of a sibling binary (exec keeps the environment).
        if (!cpu_pinning.empty())
            setenv(kCpuPinningEnv, cpu_pinning.c_str(), 1);
    });
    setup_run(app);
    setup_sweep(app);
    setup_merge(app);
    setup_validate(app);
    setup_list(app);
    setup_compare(app);
    setup_plot(app);
    setup_diff(app);

    try {
        app.parse(argc, argv);
        return kExitPassed;
    } catch (const CLI::ParseError& e) {
        int rc = app.exit(e);
        return rc == 0 || e.get_name() == "RuntimeError" ? rc : kExitUsage;
    } catch (const scenario::ScenarioError& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return kExitUsage;
    } catch (const UsageError& e) {
        std::fprintf(stderr, "lwipsim: %s\n", e.what());
        return kExitUsage;
    } catch (const host::EnvironmentError& e) { // also broker::, link:: and report:: ones
        std::fprintf(stderr, "lwipsim: environment: %s\n", e.what());
        return kExitEnvironment;
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "lwipsim: %s\n", e.what());
        return kExitUsage;
    } catch (const std::filesystem::filesystem_error& e) {
        // A path the user named (or a folder under it) that this user may not use.
        if (e.code() == std::errc::permission_denied ||
            e.code() == std::errc::operation_not_permitted) {
            std::fprintf(stderr, "lwipsim: permission denied: %s\n", e.path1().c_str());
            return kExitUsage;
        }
        std::fprintf(stderr, "lwipsim: internal error: %s\n", e.what());
        return kExitInternal;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "lwipsim: internal error: %s\n", e.what());
        return kExitInternal;
    }
}
