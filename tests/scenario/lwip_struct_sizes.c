/* Prints the sizes of lwIP's TCP structures as the compiler lays them out for the esp-idf-v4.4
 * profile: the independent reference of closed_pcb_heap_check.py (a closed PCB with nothing
 * queued costs exactly sizeof(struct tcp_pcb) plus one block overhead). */
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"

#include <stdio.h>

int main(void) {
    printf("tcp_pcb %zu\ntcp_seg %zu\npbuf %zu\n", sizeof(struct tcp_pcb), sizeof(struct tcp_seg),
           sizeof(struct pbuf));
    return 0;
}
