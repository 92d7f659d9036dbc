/* A host program for tests/integration/vclock_test.cpp, run under liblwipsim_vclock.so.
 *   vclock_helper slow-reader <port>: connects to 127.0.0.1:<port>; whenever epoll says the
 *       socket is readable it burns 2 ms of real time and reads ONE byte, and after each read
 *       that empties the socket it writes back the total number of bytes read so far
 *       ("<n>\n"). A slow consumer: idle must never be reported while our bytes are unread.
 *   vclock_helper sleeper <port>: connects, sleeps 4 x 250 ms (usleep, nanosleep, poll with
 *       no fds, select with no fds), then writes the CLOCK_MONOTONIC and CLOCK_REALTIME time
 *       that passed, in ns ("<mono> <real>\n").
 *   vclock_helper pwait2: calls epoll_pwait2, which the library refuses.
 *   vclock_helper raw-wait: blocks in a raw ppoll syscall, which the library cannot see.
 *   vclock_helper ticker <port>: connects and loops in epoll_wait with mosquitto's 100 ms; once
 *       1 s of its monotonic clock has passed it writes that time in ns ("<ns>\n"), once.
 *   vclock_helper timespecs <port>: connects; reports (one line) the errno of nanosleep(NULL),
 *       of nanosleep and clock_nanosleep with tv_nsec = 1e9 and of select with tv_usec = -1
 *       ("EFAULT EINVAL EINVAL EINVAL" like the kernel); then an interrupted nanosleep(1 s)
 *       ("rem <s> <ns>", SIGUSR1 has a handler without SA_RESTART); then sleeps for LONG_MAX
 *       seconds and writes "woke" if that ever ends.
 *   vclock_helper pwait2-real: epoll_pwait2 on an empty set with a 1 ms timeout, for a run
 *       without a page: exits 0 when it timed out like the real call.
 *   vclock_helper masker <port>: the ticker's loop with mosquitto's sigprocmask pair around each
 *       epoll_wait (SIGTERM blocked inside). Once 1 s of its clock has passed it blocks SIGUSR1
 *       and writes, on one line, whether sigprocmask then says SIGUSR1 is blocked and whether
 *       the kernel's mask (/proc/self/status SigBlk, read past the library) has it ("1 0": the
 *       change waits for the next call the library wraps); then, after that write, the
 *       kernel's view again ("1\n").
 *   vclock_helper term-blocked <port>: connects, installs a SIGTERM handler and loops in
 *       epoll_wait(10 s) with SIGTERM blocked inside, as mosquitto does; exits 0 once the
 *       handler has run. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int connect_to(const char* port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr*)&a, sizeof a) != 0) {
        perror("vclock_helper: connect");
        exit(2);
    }
    return fd;
}

static int64_t raw_ns(clockid_t id) { /* the kernel's clock, past the library */
    struct timespec ts;
    syscall(SYS_clock_gettime, id, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t ns(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int slow_reader(const char* port) {
    int fd = connect_to(port);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    long total = 0;
    for (;;) {
        struct epoll_event got;
        int n = epoll_wait(ep, &got, 1, 1000);
        if (n <= 0)
            continue; /* a virtual second passed */
        int64_t until = raw_ns(CLOCK_MONOTONIC) + 2000000;
        while (raw_ns(CLOCK_MONOTONIC) < until) {
        }
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r <= 0)
            return 0; /* the test closed */
        ++total;
        int left = 0;
        ioctl(fd, FIONREAD, &left);
        if (left == 0) {
            char line[32];
            int len = snprintf(line, sizeof line, "%ld\n", total);
            if (write(fd, line, (size_t)len) != len)
                return 1;
        }
    }
}

static int sleeper(const char* port) {
    int fd = connect_to(port);
    int64_t mono0 = ns(CLOCK_MONOTONIC), real0 = ns(CLOCK_REALTIME);
    usleep(250000);
    struct timespec q = {0, 250000000};
    nanosleep(&q, NULL);
    poll(NULL, 0, 250);
    struct timeval tv = {0, 250000};
    select(0, NULL, NULL, NULL, &tv);
    char line[64];
    int len = snprintf(line, sizeof line, "%lld %lld\n", (long long)(ns(CLOCK_MONOTONIC) - mono0),
                       (long long)(ns(CLOCK_REALTIME) - real0));
    if (write(fd, line, (size_t)len) != len)
        return 1;
    poll(NULL, 0, -1); /* until the test stops us: idle without a deadline */
    return 0;
}

static int ticker(const char* port) {
    int fd = connect_to(port);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    int64_t start = ns(CLOCK_MONOTONIC);
    int written = 0;
    for (;;) {
        struct epoll_event got;
        int n = epoll_wait(ep, &got, 1, 100);
        if (n > 0) {
            char buf[64];
            if (read(fd, buf, sizeof buf) <= 0)
                return 0; /* the test closed */
        }
        int64_t passed = ns(CLOCK_MONOTONIC) - start;
        if (!written && passed >= 1000000000LL) {
            char line[32];
            int len = snprintf(line, sizeof line, "%lld\n", (long long)passed);
            if (write(fd, line, (size_t)len) != len)
                return 1;
            written = 1;
        }
    }
}

/* SIGUSR1 in the kernel's mask of this thread, from /proc (read(2) is not wrapped). */
static int kernel_blocks_usr1(void) {
    char buf[4096];
    FILE* f = fopen("/proc/thread-self/status", "r");
    unsigned long long blocked = 0;
    while (f != NULL && fgets(buf, sizeof buf, f) != NULL) {
        if (sscanf(buf, "SigBlk: %llx", &blocked) == 1)
            break;
    }
    if (f != NULL)
        fclose(f);
    return (int)((blocked >> (SIGUSR1 - 1)) & 1);
}

static int masker(const char* port) {
    int fd = connect_to(port);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    sigset_t term, usr1, orig, seen;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    int64_t start = ns(CLOCK_MONOTONIC);
    for (;;) {
        struct epoll_event got;
        sigprocmask(SIG_SETMASK, &term, &orig);
        int n = epoll_wait(ep, &got, 1, 100);
        sigprocmask(SIG_SETMASK, &orig, NULL);
        if (n > 0) {
            char buf[64];
            if (read(fd, buf, sizeof buf) <= 0)
                return 0; /* the test closed */
        }
        if (ns(CLOCK_MONOTONIC) - start >= 1000000000LL && !sigismember(&orig, SIGUSR1)) {
            sigprocmask(SIG_BLOCK, &usr1, NULL);
            sigprocmask(SIG_BLOCK, NULL, &seen);
            char line[32];
            int len = snprintf(line, sizeof line, "%d %d\n", sigismember(&seen, SIGUSR1),
                               kernel_blocks_usr1());
            if (write(fd, line, (size_t)len) != len)
                return 1;
            len = snprintf(line, sizeof line, "%d\n", kernel_blocks_usr1());
            if (write(fd, line, (size_t)len) != len)
                return 1;
        }
    }
}

static volatile sig_atomic_t g_terminated;
static void on_term(int sig) {
    (void)sig;
    g_terminated = 1;
}

static int term_blocked(const char* port) {
    int fd = connect_to(port);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sa.sa_flags = SA_RESTART; /* as mosquitto's signal() */
    sigaction(SIGTERM, &sa, NULL);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    sigset_t term, orig;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    while (!g_terminated) {
        struct epoll_event got;
        sigprocmask(SIG_SETMASK, &term, &orig);
        epoll_wait(ep, &got, 1, 10000);
        sigprocmask(SIG_SETMASK, &orig, NULL);
    }
    return 0;
}

static const char* errno_name(int rc, int err) {
    if (rc == 0)
        return "0";
    return err == EFAULT ? "EFAULT" : err == EINVAL ? "EINVAL" : "other";
}

static void on_usr1(int sig) {
    (void)sig;
}

static int timespecs(const char* port) {
    int fd = connect_to(port);
    char line[128];
    int rc = nanosleep(NULL, NULL);
    const char* a = errno_name(rc, errno);
    struct timespec bad = {0, 1000000000L};
    rc = nanosleep(&bad, NULL);
    const char* b = errno_name(rc, errno);
    rc = clock_nanosleep(CLOCK_MONOTONIC, 0, &bad, NULL);
    const char* c = rc == 0 ? "0" : rc == EINVAL ? "EINVAL" : "other";
    struct timeval tv = {0, -1};
    rc = select(0, NULL, NULL, NULL, &tv);
    const char* d = errno_name(rc, errno);
    int len = snprintf(line, sizeof line, "%s %s %s %s\n", a, b, c, d);
    if (write(fd, line, (size_t)len) != len)
        return 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1; /* no SA_RESTART: the sleep ends with EINTR */
    sigaction(SIGUSR1, &sa, NULL);
    struct timespec second = {1, 0}, rem = {-7, -7};
    rc = nanosleep(&second, &rem);
    len = snprintf(line, sizeof line, "rem %lld %ld\n", (long long)rem.tv_sec, rem.tv_nsec);
    if (rc != -1 || errno != EINTR || write(fd, line, (size_t)len) != len)
        return 1;
    signal(SIGUSR1, SIG_IGN); /* the test may send more */
    struct timespec forever = {LONG_MAX, 0};
    nanosleep(&forever, NULL);
    if (write(fd, "woke\n", 5) != 5)
        return 1;
    poll(NULL, 0, -1);
    return 0;
}

/* Ends its side of the connection when the first byte arrives, by shutdown(SHUT_WR) (keeping
 * the fd) or close(), then waits for good. */
static int ender(const char* port, int by_shutdown) {
    int fd = connect_to(port);
    char byte;
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, -1) != 1 || read(fd, &byte, 1) != 1)
        return 1;
    if (by_shutdown ? shutdown(fd, SHUT_WR) : close(fd))
        return 1;
    poll(NULL, 0, -1);
    return 0;
}

