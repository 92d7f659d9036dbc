#include "harness/runner/run_results.h"

#include "harness/runner/broker_start.h"
#include "harness/runner/link_setup.h"
#include "harness/runner/run_state.h"
#include "sim/clock/scheduler.h"
#include "sim/heap/device_heap.h"
#include "sim/port/lwip/device_stack.h"

#include "lwipsim_settings.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace lwipsim::runner {

using clock::Scheduler;
using clock::SimTime;
using heap::DeviceHeap;
using heap::Subsystem;
using nlohmann::json;

namespace {

json subsystem_json(Subsystem sub) {
    const auto& st = DeviceHeap::instance().stats(sub);
    return {
        {"in_use", st.in_use}, {"peak", st.peak}, {"allocs", st.allocs}, {"failures", st.failures}};
}

// heap.max_drift_after_reconnect: how far the heap in use at a CONNACK strays from the first
// session's, at the same point of its life; null without a second session to compare.
std::optional<double> max_drift(const std::vector<size_t>& heap_at_connect) {
    if (heap_at_connect.size() < 2)
        return std::nullopt;
    double worst = 0;
    for (size_t used : heap_at_connect) {
        worst = std::max(worst, std::abs(static_cast<double>(used) -
                                         static_cast<double>(heap_at_connect.front())));
    }
    return worst;
}

std::string broker_line(const BrokerTarget& target, const json& link_info) {
    if (link_info.is_null()) {
        const uint16_t host_port = target.host_port != 0 ? target.host_port : target.port;
        return "broker 127.0.0.1:" + std::to_string(host_port) +
               " as 10.0.2.2:" + std::to_string(target.port) + " (" + target.server_name + ")";
    }
    return "broker " + std::string(kTapHostIp) + ":" + std::to_string(target.port) + " (" +
           target.server_name + ", pid " + link_info["broker_pid"].dump() +
           ") over TAP in network namespace " + link_info["netns"].get<std::string>() +
           ", device " + kTapDeviceIp;
}

} // namespace

MeasuredRun measured_run(const RunState& st) {
    const auto& heap = DeviceHeap::instance();
    const double duration_s = SimTime{st.sc.duration}.seconds();
    MeasuredRun m;
    m.heap_budget = heap.budget();
    m.min_free = heap.min_free();
    m.final_used = heap.in_use();
    m.alloc_failures = heap.failures();
    m.pcbs = &st.probe.records();
    m.samples = &st.rec.samples();
    m.connects = st.obs.connects;
    m.disconnects = st.totals.disconnects;
    m.handshakes_ok = st.obs.handshakes_ok;
    m.handshake_failures = st.obs.handshake_failures;
    m.publishes_acked = st.totals.publishes_acked;
    m.socket_failures = st.totals.socket_failures;
    m.max_reconnect_s = st.totals.max_reconnect_s;
    m.connected_fraction = st.totals.connected_s / duration_s;
    m.messages_received = st.totals.messages_received;
    m.frames_dropped = st.frames_dropped;
    m.frames_delivered = st.frames_delivered;
    m.rst_sent = st.probe.rsts_sent();
    m.max_drift_after_reconnect = max_drift(st.obs.heap_at_connect);
    if (st.program_run) {
        m.builtin_app = false;
        m.program_events = &st.program_run->event_counts();
    }
    m.duration_s = duration_s;
    return m;
}

json device_json() {
    const char* emulator = std::getenv("LWIPSIM_DEVICE_EMULATOR");
    return {{"abi", sizeof(void*) == 4 ? "ilp32" : "host"},
            {"pointer_bytes", sizeof(void*)},
            {"emulator", emulator != nullptr ? json(emulator) : json(nullptr)}};
}

json options_json(const scenario::Scenario& sc) {
    // Each heap key is null where the allocator has no such setting.
    const bool esp_idf_heap = sc.heap.allocator == scenario::HeapAllocator::kEspIdfV44;
    return {{"tcp_maxrtx", lwipsim_tcp_maxrtx},
            {"tcp_synmaxrtx", lwipsim_tcp_synmaxrtx},
            {"tcp_rto_initial_ms", lwipsim_tcp_rto_initial_ms},
            {"tcp_msl_ms", lwipsim_tcp_msl_ms},
            {"tcp_fin_wait_timeout_ms", lwipsim_tcp_fin_wait_timeout_ms},
            {"so_linger_available", lwipsim_so_linger_available != 0},
            {"tcp_pcb_cap", lwipsim_tcp_pcb_cap},
            {"linger_s", sc.app.linger ? json(SimTime{*sc.app.linger}.seconds()) : json(nullptr)},
            {"heap_allocator", scenario::to_string(sc.heap.allocator)},
            {"heap_block_overhead", esp_idf_heap ? json(nullptr) : json(sc.heap.block_overhead)},
            {"heap_poisoning", esp_idf_heap ? json(to_string(sc.heap.poisoning)) : json(nullptr)},
            {"heap_task_tracking", esp_idf_heap ? json(sc.heap.task_tracking) : json(nullptr)}};
}

