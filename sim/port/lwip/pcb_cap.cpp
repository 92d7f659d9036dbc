// esp-lwip's cap on live TCP PCBs (MEMP_NUM_TCP_PCB even though PCBs come from the heap), for
// the hook third_party/patches/lwip/0003 adds to memp.c. When it refuses, tcp_alloc() kills
// the oldest TIME_WAIT, LAST_ACK, CLOSING, FIN_WAIT_2, FIN_WAIT_1 PCB and tries again (the
// PCB it kills is freed with reason killed_for_new_pcb, see pcb_free.cpp).
extern "C" {
#include "lwip/memp.h"
#include "lwip/stats.h"
}

extern "C" int lwipsim_memp_malloc_allowed(const struct memp_desc* desc) {
    if (lwipsim_tcp_pcb_cap == 0 || desc != memp_pools[MEMP_TCP_PCB])
        return 1;
    return lwip_stats.memp[MEMP_TCP_PCB]->used < lwipsim_tcp_pcb_cap ? 1 : 0;
}