int main(int argc, char** argv) {
    if (argc == 3 && strcmp(argv[1], "ticker") == 0)
        return ticker(argv[2]);
    if (argc == 3 && strcmp(argv[1], "masker") == 0)
        return masker(argv[2]);
    if (argc == 3 && strcmp(argv[1], "term-blocked") == 0)
        return term_blocked(argv[2]);
    if (argc == 3 && strcmp(argv[1], "timespecs") == 0)
        return timespecs(argv[2]);
    if (argc == 2 && strcmp(argv[1], "pwait2-real") == 0) {
        int ep = epoll_create1(0);
        struct epoll_event got;
        struct timespec t = {0, 1000000};
        return epoll_pwait2(ep, &got, 1, &t, NULL) == 0 ? 0 : 1;
    }
    if (argc == 3 && strcmp(argv[1], "shutter") == 0)
        return ender(argv[2], 1);
    if (argc == 3 && strcmp(argv[1], "closer") == 0)
        return ender(argv[2], 0);
    if (argc == 3 && strcmp(argv[1], "slow-reader") == 0)
        return slow_reader(argv[2]);
    if (argc == 3 && strcmp(argv[1], "sleeper") == 0)
        return sleeper(argv[2]);
    if (argc == 2 && strcmp(argv[1], "pwait2") == 0) {
        int ep = epoll_create1(0);
        struct epoll_event got;
        struct timespec t = {1, 0};
        return epoll_pwait2(ep, &got, 1, &t, NULL) < 0 ? 1 : 0;
    }
    if (argc == 2 && strcmp(argv[1], "raw-wait") == 0) {
        struct timespec t = {60, 0};
        syscall(SYS_ppoll, NULL, 0, &t, NULL, 8);
        return 0;
    }
    fprintf(stderr, "usage: vclock_helper slow-reader|sleeper <port> | pwait2 | raw-wait\n");
    return 2;
}
