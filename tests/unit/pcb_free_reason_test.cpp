// Why each PCB was freed, as the PCB probe records it (harness/probes/pcb_probe.h), against
// lwIP 2.1.3's own code path (third_party/patches/lwip/0004 passes the reason to tcp_free()).
// Expected reasons and times come from tcp.c / tcp_in.c / api_msg.c, cited per test. Where it
// can, each case is built so that the wire alone would mislead: a RST that cannot leave a netif
// whose link is down, a RST that leaves for a timeout rather than an abort.
// The device talks to a scripted peer at 10.0.2.2 on the simulated Ethernet.
#include "harness/probes/pcb_probe.h"
#include "sim/clock/scheduler.h"
#include "sim/heap/device_heap.h"
#include "sim/port/lwip/device_stack.h"
#include "sim/port/lwip/tcpip_hooks.h"
#include "tests/support/device_process.h"
#include "tests/support/tcp_peer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

extern "C" {
#include "lwip/sockets.h"
#include "lwip/stats.h"
}

using namespace lwipsim;
using namespace std::chrono_literals;
using lwipsim::testing::TcpPeer;

namespace {

constexpr uint16_t kPeerPort = 8883;
// lwIP's slow timer (tcp_slowtmr) runs every TCP_SLOW_INTERVAL = 500 ms: its timeouts are
// whole ticks counted from a tick at or before the last activity.
constexpr double kTick = 0.5;

/// A device on the simulated Ethernet with the PCB probe installed as lwipsim's runner does,
/// its RST watch fed from the frames the device sends.
struct Device {
    explicit Device(TcpPeer::Behaviour b, port::TcpSettings settings = port::profile_defaults())
        : peer(b), netif(&peer), probe(nullptr) {
        heap::DeviceHeap::instance().configure(256 * 1024, heap::BlockCost{});
        port::apply_tcp_settings(settings);
        peer.attach(&netif);
        peer.on_device_segment = [this](const link::PacketInfo& in) {
            if ((in.tcp_flags & link::kTcpRst) != 0)
                probe.on_rst_sent(in.src_port);
        };
        probe.set_warning_sink([this](const std::string& m) { warnings.push_back(m); });
        port::start_stack(&netif, {}, 1);
        probe.install();
    }
    /// The one PCB the test made (every test uses one connection, or says otherwise).
    const probes::PcbRecord& pcb(size_t index = 0) const {
        EXPECT_GT(probe.records().size(), index);
        return probe.records().at(index);
    }
    void set_link(bool up) {
        netif.set_link_up(up);
        clock::Scheduler::current().sleep_for(10ms); // the tcpip thread applies it
    }
    TcpPeer peer;
    port::LinkNetif netif;
    probes::PcbProbe probe;
    std::vector<std::string> warnings;
};

int connect_to_peer() {
    int fd = lwip_socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_GE(fd, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = lwip_htons(kPeerPort);
    std::memcpy(&a.sin_addr, TcpPeer::kIp, 4);
    EXPECT_EQ(lwip_connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    return fd;
}

void write_bytes(int fd, size_t n) {
    std::vector<uint8_t> data(n, 0x5a);
    EXPECT_EQ(lwip_write(fd, data.data(), data.size()), static_cast<ssize_t>(n));
}

int set_linger(int fd, int onoff, int seconds) {
    struct linger l {
        onoff, seconds
    };
    return lwip_setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

double now_s() {
    return clock::Scheduler::current().now().seconds();
}

} // namespace

// SO_LINGER {1, 0} with unacked data: api_msg.c lwip_netconn_do_close_internal calls tcp_abort
// ("data left but linger prevents waiting") -> tcp_abandon(pcb, 1) frees the PCB at once. Its
// tcp_rst() cannot leave: with the link down, ip4_route() finds no netif that is up with link.
// The wire shows nothing; the old heuristic called this "closed_normally".
TEST(PcbFreeReason, AbortDuringLinkDownIsAbortedWithoutRst) {
    lwipsim::testing::run_as_device([] {
        Device dev({.answer_syn = true});
        int fd = connect_to_peer();
        write_bytes(fd, 200); // never acked by the peer
        clock::Scheduler::current().sleep_for(100ms);
        dev.set_link(false);
        ASSERT_EQ(set_linger(fd, 1, 0), 0);
        const double closed_at = now_s();
        ASSERT_EQ(lwip_close(fd), 0);
        clock::Scheduler::current().sleep_for(10ms);
        const auto& r = dev.pcb();
        EXPECT_EQ(r.free_reason, "aborted");
        ASSERT_TRUE(r.rst_sent.has_value());
        EXPECT_FALSE(*r.rst_sent);
        EXPECT_EQ(dev.peer.count(link::kTcpRst), 0);
        ASSERT_TRUE(r.freed_at_s.has_value());
        EXPECT_DOUBLE_EQ(*r.freed_at_s, closed_at) << "tcp_abandon frees inside the close";
        EXPECT_EQ(r.states.back().state, "ESTABLISHED") << "freed straight from ESTABLISHED";
        EXPECT_TRUE(dev.warnings.empty());
    });
}

// The same abort with the link up: tcp_abandon's RST leaves. Same reason, rst_sent true.
TEST(PcbFreeReason, AbortWithLinkUpIsAbortedWithRst) {
    lwipsim::testing::run_as_device([] {
        Device dev({.answer_syn = true});
        int fd = connect_to_peer();
        write_bytes(fd, 200);
        clock::Scheduler::current().sleep_for(100ms);
        ASSERT_EQ(set_linger(fd, 1, 0), 0);
        ASSERT_EQ(lwip_close(fd), 0);
        clock::Scheduler::current().sleep_for(10ms);
        const auto& r = dev.pcb();
        EXPECT_EQ(r.free_reason, "aborted");
        EXPECT_EQ(r.rst_sent, std::optional<bool>(true));
        EXPECT_EQ(dev.peer.count(link::kTcpRst), 1);
    });
}

// tcp.c tcp_slowtmr: with SO_KEEPALIVE on an idle ESTABLISHED PCB, once
// tcp_ticks - pcb->tmr > (keep_idle + keep_cnt * keep_intvl) / TCP_SLOW_INTERVAL the PCB is
// removed with pcb_reset: a RST goes out, then tcp_free. pcb->tmr is the tick of the last
// segment received (tcp_process). Idle 10 s, 3 probes 2 s apart: 16 s = 32 ticks, removed at
// the 33rd tick after that one: 16 s to 16.5 s after the last segment from the peer. The wire
// shows a RST at the free, which the old heuristic read as "aborted_rst".
TEST(PcbFreeReason, KeepaliveExpiryIsKeepaliveExpiredAndSendsRst) {
    lwipsim::testing::run_as_device([] {
        Device dev({.answer_syn = true}); // then silent: no keepalive is ever answered
        int fd = connect_to_peer();
        int on = 1, idle = 10, intvl = 2, cnt = 3;
        ASSERT_EQ(lwip_setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on), 0);
        ASSERT_EQ(lwip_setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle), 0);
        ASSERT_EQ(lwip_setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl), 0);
        ASSERT_EQ(lwip_setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt), 0);
        clock::Scheduler::current().sleep_for(30s);
        const auto& r = dev.pcb();
        EXPECT_EQ(r.free_reason, "keepalive_expired");
        EXPECT_EQ(r.rst_sent, std::optional<bool>(true));
        ASSERT_TRUE(r.freed_at_s.has_value());
        ASSERT_TRUE(dev.peer.last_delivered_at().has_value());
        const double after_last = *r.freed_at_s - *dev.peer.last_delivered_at();
        EXPECT_GT(after_last, 16.0);
        EXPECT_LE(after_last, 16.0 + kTick);
        EXPECT_EQ(r.states.back().state, "ESTABLISHED");
        lwip_close(fd);
    });
}

