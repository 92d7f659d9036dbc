// SO_LINGER on lwIP 2.1.3 sockets, each expectation derived from lwIP's source (api_msg.c
// lwip_netconn_do_close_internal, sockets.c lwip_close / lwip_socket) rather than from what
// lwipsim printed. The device talks to a scripted peer at 10.0.2.2 on the simulated Ethernet:
// it answers ARP and (when asked to) the TCP handshake, then never ACKs anything: the dead path
// of the field case (../shared/FIELD_CASE.md). The peer is tests/support/tcp_peer.h.
#include "sim/clock/scheduler.h"
#include "sim/device/tls_transport.h"
#include "sim/heap/device_heap.h"
#include "sim/port/lwip/device_stack.h"
#include "tests/support/device_process.h"
#include "tests/support/tcp_peer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <optional>
#include <vector>

extern "C" {
#include "lwip/opt.h"
#include "lwip/sockets.h"
#include "lwip/stats.h"
}

// lwip_fcntl understands lwIP's own O_NONBLOCK/F_SETFL (what sockets.c was built with), not
// the host's <fcntl.h> values.
static_assert(O_NONBLOCK == 1 && F_SETFL == 4, "lwIP's own fcntl values (lwip/sockets.h)");

using namespace lwipsim;
using namespace std::chrono_literals;
using heap::DeviceHeap;

