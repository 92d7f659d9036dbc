/* lwIP's BSD sockets for device programs, under their POSIX names as ESP-IDF code uses them
 * (socket, connect, send, recv, select, setsockopt, closesocket, inet_addr, htons, ...): macros
 * for lwip_socket, lwip_connect, ... (LWIP_COMPAT_SOCKETS). close/read/write are not renamed:
 * use closesocket or lwip_close. Include this instead of <sys/socket.h> / <netinet/in.h>: the
 * host's socket() would reach the host's network, not the simulated device's.
 */
#ifndef LWIPSIM_SOCKETS_H
#define LWIPSIM_SOCKETS_H

#ifndef LWIP_COMPAT_SOCKETS
#define LWIP_COMPAT_SOCKETS 1
#endif
#include "lwip/inet.h"
#include "lwip/sockets.h"

#endif /* LWIPSIM_SOCKETS_H */
