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
    port::set_pcb_cap_observer([this] { pcb_alloc_failed_ = true; });
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
    pcb_alloc_failed_ = false; // a refused PCB that killed nothing explains no later free
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

void PcbProbe::on_rst(uint16_t local_port, bool sent) {
    (sent ? rst_sent_at_ : rst_received_at_)[local_port] = now_s();
    if (sent)
        ++rsts_sent_;
}

void PcbProbe::on_failure(heap::Subsystem s, size_t size, bool injected) {
    if (s == heap::Subsystem::kLwip && size == sizeof(tcp_pcb))
        pcb_alloc_failed_ = true;
    if (failure_sink_)
        failure_sink_(s, size, injected);
}

// lwIP frees a PCB: read why from its last fields (still intact) and the step's context.
void PcbProbe::on_free(heap::Subsystem s, const void* ptr, size_t) {
    if (s != heap::Subsystem::kLwip)
        return;
    auto it = live_.find(ptr);
    if (it == live_.end())
        return;
    PcbRecord& r = records_[it->second];
    const auto* pcb = static_cast<const tcp_pcb*>(ptr);
    double t = now_s();
    // tcp_pcb_remove() sets CLOSED before the free: the last state the probe saw is the one
    // the PCB died in.
    std::string last = r.states.empty() ? "" : r.states.back().state;
    auto same_instant = [t](const std::map<uint16_t, double>& m, uint16_t port) {
        auto f = m.find(port);
        return f != m.end() && f->second == t;
    };
    if (pcb_alloc_failed_) {
        r.free_reason = "killed_for_new_pcb";
    } else if (same_instant(rst_received_at_, r.local_port)) {
        r.free_reason = "rst_received";
    } else if (last == "TIME_WAIT") {
        r.free_reason = "time_wait_expired";
    } else if ((last == "SYN_SENT" && pcb->nrtx >= TCP_SYNMAXRTX) || pcb->nrtx >= TCP_MAXRTX) {
        // tcp_slowtmr: SYN_SENT gives up at TCP_SYNMAXRTX, any state (SYN_SENT too) at MAXRTX.
        r.free_reason = "retransmissions_exhausted";
    } else if (same_instant(rst_sent_at_, r.local_port)) {
        r.free_reason = "aborted_rst";
    } else if (last == "FIN_WAIT_2") {
        r.free_reason = "fin_wait_2_timeout";
    } else if (last == "SYN_SENT") {
        r.free_reason = "closed_in_syn_sent";
    } else {
        r.free_reason = "closed_normally";
    }
    r.freed_at_s = t;
    if (sink_)
        sink_(r, "pcb_freed");
    last_nrtx_.erase(ptr);
    live_.erase(it);
    pcb_alloc_failed_ = false;
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
