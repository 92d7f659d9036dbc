/* lwIP options for lwipsim. The profile (set by the build, one device binary per profile)
 * picks the compile-time values; what scenarios vary per run lives in lwipsim_settings.h.
 *
 * Deliberate choices for the host:
 * - MEM_LIBC_MALLOC / MEMP_MEM_MALLOC in every profile, so all of lwIP's memory comes from the
 *   device heap (sim/heap) and can be budgeted and accounted.
 * - MEM_ALIGNMENT: 4 in the 32-bit device build (abi: ilp32), as ESP-IDF's own lwipopts.h
 *   (components/lwip/port/esp32/include/lwipopts.h); 8 in the 64-bit build, whose structures
 *   hold 8-byte pointers (docs/fidelity.md compares both).
 * - MEM_STATS off (it would add a header to every block, which ESP-IDF does not have);
 *   MEMP_STATS on to cross-check the heap accounting by pool. */
#ifndef LWIPSIM_LWIPOPTS_H
#define LWIPSIM_LWIPOPTS_H

#include <stddef.h>
#include "lwipsim_settings.h"

#ifdef __cplusplus
extern "C" {
#endif
void* lwipsim_lwip_malloc(size_t size);
void* lwipsim_lwip_calloc(size_t count, size_t size);
void lwipsim_lwip_free(void* ptr);
#ifdef __cplusplus
}
#endif

/* --- OS and memory --------------------------------------------------------------------- */
#define NO_SYS 0
#define SYS_LIGHTWEIGHT_PROT 1 /* only one simulated thread runs at a time: protect is a no-op */
#define LWIP_TCPIP_CORE_LOCKING 0
#define LWIP_TCPIP_CORE_LOCKING_INPUT 0
#define MEM_LIBC_MALLOC 1
#define MEMP_MEM_MALLOC 1
#define mem_clib_malloc lwipsim_lwip_malloc
#define mem_clib_calloc lwipsim_lwip_calloc
#define mem_clib_free lwipsim_lwip_free
#if defined(__i386__)
#define MEM_ALIGNMENT 4
#else
#define MEM_ALIGNMENT 8
#endif

#define TCPIP_THREAD_NAME "tcpip_thread"
#define TCPIP_THREAD_PRIO 18 /* ESP-IDF: above application tasks (5) */
#define TCPIP_THREAD_STACKSIZE 0
#define TCPIP_MBOX_SIZE 32
#define DEFAULT_TCP_RECVMBOX_SIZE 6
#define DEFAULT_UDP_RECVMBOX_SIZE 6
#define DEFAULT_RAW_RECVMBOX_SIZE 6
#define DEFAULT_ACCEPTMBOX_SIZE 6
#define DEFAULT_THREAD_STACKSIZE 0

/* --- APIs -------------------------------------------------------------------------------- */
#define LWIP_SOCKET 1
#define LWIP_NETCONN 1
#define LWIP_COMPAT_SOCKETS 0
#define LWIP_POSIX_SOCKETS_IO_NAMES 0
#define LWIP_SO_SNDTIMEO 1
#define LWIP_SO_RCVTIMEO 1
#define LWIP_SO_LINGER 1 /* compiled in; lwipsim_so_linger_available switches it per run */
#define LWIP_TCP_KEEPALIVE 1
#define LWIP_NETIF_LOOPBACK 1
#define LWIP_HAVE_LOOPIF 1
#define LWIP_LOOPBACK_MAX_PBUFS 0
#define LWIP_NETIF_STATUS_CALLBACK 1
#define LWIP_NETIF_LINK_CALLBACK 1
#define LWIP_IPV4 1
#define LWIP_IPV6 0
#define LWIP_ARP 1
#define LWIP_ETHERNET 1
#define LWIP_DHCP 1
#define LWIP_DNS 0
#define LWIP_UDP 1
#define LWIP_RAW 0
#define LWIP_IGMP 0

/* --- TCP: run-time settings ---------------------------------------------------------------- */
#define TCP_MAXRTX (lwipsim_tcp_maxrtx)
#define TCP_SYNMAXRTX (lwipsim_tcp_synmaxrtx)
#define LWIP_TCP_RTO_TIME (lwipsim_tcp_rto_initial_ms)
#define TCP_MSL (lwipsim_tcp_msl_ms)
#define TCP_FIN_WAIT_TIMEOUT (lwipsim_tcp_fin_wait_timeout_ms)
#define TCP_TMR_INTERVAL 250
#define TCP_QUEUE_OOSEQ 1
/* esp-lwip's cap on live TCP PCBs and its kill order (third_party/patches/lwip/0003); the cap
 * is a run-time setting (0 in the upstream profile: no cap). */
#define LWIP_HOOK_MEMP_MALLOC_ALLOWED(desc) lwipsim_memp_malloc_allowed(desc)
/* Why each TCP PCB is freed, from the lwIP code that decided it (third_party/patches/lwip/0004). */
#define LWIP_HOOK_TCP_PCB_FREE(pcb, reason) lwipsim_tcp_pcb_free(pcb, (int)(reason))
#define LWIP_TCP_SACK_OUT 0

/* --- Profile ---------------------------------------------------------------------------- */
#if defined(LWIPSIM_PROFILE_ESP_IDF_V4_4)
/* ESP-IDF 4.4 defaults (../shared/FIELD_CASE.md) */
#define TCP_MSS 1440
#define TCP_SND_BUF 5744
#define TCP_WND 5744
#define TCP_SND_QUEUELEN ((4 * (TCP_SND_BUF) + (TCP_MSS - 1)) / (TCP_MSS))
#define TCP_OVERSIZE TCP_MSS
#define LWIP_NETIF_TX_SINGLE_PBUF 1
#define MEMP_NUM_NETCONN 10 /* LWIP_MAX_SOCKETS */
#define MEMP_NUM_TCP_PCB 16 /* enforced at run time by lwipsim_tcp_pcb_cap */
#define LWIP_TCP_KILL_FIN_WAIT 1
#define LWIPSIM_PROFILE_NAME "esp-idf-v4.4"
#elif defined(LWIPSIM_PROFILE_UPSTREAM_2_1_3)
/* lwIP 2.1.3 opt.h defaults for TCP (memory still heap-backed, see above) */
#define TCP_MSS 536
#define TCP_SND_BUF (2 * TCP_MSS)
#define TCP_WND (4 * TCP_MSS)
#define LWIP_NETIF_TX_SINGLE_PBUF 0
#define MEMP_NUM_NETCONN 10
#define LWIPSIM_PROFILE_NAME "upstream-2.1.3"
#else
#error "define LWIPSIM_PROFILE_ESP_IDF_V4_4 or LWIPSIM_PROFILE_UPSTREAM_2_1_3"
#endif

/* --- Statistics ------------------------------------------------------------------------- */
#define LWIP_STATS 1
#define LWIP_STATS_DISPLAY 0
#define MEM_STATS 0
#define MEMP_STATS 1
#define TCP_STATS 1
#define SYS_STATS 0
#define LINK_STATS 1
#define IP_STATS 1
#define ETHARP_STATS 1
#define UDP_STATS 0
#define ICMP_STATS 0

#endif
