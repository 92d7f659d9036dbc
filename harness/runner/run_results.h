#pragma once
// The run's results: summary.json's parts (device, options, heap, app, time, whether the run
// repeats), the measured run the metrics and expectations are computed from (metrics_eval.h),
// and the result files written into the run's folder. Format: docs/results.md.

#include "harness/runner/metrics_eval.h"
#include "harness/scenario/scenario.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace lwipsim::clock {
class Scheduler;
}

namespace lwipsim::runner {

struct BrokerTarget;
struct RunState;

/// What the run measured, for metrics_value and the expectations (the broker's counts are the
/// caller's to add).
MeasuredRun measured_run(const RunState& st);

/// Which build ran the device: its structure sizes, and whether an emulator ran it (a kernel
/// without 32-bit support runs lwipsim-ilp32 under qemu-i386; harness/cli/cli_common.cpp).
nlohmann::json device_json();
/// The lwIP options this build and scenario ran with, and the heap's settings.
nlohmann::json options_json(const scenario::Scenario& sc);
nlohmann::json heap_json(const RunState& st);
nlohmann::json app_json(const RunState& st);
/// `broker_clock`: the managed broker's clock as run ("virtual" or "wall"), null otherwise.
nlohmann::json time_json(const clock::Scheduler& sched, const char* broker_clock);

/// Why this run is not guaranteed to repeat with the same seed, or nullopt when it is.
/// `broker_virtual`: the managed broker ran on the run's virtual time.
std::optional<std::string> not_repeatable_reason(const scenario::Scenario& sc,
                                                 const clock::Scheduler& sched,
                                                 bool broker_virtual);

/// Writes every result file into the .partial folder (the caller renames it when complete).
void write_results(const RunState& st, const nlohmann::json& summary, const BrokerTarget& target,
                   const nlohmann::json& link_info);

} // namespace lwipsim::runner