namespace {

constexpr uint16_t kPeerPort = 8883;
constexpr uint8_t kFin = link::kTcpFin, kRst = link::kTcpRst;
using lwipsim::testing::TcpPeer;

struct Device {
    explicit Device(bool answer_syn, bool linger_available = true)
        : peer(TcpPeer::Behaviour{.answer_syn = answer_syn}), netif(&peer) {
        DeviceHeap::instance().configure(256 * 1024, heap::BlockCost{});
        auto settings = port::profile_defaults();
        settings.so_linger_available = linger_available;
        port::apply_tcp_settings(settings);
        peer.attach(&netif);
        port::start_stack(&netif, {}, 1);
    }
    TcpPeer peer;
    port::LinkNetif netif;
};

sockaddr_in peer_address() {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = lwip_htons(kPeerPort);
    std::memcpy(&a.sin_addr, TcpPeer::kIp, 4);
    return a;
}

int set_linger(int fd, int onoff, int seconds) {
    struct linger l {
        onoff, seconds
    };
    return lwip_setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

// lwIP's TCP timer holds a heap-allocated sys_timeo while any PCB lives and stops re-arming at
// its first run after the last PCB is gone (tcpip.c tcpip_tcp_timer): give it one tick.
void settle() {
    clock::Scheduler::current().sleep_for(1s);
}

size_t pcbs_in_use() {
    return lwip_stats.memp[MEMP_TCP_PCB]->used;
}
size_t netconns_in_use() {
    return lwip_stats.memp[MEMP_NETCONN]->used;
}

// A blocking socket connected to the peer, with `bytes` written that the peer will never ACK.
int connected_with_unacked_data(size_t bytes) {
    int fd = lwip_socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_GE(fd, 0);
    sockaddr_in a = peer_address();
    EXPECT_EQ(lwip_connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    std::vector<uint8_t> data(bytes, 0x5a);
    EXPECT_EQ(lwip_write(fd, data.data(), data.size()), static_cast<ssize_t>(bytes));
    clock::Scheduler::current().sleep_for(100ms); // the data leaves; nothing comes back
    return fd;
}

} // namespace

// The field case's linger_10s reconnect loop, reduced: esp-tls's connect path (O_NONBLOCK,
// connect, select with a 10 s timeout, then shutdown + close with O_NONBLOCK still set) on a
// socket with SO_LINGER {1, 10}, on a path where every SYN is lost.
//
// Genuine lwIP 2.1.3 behaviour: in SYN_SENT the SYN sits on pcb->unacked, so
// lwip_netconn_do_close_internal takes the linger branch, and for a non-blocking netconn
// "data left on a nonblocking netconn -> cannot linger" sets err = ERR_WOULDBLOCK
// (api_msg.c:991-993). lwip_close then returns -1/EWOULDBLOCK *without* free_socket
// (sockets.c:903-907): the socket slot and its netconn stay allocated, while the PCB has
// already lost its callbacks (tcp_arg/tcp_err NULL) and dies alone after TCP_SYNMAXRTX.
// esp-tls ignores close()'s result, so every connect timeout costs one of the
// MEMP_NUM_NETCONN (10) sockets. Once they are gone, lwip_socket must fail with ENFILE
// (upstream alloc_socket returns -1); Debian's max_sockets patch used to return the
// out-of-range fd NUM_SOCKETS instead (hence EBADF on every later call, and one leaked netconn
// per attempt): fixed by third_party/patches/lwip/0002-alloc-socket-when-full.patch.
TEST(Linger, NonBlockingCloseOfLingeringSynSentSocketKeepsTheSocketThenEnfile) {
    lwipsim::testing::run_as_device([] {
        Device dev(/*answer_syn=*/false);
        auto& s = clock::Scheduler::current();
        auto& heap = DeviceHeap::instance();
        size_t baseline = heap.in_use();
        for (int attempt = 0; attempt < MEMP_NUM_NETCONN; ++attempt) {
            int fd = lwip_socket(AF_INET, SOCK_STREAM, 0);
            ASSERT_EQ(fd, attempt) << "no slot was ever freed, so they fill in order";
            ASSERT_EQ(set_linger(fd, 1, 10), 0);
            ASSERT_EQ(lwip_fcntl(fd, F_SETFL, O_NONBLOCK), 0);
            sockaddr_in a = peer_address();
            ASSERT_EQ(lwip_connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), -1);
            ASSERT_EQ(errno, EINPROGRESS);
            fd_set wfds;
            FD_ZERO(&wfds);
            FD_SET(fd, &wfds);
            timeval tv{10, 0};
            auto before = s.now();
            ASSERT_EQ(lwip_select(fd + 1, nullptr, &wfds, nullptr, &tv), 0);
            EXPECT_EQ(s.now() - before, clock::SimDuration(10s));
            // lwip_netconn_do_close: "TCP connect in progress: cannot shutdown" -> ERR_CONN.
            EXPECT_EQ(lwip_shutdown(fd, SHUT_RDWR), -1);
            EXPECT_EQ(errno, ENOTCONN);
            before = s.now();
            EXPECT_EQ(lwip_close(fd), -1);
            EXPECT_EQ(errno, EWOULDBLOCK);
            EXPECT_EQ(s.now(), before) << "a non-blocking close must not block";
            // The slot is still taken: the fd still answers (O_NONBLOCK still set).
            EXPECT_EQ(lwip_fcntl(fd, F_GETFL, 0) & O_NONBLOCK, O_NONBLOCK);
            // This attempt's PCB lives on in SYN_SENT, retransmitting into nothing.
            EXPECT_GE(pcbs_in_use(), 1u);
        }
        EXPECT_EQ(netconns_in_use(), size_t{MEMP_NUM_NETCONN});
        // Every slot is held by a leaked socket: lwip_socket fails with ENFILE and frees the
        // netconn it made (sockets.c lwip_socket), repeatedly, without leaking anything more.
        size_t held = heap.in_use();
        for (int i = 0; i < 3; ++i) {
            errno = 0;
            EXPECT_EQ(lwip_socket(AF_INET, SOCK_STREAM, 0), -1);
            EXPECT_EQ(errno, ENFILE);
        }
        EXPECT_EQ(netconns_in_use(), size_t{MEMP_NUM_NETCONN});
        EXPECT_EQ(heap.in_use(), held);
        // The PCBs die on their own after TCP_SYNMAXRTX retransmissions (no backoff in SYN_SENT
        // in 2.1.3: 12 x 1.5 s here); the netconns and the slots do not.
        s.sleep_for(120s);
        EXPECT_EQ(pcbs_in_use(), 0u);
        EXPECT_EQ(netconns_in_use(), size_t{MEMP_NUM_NETCONN});
        EXPECT_GT(heap.in_use(), baseline);
        errno = 0;
        EXPECT_EQ(lwip_socket(AF_INET, SOCK_STREAM, 0), -1);
        EXPECT_EQ(errno, ENFILE);
    });
}

// The same connect timeout, closed the way lwIP can honour: SO_LINGER switched off (or set to
// {1, 0}) before close. tcp_close of a SYN_SENT PCB frees it at once (tcp.c
// tcp_close_shutdown, case SYN_SENT), the socket is freed, and after ten rounds nothing is left.
// (Restoring blocking mode instead is no remedy: with linger > 0 lwIP 2.1.3 would call
// tcp_close, which frees the SYN_SENT PCB, and then wait for that freed PCB's poll callback.)
TEST(Linger, ConnectTimeoutClosedWithLingerOffReturnsEverything) {
    lwipsim::testing::run_as_device([] {
        Device dev(/*answer_syn=*/false);
        auto& heap = DeviceHeap::instance();
        size_t baseline = heap.in_use();
        for (int attempt = 0; attempt < MEMP_NUM_NETCONN + 2; ++attempt) {
            int fd = lwip_socket(AF_INET, SOCK_STREAM, 0);
            ASSERT_EQ(fd, 0) << "slot 0 is freed every round";
            ASSERT_EQ(set_linger(fd, 1, 10), 0);
            ASSERT_EQ(lwip_fcntl(fd, F_SETFL, O_NONBLOCK), 0);
            sockaddr_in a = peer_address();
            ASSERT_EQ(lwip_connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), -1);
            fd_set wfds;
            FD_ZERO(&wfds);
            FD_SET(fd, &wfds);
            timeval tv{10, 0};
            ASSERT_EQ(lwip_select(fd + 1, nullptr, &wfds, nullptr, &tv), 0);
            ASSERT_EQ(set_linger(fd, 0, 0), 0);
            EXPECT_EQ(lwip_close(fd), 0);
            EXPECT_EQ(pcbs_in_use(), 0u);
            EXPECT_EQ(netconns_in_use(), 0u);
        }
        settle();
        EXPECT_EQ(heap.in_use(), baseline);
    });
}

