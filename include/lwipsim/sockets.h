/* lwIP's BSD sockets for device programs under their POSIX names, as ESP-IDF code uses them:
 * socket, connect, bind, listen, accept, send, recv, sendto, recvfrom, select, setsockopt,
 * getsockopt, getsockname, getpeername, shutdown, closesocket, ioctlsocket, fcntl, and lwIP's
 * inet_addr / inet_aton / inet_ntoa, htons / ntohs / htonl / ntohl. They are function-like
 * macros for lwip_* (lwIP's own LWIP_COMPAT_SOCKETS is 0 in lwipsim's build, and its options
 * are fixed, so the names are mapped here). close/read/write keep the host's meaning: use
 * closesocket or lwip_close. Include this instead of <sys/socket.h> / <netinet/in.h>: the host's
 * socket() would reach the host's network, not the simulated device's.
 */
#ifndef LWIPSIM_SOCKETS_H
#define LWIPSIM_SOCKETS_H

#include "lwip/inet.h"
#include "lwip/sockets.h"

#define socket(domain, type, protocol) lwip_socket(domain, type, protocol)
#define connect(s, name, namelen) lwip_connect(s, name, namelen)
#define bind(s, name, namelen) lwip_bind(s, name, namelen)
#define listen(s, backlog) lwip_listen(s, backlog)
#define accept(s, addr, addrlen) lwip_accept(s, addr, addrlen)
#define send(s, data, size, flags) lwip_send(s, data, size, flags)
#define recv(s, mem, len, flags) lwip_recv(s, mem, len, flags)
#define sendto(s, data, size, flags, to, tolen) lwip_sendto(s, data, size, flags, to, tolen)
#define recvfrom(s, mem, len, flags, from, fromlen) lwip_recvfrom(s, mem, len, flags, from, fromlen)
#define select(maxfdp1, readset, writeset, exceptset, timeout)                                     \
    lwip_select(maxfdp1, readset, writeset, exceptset, timeout)
#define setsockopt(s, level, optname, opval, optlen)                                               \
    lwip_setsockopt(s, level, optname, opval, optlen)
#define getsockopt(s, level, optname, opval, optlen)                                               \
    lwip_getsockopt(s, level, optname, opval, optlen)
#define getsockname(s, name, namelen) lwip_getsockname(s, name, namelen)
#define getpeername(s, name, namelen) lwip_getpeername(s, name, namelen)
#define shutdown(s, how) lwip_shutdown(s, how)
#define closesocket(s) lwip_close(s)
#define ioctlsocket(s, cmd, argp) lwip_ioctl(s, cmd, argp)
#define fcntl(s, cmd, val) lwip_fcntl(s, cmd, val)
#ifndef inet_addr
#define inet_addr(cp) ipaddr_addr(cp)
#define inet_aton(cp, addr) ip4addr_aton(cp, (ip4_addr_t*)(addr))
#define inet_ntoa(addr) ip4addr_ntoa((const ip4_addr_t*)&(addr))
#endif

#endif /* LWIPSIM_SOCKETS_H */
