/* liblwipsim_vclock.so: puts a host program (the managed mosquitto) on the run's virtual time.
 * Loaded with LD_PRELOAD and LWIPSIM_VCLOCK_PAGE=<page file> (sim/host/vclock_page.h).
 *
 * Clocks: clock_gettime (REALTIME, MONOTONIC, BOOTTIME and their variants), gettimeofday and
 * time read the page's virtual time; CPU-time clocks stay real.
 *
 * Waits: epoll_wait, epoll_pwait, poll, ppoll, select, pselect, nanosleep, clock_nanosleep,
 * usleep and sleep. A wait first asks the kernel with a zero timeout; only when nothing is ready
 * and its virtual deadline has not come does it report "idle until D" to the worker and sleep on
 * the page's futex until the worker wakes it (it wrote to our sockets, or virtual time reached
 * D, or it detached us). Then it checks again. Signals that interrupt the futex (handlers
 * installed without SA_RESTART) end the wait with EINTR, as the kernel's waits would.
 *
 * Lookahead: a wake may come with a grant ("nothing reaches you before G"); timeouts before G
 * that find nothing ready then pass on the program's own clock without a round trip, until
 * the program writes to or closes a socket or finds input: the worker's time catches up first
 * (write, writev, send, sendto, sendmsg, shutdown and close are wrapped for that).
 *
 * Limits, each refused loudly (message on stderr and in the page, then exit 70) rather than a
 * silent hang: a second thread entering a covered wait while one is inside; epoll_pwait2. A
 * wait the library does not know at all (a raw syscall, io_uring, a futex of the program's own)
 * blocks in real time: the worker then sees no idle report and stops the run with an error
 * (sim/host/vclock_peer.h). Bytes the program wrote to a loopback socket before its idle report
 * are in the worker's receive queue when the report is read: loopback delivers them inside the
 * sending call (docs/design.md). */
#define _GNU_SOURCE
#include "sim/host/vclock_page.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))
#define NS_PER_S 1000000000LL
#define NS_PER_MS 1000000LL

static struct lwipsim_vclock_page* g_page;

/* --- the real functions ------------------------------------------------------------------ */

