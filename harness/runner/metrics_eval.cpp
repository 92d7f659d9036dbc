#include "harness/runner/metrics_eval.h"

#include "harness/scenario/metrics.h"

#include <algorithm>
#include <functional>
#include <map>

namespace lwipsim::runner {

namespace {

// nullopt when the application closed no socket: there is nothing to time.
std::optional<double> close_to_free(const std::vector<probes::PcbRecord>& pcbs, double end_s,
                                    bool mean) {
    // A PCB closed but still alive at the end counts with the time it has lived so far: a
    // lower bound, which is what "at least N minutes" expectations need.
    double sum = 0, best = 0;
    int n = 0;
    for (const auto& p : pcbs) {
        if (!p.closed_at_s)
            continue;
        double d = p.freed_at_s.value_or(end_s) - *p.closed_at_s;
        best = std::max(best, d);
        sum += d;
        ++n;
    }
    if (n == 0)
        return std::nullopt;
    return mean ? sum / n : best;
}

int max_in_state(const std::vector<HeapSample>& samples, const std::string& state) {
    int best = 0;
    for (const auto& s : samples) {
        auto it = s.pcbs_by_state.find(state);
        if (it != s.pcbs_by_state.end())
            best = std::max(best, it->second);
    }
    return best;
}

int max_alive(const std::vector<HeapSample>& samples) {
    int best = 0;
    for (const auto& s : samples) {
        int n = 0;
        for (const auto& [st, c] : s.pcbs_by_state)
            n += c;
        best = std::max(best, n);
    }
    return best;
}

bool compare(double measured, scenario::CompareOp op, double value) {
    switch (op) {
    case scenario::CompareOp::kLess:
        return measured < value;
    case scenario::CompareOp::kLessEqual:
        return measured <= value;
    case scenario::CompareOp::kEqual:
        return measured == value;
    case scenario::CompareOp::kGreaterEqual:
        return measured >= value;
    case scenario::CompareOp::kGreater:
        return measured > value;
    case scenario::CompareOp::kNotEqual:
        return measured != value;
    }
    return false;
}

const char* op_text(scenario::CompareOp op) {
    static const char* const t[] = {"<", "<=", "==", ">=", ">", "!="};
    return t[static_cast<int>(op)];
}

bool applies(const scenario::Expectation& e, const scenario::Scenario& sc) {
    if (e.variants.empty())
        return true;
    std::string v = sc.applied_variant.empty() ? "base" : sc.applied_variant;
    return std::find(e.variants.begin(), e.variants.end(), v) != e.variants.end();
}

using Value = std::optional<double>; ///< nullopt: this run cannot measure it
using MetricFn = Value (*)(const MeasuredRun&);

// One entry per name in harness/scenario/metrics.cpp; built once.
const std::map<std::string, MetricFn, std::less<>>& metric_table() {
    static const std::map<std::string, MetricFn, std::less<>> table = {
        {"heap.min_free", [](const MeasuredRun& m) -> Value { return double(m.min_free); }},
        {"heap.max_used",
         [](const MeasuredRun& m) -> Value { return double(m.heap_budget - m.min_free); }},
        {"heap.final_used", [](const MeasuredRun& m) -> Value { return double(m.final_used); }},
        {"heap.alloc_failures",
         [](const MeasuredRun& m) -> Value { return double(m.alloc_failures); }},
        {"pcbs.max_alive",
         [](const MeasuredRun& m) -> Value { return double(max_alive(*m.samples)); }},
        {"pcbs.max_fin_wait_1",
         [](const MeasuredRun& m) -> Value {
             return double(max_in_state(*m.samples, "FIN_WAIT_1"));
         }},
        {"pcbs.alive_at_end",
         [](const MeasuredRun& m) -> Value {
             return double(std::count_if(m.pcbs->begin(), m.pcbs->end(),
                                         [](const auto& p) { return !p.freed_at_s; }));
         }},
        {"pcbs.max_close_to_free_s",
         [](const MeasuredRun& m) -> Value { return close_to_free(*m.pcbs, m.duration_s, false); }},
        {"pcbs.mean_close_to_free_s",
         [](const MeasuredRun& m) -> Value { return close_to_free(*m.pcbs, m.duration_s, true); }},
        {"pcbs.aborted",
         [](const MeasuredRun& m) -> Value {
             return double(std::count_if(m.pcbs->begin(), m.pcbs->end(), [](const auto& p) {
                 return p.free_reason.starts_with("aborted");
             }));
         }},
        {"tcp.rst_sent", [](const MeasuredRun& m) -> Value { return double(m.rst_sent); }},
        {"tcp.retransmissions",
         [](const MeasuredRun& m) -> Value {
             double n = 0;
             for (const auto& p : *m.pcbs)
                 n += p.retransmissions;
             return n;
         }},
        {"app.connects", [](const MeasuredRun& m) -> Value { return double(m.connects); }},
        {"app.disconnects", [](const MeasuredRun& m) -> Value { return double(m.disconnects); }},
        {"app.tls_handshakes",
         [](const MeasuredRun& m) -> Value { return double(m.handshakes_ok); }},
        {"app.tls_handshake_failures",
         [](const MeasuredRun& m) -> Value { return double(m.handshake_failures); }},
        {"app.messages_published",
         [](const MeasuredRun& m) -> Value { return double(m.publishes_acked); }},
        {"app.messages_received",
         [](const MeasuredRun& m) -> Value { return double(m.messages_received); }},
        {"app.socket_failures",
         [](const MeasuredRun& m) -> Value { return double(m.socket_failures); }},
        {"app.max_reconnect_s", [](const MeasuredRun& m) -> Value { return m.max_reconnect_s; }},
        {"app.connected_fraction",
         [](const MeasuredRun& m) -> Value { return m.connected_fraction; }},
        {"broker.connects",
         [](const MeasuredRun& m) -> Value {
             return m.broker ? Value(double(m.broker->connects)) : std::nullopt;
         }},
        {"broker.disconnects",
         [](const MeasuredRun& m) -> Value {
             return m.broker ? Value(double(m.broker->disconnects)) : std::nullopt;
         }},
        {"broker.clients_expired",
         [](const MeasuredRun& m) -> Value {
             return m.broker ? Value(double(m.broker->clients_expired)) : std::nullopt;
         }},
        {"link.frames_dropped",
         [](const MeasuredRun& m) -> Value { return double(m.frames_dropped); }},
        {"link.frames_delivered",
         [](const MeasuredRun& m) -> Value { return double(m.frames_delivered); }},
    };
    return table;
}

// Why a metric that can be missing is missing (see the null rule in docs/results.md).
std::string why_not_measured(const std::string& name) {
    if (name == "app.max_reconnect_s")
        return "the device never had an MQTT session, so no reconnect could be timed";
    if (name == "pcbs.max_close_to_free_s" || name == "pcbs.mean_close_to_free_s")
        return "the application closed no socket";
    if (name.starts_with("broker."))
        return "the broker is external: its log is not the run's to read";
    if (name.starts_with("program."))
        return "the run has no app.program";
    if (name.starts_with("app.") || name == "heap.max_drift_after_reconnect")
        return "the app.* metrics are the built-in client's, and this run ran app.program";
    return "this run does not measure it";
}

} // namespace

std::optional<double> metric_value(const std::string& name, const MeasuredRun& m) {
    if (name.starts_with(scenario::kProgramEventMetricPrefix)) {
        if (m.program_events == nullptr)
            return std::nullopt;
        auto it = m.program_events->find(name.substr(scenario::kProgramEventMetricPrefix.size()));
        return it == m.program_events->end() ? 0.0 : double(it->second);
    }
    if (!m.builtin_app && (name.starts_with("app.") || name == "heap.max_drift_after_reconnect"))
        return std::nullopt;
    if (name == "heap.max_drift_after_reconnect")
        return m.max_drift_after_reconnect; // null: fewer than two sessions to compare
    const auto& table = metric_table();
    auto it = table.find(name);
    if (it == table.end())
        return std::nullopt;
    return it->second(m);
}

nlohmann::json evaluate_expectations(const scenario::Scenario& sc, const MeasuredRun& m) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : sc.expectations) {
        if (!applies(e, sc))
            continue;
        auto v = metric_value(e.metric, m);
        nlohmann::json row = {{"metric", e.metric}, {"op", op_text(e.op)}, {"value", e.value}};
        row["measured"] = v ? nlohmann::json(*v) : nlohmann::json(nullptr);
        row["passed"] = v && compare(*v, e.op, e.value);
        if (!v)
            row["error"] = "not measurable: " + why_not_measured(e.metric);
        out.push_back(row);
    }
    return out;
}

nlohmann::json metrics_json(const MeasuredRun& m) {
    nlohmann::json out = nlohmann::json::object();
    for (const scenario::MetricInfo& info : scenario::known_metrics()) {
        const std::string name(info.name);
        const auto v = metric_value(name, m);
        out[name] = v ? nlohmann::json(*v) : nlohmann::json(nullptr);
    }
    return out;
}

} // namespace lwipsim::runner
