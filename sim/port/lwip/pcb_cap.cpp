// esp-lwip's cap on live TCP PCBs (MEMP_NUM_TCP_PCB even though PCBs come from the heap), for
// the hook third_party/patches/lwip/0003 adds to memp.c. When it refuses, tcp_alloc() kills
// the oldest TIME_WAIT, LAST_ACK, CLOSING, FIN_WAIT_2, FIN_WAIT_1 PCB and tries again.
#include "sim/port/lwip/tcpip_hooks.h"

extern "C" {
#include "lwip/memp.h"
#include "lwip/stats.h"
}

namespace {
std::function<void()> g_cap_observer;
}

namespace lwipsim::port {
void set_pcb_cap_observer(std::function<void()> observer) {
    g_cap_observer = std::move(observer);
}
} // namespace lwipsim::port

extern "C" int lwipsim_memp_malloc_allowed(const struct memp_desc* desc) {
    if (lwipsim_tcp_pcb_cap == 0 || desc != memp_pools[MEMP_TCP_PCB])
        return 1;
    if (lwip_stats.memp[MEMP_TCP_PCB]->used < lwipsim_tcp_pcb_cap)
        return 1;
    if (g_cap_observer)
        g_cap_observer();
    return 0;
}