#define REAL(name) real_##name
#define DECLARE_REAL(ret, name, ...)                                                               \
    static ret (*real_##name)(__VA_ARGS__);                                                        \
    static ret (*get_##name(void))(__VA_ARGS__) {                                                  \
        if (real_##name == NULL)                                                                   \
            real_##name = (ret(*)(__VA_ARGS__))dlsym(RTLD_NEXT, #name);                            \
        return real_##name;                                                                        \
    }

DECLARE_REAL(int, clock_gettime, clockid_t, struct timespec*)
DECLARE_REAL(int, gettimeofday, struct timeval*, void*)
DECLARE_REAL(time_t, time, time_t*)
DECLARE_REAL(int, epoll_wait, int, struct epoll_event*, int, int)
DECLARE_REAL(int, epoll_pwait, int, struct epoll_event*, int, int, const sigset_t*)
DECLARE_REAL(int, poll, struct pollfd*, nfds_t, int)
DECLARE_REAL(int, ppoll, struct pollfd*, nfds_t, const struct timespec*, const sigset_t*)
DECLARE_REAL(int, select, int, fd_set*, fd_set*, fd_set*, struct timeval*)
DECLARE_REAL(int, pselect, int, fd_set*, fd_set*, fd_set*, const struct timespec*, const sigset_t*)
DECLARE_REAL(int, nanosleep, const struct timespec*, struct timespec*)
DECLARE_REAL(int, clock_nanosleep, clockid_t, int, const struct timespec*, struct timespec*)
DECLARE_REAL(int, epoll_pwait2, int, struct epoll_event*, int, const struct timespec*,
             const sigset_t*)
DECLARE_REAL(int, epoll_ctl, int, int, int, struct epoll_event*)
DECLARE_REAL(ssize_t, write, int, const void*, size_t)
DECLARE_REAL(ssize_t, writev, int, const struct iovec*, int)
DECLARE_REAL(ssize_t, send, int, const void*, size_t, int)
DECLARE_REAL(ssize_t, sendto, int, const void*, size_t, int, const struct sockaddr*, socklen_t)
DECLARE_REAL(ssize_t, sendmsg, int, const struct msghdr*, int)
DECLARE_REAL(int, shutdown, int, int)
DECLARE_REAL(int, close, int)
DECLARE_REAL(int, fflush, FILE*)
DECLARE_REAL(size_t, fwrite, const void*, size_t, size_t, FILE*)
DECLARE_REAL(int, fputs, const char*, FILE*)
DECLARE_REAL(int, pthread_sigmask, int, const sigset_t*, sigset_t*)
DECLARE_REAL(pid_t, fork, void)
DECLARE_REAL(int, pthread_create, pthread_t*, const pthread_attr_t*, void* (*)(void*), void*)

/* --- the page ------------------------------------------------------------------------------ */

__attribute__((noreturn)) static void give_up(const char* what) {
    if (g_page != NULL) {
        snprintf(g_page->error, sizeof g_page->error, "%s", what);
        /* The worker re-checks `error` whenever its wait for an idle report wakes. */
        syscall(SYS_futex, &g_page->idle_ack, FUTEX_WAKE, 1, NULL, NULL, 0);
    }
    fprintf(stderr, "lwipsim vclock: %s (docs/design.md, \"The broker on virtual time\")\n", what);
    _exit(70); /* not abort(): no core file in the broker's working directory */
}

__attribute__((constructor)) static void attach_page(void) {
    const char* path = getenv(LWIPSIM_VCLOCK_ENV);
    if (path == NULL || path[0] == '\0')
        return; /* loaded without a page: every call is the real one */
    int fd = open(path, O_RDWR | O_CLOEXEC);
    void* map =
        fd < 0 ? MAP_FAILED
               : mmap(NULL, LWIPSIM_VCLOCK_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (fd >= 0)
        close(fd);
    if (map == MAP_FAILED) {
        fprintf(stderr, "lwipsim vclock: cannot map %s=%s: %s\n", LWIPSIM_VCLOCK_ENV, path,
                strerror(errno));
        abort();
    }
    struct lwipsim_vclock_page* page = map;
    if (page->magic != LWIPSIM_VCLOCK_MAGIC || page->version != LWIPSIM_VCLOCK_VERSION) {
        fprintf(stderr, "lwipsim vclock: %s is not a version %u clock page\n", path,
                LWIPSIM_VCLOCK_VERSION);
        abort();
    }
    g_page = page;
    /* Proof for the worker that the library really runs inside the program (an LD_PRELOAD the
     * dynamic loader ignored would leave it 0). */
    __atomic_store_n(&g_page->attached_pid, (int32_t)getpid(), __ATOMIC_SEQ_CST);
}

static int attached(void) {
    return g_page != NULL && __atomic_load_n(&g_page->detached, __ATOMIC_SEQ_CST) == 0;
}

/* The program's own virtual time when it ran ahead of the worker's under a grant (below). */
static int64_t g_local_ns;

static int64_t virtual_now(void) {
    int64_t worker = __atomic_load_n(&g_page->now_ns, __ATOMIC_SEQ_CST);
    int64_t local = __atomic_load_n(&g_local_ns, __ATOMIC_SEQ_CST);
    return local > worker ? local : worker;
}

static int futex(uint32_t* word, int op, uint32_t val, const struct timespec* timeout) {
    return (int)syscall(SYS_futex, word, op, val, timeout, NULL, 0);
}

/* --- clocks -------------------------------------------------------------------------------- */

/* The epoch the clock counts from, or -1 for clocks that stay real (CPU time). */
static int64_t clock_epoch(clockid_t id) {
    switch (id) {
    case CLOCK_REALTIME:
    case CLOCK_REALTIME_COARSE:
    case CLOCK_TAI:
        return g_page->epoch_realtime_ns;
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_MONOTONIC_COARSE:
    case CLOCK_BOOTTIME:
        return g_page->epoch_monotonic_ns;
    default:
        return -1;
    }
}

static struct timespec to_timespec(int64_t ns) {
    struct timespec ts = {(time_t)(ns / NS_PER_S), (long)(ns % NS_PER_S)};
    return ts;
}

/* Saturating: a timeout of years must not wrap into the past. */
static int64_t add_ns(int64_t a, int64_t b) {
    int64_t sum;
    if (__builtin_add_overflow(a, b, &sum))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return sum;
}

static int64_t from_timespec(const struct timespec* ts) {
    int64_t ns;
    if (__builtin_mul_overflow((int64_t)ts->tv_sec, NS_PER_S, &ns))
        return ts->tv_sec > 0 ? INT64_MAX : INT64_MIN;
    return add_ns(ns, ts->tv_nsec);
}

/* What the kernel accepts as a relative or absolute timeout; anything else goes to the real
 * call, which fails with EFAULT or EINVAL at once, as it would without the library. */
static int valid_timespec(const struct timespec* ts) {
    return ts != NULL && ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < NS_PER_S;
}

EXPORT int clock_gettime(clockid_t id, struct timespec* ts) {
    int64_t epoch = g_page != NULL ? clock_epoch(id) : -1;
    if (epoch < 0)
        return get_clock_gettime()(id, ts);
    *ts = to_timespec(epoch + virtual_now());
    return 0;
}

/* glibc declares tv nonnull, but callers do pass NULL: keep the check. */
#pragma GCC diagnostic ignored "-Wnonnull-compare"
EXPORT int gettimeofday(struct timeval* tv, void* tz) {
    if (g_page == NULL)
        return get_gettimeofday()(tv, tz);
    if (tv != NULL) {
        int64_t ns = g_page->epoch_realtime_ns + virtual_now();
        tv->tv_sec = (time_t)(ns / NS_PER_S);
        tv->tv_usec = (suseconds_t)(ns % NS_PER_S / 1000);
    }
    return 0;
}

EXPORT time_t time(time_t* out) {
    if (g_page == NULL)
        return get_time()(out);
    time_t t = (time_t)((g_page->epoch_realtime_ns + virtual_now()) / NS_PER_S);
    if (out != NULL)
        *out = t;
    return t;
}

/* --- the lookahead grant ------------------------------------------------------------------ */

/* With a wake, the worker may grant "nothing reaches you before virtual time G" (grant_ns for the
 * wake grant_seq). A covered wait whose deadline is before G and finds nothing ready then ends as
 * a timeout on the program's own clock (g_local_ns), without a round trip. The grant is used up
 * (spent) by anything the worker could see: an output on a socket or a wait that finds input;
 * the worker's time must first catch up with the program's (catch_up), so the worker handles
 * the effect at the virtual instant it happened (docs/design.md, "Lookahead"). */
static uint32_t g_spent_seq;
static int g_spent; /* g_spent_seq is meaningful */

/* Under an unspent grant nothing new can become ready on a socket: a readiness check that found
 * nothing stays true until the grant is spent, so later timeouts of the same epoll set need not
 * ask the kernel again (one syscall less per loop of the program). Only epoll sets: a poll or
 * select check also fills the caller's result arrays. */
static uint32_t g_quiet_seq;
static int g_quiet_epfd = -1;

static int quiet_under_grant(uint32_t seq, int epfd) {
    return epfd >= 0 && __atomic_load_n(&g_quiet_epfd, __ATOMIC_SEQ_CST) == epfd &&
           __atomic_load_n(&g_quiet_seq, __ATOMIC_SEQ_CST) == seq;
}

static void spend_grant(void) {
    __atomic_store_n(&g_quiet_epfd, -1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&g_spent_seq, __atomic_load_n(&g_page->wake_seq, __ATOMIC_SEQ_CST),
                     __ATOMIC_SEQ_CST);
    __atomic_store_n(&g_spent, 1, __ATOMIC_SEQ_CST);
}

/* The grant for the wake `seq`, or INT64_MIN when there is none (a data wake) or it is spent. */
static int64_t grant_for(uint32_t seq) {
    if (__atomic_load_n(&g_page->grant_seq, __ATOMIC_SEQ_CST) != seq)
        return INT64_MIN;
    if (__atomic_load_n(&g_spent, __ATOMIC_SEQ_CST) &&
        __atomic_load_n(&g_spent_seq, __ATOMIC_SEQ_CST) == seq)
        return INT64_MIN;
    return __atomic_load_n(&g_page->grant_ns, __ATOMIC_SEQ_CST);
}

/* --- signal masks under a grant ----------------------------------------------------------- */

/* mosquitto blocks its signals around every epoll_wait (sigprocmask before, sigprocmask after).
 * Under a grant the wait itself makes no system call, but the two mask changes would: 72,000 in
 * an idle hour, each a trap that costs microseconds on a paravirtualised machine, more than the
 * rest of the run (docs/performance.md). While the program runs on a grant nothing the worker
 * does can signal it (the worker waits for its idle report; stops and pauses come only from
 * worker events, and an event ends every grant before it), so a mask change then is only
 * recorded, per thread: the kernel's mask is brought in line (one real call) before the library
 * does anything that can block, touch a socket or a file, or start a thread or process
 * (apply_deferred_mask). A block/restore pair around a locally answered timeout thus costs
 * nothing. Limits: a signal from outside the simulation (a user's SIGHUP) that arrives in such
 * a stretch meets the older mask, and a system call the library does not wrap made in it runs
 * with the older mask. Outside a grant every call is the real one. */
static __thread int t_mask_known; /* under a grant: t_mask and t_kernel_mask are valid */
static __thread uint64_t t_mask;  /* the mask the program asked for */
static __thread uint64_t t_kernel_mask;

/* The kernel's part of a sigset_t: signals 1..64 in its first 8 bytes (glibc hands the kernel
 * _NSIG / 8 bytes and leaves the rest of a returned set as it was), bit n - 1 for signal n. */
static uint64_t mask_bits(const sigset_t* set) {
    uint64_t bits;
    memcpy(&bits, set, sizeof bits);
    return bits;
}

static uint64_t signal_bit(int sig) {
    return UINT64_C(1) << (sig - 1);
}

static void apply_deferred_mask(void) {
    if (!t_mask_known)
        return;
    t_mask_known = 0;
    if (t_mask == t_kernel_mask)
        return;
    sigset_t set;
    sigemptyset(&set);
    memcpy(&set, &t_mask, sizeof t_mask);
    get_pthread_sigmask()(SIG_SETMASK, &set, NULL);
}

/* pthread_sigmask's contract (0 or an error number). */
static int change_mask(int how, const sigset_t* set, sigset_t* old) {
    if (!attached() ||
        grant_for(__atomic_load_n(&g_page->wake_seq, __ATOMIC_SEQ_CST)) == INT64_MIN) {
        apply_deferred_mask();
        return get_pthread_sigmask()(how, set, old);
    }
    if (set != NULL && how != SIG_BLOCK && how != SIG_UNBLOCK && how != SIG_SETMASK)
        return EINVAL;
    if (!t_mask_known) { /* once per granted stretch */
        sigset_t kernel;
        int err = get_pthread_sigmask()(SIG_SETMASK, NULL, &kernel);
        if (err != 0)
            return err;
        t_mask = t_kernel_mask = mask_bits(&kernel);
        t_mask_known = 1;
    }
    if (old != NULL)
        memcpy(old, &t_mask, sizeof t_mask);
    if (set == NULL)
        return 0;
    const uint64_t bits = mask_bits(set);
    t_mask = how == SIG_BLOCK ? t_mask | bits : how == SIG_UNBLOCK ? t_mask & ~bits : bits;
    /* What the kernel and glibc leave out: SIGKILL and SIGSTOP cannot be blocked, and glibc
     * keeps its own two real-time signals (cancellation, set*id) unblocked. */
    t_mask &= ~(signal_bit(SIGKILL) | signal_bit(SIGSTOP) | signal_bit(__SIGRTMIN) |
                signal_bit(__SIGRTMIN + 1));
    return 0;
}

EXPORT int pthread_sigmask(int how, const sigset_t* set, sigset_t* old) {
    return change_mask(how, set, old);
}

EXPORT int sigprocmask(int how, const sigset_t* set, sigset_t* old) {
    int err = change_mask(how, set, old);
    if (err != 0) {
        errno = err;
        return -1;
    }
    return 0;
}

/* A new thread or process inherits the kernel's mask: the program's first. */
EXPORT pid_t fork(void) {
    apply_deferred_mask();
    return get_fork()();
}

EXPORT int pthread_create(pthread_t* thread, const pthread_attr_t* attr, void* (*start)(void*),
                          void* arg) {
    apply_deferred_mask();
    return get_pthread_create()(thread, attr, start, arg);
}

/* Reports "idle until `deadline`" for the wake `seq` and sleeps until the next wake or a detach.
 * 0, or EINTR when a signal handler without SA_RESTART interrupted the sleep. */
static int report_idle_and_sleep(uint32_t seq, int64_t deadline) {
    apply_deferred_mask(); /* the program blocks with the mask it asked for */
    __atomic_store_n(&g_page->deadline_ns, deadline, __ATOMIC_SEQ_CST);
    __atomic_store_n(&g_page->idle_ack, seq, __ATOMIC_SEQ_CST);
    futex(&g_page->idle_ack, FUTEX_WAKE, 1, NULL);
    /* A bounded futex wait so that a detach is seen even if its wake were lost. */
    const struct timespec second = {1, 0};
    while (__atomic_load_n(&g_page->wake_seq, __ATOMIC_SEQ_CST) == seq &&
           !__atomic_load_n(&g_page->detached, __ATOMIC_SEQ_CST)) {
        if (futex(&g_page->wake_seq, FUTEX_WAIT, seq, &second) != 0 && errno == EINTR)
            return EINTR;
    }
    return 0;
}

/* Before an effect the worker can see, while the program runs ahead of the worker's time: ask
 * to be woken at the program's time (an ordinary idle report with that deadline; the grant
 * promised that nothing reaches the program before it), so the effect happens at that instant
 * of the worker's time too. */
static void catch_up(void) {
    int64_t local = __atomic_load_n(&g_local_ns, __ATOMIC_SEQ_CST);
    int saved_errno = errno;
    while (attached() && __atomic_load_n(&g_page->now_ns, __ATOMIC_SEQ_CST) < local) {
        uint32_t seq = __atomic_load_n(&g_page->wake_seq, __ATOMIC_SEQ_CST);
        if (report_idle_and_sleep(seq, local) == EINTR) /* the handler ran: report again */
            __atomic_store_n(&g_page->idle_ack, seq - 1, __ATOMIC_SEQ_CST);
    }
    errno = saved_errno;
}

/* Every call that can change what the worker sees on a socket passes here first. Outputs on
 * pipes and other non-files spend the grant too: they may make one of the program's own fds
 * ready (a self-pipe), which a skipped readiness check would miss. */
static void before_socket_effect(int fd) {
    if (!attached())
        return;
    apply_deferred_mask();
    struct stat st;
    if (fstat(fd, &st) != 0 || S_ISREG(st.st_mode))
        return;
    if (S_ISSOCK(st.st_mode))
        catch_up();
    spend_grant();
}

/* --- the covered wait ---------------------------------------------------------------------- */

/* A zero-timeout readiness check: the real call with timeout 0 (> 0 ready, < 0 error). */
typedef int (*check_fn)(void* ctx);

enum wait_end { kReady, kTimedOut, kInterrupted, kDetached };

/* The handshake with the worker (vclock_page.h). `deadline` is virtual ns or NO_DEADLINE.
 * Leaves the check's result in *result when it returns kReady. */
static enum wait_end covered_wait(int64_t deadline, check_fn check, void* ctx, int* result,
                                  int epfd) {
    if (__atomic_fetch_add(&g_page->waiters, 1, __ATOMIC_SEQ_CST) != 0)
        give_up("two threads of this program wait at once; the library serves one waiting thread");
    enum wait_end end;
    for (;;) {
        uint32_t seq = __atomic_load_n(&g_page->wake_seq,
                                       __ATOMIC_SEQ_CST); /* before the check: no lost wake-up */
        int64_t grant = grant_for(seq);
        int skip = deadline < grant && quiet_under_grant(seq, epfd);
        if (!skip)
            apply_deferred_mask();
        *result = skip ? 0 : check(ctx);
        if (*result != 0) {
            if (*result > 0) { /* input the program will read: the worker's time first */
                catch_up();
                spend_grant();
            }
            end = kReady;
            break;
        }
        if (virtual_now() >= deadline) {
            end = kTimedOut;
            break;
        }
        if (deadline < grant) { /* nothing can arrive before it: a timeout, locally */
            __atomic_store_n(&g_quiet_seq, seq, __ATOMIC_SEQ_CST);
            __atomic_store_n(&g_quiet_epfd, epfd, __ATOMIC_SEQ_CST);
            __atomic_store_n(&g_local_ns, deadline, __ATOMIC_SEQ_CST);
            end = kTimedOut;
            break;
        }
        int interrupted = report_idle_and_sleep(seq, deadline) == EINTR;
        if (__atomic_load_n(&g_page->detached, __ATOMIC_SEQ_CST)) {
            end = kDetached;
            break;
        }
        if (interrupted) {
            /* The program runs its handler and loop now: busy until it reports idle again. */
            __atomic_store_n(&g_page->idle_ack, seq - 1, __ATOMIC_SEQ_CST);
            end = kInterrupted;
            break;
        }
    }
    __atomic_fetch_sub(&g_page->waiters, 1, __ATOMIC_SEQ_CST);
    return end;
}

static int64_t deadline_after_ms(int timeout_ms) {
    return timeout_ms < 0 ? LWIPSIM_VCLOCK_NO_DEADLINE : virtual_now() + timeout_ms * NS_PER_MS;
}

static int64_t deadline_after(const struct timespec* ts) {
    return ts == NULL ? LWIPSIM_VCLOCK_NO_DEADLINE : add_ns(virtual_now(), from_timespec(ts));
}

static int is_zero_timeout(int64_t deadline) {
    return deadline != LWIPSIM_VCLOCK_NO_DEADLINE && deadline <= virtual_now();
}

/* Maps a covered wait's end to the return value of a readiness call. A detach (the worker is
 * about to stop the program, docs/design.md "Stopping") ends the wait at once as a timeout: the
 * program's loop comes round and acts on the SIGTERM the worker sent just before. A real wait
 * instead would hold that signal for its whole timeout in a program that blocks its signals
 * while it waits, as mosquitto does (100 ms per stop). The next wait is the real one. */
static int readiness_result(enum wait_end end, int ready) {
    switch (end) {
    case kReady:
        return ready;
    case kTimedOut:
    case kDetached:
        return 0;
    case kInterrupted:
        errno = EINTR;
        return -1;
    }
    return 0;
}

/* epoll */
struct epoll_ctx {
    int epfd;
    struct epoll_event* events;
    int max;
    const sigset_t* mask;
};
static int epoll_check(void* p) {
    struct epoll_ctx* c = p;
    return c->mask != NULL ? get_epoll_pwait()(c->epfd, c->events, c->max, 0, c->mask)
                           : get_epoll_wait()(c->epfd, c->events, c->max, 0);
}

EXPORT int epoll_wait(int epfd, struct epoll_event* events, int max, int timeout) {
    if (!attached() || timeout == 0)
        return get_epoll_wait()(epfd, events, max, timeout);
    struct epoll_ctx c = {epfd, events, max, NULL};
    int ready = 0;
    enum wait_end end = covered_wait(deadline_after_ms(timeout), epoll_check, &c, &ready, epfd);
    return readiness_result(end, ready);
}

EXPORT int epoll_pwait(int epfd, struct epoll_event* events, int max, int timeout,
                       const sigset_t* mask) {
    if (!attached() || timeout == 0)
        return get_epoll_pwait()(epfd, events, max, timeout, mask);
    struct epoll_ctx c = {epfd, events, max, mask};
    int ready = 0;
    enum wait_end end = covered_wait(deadline_after_ms(timeout), epoll_check, &c, &ready, epfd);
    return readiness_result(end, ready);
}

EXPORT int epoll_pwait2(int epfd, struct epoll_event* events, int max,
                        const struct timespec* timeout, const sigset_t* mask) {
    if (attached())
        give_up("epoll_pwait2 is not covered by the virtual clock");
    if (get_epoll_pwait2() == NULL) { /* a C library without it */
        errno = ENOSYS;
        return -1;
    }
    return get_epoll_pwait2()(epfd, events, max, timeout, mask);
}

/* A changed interest set may hold an fd that is ready already: ask the kernel again. */
EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event* event) {
    if (g_page != NULL)
        __atomic_store_n(&g_quiet_epfd, -1, __ATOMIC_SEQ_CST);
    return get_epoll_ctl()(epfd, op, fd, event);
}

/* poll */
struct poll_ctx {
    struct pollfd* fds;
    nfds_t n;
    const sigset_t* mask;
};
static int poll_check(void* p) {
    struct poll_ctx* c = p;
    const struct timespec zero = {0, 0};
    return c->mask != NULL ? get_ppoll()(c->fds, c->n, &zero, c->mask)
                           : get_poll()(c->fds, c->n, 0);
}

EXPORT int poll(struct pollfd* fds, nfds_t n, int timeout) {
    if (!attached() || timeout == 0)
        return get_poll()(fds, n, timeout);
    struct poll_ctx c = {fds, n, NULL};
    int ready = 0;
    enum wait_end end = covered_wait(deadline_after_ms(timeout), poll_check, &c, &ready, -1);
    return readiness_result(end, ready);
}

EXPORT int ppoll(struct pollfd* fds, nfds_t n, const struct timespec* timeout,
                 const sigset_t* mask) {
    int64_t deadline = attached() ? deadline_after(timeout) : 0;
    if (!attached() || is_zero_timeout(deadline) || (timeout != NULL && !valid_timespec(timeout)))
        return get_ppoll()(fds, n, timeout, mask);
    struct poll_ctx c = {fds, n, mask};
    int ready = 0;
    enum wait_end end = covered_wait(deadline, poll_check, &c, &ready, -1);
    return readiness_result(end, ready);
}

/* select: a zero-timeout select overwrites the sets, so each check starts from a copy. */
struct select_ctx {
    int nfds;
    fd_set *r, *w, *e;
    fd_set r0, w0, e0;
    const sigset_t* mask;
};
static int select_check(void* p) {
    struct select_ctx* c = p;
    if (c->r != NULL)
        *c->r = c->r0;
    if (c->w != NULL)
        *c->w = c->w0;
    if (c->e != NULL)
        *c->e = c->e0;
    const struct timespec zero = {0, 0};
    return get_pselect()(c->nfds, c->r, c->w, c->e, &zero, c->mask);
}

static int covered_select(int nfds, fd_set* r, fd_set* w, fd_set* e, int64_t deadline,
                          const sigset_t* mask) {
    if (nfds > FD_SETSIZE) /* the saved copies below hold FD_SETSIZE bits */
        give_up("select/pselect with nfds above FD_SETSIZE is not covered");
    struct select_ctx c = {.nfds = nfds, .r = r, .w = w, .e = e, .mask = mask};
    if (r != NULL)
        c.r0 = *r;
    if (w != NULL)
        c.w0 = *w;
    if (e != NULL)
        c.e0 = *e;
    int ready = 0;
    enum wait_end end = covered_wait(deadline, select_check, &c, &ready, -1);
    if (end == kTimedOut || end == kDetached) { /* a timed-out select returns empty sets */
        fd_set none;
        FD_ZERO(&none);
        if (r != NULL)
            *r = none;
        if (w != NULL)
            *w = none;
        if (e != NULL)
            *e = none;
    }
    return readiness_result(end, ready);
}

EXPORT int select(int nfds, fd_set* r, fd_set* w, fd_set* e, struct timeval* tv) {
    int64_t deadline = LWIPSIM_VCLOCK_NO_DEADLINE;
    int valid = tv == NULL || (tv->tv_sec >= 0 && tv->tv_usec >= 0 && tv->tv_usec < 1000000);
    if (attached() && tv != NULL && valid) {
        struct timespec ts = {tv->tv_sec, tv->tv_usec * 1000};
        deadline = deadline_after(&ts);
    }
    if (!attached() || !valid || is_zero_timeout(deadline))
        return get_select()(nfds, r, w, e, tv);
    return covered_select(nfds, r, w, e, deadline, NULL);
}

EXPORT int pselect(int nfds, fd_set* r, fd_set* w, fd_set* e, const struct timespec* ts,
                   const sigset_t* mask) {
    int64_t deadline = attached() ? deadline_after(ts) : 0;
    if (!attached() || is_zero_timeout(deadline) || (ts != NULL && !valid_timespec(ts)))
        return get_pselect()(nfds, r, w, e, ts, mask);
    return covered_select(nfds, r, w, e, deadline, mask);
}

/* sleeps: a wait on nothing but the deadline */
static int nothing_ready(void* p) {
    (void)p;
    return 0;
}

/* Sleeps until virtual `deadline`; 0, or EINTR with the virtual time left in *rem. */
static int covered_sleep(int64_t deadline, struct timespec* rem) {
    int ignored = 0;
    switch (covered_wait(deadline, nothing_ready, NULL, &ignored, -1)) {
    case kInterrupted:
        if (rem != NULL) { /* never negative: the deadline may have passed with the signal */
            int64_t left = deadline - virtual_now();
            *rem = to_timespec(left > 0 ? left : 0);
        }
        return EINTR;
    case kDetached: {
        int64_t left = deadline - virtual_now();
        struct timespec ts = to_timespec(left > 0 ? left : 0);
        return get_nanosleep()(&ts, rem) == 0 ? 0 : errno;
    }
    default:
        return 0;
    }
}

EXPORT int nanosleep(const struct timespec* req, struct timespec* rem) {
    if (!attached() || !valid_timespec(req))
        return get_nanosleep()(req, rem);
    int err = covered_sleep(deadline_after(req), rem);
    if (err != 0) {
        errno = err;
        return -1;
    }
    return 0;
}

EXPORT int clock_nanosleep(clockid_t id, int flags, const struct timespec* req,
                           struct timespec* rem) {
    int64_t epoch = attached() ? clock_epoch(id) : -1;
    if (epoch < 0 || !valid_timespec(req))
        return get_clock_nanosleep()(id, flags, req, rem);
    int64_t deadline =
        (flags & TIMER_ABSTIME) ? add_ns(from_timespec(req), -epoch) : deadline_after(req);
    return covered_sleep(deadline, (flags & TIMER_ABSTIME) ? NULL : rem);
}

EXPORT int usleep(useconds_t us) {
    struct timespec ts = to_timespec((int64_t)us * 1000);
    return nanosleep(&ts, NULL);
}

EXPORT unsigned int sleep(unsigned int s) {
    struct timespec ts = {(time_t)s, 0}, rem = {0, 0};
    if (nanosleep(&ts, &rem) != 0)
        return (unsigned int)rem.tv_sec;
    return 0;
}

/* --- effects the worker can see ------------------------------------------------------------ */

/* Outputs on a socket, and closing one, happen at the worker's time (before_socket_effect). Other
 * file descriptors (the log file) pass straight through. */
EXPORT ssize_t write(int fd, const void* buf, size_t n) {
    before_socket_effect(fd);
    return get_write()(fd, buf, n);
}

EXPORT ssize_t writev(int fd, const struct iovec* iov, int count) {
    before_socket_effect(fd);
    return get_writev()(fd, iov, count);
}

EXPORT ssize_t send(int fd, const void* buf, size_t n, int flags) {
    before_socket_effect(fd);
    return get_send()(fd, buf, n, flags);
}

EXPORT ssize_t sendto(int fd, const void* buf, size_t n, int flags, const struct sockaddr* to,
                      socklen_t len) {
    before_socket_effect(fd);
    return get_sendto()(fd, buf, n, flags, to, len);
}

EXPORT ssize_t sendmsg(int fd, const struct msghdr* msg, int flags) {
    before_socket_effect(fd);
    return get_sendmsg()(fd, msg, flags);
}

EXPORT int shutdown(int fd, int how) {
    before_socket_effect(fd);
    if (attached())
        __atomic_store_n(&g_page->shut_down, 1U, __ATOMIC_SEQ_CST);
    return get_shutdown()(fd, how);
}

EXPORT int close(int fd) {
    before_socket_effect(fd);
    return get_close()(fd);
}

/* A line into a regular file (the broker's log): written at the worker's time too. The worker
 * reads the log as it grows and stamps each line with the virtual time it reads it at, so under
 * a grant the line must not be written while the program's own clock is ahead of the worker's.
 * stdio writes reach the kernel through glibc's internal write, not the wrapper above, so the
 * stdio calls mosquitto imports are wrapped (__fprintf_chk, fwrite, fputs, fflush). The grant
 * is not spent: slirp does not read the log. */
static void before_file_output(FILE* fp) {
    if (!attached() || fp == NULL)
        return;
    apply_deferred_mask();
    struct stat st;
    const int fd = fileno(fp);
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
        catch_up();
}

extern int __vfprintf_chk(FILE* fp, int flag, const char* format, va_list ap);

EXPORT int __fprintf_chk(FILE* fp, int flag, const char* format, ...) {
    before_file_output(fp);
    va_list ap;
    va_start(ap, format);
    const int n = __vfprintf_chk(fp, flag, format, ap);
    va_end(ap);
    return n;
}

EXPORT int fprintf(FILE* fp, const char* format, ...) {
    before_file_output(fp);
    va_list ap;
    va_start(ap, format);
    const int n = vfprintf(fp, format, ap);
    va_end(ap);
    return n;
}

EXPORT size_t fwrite(const void* buf, size_t size, size_t count, FILE* fp) {
    before_file_output(fp);
    return get_fwrite()(buf, size, count, fp);
}

EXPORT int fputs(const char* text, FILE* fp) {
    before_file_output(fp);
    return get_fputs()(text, fp);
}

EXPORT int fflush(FILE* fp) {
    before_file_output(fp);
    return get_fflush()(fp);
}