// tcp.c tcp_slowtmr: a FIN_WAIT_2 PCB closed with close() (TF_RXCLOSED) is removed once
// tcp_ticks - pcb->tmr > TCP_FIN_WAIT_TIMEOUT / TCP_SLOW_INTERVAL (20 s: 40 ticks). With
// TF_RXCLOSED, tcp_process no longer refreshes pcb->tmr, so the 20 s count from the last
// segment received before the close (the SYN|ACK here), not from entering FIN_WAIT_2: the
// close 5 s later shortens the wait to about 15 s. No RST.
TEST(PcbFreeReason, FinWait2TimeoutIsFinWait2Timeout) {
    lwipsim::testing::run_as_device([] {
        Device dev({.answer_syn = true, .ack_fin = true}); // acks our FIN, never sends its own
        int fd = connect_to_peer();
        const double handshake_at = *dev.peer.last_delivered_at();
        clock::Scheduler::current().sleep_for(5s);
        ASSERT_EQ(lwip_close(fd), 0);
        clock::Scheduler::current().sleep_for(30s);
        const auto& r = dev.pcb();
        EXPECT_EQ(r.free_reason, "fin_wait_2_timeout");
        EXPECT_EQ(r.rst_sent, std::optional<bool>(false));
        ASSERT_TRUE(r.freed_at_s.has_value());
        EXPECT_GT(*r.freed_at_s - handshake_at, 20.0);
        EXPECT_LE(*r.freed_at_s - handshake_at, 20.0 + kTick);
        EXPECT_EQ(r.states.back().state, "FIN_WAIT_2");
    });
}

