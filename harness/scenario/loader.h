#pragma once
// Loading a YAML scenario into the validated model (harness/scenario/scenario.h).
//
// Overrides work on the YAML tree, before validation, so a variant's `set` entries and the
// CLI's `--set key.path=value` use the same key paths as the file (e.g. `app.linger=0`,
// `faults.outage.for=2min` - a list element is picked by index or by its `name`). Order:
// file, then the variant's `set`, then --set. Every error is a ScenarioError with the
// 1-based file:line:col of the offending node, or the --set text it came from.
// Thread-compatible: no shared state.

#include "harness/scenario/scenario.h"

#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lwipsim::scenario {

/// Loads and validates `file` (the base scenario, no variant) with `set_overrides`
/// ("a.b=value") applied. Every variant the file defines is resolved and validated too, so a
/// broken variant is reported here. Throws ScenarioError.
Scenario load_scenario(const std::filesystem::path& file,
                       std::span<const std::string> set_overrides = {});

/// Same, from text; `file` is used for the name (its stem), messages and resolving relative
/// paths. For tests and the fuzzer.
Scenario load_scenario_text(std::string_view yaml, const std::filesystem::path& file,
                            std::span<const std::string> set_overrides = {});

/// The variant names of a loaded scenario, in file order.
std::vector<std::string> variant_names(const Scenario& base);

/// Re-resolves `base`'s source with variant `name` applied, then base.set_overrides.
/// `name` "" or "base" gives the scenario without a variant. Throws ScenarioError for an
/// unknown variant.
Scenario resolve_variant(const Scenario& base, std::string_view name);

/// Levenshtein distance; exported for the CLI's own "did you mean" on subcommands.
size_t edit_distance(std::string_view a, std::string_view b);

} // namespace lwipsim::scenario
