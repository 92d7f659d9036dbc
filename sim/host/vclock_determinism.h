#pragma once
/* The deterministic randomness of liblwipsim_vclock.so (sim/host/vclock_determinism.c): what the
 * worker passes to the host program and what the program then sees. C and C++ both include it. */

/* The environment variable carrying the scenario seed (decimal u64). Without it the library
 * leaves getrandom, getentropy and getpid to the C library. */
#define LWIPSIM_VCLOCK_SEED_ENV "LWIPSIM_VCLOCK_SEED"
/* "<config port>=<host port>": the program's bind() of 0.0.0.0/127.0.0.1:<config port> binds
 * <host port> instead, so its configuration and log name a fixed port (mosquitto also writes
 * its listener port into every TLS session ticket, as the session id context). */
#define LWIPSIM_VCLOCK_PORT_MAP_ENV "LWIPSIM_VCLOCK_PORT_MAP"
/* What getpid returns in a seeded program, whatever its real pid. */
#define LWIPSIM_VCLOCK_FIXED_PID 4242
