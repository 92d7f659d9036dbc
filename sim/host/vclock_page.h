#pragma once
/* The page a worker shares with a host program running under liblwipsim_vclock.so (the managed
 * broker): the run's virtual time and the wake/idle handshake. C and C++ both include it; the
 * layout is the protocol (docs/design.md, "The broker on virtual time").
 *
 * Who writes what:
 *   worker:  now_ns, wake_seq (bumped after every write to the program's sockets and every time
 *            virtual time reaches the program's deadline), detached, grant_ns and grant_seq
 *            (written before the wake_seq bump they belong to, only while the program is idle).
 *   library: idle_ack (the wake_seq it read *before* its zero-timeout readiness check, stored
 *            once that check found nothing), deadline_ns, attached_pid, error, shut_down.
 * The grant (lookahead): "nothing will reach you before virtual time grant_ns" for the wake
 * grant_seq. The program may then let its timeouts before grant_ns pass on its own clock without
 * asking, until it does something the worker can see (docs/design.md, "Lookahead").
 * The program counts as idle exactly when idle_ack == wake_seq: a wake bumped after the check
 * makes it busy again, so data written while it was deciding is never missed.
 * Both futex words (wake_seq, idle_ack) are 32-bit and compared for equality only (wrap-safe). */

#include <stdint.h>

#define LWIPSIM_VCLOCK_MAGIC 0x6c77766bU /* "lwvk" */
#define LWIPSIM_VCLOCK_VERSION 3U
#define LWIPSIM_VCLOCK_PAGE_SIZE 4096
/* The environment variable naming the page file for the library. */
#define LWIPSIM_VCLOCK_ENV "LWIPSIM_VCLOCK_PAGE"
/* deadline_ns when the program waits without a timeout. */
#define LWIPSIM_VCLOCK_NO_DEADLINE INT64_MAX

struct lwipsim_vclock_page {
    uint32_t magic;
    uint32_t version;
    int64_t epoch_realtime_ns;  /* CLOCK_REALTIME at virtual 0 (the real start: certs valid) */
    int64_t epoch_monotonic_ns; /* CLOCK_MONOTONIC at virtual 0 */
    int64_t now_ns;             /* virtual time since the start; written by the worker */
    uint32_t wake_seq;          /* futex word the library sleeps on */
    uint32_t idle_ack;          /* futex word the worker sleeps on */
    int64_t deadline_ns;        /* the idle program's next timeout (virtual), or NO_DEADLINE */
    uint32_t detached;          /* 1: back to real time and real waits (before a stop) */
    uint32_t waiters;           /* threads inside a covered wait (more than one is refused) */
    int64_t grant_ns;           /* lookahead: no wake before this virtual time (see above) */
    uint32_t grant_seq;         /* the wake_seq grant_ns belongs to */
    int32_t attached_pid;       /* getpid() of the program once the library mapped the page */
    char error[512];            /* why the library gave up (an uncovered wait), NUL-terminated */
    /* 1 once the program has called shutdown() on any socket. Until then every socket it holds
     * is either open both ways or closed by close(), so a connection whose FIN came from the
     * program has no fd left in it that the gateway could still reach (the lookahead's
     * "closed by the peer" rule, docs/design.md). */
    uint32_t shut_down;
};

/* The 32-bit device build (issue 16) shares this page with the 64-bit broker: every field must
 * sit at the same offset in both ABIs (int64_t is only 4-aligned in i386 structs, so each one
 * is placed at an 8-aligned offset by hand). */
#ifdef __cplusplus
#define LWIPSIM_VCLOCK_ASSERT static_assert
#else
#define LWIPSIM_VCLOCK_ASSERT _Static_assert
#endif
LWIPSIM_VCLOCK_ASSERT(__builtin_offsetof(struct lwipsim_vclock_page, deadline_ns) == 40,
                      "vclock page layout differs between ABIs");
LWIPSIM_VCLOCK_ASSERT(__builtin_offsetof(struct lwipsim_vclock_page, grant_ns) == 56,
                      "vclock page layout differs between ABIs");
LWIPSIM_VCLOCK_ASSERT(__builtin_offsetof(struct lwipsim_vclock_page, error) == 72,
                      "vclock page layout differs between ABIs");
LWIPSIM_VCLOCK_ASSERT(__builtin_offsetof(struct lwipsim_vclock_page, shut_down) == 584,
                      "vclock page layout differs between ABIs");
