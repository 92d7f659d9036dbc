// Why lwIP frees each TCP PCB: the hook third_party/patches/lwip/0004 adds to tcp_free(),
// called with the reason the deciding lwIP function passed (enum tcp_free_reason).
#include "sim/port/lwip/tcpip_hooks.h"

extern "C" {
#include "lwip/priv/tcp_priv.h"
}

namespace {
std::function<void(const void*, const char*)> g_free_observer;
}

namespace lwipsim::port {

void set_pcb_free_observer(std::function<void(const void* pcb, const char* reason)> observer) {
    g_free_observer = std::move(observer);
}

const char* tcp_free_reason_name(int reason) {
    // A switch over the enum: -Wswitch names any value the patch adds without a name here.
    switch (static_cast<tcp_free_reason>(reason)) {
    case TCP_FREE_ABORTED:
        return "aborted";
    case TCP_FREE_KILLED_FOR_NEW_PCB:
        return "killed_for_new_pcb";
    case TCP_FREE_DATA_AFTER_CLOSE:
        return "aborted_data_after_close";
    case TCP_FREE_UNREAD_DATA_AT_CLOSE:
        return "aborted_unread_data_at_close";
    case TCP_FREE_CLOSED_IN_SYN_SENT:
        return "closed_in_syn_sent";
    case TCP_FREE_CLOSED_UNCONNECTED:
        return "closed_unconnected";
    case TCP_FREE_REPLACED_BY_LISTEN_PCB:
        return "replaced_by_listen_pcb";
    case TCP_FREE_RETRANSMISSIONS_EXHAUSTED:
        return "retransmissions_exhausted";
    case TCP_FREE_ZERO_WINDOW_PROBES_EXHAUSTED:
        return "zero_window_probes_exhausted";
    case TCP_FREE_FIN_WAIT_2_TIMEOUT:
        return "fin_wait_2_timeout";
    case TCP_FREE_KEEPALIVE_EXPIRED:
        return "keepalive_expired";
    case TCP_FREE_SYN_RCVD_TIMEOUT:
        return "syn_rcvd_timeout";
    case TCP_FREE_LAST_ACK_TIMEOUT:
        return "last_ack_timeout";
    case TCP_FREE_TIME_WAIT_EXPIRED:
        return "time_wait_expired";
    case TCP_FREE_RST_RECEIVED:
        return "rst_received";
    case TCP_FREE_LAST_ACK_ACKED:
        return "closed_normally";
    }
    return "unknown";
}

} // namespace lwipsim::port

extern "C" void lwipsim_tcp_pcb_free(const struct tcp_pcb* pcb, int reason) {
    if (g_free_observer)
        g_free_observer(pcb, lwipsim::port::tcp_free_reason_name(reason));
}
