/* Run-time settings of the simulated lwIP: what scenarios vary per run without rebuilding.
 * lwipopts.h maps TCP_MAXRTX, TCP_SYNMAXRTX, LWIP_TCP_RTO_TIME, TCP_MSL and
 * TCP_FIN_WAIT_TIMEOUT onto these fields (third_party/patches/lwip/0001 makes the last three
 * settable). Set them before the first PCB exists. Plain C: lwIP's sources include this. */
#ifndef LWIPSIM_SETTINGS_H
#define LWIPSIM_SETTINGS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Plain globals rather than a struct: lwIP's init.c tests TCP_MAXRTX in #if, where a member
 * access is not allowed (an identifier evaluates to 0 there, which passes its sanity check). */
extern uint32_t lwipsim_tcp_maxrtx;              /* TCP_MAXRTX, 1..12 (backoff table size) */
extern uint32_t lwipsim_tcp_synmaxrtx;           /* TCP_SYNMAXRTX, 1..12 */
extern uint32_t lwipsim_tcp_rto_initial_ms;      /* initial RTO; whole 500 ms slow-timer ticks */
extern uint32_t lwipsim_tcp_msl_ms;              /* TCP_MSL: TIME_WAIT lasts 2 * MSL */
extern uint32_t lwipsim_tcp_fin_wait_timeout_ms; /* TCP_FIN_WAIT_TIMEOUT (FIN_WAIT_2 orphan) */
/* 0: setsockopt(SO_LINGER) fails as with LWIP_SO_LINGER=0 */
extern int lwipsim_so_linger_available;
extern uint32_t lwipsim_tcp_pcb_cap; /* live TCP PCBs allowed (0: no cap), see lwipopts.h */

struct memp_desc;
/* LWIP_HOOK_MEMP_MALLOC_ALLOWED (third_party/patches/lwip/0003): the esp-lwip PCB cap. */
int lwipsim_memp_malloc_allowed(const struct memp_desc* desc);

struct tcp_pcb;
/* LWIP_HOOK_TCP_PCB_FREE (third_party/patches/lwip/0004): tcp_free() is about to release `pcb`;
 * `reason` is an enum tcp_free_reason. Runs in the tcpip thread. */
void lwipsim_tcp_pcb_free(const struct tcp_pcb* pcb, int reason);

/* Deterministic random numbers for lwIP (LWIP_RAND: ports, ISNs, DHCP xid). */
uint32_t lwipsim_rand(void);
void lwipsim_rand_seed(uint64_t seed);

/* sys_arch's diagnostics and assertions, stamped with virtual time. */
void lwipsim_platform_diag(const char* fmt, ...);
void lwipsim_platform_assert(const char* msg, const char* file, int line);

#ifdef __cplusplus
}
#endif

#endif