json heap_json(const RunState& st) {
    const auto& heap = DeviceHeap::instance();
    return {{"budget", heap.budget()},
            // No budget in the scenario: `budget` is a stand-in far above any device, so the
            // free figures say nothing; readers show used/peak instead.
            {"unlimited", !st.sc.heap.budget.has_value()},
            {"peak_used", heap.budget() - heap.min_free()},
            {"baseline_free", st.baseline_free},
            {"min_free", heap.min_free()},
            {"final_free", heap.free_bytes()},
            {"alloc_failures", heap.failures()},
            {"by_subsystem",
             {{"lwip", subsystem_json(Subsystem::kLwip)},
              {"mbedtls", subsystem_json(Subsystem::kMbedtls)},
              {"app", subsystem_json(Subsystem::kApp)}}}};
}

json app_json(const RunState& st) {
    const auto& t = st.totals;
    return {{"connects", st.obs.connects},
            {"tls_handshakes_ok", st.obs.handshakes_ok},
            {"tls_handshake_failures", st.obs.handshake_failures},
            {"ping_timeouts", st.obs.ping_timeouts},
            {"publishes_sent", t.publishes_sent},
            {"publishes_acked", t.publishes_acked},
            {"messages_received", t.messages_received},
            {"socket_failures", t.socket_failures},
            {"max_reconnect_s", t.max_reconnect_s ? json(*t.max_reconnect_s) : json(nullptr)},
            {"connected_fraction", t.connected_s / SimTime{st.sc.duration}.seconds()},
            {"cut_at_end", t.cut},
            {"publishes_unacked_at_end", t.publishes_unacked},
            {"outbox_store_failures", t.outbox_store_failures},
            {"outbox_peak_bytes", t.outbox_peak_bytes}};
}

json time_json(const Scheduler& sched, const char* broker_clock) {
    auto ts = sched.stats();
    const auto& first = ts.first_jump_with_host_pending;
    return {{"mode", sched.options().mode == clock::TimeMode::kVirtual ? "virtual" : "realtime"},
            {"broker_clock", broker_clock != nullptr ? json(broker_clock) : json(nullptr)},
            {"broker_deadlines", ts.peer_deadlines},
            {"jumps", ts.jumps},
            {"skipped_s", std::chrono::duration<double>(ts.skipped).count()},
            {"host_wait_s", ts.host_wait_s},
            {"jumps_with_host_pending", ts.jumps_with_host_pending},
            {"first_jump_with_host_pending_s", first ? json(first->seconds()) : json(nullptr)}};
}

// The broker runs in real time. A reply that came within host_grace is delivered at the virtual
// instant its request arrived, so the trace does not depend on the host's speed; once virtual
// time moved on while a reply was still due, what the device saw next depended on when the host
// answered. A broker on virtual time (`broker_virtual`) answers before time moves on, or not at
// all (a QoS 0 PUBLISH), so there the count means nothing for repeatability. Returns why this
// run is not guaranteed to repeat, or nullopt when it is.
std::optional<std::string> not_repeatable_reason(const scenario::Scenario& sc,
                                                 const Scheduler& sched, bool broker_virtual) {
    if (sc.time.mode == scenario::TimeMode::kRealtime)
        return "not repeatable: time.mode realtime follows the wall clock";
    if (sc.link.kind == scenario::LinkKind::kTap)
        return "not guaranteed to repeat: with link.kind tap the namespace's kernel runs its "
               "own timers in real time";
    const auto ts = sched.stats();
    if (broker_virtual || ts.jumps_with_host_pending == 0)
        return std::nullopt;
    char from[32];
    std::snprintf(from, sizeof from, "%.3f", ts.first_jump_with_host_pending->seconds());
    return "not guaranteed to repeat with the same seed: virtual time moved on " +
           std::to_string(ts.jumps_with_host_pending) +
           " times while the broker (which runs in real time) still owed a reply "
           "(time.jumps_with_host_pending), the first at " +
           std::string(from) +
           " s; from there on, results depend on how fast the host answered (a larger "
           "time.host_grace makes it rarer)";
}

void write_results(const RunState& st, const json& summary, const BrokerTarget& target,
                   const json& link_info) {
    const auto& sc = st.sc;
    std::ofstream(st.dir / "summary.json") << summary.dump(2) << '\n';
    st.rec.write_events(st.dir / "events.jsonl");
    st.rec.write_run_log(st.dir / "run.log",
                         {"scenario " + sc.name + " (" + sc.source_path + ")",
                          "variant " + summary["variant"].get<std::string>() + ", seed " +
                              std::to_string(sc.seed) + ", profile " + port::profile_name(),
                          broker_line(target, link_info)},
                         {"status " + summary["status"].get<std::string>() + ", " +
                              std::to_string(summary["sim_time_s"].get<double>()) +
                              " s simulated in " +
                              std::to_string(summary["wall_time_s"].get<double>()) + " s wall, " +
                              summary["time"]["jumps"].dump() + " time jumps",
                          summary["repeatable"].get<bool>()
                              ? "repeatable: same scenario and seed give the same trace"
                              : "warning: " + summary["not_repeatable_reason"].get<std::string>()});
    st.rec.write_timeseries(st.dir / "timeseries.csv");
    Recorder::write_pcbs_csv(st.dir / "pcbs.csv", st.probe.records());
}

} // namespace lwipsim::runner
