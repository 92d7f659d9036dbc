#pragma once
// Error codes of the device side in words, for events.jsonl, run.log and the terminal:
// a firmware engineer reads "EHOSTUNREACH", not "errno 113", and "NET - Sending information
// through the socket failed", not "UNKNOWN ERROR CODE (004E)".
// Pure functions; any thread.

#include <string>

namespace lwipsim::device {

/// mbedTLS's net_sockets codes. MBEDTLS_NET_C is off (the device's BIO is lwIP's sockets), so
/// mbedtls_strerror does not know them; the BIO still returns them, as esp-tls's does.
inline constexpr int kTlsSendFailed = -0x004E; ///< MBEDTLS_ERR_NET_SEND_FAILED
inline constexpr int kTlsRecvFailed = -0x004C; ///< MBEDTLS_ERR_NET_RECV_FAILED

/// An errno set by lwIP's socket API, e.g.
/// "errno 113 EHOSTUNREACH (No route to host; lwIP ERR_RTE: routing problem)".
/// lwIP uses the host's <errno.h> (LWIP_ERRNO_STDINCLUDE), so the values are Linux's.
std::string errno_text(int err);

/// An mbedTLS error code, e.g. "-0x7780 SSL - A fatal alert message was received from our
/// peer". `socket_errno` (non-zero) is the lwIP errno behind a NET send/recv failure; it is
/// named only for those two codes.
std::string tls_error_text(int rc, int socket_errno = 0);

} // namespace lwipsim::device
