/* A deterministic host program under liblwipsim_vclock.so (the managed broker): with
 * LWIPSIM_VCLOCK_SEED=<decimal u64> in its environment, getrandom, getentropy and getpid stop
 * depending on the machine, and with LWIPSIM_VCLOCK_PORT_MAP=<config port>=<host port> its
 * listening port does too (bind below), and its peers are the simulated device (getpeername,
 * from the page's peer table), so two runs of one scenario and seed make the broker say
 * the same bytes (docs/design.md, "A deterministic broker").
 *
 * What mosquitto 2.0.11 with OpenSSL 3.0 on Debian 12 draws, measured with strace: one
 * getentropy(48) when OpenSSL seeds its primary DRBG (OpenSSL calls getentropy, a weak symbol
 * it finds in glibc, before it would try the raw getrandom syscall), and getpid, which OpenSSL
 * mixes into every DRBG nonce and compares to detect a fork. Nothing opens /dev/urandom or
 * /dev/random. glibc's own 8-byte getrandom (malloc's tcache key) is internal to glibc and
 * cannot be replaced here; it never reaches the program's output. The other inputs of OpenSSL's
 * nonces are the virtual time (vclock_preload.c) and addresses (the DRBG's, the thread's), which
 * repeat because the broker runs without address-space randomisation (personality
 * ADDR_NO_RANDOMIZE, as `setarch -R`: VclockPeer::needs_fixed_layout).
 *
 * The generator is splitmix64 over a counter: block i = mix(seed + i * golden ratio). It is
 * not secret and not meant to be: the broker's TLS keys become a function of the seed, which is
 * what a repeatable simulation wants (the device's session keys are in tls-keys.log anyway).
 * Thread-safe: each caller takes its own counter range atomically. */
#define _GNU_SOURCE
#include "sim/host/vclock_determinism.h"

#include "sim/host/vclock_page.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

/* getentropy's limit (glibc and POSIX): longer requests fail with EIO. */
#define GETENTROPY_MAX 256

static int g_seeded;
static uint16_t g_config_port, g_host_port; /* 0: no port map */
static uint64_t g_seed;
static uint64_t g_counter;

static void read_seed(void) {
    const char* text = getenv(LWIPSIM_VCLOCK_SEED_ENV);
    if (text == NULL || text[0] == '\0')
        return; /* no seed: the real functions */
    char* end = NULL;
    errno = 0;
    unsigned long long seed = strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0')
        return; /* the worker always writes a decimal; anything else leaves the real ones */
    g_seed = (uint64_t)seed;
    g_seeded = 1;
}

static void read_port_map(void) {
    const char* text = getenv(LWIPSIM_VCLOCK_PORT_MAP_ENV);
    unsigned config = 0, host = 0;
    char extra = 0;
    if (text == NULL || sscanf(text, "%u=%u%c", &config, &host, &extra) != 2 || config == 0 ||
        config > 65535 || host == 0 || host > 65535)
        return;
    g_config_port = (uint16_t)config;
    g_host_port = (uint16_t)host;
}

static uint64_t splitmix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static void fill(void* buf, size_t len) {
    const uint64_t blocks = (len + 7) / 8;
    uint64_t i = __atomic_fetch_add(&g_counter, blocks, __ATOMIC_SEQ_CST);
    unsigned char* out = buf;
    while (len > 0) {
        uint64_t word = splitmix64(g_seed + i++ * 0x9e3779b97f4a7c15ULL);
        size_t n = len < 8 ? len : 8;
        memcpy(out, &word, n);
        out += n;
        len -= n;
    }
}

/* The C library's own, for a program started without a seed. */
static void* next_symbol(const char* name) {
    return dlsym(RTLD_NEXT, name);
}

EXPORT ssize_t getrandom(void* buf, size_t len, unsigned int flags) {
    if (!g_seeded) {
        ssize_t (*real)(void*, size_t, unsigned int) = next_symbol("getrandom");
        return real(buf, len, flags);
    }
    fill(buf, len);
    return (ssize_t)len;
}

