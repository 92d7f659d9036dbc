#pragma once
// Follows every TCP PCB of the device from allocation to free, exact to the tcpip-thread step:
// states with their times, the application's close, retransmissions, and why it was freed.
// Fed by the tcpip step hook (sim/port/lwip/tcpip_hooks.h) and the device heap's free
// observer, which sees a PCB's memory the moment lwIP releases it, fields still intact.

#include "sim/clock/sim_time.h"
#include "sim/heap/device_heap.h"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lwipsim::probes {

struct PcbState {
    std::string state;
    double at_s;
};

struct PcbRecord {
    uint64_t id = 0;
    uint16_t local_port = 0;
    uint16_t remote_port = 0;
    double opened_at_s = 0;
    std::optional<double> closed_at_s;
    std::optional<double> freed_at_s;
    std::string free_reason; ///< empty while alive
    std::vector<PcbState> states;
    uint32_t retransmissions = 0;
    uint32_t unacked_bytes_at_close = 0;
};

/// Receives PCB changes as they happen (for events.jsonl).
using PcbEventSink = std::function<void(const PcbRecord&, const std::string& what)>;

class PcbProbe : public heap::HeapObserver {
  public:
    explicit PcbProbe(PcbEventSink sink) : sink_(std::move(sink)) {}
    /// Installs the tcpip step hook and the heap observer (call once, inside the run).
    void install();
    /// The application is about to close/shutdown the socket bound to `local_port`.
    void on_app_close(uint16_t local_port);
    /// Frames the device sent or received with RST set, per local port (free reasons).
    void on_rst(uint16_t local_port, bool sent);

    void on_free(heap::Subsystem s, const void* ptr, size_t size) override;
    void on_failure(heap::Subsystem s, size_t size, bool injected) override;

    [[nodiscard]] const std::vector<PcbRecord>& records() const { return records_; }
    /// TCP segments with RST the device sent (aborts, and answers to unknown segments).
    [[nodiscard]] uint64_t rsts_sent() const { return rsts_sent_; }
    /// Live PCBs by TCP state name.
    [[nodiscard]] std::map<std::string, int> count_by_state() const;
    void set_failure_sink(std::function<void(heap::Subsystem, size_t, bool)> f) {
        failure_sink_ = std::move(f);
    }

  private:
    void step();
    PcbRecord& record_for(const void* pcb);

    PcbEventSink sink_;
    std::function<void(heap::Subsystem, size_t, bool)> failure_sink_;
    std::vector<PcbRecord> records_;
    std::map<const void*, size_t> live_; ///< pcb address -> index in records_
    std::map<const void*, uint8_t> last_nrtx_;
    std::map<uint16_t, double> rst_sent_at_, rst_received_at_;
    bool pcb_alloc_failed_ = false;
    uint64_t rsts_sent_ = 0;
};

} // namespace lwipsim::probes