// SO_LINGER {1, 0} with unacked data: lwip_netconn_do_close_internal calls tcp_abort ("data
// left but linger prevents waiting"), which sends a RST (tcp_abandon with reset = 1) and frees
// the PCB inside the close call; close returns 0 at once.
TEST(Linger, ZeroWithUnackedDataSendsRstAndFreesThePcbAtClose) {
    lwipsim::testing::run_as_device([] {
        Device dev(/*answer_syn=*/true);
        auto& s = clock::Scheduler::current();
        auto& heap = DeviceHeap::instance();
        size_t baseline = heap.in_use();
        int fd = connected_with_unacked_data(200);
        ASSERT_EQ(pcbs_in_use(), 1u);
        ASSERT_EQ(dev.peer.count(kRst), 0);
        ASSERT_EQ(set_linger(fd, 1, 0), 0);
        auto before = s.now();
        EXPECT_EQ(lwip_close(fd), 0);
        EXPECT_EQ(s.now(), before);
        EXPECT_EQ(pcbs_in_use(), 0u);
        EXPECT_EQ(netconns_in_use(), 0u);
        s.sleep_for(10ms); // let the RST frame reach the peer sink
        EXPECT_EQ(dev.peer.count(kRst), 1);
        EXPECT_EQ(dev.peer.count(kFin), 0) << "abort, not an orderly close";
        EXPECT_DOUBLE_EQ(*dev.peer.first(kRst), before.seconds());
        settle();
        EXPECT_EQ(heap.in_use(), baseline);
    });
}

// SO_LINGER {1, 10} on a blocking socket with unacked data on a dead path: tcp_close sends the
// FIN (FIN_WAIT_1), close() blocks; poll_tcp re-runs the close every slow-timer tick (500 ms,
// tcp_poll(..., 1)) until sys_now() - time_started >= 10000 ms, then tcp_abort: RST, PCB freed,
// close returns 0. So close returns in [10 s, 10.5 s].
TEST(Linger, TenSecondsOnDeadPathBlocksCloseThenAbortsWithRst) {
    lwipsim::testing::run_as_device([] {
        Device dev(/*answer_syn=*/true);
        auto& s = clock::Scheduler::current();
        auto& heap = DeviceHeap::instance();
        size_t baseline = heap.in_use();
        int fd = connected_with_unacked_data(200);
        ASSERT_EQ(set_linger(fd, 1, 10), 0);
        auto before = s.now();
        EXPECT_EQ(lwip_close(fd), 0);
        auto closed_at = s.now();
        auto blocked = closed_at - before;
        EXPECT_GE(blocked, clock::SimDuration(10s));
        EXPECT_LE(blocked, clock::SimDuration(10500ms));
        EXPECT_EQ(pcbs_in_use(), 0u);
        EXPECT_EQ(netconns_in_use(), 0u);
        s.sleep_for(10ms);
        ASSERT_TRUE(dev.peer.first(kFin).has_value());
        EXPECT_DOUBLE_EQ(*dev.peer.first(kFin), before.seconds());
        ASSERT_EQ(dev.peer.count(kRst), 1);
        EXPECT_DOUBLE_EQ(*dev.peer.first(kRst), closed_at.seconds());
        settle();
        EXPECT_EQ(heap.in_use(), baseline);
    });
}

// lwIP built without SO_LINGER (lwipsim_so_linger_available = 0): our set_linger reports
// ENOPROTOOPT as lwip_setsockopt does for an unknown option, and close behaves as without
// linger: returns 0 at once, sends a FIN, the PCB stays in FIN_WAIT_1 retransmitting.
TEST(Linger, UnavailableSetLingerFailsAndCloseDoesNotLinger) {
    lwipsim::testing::run_as_device([] {
        Device dev(/*answer_syn=*/true, /*linger_available=*/false);
        auto& s = clock::Scheduler::current();
        int fd = connected_with_unacked_data(200);
        EXPECT_EQ(device::set_linger(fd, device::Linger{true, 0}), ENOPROTOOPT);
        EXPECT_EQ(device::set_linger(fd, device::Linger{true, 10}), ENOPROTOOPT);
        struct linger l {};
        socklen_t len = sizeof l;
        ASSERT_EQ(lwip_getsockopt(fd, SOL_SOCKET, SO_LINGER, &l, &len), 0);
        EXPECT_EQ(l.l_onoff, 0) << "nothing was set on the socket";
        auto before = s.now();
        EXPECT_EQ(lwip_close(fd), 0);
        EXPECT_EQ(s.now(), before);
        EXPECT_EQ(netconns_in_use(), 0u) << "the socket itself is freed";
        s.sleep_for(30s); // well past any linger time
        EXPECT_EQ(pcbs_in_use(), 1u) << "no abort: the PCB keeps retransmitting";
        EXPECT_EQ(dev.peer.count(kRst), 0);
        EXPECT_GE(dev.peer.count(kFin), 2) << "FIN sent and retransmitted";
    });
}
