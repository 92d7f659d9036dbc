/* Prints the sizes of lwIP's structures as the compiler lays them out for the esp-idf-v4.4
 * profile: the independent reference of closed_pcb_heap_check.py (a closed PCB with nothing
 * queued costs exactly sizeof(struct tcp_pcb) plus one block overhead) and heap_figures_check.py
 * (built twice: natively and, as lwip_struct_sizes_ilp32, with the 32-bit worker's -m32). */
#include "lwip/api.h"
#include "lwip/mem.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"

#include <stdio.h>

int main(void) {
    printf("tcp_pcb %zu\ntcp_seg %zu\npbuf %zu\n", sizeof(struct tcp_pcb), sizeof(struct tcp_seg),
           sizeof(struct pbuf));
    printf("netconn %zu\nsys_timeo %zu\n", sizeof(struct netconn), sizeof(struct sys_timeo));
    /* What lwIP asks the heap for (MEM_LIBC_MALLOC, MEMP_MEM_MALLOC): memp.c allocates
     * MEMP_ALIGN_SIZE(size) per object; pbuf.c's PBUF_RAM allocates the aligned struct, the
     * aligned header room of its layer and the aligned payload (SIZEOF_STRUCT_PBUF, private to
     * pbuf.c, is LWIP_MEM_ALIGN_SIZE(sizeof(struct pbuf))). */
    printf("mem_alignment %d\n", (int)MEM_ALIGNMENT);
    printf("pbuf_ram_transport_header %zu\n", (size_t)(LWIP_MEM_ALIGN_SIZE(sizeof(struct pbuf)) +
                                                       LWIP_MEM_ALIGN_SIZE(PBUF_TRANSPORT)));
    printf("tcp_mss %d\n", (int)TCP_MSS);
    return 0;
}