EXPORT int getentropy(void* buf, size_t len) {
    if (!g_seeded) {
        int (*real)(void*, size_t) = next_symbol("getentropy");
        return real(buf, len);
    }
    if (len > GETENTROPY_MAX) {
        errno = EIO;
        return -1;
    }
    fill(buf, len);
    return 0;
}

EXPORT pid_t getpid(void) {
    if (!g_seeded)
        return (pid_t)syscall(SYS_getpid);
    return LWIPSIM_VCLOCK_FIXED_PID;
}

/* The listening port. Only IPv4 binds of the configured port move; mosquitto reports the
 * configured port in its log and session ids without asking the socket (getsockname). */
EXPORT int bind(int fd, const struct sockaddr* addr, socklen_t len) {
    int (*real)(int, const struct sockaddr*, socklen_t) = next_symbol("bind");
    if (g_config_port == 0 || addr == NULL || addr->sa_family != AF_INET ||
        len < (socklen_t)sizeof(struct sockaddr_in))
        return real(fd, addr, len);
    struct sockaddr_in moved;
    memcpy(&moved, addr, sizeof moved);
    if (ntohs(moved.sin_port) != g_config_port)
        return real(fd, addr, len);
    moved.sin_port = htons(g_host_port);
    return real(fd, (const struct sockaddr*)&moved, sizeof moved);
}

EXPORT int getsockname(int fd, struct sockaddr* addr, socklen_t* len) {
    int (*real)(int, struct sockaddr*, socklen_t*) = next_symbol("getsockname");
    int r = real(fd, addr, len);
    if (r == 0 && g_host_port != 0 && addr != NULL && addr->sa_family == AF_INET &&
        *len >= (socklen_t)sizeof(struct sockaddr_in)) {
        struct sockaddr_in* in = (struct sockaddr_in*)addr;
        if (ntohs(in->sin_port) == g_host_port)
            in->sin_port = htons(g_config_port);
    }
    return r;
}

/* The page's peer table, mapped a second time (vclock_preload.c keeps its own mapping). */
static const struct lwipsim_vclock_peer* g_peers;

static void map_peers(void) {
    const char* path = getenv(LWIPSIM_VCLOCK_ENV);
    if (path == NULL || path[0] == '\0' || g_host_port == 0)
        return;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return; /* vclock_preload.c reports an unusable page */
    void* map = mmap(NULL, LWIPSIM_VCLOCK_PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (map != MAP_FAILED)
        g_peers =
            (const struct lwipsim_vclock_peer*)((const char*)map + LWIPSIM_VCLOCK_PEERS_OFFSET);
}

EXPORT int getpeername(int fd, struct sockaddr* addr, socklen_t* len) {
    int (*real)(int, struct sockaddr*, socklen_t*) = next_symbol("getpeername");
    int r = real(fd, addr, len);
    if (r != 0 || g_peers == NULL || addr == NULL || addr->sa_family != AF_INET ||
        *len < (socklen_t)sizeof(struct sockaddr_in))
        return r;
    struct sockaddr_in* in = (struct sockaddr_in*)addr;
    if (in->sin_addr.s_addr != htonl(INADDR_LOOPBACK))
        return r;
    const uint32_t port = ntohs(in->sin_port);
    for (int i = 0; i < LWIPSIM_VCLOCK_PEERS; ++i) {
        const struct lwipsim_vclock_peer* p = &g_peers[i];
        if (__atomic_load_n(&p->host_port, __ATOMIC_ACQUIRE) == port) {
            in->sin_addr.s_addr = p->guest_ip;
            in->sin_port = htons((uint16_t)p->guest_port);
            break;
        }
    }
    return r;
}

/* One constructor, so the order holds: the peer table is only mapped with a port map. */
__attribute__((constructor)) static void read_environment(void) {
    read_seed();
    read_port_map();
    map_peers();
}
