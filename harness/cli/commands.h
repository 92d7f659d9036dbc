#pragma once
// One setup function per subcommand (CLI11's pattern): each adds its subcommand, its options
// struct and a callback to `app`. A callback that ends with a non-zero exit code throws
// CLI::RuntimeError(code); errors it cannot handle propagate to main, which maps them to
// exit codes. Reference: docs/cli.md.

#include <CLI/CLI.hpp>

namespace lwipsim::cli {

void setup_run(CLI::App& app);
void setup_sweep(CLI::App& app);
void setup_merge(CLI::App& app);
void setup_validate(CLI::App& app);
void setup_list(CLI::App& app);
void setup_compare(CLI::App& app);
void setup_plot(CLI::App& app);
void setup_diff(CLI::App& app);

/// --seed: a whole number 0 or more. CLI11 alone reads "-1" into a uint64_t as
/// 18446744073709551615; this refuses it as the scenario's own `seed:` does.
CLI::Validator seed_validator();

/// Ends a subcommand's callback with `code` (nothing to do for 0).
void finish(int code);

/// Option checks that say why a path cannot be used ("permission denied", "does not exist"),
/// where CLI::ExistingFile says "does not exist" for a file the process may not reach.
CLI::Validator readable_file();
CLI::Validator readable_folder();

/// Creates --out (and its parents) or throws UsageError saying why it cannot be written.
void prepare_out_folder(const std::string& out);

} // namespace lwipsim::cli