// tcp.c tcp_slowtmr, TIME_WAIT list: removed once tcp_ticks - pcb->tmr > 2 * TCP_MSL /
// TCP_SLOW_INTERVAL. MSL 5 s here: 10 s = 20 ticks, again counted from the last segment before
// the close (TF_RXCLOSED; tcp_timewait_input refreshes pcb->tmr only for a retransmitted FIN).
// The peer acks our FIN with its own FIN (FIN_WAIT_1 -> TIME_WAIT in tcp_process). No RST.
TEST(PcbFreeReason, TimeWaitExpiryIsTimeWaitExpired) {
    lwipsim::testing::run_as_device([] {
        auto settings = port::profile_defaults();
        settings.msl_ms = 5000;
        Device dev({.answer_syn = true, .ack_fin = true, .answer_fin = true}, settings);
        int fd = connect_to_peer();
        const double handshake_at = *dev.peer.last_delivered_at();
        clock::Scheduler::current().sleep_for(3s);
        ASSERT_EQ(lwip_close(fd), 0);
        clock::Scheduler::current().sleep_for(20s);
        const auto& r = dev.pcb();
        EXPECT_EQ(r.free_reason, "time_wait_expired");
        EXPECT_EQ(r.rst_sent, std::optional<bool>(false));
        ASSERT_TRUE(r.freed_at_s.has_value());
        EXPECT_GT(*r.freed_at_s - handshake_at, 10.0);
        EXPECT_LE(*r.freed_at_s - handshake_at, 10.0 + kTick);
        EXPECT_EQ(r.states.back().state, "TIME_WAIT");
    });
}

// tcp_in.c: a RST with seqno == rcv_nxt is acceptable (tcp_process sets TF_RESET); tcp_input
// then calls the error callback, removes and frees the PCB, in the step that received it.
TEST(PcbFreeReason, RstFromPeerIsRstReceived) {
    lwipsim::testing::run_as_device([] {
        Device dev({.answer_syn = true});
        int fd = connect_to_peer();
        clock::Scheduler::current().sleep_for(1s);
        dev.peer.send_rst();
        clock::Scheduler::current().sleep_for(10ms);
        const auto& r = dev.pcb();
        EXPECT_EQ(r.free_reason, "rst_received");
        EXPECT_EQ(r.rst_sent, std::optional<bool>(false));
        ASSERT_TRUE(r.freed_at_s.has_value());
        EXPECT_DOUBLE_EQ(*r.freed_at_s, *dev.peer.last_delivered_at());
        lwip_close(fd);
    });
}

