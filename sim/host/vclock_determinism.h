#pragma once
/* The deterministic randomness of liblwipsim_vclock.so (sim/host/vclock_determinism.c): what the
 * worker passes to the host program and what the program then sees. C and C++ both include it. */

#include <stdint.h>

/* The environment variable carrying the scenario seed (decimal u64). Without it the library
 * leaves getrandom, getentropy and getpid to the C library. */
#define LWIPSIM_VCLOCK_SEED_ENV "LWIPSIM_VCLOCK_SEED"
/* "<config port>=<host port>": the program's bind() of 0.0.0.0/127.0.0.1:<config port> binds
 * <host port> instead, so its configuration and log name a fixed port (mosquitto also writes
 * its listener port into every TLS session ticket, as the session id context). */
#define LWIPSIM_VCLOCK_PORT_MAP_ENV "LWIPSIM_VCLOCK_PORT_MAP"
/* The simulated peers of the program's accepted connections: the worker names, for each host
 * port its gateway connects from, the device address and port behind it; getpeername then
 * answers with those (the broker logs "New connection from 10.0.2.15:<device port>", as it
 * would on a real network, instead of a host port that changes every run). A table in the
 * clock page (LWIPSIM_VCLOCK_ENV) at a fixed offset after struct lwipsim_vclock_page; the
 * worker writes an entry before the wake that delivers the connection. Ports in host order,
 * guest_ip in network order; host_port 0 marks a free entry. */
#define LWIPSIM_VCLOCK_PEERS_OFFSET 2048
#define LWIPSIM_VCLOCK_PEERS 64
struct lwipsim_vclock_peer {
    uint32_t host_port;
    uint32_t guest_ip;
    uint32_t guest_port;
};
/* What getpid returns in a seeded program, whatever its real pid. */
#define LWIPSIM_VCLOCK_FIXED_PID 4242
