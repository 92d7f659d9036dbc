/* Compiler/platform glue for lwIP on the host (64-bit Linux), lwipsim's port. */
#ifndef LWIPSIM_ARCH_CC_H
#define LWIPSIM_ARCH_CC_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h> /* struct timeval for the socket API */

#include "lwipsim_settings.h"

#define LWIP_TIMEVAL_PRIVATE 0
#define LWIP_ERRNO_STDINCLUDE 1
#define LWIP_RAND() (lwipsim_rand())

/* Debian's lwIP (patch "port", made for the Hurd) moved sa_len handling in sockets.c behind
 * these macros, which a port must define. lwIP's own sockaddr has sin_len/sa_len, so they keep
 * upstream's behaviour. */
#define IP4ADDR_SOCKADDR_SET_LEN(sin) ((sin)->sin_len = sizeof(struct sockaddr_in))
#define IP6ADDR_SOCKADDR_SET_LEN(sin6) ((sin6)->sin6_len = sizeof(struct sockaddr_in6))
#define IPADDR_SOCKADDR_GET_LEN(addr) ((addr)->sa.sa_len)

#define LWIP_PLATFORM_DIAG(x) do { lwipsim_platform_diag x; } while (0)
#define LWIP_PLATFORM_ASSERT(x) do { lwipsim_platform_assert((x), __FILE__, __LINE__); } while (0)

#endif
