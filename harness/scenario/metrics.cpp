#include "harness/scenario/metrics.h"

#include <array>

namespace lwipsim::scenario {
namespace {

using enum MetricUnit;

// Keep in step with docs/scenarios.md ("Metrics"); the recorder must fill every entry.
constexpr std::array kMetrics{
    MetricInfo{"heap.min_free", kBytes, "lowest free device heap seen (budget - used)"},
    MetricInfo{"heap.max_used", kBytes, "highest device heap use seen"},
    MetricInfo{"heap.final_used", kBytes, "device heap in use when the run ends"},
    MetricInfo{"heap.alloc_failures", kCount, "allocations refused by the heap budget"},
    MetricInfo{"heap.max_drift_after_reconnect", kBytes,
               "largest difference of heap in use at a CONNACK from the first session's "
               "(null with fewer than two sessions)"},
    MetricInfo{"pcbs.max_alive", kCount, "most TCP PCBs alive at once"},
    MetricInfo{"pcbs.alive_at_end", kCount, "TCP PCBs still allocated when the run ends"},
    MetricInfo{"pcbs.max_close_to_free_s", kSeconds,
               "longest time from the application's close() to the PCB being freed"},
    MetricInfo{"pcbs.mean_close_to_free_s", kSeconds, "mean of the same over closed PCBs"},
    MetricInfo{"pcbs.max_fin_wait_1", kCount, "most PCBs in FIN_WAIT_1 at once"},
    MetricInfo{"pcbs.aborted", kCount, "PCBs lwIP aborted (free_reason aborted*), RST sent or not"},
    MetricInfo{"tcp.retransmissions", kCount, "TCP segments retransmitted by the device"},
    MetricInfo{"tcp.rst_sent", kCount, "TCP RST segments sent by the device"},
    MetricInfo{"app.connects", kCount, "MQTT sessions established (CONNACK received)"},
    MetricInfo{"app.disconnects", kCount, "MQTT sessions lost or closed"},
    MetricInfo{"app.tls_handshakes", kCount, "TLS handshakes completed"},
    MetricInfo{"app.tls_handshake_failures", kCount, "TLS handshakes that failed"},
    MetricInfo{"app.messages_published", kCount, "PUBLISH messages the device sent"},
    MetricInfo{"app.messages_received", kCount, "PUBLISH messages the device received"},
    MetricInfo{"app.socket_failures", kCount,
               "lwip_socket() calls refused (every socket slot taken, or no memory)"},
    MetricInfo{"app.max_reconnect_s", kSeconds,
               "longest time from losing the session to the next CONNACK"},
    MetricInfo{"app.connected_fraction", kCount, "share of the run with a live session, 0..1"},
    MetricInfo{"broker.connects", kCount,
               "client sessions the managed broker logged as connected (not the harness's "
               "observer); null for an external broker"},
    MetricInfo{"broker.disconnects", kCount,
               "client sessions the managed broker logged as ended, for any reason"},
    MetricInfo{"broker.clients_expired", kCount,
               "clients the managed broker dropped for exceeding 1.5 x their keepalive"},
    MetricInfo{"link.frames_dropped", kCount, "frames dropped by faults or full queues"},
    MetricInfo{"link.frames_delivered", kCount, "frames delivered, both directions"},
};

} // namespace

std::span<const MetricInfo> known_metrics() {
    return kMetrics;
}

const MetricInfo* find_metric(std::string_view name) {
    static constexpr MetricInfo kProgramEvent{"program.events.<name>", kCount,
                                              "times the device program recorded event <name>"};
    if (name.starts_with(kProgramEventMetricPrefix) &&
        name.size() > kProgramEventMetricPrefix.size() &&
        name.size() <= kProgramEventMetricPrefix.size() + 64)
        return &kProgramEvent;
    for (const MetricInfo& m : kMetrics) {
        if (m.name == name)
            return &m;
    }
    return nullptr;
}

} // namespace lwipsim::scenario
