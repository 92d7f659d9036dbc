#pragma once
// The summary metrics expectations are written against (names: harness/scenario/metrics.h),
// computed from what a run measured, and the pass/fail of each expectation.

#include "harness/broker/broker_log.h"
#include "harness/probes/pcb_probe.h"
#include "harness/runner/recorder.h"
#include "harness/scenario/scenario.h"

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lwipsim::runner {

struct MeasuredRun {
    size_t heap_budget = 0, min_free = 0, final_used = 0;
    uint64_t alloc_failures = 0;
    const std::vector<probes::PcbRecord>* pcbs = nullptr;
    const std::vector<HeapSample>* samples = nullptr;
    uint64_t connects = 0, disconnects = 0, handshakes_ok = 0, handshake_failures = 0;
    uint64_t publishes_acked = 0, messages_received = 0, socket_failures = 0;
    std::optional<double> max_reconnect_s; ///< nullopt: the device never had a session
    double connected_fraction = 0;
    uint64_t frames_dropped = 0, frames_delivered = 0, rst_sent = 0;
    double duration_s = 0;
    std::optional<double> max_drift_after_reconnect; ///< bytes; null with fewer than 2 sessions
    /// What the managed broker's log recorded; nullptr when its log is not ours (external).
    const broker::BrokerCounts* broker = nullptr;
    bool builtin_app = true; ///< false with app.program: the app.* metrics were not measured
    /// lwipsim_event counts by name (app.program); nullptr without a program.
    const std::map<std::string, uint64_t>* program_events = nullptr;
};

/// The metric's value, or nullopt when this run cannot measure it: the expectation then fails
/// as "not measurable" with the reason in `error`.
std::optional<double> metric_value(const std::string& name, const MeasuredRun& m);

/// [{metric, op, value, measured, passed}] for the expectations that apply to the variant.
nlohmann::json evaluate_expectations(const scenario::Scenario& sc, const MeasuredRun& m);

/// {name: value or null} for every known metric (summary.json
/// `metrics`, what `lwipsim diff` compares).
nlohmann::json metrics_json(const MeasuredRun& m);

} // namespace lwipsim::runner
