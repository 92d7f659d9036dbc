#pragma once
// The metrics an expectation may name: the single list shared by the loader (validation), the
// recorder (which must produce each of them) and the docs. Units: bytes, seconds or a count.

#include <span>
#include <string_view>

namespace lwipsim::scenario {

enum class MetricUnit { kBytes, kSeconds, kCount };

struct MetricInfo {
    std::string_view name; ///< dotted path, e.g. "pcbs.max_close_to_free_s"
    MetricUnit unit;
    std::string_view description;
};

/// program.events.<name>: how many times the device program called lwipsim_event(name, ...)
/// (docs/programs.md); any name of letters, digits, '_', '.', '-'.
inline constexpr std::string_view kProgramEventMetricPrefix = "program.events.";

std::span<const MetricInfo> known_metrics();
/// nullptr if `name` is not a known metric.
const MetricInfo* find_metric(std::string_view name);

} // namespace lwipsim::scenario
