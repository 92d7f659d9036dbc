#include "harness/probes/closed_pcb_heap.h"

#include "sim/heap/device_heap.h"

#include <set>

extern "C" {
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"
}

namespace lwipsim::probes {

namespace {

// With MEM_LIBC_MALLOC and MEMP_MEM_MALLOC (lwipopts.h) every tcp_pcb, tcp_seg and pbuf is
// one device-heap block starting at the object's own address (MEM_STATS off adds no header).
class BlockCharger {
  public:
    size_t charge(const void* block) {
        if (block == nullptr || !seen_.insert(block).second)
            return 0;
        return heap::DeviceHeap::instance().charge_of(block);
    }
    size_t chain(const pbuf* p) {
        size_t n = 0;
        for (; p != nullptr; p = p->next)
            n += charge(p);
        return n;
    }
    size_t segments(const tcp_seg* seg) {
        size_t n = 0;
        for (; seg != nullptr; seg = seg->next)
            n += charge(seg) + chain(seg->p);
        return n;
    }

  private:
    std::set<const void*> seen_;
};

size_t pcb_heap(const tcp_pcb* pcb, BlockCharger& charger) {
    size_t n = charger.charge(pcb) + charger.segments(pcb->unsent) +
               charger.segments(pcb->unacked) + charger.chain(pcb->refused_data);
#if TCP_QUEUE_OOSEQ
    n += charger.segments(pcb->ooseq);
#endif
    return n;
}

} // namespace

std::map<std::string, size_t> closed_pcb_heap_by_state(const PcbProbe& probe) {
    std::map<std::string, size_t> by_state;
    BlockCharger charger;
    for (tcp_pcb* lists[] = {tcp_active_pcbs, tcp_tw_pcbs}; tcp_pcb * head : lists) {
        for (const tcp_pcb* pcb = head; pcb != nullptr; pcb = pcb->next) {
            const PcbRecord* r = probe.live_record(pcb);
            if (r == nullptr || !r->closed_at_s)
                continue;
            by_state[tcp_debug_state_str(pcb->state)] += pcb_heap(pcb, charger);
        }
    }
    return by_state;
}

} // namespace lwipsim::probes
