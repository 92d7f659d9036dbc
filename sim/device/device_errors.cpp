#include "sim/device/device_errors.h"

#include "mbedtls/error.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace lwipsim::device {
namespace {

// Which lwIP err_t becomes which errno: lwIP 2.1.3 src/api/err.c (err_to_errno), with the
// meanings lwip/err.h gives them. Several err_t share an errno; both are named then.
struct LwipErr {
    int errno_value;
    const char* meaning;
};
const LwipErr kLwipErrs[] = {
    {ENOMEM, "ERR_MEM: out of memory"},
    {ENOBUFS, "ERR_BUF: buffer error"},
    {EWOULDBLOCK, "ERR_TIMEOUT or ERR_WOULDBLOCK: timeout / operation would block"},
    {EHOSTUNREACH, "ERR_RTE: routing problem"},
    {EINPROGRESS, "ERR_INPROGRESS: operation in progress"},
    {EINVAL, "ERR_VAL: illegal value"},
    {EADDRINUSE, "ERR_USE: address in use"},
    {EALREADY, "ERR_ALREADY: already connecting"},
    {EISCONN, "ERR_ISCONN: connection already established"},
    {ENOTCONN, "ERR_CONN or ERR_CLSD: not connected / connection closed"},
    {ECONNABORTED, "ERR_ABRT: connection aborted"},
    {ECONNRESET, "ERR_RST: connection reset"},
    {EIO, "ERR_ARG: illegal argument"},
};

} // namespace

std::string errno_text(int err) {
    std::string out = "errno " + std::to_string(err);
    if (const char* name = strerrorname_np(err))
        out += std::string(" ") + name;
    out += std::string(" (") + std::strerror(err);
    for (const LwipErr& e : kLwipErrs) {
        if (e.errno_value == err) {
            out += std::string("; lwIP ") + e.meaning;
            break;
        }
    }
    return out + ")";
}

std::string tls_error_text(int rc, int socket_errno) {
    char code[16];
    std::snprintf(code, sizeof code, "%s0x%04X", rc < 0 ? "-" : "",
                  static_cast<unsigned>(std::abs(rc)));
    std::string text;
    if (rc == kTlsSendFailed) {
        text = "NET - Sending information through the socket failed";
    } else if (rc == kTlsRecvFailed) {
        text = "NET - Reading information from the socket failed";
    } else {
        char buf[160];
        mbedtls_strerror(rc, buf, sizeof buf);
        text = buf;
    }
    std::string out = std::string(code) + " " + text;
    if (socket_errno != 0 && (rc == kTlsSendFailed || rc == kTlsRecvFailed))
        out += " (" + errno_text(socket_errno) + ")";
    return out;
}

} // namespace lwipsim::device