// The esp-lwip PCB cap (third_party/patches/lwip/0003) at 1 live PCB: the second socket's
// tcp_alloc() finds no room, kills nothing in TIME_WAIT/LAST_ACK/CLOSING, then the oldest
// FIN_WAIT_2 PCB with tcp_kill_state -> tcp_abandon(pcb, 0): no RST ("no data is lost").
// The first connection sits in FIN_WAIT_2 (peer acked our FIN, sent none).
TEST(PcbFreeReason, PcbCapKillIsKilledForNewPcb) {
    lwipsim::testing::run_as_device([] {
        auto settings = port::profile_defaults();
        settings.pcb_cap = 1;
        Device dev({.answer_syn = true, .ack_fin = true}, settings);
        int first = connect_to_peer();
        ASSERT_EQ(lwip_close(first), 0);
        clock::Scheduler::current().sleep_for(100ms);
        ASSERT_EQ(dev.pcb(0).states.back().state, "FIN_WAIT_2");
        const double allocated_at = now_s();
        int second = lwip_socket(AF_INET, SOCK_STREAM, 0); // tcp_new -> tcp_alloc
        ASSERT_GE(second, 0);
        const auto& r = dev.pcb(0);
        EXPECT_EQ(r.free_reason, "killed_for_new_pcb");
        EXPECT_EQ(r.rst_sent, std::optional<bool>(false));
        ASSERT_TRUE(r.freed_at_s.has_value());
        EXPECT_DOUBLE_EQ(*r.freed_at_s, allocated_at);
        EXPECT_EQ(lwip_stats.memp[MEMP_TCP_PCB]->used, 1);
        lwip_close(second);
    });
}

// The orderly close: the peer closes first, the device reads the end of stream and closes:
// CLOSE_WAIT -> LAST_ACK; the peer's ACK of our FIN makes tcp_process set TF_CLOSED and
// tcp_input_delayed_close frees the PCB at once. No RST.
TEST(PcbFreeReason, LastAckAckedIsClosedNormally) {
    lwipsim::testing::run_as_device([] {
        Device dev({.answer_syn = true, .ack_fin = true});
        int fd = connect_to_peer();
        dev.peer.send_fin();
        char c = 0;
        EXPECT_EQ(lwip_recv(fd, &c, 1, 0), 0) << "end of stream";
        ASSERT_EQ(lwip_close(fd), 0);
        clock::Scheduler::current().sleep_for(100ms);
        const auto& r = dev.pcb();
        EXPECT_EQ(r.free_reason, "closed_normally");
        EXPECT_EQ(r.rst_sent, std::optional<bool>(false));
        EXPECT_EQ(r.states.back().state, "LAST_ACK");
        ASSERT_TRUE(r.freed_at_s.has_value());
        EXPECT_DOUBLE_EQ(*r.freed_at_s, *dev.peer.last_delivered_at());
    });
}

// tcp.c tcp_close_shutdown, case SYN_SENT: the PCB is freed inside the close, no RST.
TEST(PcbFreeReason, CloseBeforeTheSynIsAnsweredIsClosedInSynSent) {
    lwipsim::testing::run_as_device([] {
        Device dev({.answer_syn = false});
        int fd = lwip_socket(AF_INET, SOCK_STREAM, 0);
        ASSERT_EQ(lwip_fcntl(fd, F_SETFL, O_NONBLOCK), 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = lwip_htons(kPeerPort);
        std::memcpy(&a.sin_addr, TcpPeer::kIp, 4);
        ASSERT_EQ(lwip_connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), -1);
        clock::Scheduler::current().sleep_for(2s);
        ASSERT_EQ(lwip_close(fd), 0);
        clock::Scheduler::current().sleep_for(10ms);
        const auto& r = dev.pcb();
        EXPECT_EQ(r.free_reason, "closed_in_syn_sent");
        EXPECT_EQ(r.rst_sent, std::optional<bool>(false));
    });
}

// The probe never guesses: a PCB whose memory goes back without lwIP naming a reason (here the
// hook is removed) is "unknown", with a warning.
TEST(PcbFreeReason, FreeWithoutAReasonIsUnknownWithAWarning) {
    lwipsim::testing::run_as_device([] {
        Device dev({.answer_syn = true});
        int fd = connect_to_peer();
        port::set_pcb_free_observer(nullptr);
        dev.peer.send_rst();
        clock::Scheduler::current().sleep_for(10ms);
        const auto& r = dev.pcb();
        EXPECT_EQ(r.free_reason, "unknown");
        ASSERT_EQ(dev.warnings.size(), 1u);
        EXPECT_NE(dev.warnings[0].find("unknown"), std::string::npos) << dev.warnings[0];
        lwip_close(fd);
    });
}
