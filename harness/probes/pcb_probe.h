#pragma once
// Follows every TCP PCB of the device from allocation to free, exact to the tcpip-thread step:
// states with their times, the application's close, retransmissions, and why it was freed.
// Fed by the tcpip step hook and the PCB free hook (sim/port/lwip/tcpip_hooks.h): the free
// reason is the one lwIP's own code passed to tcp_free(), never inferred from the wire. The
// device heap's free observer is the safety net: a PCB whose memory goes back without the
// hook is recorded as "unknown", with a warning.

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
    std::string free_reason;      ///< empty while alive; names in docs/results.md
    std::optional<bool> rst_sent; ///< freed: a RST from its port left the device as it was freed
    std::vector<PcbState> states;
    uint32_t retransmissions = 0;
    uint32_t unacked_bytes_at_close = 0;
};

/// Receives PCB changes as they happen (for events.jsonl).
using PcbEventSink = std::function<void(const PcbRecord&, const std::string& what)>;
/// Receives warnings ("check this before trusting the results").
using WarningSink = std::function<void(const std::string& message)>;

class PcbProbe : public heap::HeapObserver {
  public:
    explicit PcbProbe(PcbEventSink sink) : sink_(std::move(sink)) {}
    /// Installs the tcpip step hook, the PCB free hook and the heap observer (call once, inside
    /// the run, in the device process).
    void install();
    /// The application is about to close/shutdown the socket bound to `local_port`.
    void on_app_close(uint16_t local_port);
    /// The device sent a frame with RST set from `local_port` (the wire, for rst_sent).
    void on_rst_sent(uint16_t local_port);
    /// lwIP's tcp_free() is about to release `pcb`, for `reason` (the PCB free hook).
    void on_pcb_free(const void* pcb, const char* reason);

    void on_free(heap::Subsystem s, const void* ptr, size_t size) override;
    void on_failure(heap::Subsystem s, size_t size, bool injected) override;

    [[nodiscard]] const std::vector<PcbRecord>& records() const { return records_; }
    /// TCP segments with RST the device sent (aborts, and answers to unknown segments).
    [[nodiscard]] uint64_t rsts_sent() const { return rsts_sent_; }
    /// Live PCBs by TCP state name.
    [[nodiscard]] std::map<std::string, int> count_by_state() const;
    /// The record of the live PCB at `pcb`, or nullptr when the probe does not follow it.
    [[nodiscard]] const PcbRecord* live_record(const void* pcb) const;
    void set_failure_sink(std::function<void(heap::Subsystem, size_t, bool)> f) {
        failure_sink_ = std::move(f);
    }
    void set_warning_sink(WarningSink f) { warning_sink_ = std::move(f); }

  private:
    void step();
    PcbRecord& record_for(const void* pcb);
    void record_free(const void* pcb, const std::string& reason);

    PcbEventSink sink_;
    std::function<void(heap::Subsystem, size_t, bool)> failure_sink_;
    WarningSink warning_sink_;
    std::vector<PcbRecord> records_;
    std::map<const void*, size_t> live_; ///< pcb address -> index in records_
    std::map<const void*, uint8_t> last_nrtx_;
    std::map<uint16_t, double> rst_sent_at_; ///< local port -> last RST the device sent
    uint64_t rsts_sent_ = 0;
};

} // namespace lwipsim::probes
