#include "harness/probes/pcb_probe.h"

#include "sim/clock/scheduler.h"
#include "sim/port/lwip/tcpip_hooks.h"

extern "C" {
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"
}

namespace lwipsim::probes {

namespace {
double now_s() {
    return clock::Scheduler::current().now().seconds();
}

uint32_t unacked_bytes(const tcp_pcb* pcb) {
    uint32_t n = 0;
    for (const tcp_seg* s = pcb->unacked; s != nullptr; s = s->next)
        n += s->len;
    for (const tcp_seg* s = pcb->unsent; s != nullptr; s = s->next)
        n += s->len;
    return n;
}
} // namespace

void PcbProbe::install() {
    port::set_tcpip_step_hook([this] { step(); });
    port::set_pcb_free_observer(
        [this](const void* pcb, const char* reason) { on_pcb_free(pcb, reason); });
    heap::DeviceHeap::instance().set_observer(this);
}

PcbRecord& PcbProbe::record_for(const void* pcb) {
    auto it = live_.find(pcb);
    if (it != live_.end())
        return records_[it->second];
    const auto* p = static_cast<const tcp_pcb*>(pcb);
    PcbRecord r;
    r.id = records_.size() + 1;
    r.local_port = p->local_port;
    r.remote_port = p->remote_port;
    r.opened_at_s = now_s();
    records_.push_back(r);
    live_[pcb] = records_.size() - 1;
    return records_.back();
}

// After every tcpip-thread step: new PCBs, state changes, retransmissions.
void PcbProbe::step() {
    for (tcp_pcb* lists[] = {tcp_active_pcbs, tcp_tw_pcbs}; tcp_pcb * head : lists) {
        for (tcp_pcb* pcb = head; pcb != nullptr; pcb = pcb->next) {
            bool is_new = !live_.contains(pcb);
            PcbRecord& r = record_for(pcb);
            r.local_port = pcb->local_port;
            r.remote_port = pcb->remote_port;
            std::string state = tcp_debug_state_str(pcb->state);
            if (r.states.empty() || r.states.back().state != state) {
                r.states.push_back({state, now_s()});
                if (sink_)
                    sink_(r, is_new ? "pcb_opened" : "pcb_state");
            }
            uint8_t& last = last_nrtx_[pcb];
            if (pcb->nrtx > last)
                r.retransmissions += pcb->nrtx - last;
            last = pcb->nrtx;
            if (r.closed_at_s && r.unacked_bytes_at_close == 0) {
                r.unacked_bytes_at_close = unacked_bytes(pcb);
            }
        }
    }
}

void PcbProbe::on_app_close(uint16_t local_port) {
    for (auto& [pcb, index] : live_) {
        PcbRecord& r = records_[index];
        if (r.local_port == local_port && !r.closed_at_s) {
            r.closed_at_s = now_s();
            r.unacked_bytes_at_close = unacked_bytes(static_cast<const tcp_pcb*>(pcb));
            if (sink_)
                sink_(r, "pcb_closed_by_app");
        }
    }
}

void PcbProbe::on_rst_sent(uint16_t local_port) {
    rst_sent_at_[local_port] = now_s();
    ++rsts_sent_;
}

void PcbProbe::on_failure(heap::Subsystem s, size_t size, bool injected) {
    if (failure_sink_)
        failure_sink_(s, size, injected);
}

void PcbProbe::on_pcb_free(const void* pcb, const char* reason) {
    if (live_.contains(pcb))
        record_free(pcb, reason);
}

// The safety net: lwIP released a PCB's memory without telling why (the hook did not run, e.g.
// sources prepared without patch 0004). Say so rather than guess.
void PcbProbe::on_free(heap::Subsystem s, const void* ptr, size_t) {
    if (s != heap::Subsystem::kLwip || !live_.contains(ptr))
        return;
    const PcbRecord& r = records_[live_.at(ptr)];
    if (warning_sink_) {
        warning_sink_("PCB " + std::to_string(r.id) + " (local port " +
                      std::to_string(r.local_port) +
                      ") freed without a reason from lwIP: free_reason unknown");
    }
    record_free(ptr, "unknown");
}

// lwIP frees a PCB (fields still intact). rst_sent is the wire's side, kept apart from the
// reason: tcp_rst() runs just before tcp_free() in the same call, so a RST from this port at
// this very instant is the one this free sent (none leaves a netif whose link is down).
void PcbProbe::record_free(const void* pcb, const std::string& reason) {
    auto it = live_.find(pcb);
    PcbRecord& r = records_[it->second];
    const double t = now_s();
    auto rst = rst_sent_at_.find(r.local_port);
    r.free_reason = reason;
    r.rst_sent = rst != rst_sent_at_.end() && rst->second == t;
    r.freed_at_s = t;
    if (sink_)
        sink_(r, "pcb_freed");
    last_nrtx_.erase(pcb);
    live_.erase(it);
}

const PcbRecord* PcbProbe::live_record(const void* pcb) const {
    auto it = live_.find(pcb);
    return it == live_.end() ? nullptr : &records_[it->second];
}

std::map<std::string, int> PcbProbe::count_by_state() const {
    std::map<std::string, int> counts;
    for (const auto& [pcb, index] : live_) {
        const auto& r = records_[index];
        if (!r.states.empty())
            ++counts[r.states.back().state];
    }
    return counts;
}

} // namespace lwipsim::probes
