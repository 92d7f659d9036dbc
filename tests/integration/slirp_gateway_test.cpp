// The slirp gateway with hand-built frames, a manual virtual clock and real sockets on
// 127.0.0.1. Nothing here needs the scheduler: the test itself plays the poll loop.

#include "sim/link/slirp_gateway.h"
#include "tests/integration/slirp_test_support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <optional>

namespace lwipsim::link {
namespace {

using namespace lwipsim::link::testing;

constexpr uint16_t kGuestPort = 40000;
constexpr uint32_t kGuestIss = 1000;

/// A listening TCP socket on 127.0.0.1, ephemeral port; closes what it opened.
class Listener {
  public:
    Listener() {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
            ::listen(fd_, 4) != 0) {
            ADD_FAILURE() << "cannot listen on 127.0.0.1";
            return;
        }
        socklen_t len = sizeof a;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
    }
    ~Listener() {
        if (conn_ >= 0)
            ::close(conn_);
        if (fd_ >= 0)
            ::close(fd_);
    }
    [[nodiscard]] uint16_t port() const { return port_; }
    /// Accepts one pending connection without blocking; returns the peer address.
    std::optional<sockaddr_in> try_accept() {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 0) != 1)
            return std::nullopt;
        sockaddr_in peer{};
        socklen_t len = sizeof peer;
        conn_ = ::accept(fd_, reinterpret_cast<sockaddr*>(&peer), &len);
        if (conn_ < 0)
            return std::nullopt;
        return peer;
    }
    [[nodiscard]] int conn() const { return conn_; }
    /// The host program closes its end of the accepted connection.
    void close_conn() {
        ::close(conn_);
        conn_ = -1;
    }

  private:
    int fd_ = -1;
    int conn_ = -1;
    uint16_t port_ = 0;
};

class SlirpGatewayTest : public ::testing::Test {
  protected:
    SlirpGatewayTest()
        : gw_(timer_, down_, [this](const ContainmentEvent& e) { contained_.push_back(e); }) {}

    void send(std::vector<uint8_t> bytes) {
        Frame f;
        f.bytes = std::move(bytes);
        f.direction = Direction::kUp;
        f.id = next_id_++;
        f.created_at = timer_.now();
        gw_.deliver(std::move(f));
    }

    /// Plays the scheduler's idle step: poll slirp's host fds (10 ms real time per round, at
    /// most `rounds` rounds) without moving virtual time, until `done()`.
    template <class Pred> bool pump_until(Pred done, int rounds = 300) {
        for (int i = 0; i < rounds; ++i) {
            if (done())
                return true; // once: done() may consume (accept)
            std::vector<pollfd> fds;
            gw_.fill_pollfds(fds);
            ::poll(fds.data(), fds.size(), 10);
            gw_.on_polled(fds);
        }
        return false;
    }

    /// Frames to the guest that are TCP from 10.0.2.2:port, from index `from` on.
    std::vector<Frame> tcp_from_gateway(uint16_t port, size_t from = 0) const {
        std::vector<Frame> out;
        for (size_t i = from; i < down_.frames.size(); ++i) {
            const PacketInfo p = parse_frame(down_.frames[i].bytes);
            if (p.ipv4 && p.protocol == 6 && p.has_ports && p.src_ip == kSlirpGatewayIp &&
                p.src_port == port)
                out.push_back(down_.frames[i]);
        }
        return out;
    }

    /// ARP for 10.0.2.2 and return its MAC from the reply.
    Mac resolve_gateway() {
        send(arp_request(kGuestIp, kSlirpGatewayIp));
        Mac mac{};
        for (const Frame& f : down_.frames) {
            if (f.bytes.size() >= 42 && get16(f.bytes, 12) == 0x0806 && get16(f.bytes, 20) == 2)
                std::copy(f.bytes.begin() + 22, f.bytes.begin() + 28, mac.begin());
        }
        return mac;
    }

    struct Conn {
        Mac gw_mac{};
        uint32_t guest_next = 0; ///< next sequence number the guest sends
        uint32_t slirp_next = 0; ///< next sequence number expected from slirp
    };

    /// Three-way handshake from the guest to 10.0.2.2:port; the listener accepts.
    Conn connect(Listener& l) {
        Conn c;
        c.gw_mac = resolve_gateway();
        send(tcp_frame({kGuestIp, kSlirpGatewayIp, kGuestPort, l.port(), kGuestIss, 0, kTcpSyn, {}},
                       c.gw_mac));
        EXPECT_TRUE(gw_.awaiting_host()) << "a SYN waits for the host's connect";
        EXPECT_TRUE(pump_until([&] { return !tcp_from_gateway(l.port()).empty(); }));
        const auto synack = tcp_from_gateway(l.port());
        if (synack.empty())
            return c;
        const PacketInfo p = parse_frame(synack[0].bytes);
        EXPECT_EQ(p.tcp_flags & (kTcpSyn | kTcpAck), kTcpSyn | kTcpAck);
        EXPECT_EQ(p.tcp_ack, kGuestIss + 1) << "RFC 793: SYN-ACK acknowledges ISS + 1";
        EXPECT_EQ(p.dst_ip, kGuestIp);
        EXPECT_EQ(p.dst_port, kGuestPort);
        EXPECT_TRUE(checksums_ok(synack[0]));
        EXPECT_FALSE(gw_.awaiting_host()) << "the SYN-ACK is the host's answer";
        c.guest_next = kGuestIss + 1;
        c.slirp_next = p.tcp_seq + 1;
        send(tcp_frame({kGuestIp,
                        kSlirpGatewayIp,
                        kGuestPort,
                        l.port(),
                        c.guest_next,
                        c.slirp_next,
                        kTcpAck,
                        {}},
                       c.gw_mac));
        return c;
    }

    ManualTimer timer_;
    CollectSink down_;
    std::vector<ContainmentEvent> contained_;
    SlirpGateway gw_;
    uint64_t next_id_ = 1;
};

TEST_F(SlirpGatewayTest, ArpRequestForGatewayIsAnswered) {
    send(arp_request(kGuestIp, kSlirpGatewayIp));
    ASSERT_EQ(down_.frames.size(), 1u);
    const Frame& f = down_.frames[0];
    EXPECT_EQ(f.direction, Direction::kDown);
    ASSERT_GE(f.bytes.size(), 42u);
    EXPECT_EQ(get16(f.bytes, 12), 0x0806);
    EXPECT_EQ(get16(f.bytes, 20), 2) << "RFC 826 opcode 2 = reply";
    EXPECT_EQ(get32(f.bytes, 28), kSlirpGatewayIp) << "sender protocol address";
    EXPECT_TRUE(std::equal(kGuestMac.begin(), kGuestMac.end(), f.bytes.begin() + 32))
        << "target hardware address is the asker's";
    EXPECT_EQ(get32(f.bytes, 38), kGuestIp);
    EXPECT_TRUE(std::equal(kGuestMac.begin(), kGuestMac.end(), f.bytes.begin()))
        << "unicast back to the asker";
    EXPECT_TRUE(contained_.empty());
}

TEST_F(SlirpGatewayTest, DhcpDiscoverGetsOfferFor10_0_2_15) {
    // RFC 2131 DHCPDISCOVER: op 1, htype 1, hlen 6, xid, chaddr, magic cookie, option 53 = 1.
    std::vector<uint8_t> d(240, 0);
    d[0] = 1;
    d[1] = 1;
    d[2] = 6;
    put32(d, 4, 0xC0FFEE01);
    std::copy(kGuestMac.begin(), kGuestMac.end(), d.begin() + 28);
    put32(d, 236, 0x63825363);
    d.insert(d.end(), {53, 1, 1, 255});
    send(udp_frame(0, 0xFFFFFFFF, 68, 67, d, kBroadcastMac));

    ASSERT_EQ(down_.frames.size(), 1u);
    const Frame& f = down_.frames[0];
    const PacketInfo p = parse_frame(f.bytes);
    ASSERT_TRUE(p.ipv4 && p.has_ports);
    EXPECT_EQ(p.protocol, 17);
    EXPECT_EQ(p.src_port, 67);
    EXPECT_EQ(p.dst_port, 68);
    EXPECT_TRUE(checksums_ok(f));
    const size_t bootp = p.ip_offset + p.ip_header_len + 8;
    ASSERT_GE(f.bytes.size(), bootp + 244);
    EXPECT_EQ(f.bytes[bootp], 2) << "BOOTREPLY";
    EXPECT_EQ(get32(f.bytes, bootp + 4), 0xC0FFEE01u) << "same xid";
    EXPECT_EQ(get32(f.bytes, bootp + 16), kSlirpDhcpStart) << "yiaddr = 10.0.2.15";
    // Walk the options for 53 (message type) and 54 (server identifier).
    std::optional<uint8_t> type;
    std::optional<uint32_t> server;
    for (size_t i = bootp + 240; i + 1 < f.bytes.size() && f.bytes[i] != 255;) {
        const uint8_t code = f.bytes[i];
        if (code == 0) {
            ++i;
            continue;
        }
        const uint8_t len = f.bytes[i + 1];
        if (code == 53 && len == 1)
            type = f.bytes[i + 2];
        if (code == 54 && len == 4)
            server = get32(f.bytes, i + 2);
        i += 2 + size_t{len};
    }
    EXPECT_EQ(type, std::optional<uint8_t>(2)) << "DHCPOFFER";
    EXPECT_EQ(server, std::optional<uint32_t>(kSlirpGatewayIp));
}

TEST_F(SlirpGatewayTest, TcpToGatewayReachesLoopbackListenerBothWays) {
    Listener l;
    const Conn c = connect(l);
    std::optional<sockaddr_in> peer;
    ASSERT_TRUE(pump_until([&] { return (peer = l.try_accept()).has_value(); }));
    EXPECT_EQ(ntohl(peer->sin_addr.s_addr), INADDR_LOOPBACK)
        << "slirp connects from the loopback it is bound to";

    // Guest -> host.
    const std::string hello = "device says hello";
    send(tcp_frame({kGuestIp, kSlirpGatewayIp, kGuestPort, l.port(), c.guest_next, c.slirp_next,
                    kTcpAck | kTcpPsh, hello},
                   c.gw_mac));
    EXPECT_TRUE(gw_.awaiting_host());
    std::string got(64, '\0');
    pollfd p{l.conn(), POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 2000), 1);
    const ssize_t n = ::recv(l.conn(), got.data(), got.size(), 0);
    ASSERT_GT(n, 0);
    got.resize(static_cast<size_t>(n));
    EXPECT_EQ(got, hello);

    // Host -> guest.
    const size_t mark = down_.frames.size();
    const std::string reply = "broker answers";
    ASSERT_EQ(::send(l.conn(), reply.data(), reply.size(), 0), static_cast<ssize_t>(reply.size()));
    ASSERT_TRUE(pump_until([&] {
        for (const Frame& f : tcp_from_gateway(l.port(), mark))
            if (!tcp_payload(f).empty())
                return true;
        return false;
    }));
    for (const Frame& f : tcp_from_gateway(l.port(), mark)) {
        if (tcp_payload(f).empty())
            continue;
        const PacketInfo pi = parse_frame(f.bytes);
        EXPECT_EQ(tcp_payload(f), reply);
        EXPECT_EQ(pi.tcp_seq, c.slirp_next) << "first data byte follows the SYN";
        EXPECT_EQ(pi.tcp_ack, c.guest_next + hello.size()) << "acknowledges the guest's data";
        EXPECT_TRUE(checksums_ok(f));
        break;
    }
    EXPECT_FALSE(gw_.awaiting_host()) << "host data reached the guest";
    EXPECT_TRUE(contained_.empty());
}

TEST_F(SlirpGatewayTest, AwaitingHostEndsWhenVirtualTimeMovesOn) {
    Listener l;
    const Conn c = connect(l);
    ASSERT_TRUE(pump_until([&] { return l.try_accept().has_value(); }));
    // Data the host will never answer: awaiting until the scheduler moves time on (grace over).
    send(tcp_frame({kGuestIp, kSlirpGatewayIp, kGuestPort, l.port(), c.guest_next, c.slirp_next,
                    kTcpAck | kTcpPsh, "qos0 publish"},
                   c.gw_mac));
    EXPECT_TRUE(gw_.awaiting_host());
    pump_until([] { return false; }, 3); // real time passes, virtual time does not
    EXPECT_TRUE(gw_.awaiting_host());
    timer_.advance(clock::from_ms(1));
    EXPECT_FALSE(gw_.awaiting_host());
}

TEST_F(SlirpGatewayTest, ForeignDestinationsAreContainedBeforeSlirp) {
    const Mac any{0x02, 0, 0, 0, 0, 1};
    const uint32_t test_net = 0xC0000201;  // 192.0.2.1 (RFC 5737 TEST-NET-1)
    const uint32_t other_lan = 0x0A000301; // 10.0.3.1
    send(tcp_frame({kGuestIp, test_net, kGuestPort, 80, 1, 0, kTcpSyn, {}}, any));
    send(tcp_frame({kGuestIp, other_lan, kGuestPort, 1883, 1, 0, kTcpSyn, {}}, any));
    send(udp_frame(kGuestIp, kSlirpDnsIp, 5353, 53, {1, 2, 3, 4}, any)); // DNS is off
    send(udp_frame(kGuestIp, 0x0A0002FF, 68, 67, {1, 2, 3, 4}, any));    // subnet broadcast
    send(ethernet(kBroadcastMac, kGuestMac, 0x86DD, std::vector<uint8_t>(40, 0))); // IPv6
    send({1, 2, 3});                                                               // runt

    EXPECT_TRUE(down_.frames.empty()) << "nothing contained may produce any frame";
    ASSERT_EQ(contained_.size(), 6u);
    EXPECT_EQ(gw_.stats().frames_contained, 6u);
    EXPECT_NE(contained_[0].reason.find("192.0.2.1"), std::string::npos) << contained_[0].reason;
    EXPECT_NE(contained_[1].reason.find("10.0.3.1"), std::string::npos) << contained_[1].reason;
    EXPECT_NE(contained_[2].reason.find("10.0.2.3"), std::string::npos) << contained_[2].reason;
    EXPECT_NE(contained_[3].reason.find("10.0.2.255"), std::string::npos);
    EXPECT_NE(contained_[4].reason.find("0x86dd"), std::string::npos) << contained_[4].reason;
    EXPECT_NE(contained_[5].reason.find("malformed"), std::string::npos);
    for (uint64_t i = 0; i < 6; ++i)
        EXPECT_EQ(contained_[i].frame_id, i + 1);
    // slirp never saw them: it holds no socket for any of those destinations.
    const std::string info = gw_.connection_info();
    EXPECT_EQ(info.find("192.0.2.1"), std::string::npos) << info;
    EXPECT_EQ(info.find("10.0.3.1"), std::string::npos) << info;
    EXPECT_FALSE(gw_.awaiting_host());
}

TEST(SlirpClassify, ExactlyTheDocumentedTrafficPasses) {
    const Mac gw{0x52, 0x55, 0x0a, 0x00, 0x02, 0x02};
    // Passes: ARP, TCP/UDP/ICMP to 10.0.2.2, DHCP broadcast.
    EXPECT_TRUE(classify_uplink(arp_request(kGuestIp, kSlirpGatewayIp)).pass);
    EXPECT_TRUE(classify_uplink(udp_frame(kGuestIp, kSlirpGatewayIp, 1, 2, {}, gw)).pass);
    EXPECT_TRUE(classify_uplink(udp_frame(0, 0xFFFFFFFF, 68, 67, {}, kBroadcastMac)).pass);
    EXPECT_TRUE(classify_uplink(ethernet(gw, kGuestMac, 0x0800,
                                         ipv4(kGuestIp, kSlirpGatewayIp, 1, {8, 0, 0, 0})))
                    .pass);
    // Host-reply expectation (HostReplyWait, the gateway's rule): SYN, FIN or payload; not a
    // bare ACK, not a RST.
    auto tcp_frame_to_gw = [&](uint8_t flags, std::string data) {
        return tcp_frame({kGuestIp, kSlirpGatewayIp, 1, 1883, 5, 6, flags, std::move(data)}, gw);
    };
    auto expects_host_reply = [&](uint8_t flags, std::string data) {
        HostReplyWait wait;
        const clock::SimTime t{};
        wait.on_request(tcp_frame_to_gw(flags, std::move(data)), t);
        return wait.pending(t);
    };
    EXPECT_TRUE(expects_host_reply(kTcpSyn, ""));
    EXPECT_TRUE(expects_host_reply(kTcpAck | kTcpFin, ""));
    EXPECT_TRUE(expects_host_reply(kTcpAck, "x"));
    EXPECT_TRUE(classify_uplink(tcp_frame_to_gw(kTcpAck, "")).pass);
    EXPECT_FALSE(expects_host_reply(kTcpAck, ""));
    EXPECT_FALSE(expects_host_reply(kTcpRst | kTcpAck, "x"));
    // Dropped: GRE to the gateway, DHCP client port on broadcast, short ARP, truncated IPv4.
    EXPECT_FALSE(classify_uplink(ethernet(gw, kGuestMac, 0x0800,
                                          ipv4(kGuestIp, kSlirpGatewayIp, 47, {0, 0, 0, 0})))
                     .pass);
    EXPECT_FALSE(classify_uplink(udp_frame(0, 0xFFFFFFFF, 67, 68, {}, kBroadcastMac)).pass);
    EXPECT_FALSE(classify_uplink(ethernet(kBroadcastMac, kGuestMac, 0x0806, {0, 1})).pass);
    EXPECT_FALSE(classify_uplink(ethernet(gw, kGuestMac, 0x0800, {0x45, 0, 0})).pass);
    EXPECT_FALSE(classify_uplink(ethernet(gw, kGuestMac, 0x8100, std::vector<uint8_t>(50))).pass);
}

// The broker's lookahead counts on slirp acting on its own (a tick that may close a host
// socket, a retransmission) only at next_own_event(): while it retransmits unacknowledged
// data, nothing of its own runs before that instant, and it is always known.
TEST_F(SlirpGatewayTest, NextOwnEventIsWhenSlirpNextActsOnItsOwn) {
    Listener l;
    connect(l);
    ASSERT_TRUE(pump_until([&] { return l.try_accept().has_value(); }));
    const std::string data = "unacknowledged";
    ASSERT_EQ(::send(l.conn(), data.data(), data.size(), 0), static_cast<ssize_t>(data.size()));
    const size_t mark = down_.frames.size();
    ASSERT_TRUE(pump_until([&] { return down_.frames.size() > mark; }));
    for (int i = 0; i < 40; ++i) {
        const auto next = gw_.next_own_event();
        ASSERT_TRUE(next.has_value()) << "slirp holds a TCP socket: a tick must be armed";
        ASSERT_GE(*next, timer_.now());
        const uint64_t ticks = gw_.stats().timer_ticks;
        const size_t frames = down_.frames.size();
        timer_.advance_to(clock::SimTime{next->since_start - clock::SimDuration{1}});
        EXPECT_EQ(gw_.stats().timer_ticks, ticks) << "slirp ran before its next own event";
        EXPECT_EQ(down_.frames.size(), frames) << "slirp sent before its next own event";
        timer_.advance_to(*next);
    }
    EXPECT_GT(down_.frames.size(), mark + 1) << "slirp retransmitted in those 40 events";
}

// The broker's lookahead skips slirp's own ticks only once the host side has sent its FIN on
// every socket slirp holds: also on one slirp has stopped polling because its buffer towards a
// device that acknowledges nothing is full (slirp_pollfds_fill leaves such a socket out, yet a
// later tick may drop the connection and close the socket under the host program's feet).
TEST_F(SlirpGatewayTest, HostSocketsClosedByPeerCountsEverySocketSlirpHolds) {
    EXPECT_TRUE(gw_.host_sockets_closed_by_peer()) << "no socket at all";
    Listener l;
    connect(l);
    ASSERT_TRUE(pump_until([&] { return l.try_accept().has_value(); }));
    EXPECT_FALSE(gw_.host_sockets_closed_by_peer()) << "established, both ends open";

    // The host writes far more than the guest's window and slirp's buffer; the guest never
    // acknowledges. Poll until slirp has read all it will take (it stops polling the socket).
    const std::string chunk(4096, 'b');
    for (int i = 0; i < 64; ++i)
        (void)::send(l.conn(), chunk.data(), chunk.size(), MSG_DONTWAIT);
    pump_until([] { return false; }, 20);
    EXPECT_FALSE(gw_.host_sockets_closed_by_peer())
        << "a socket slirp does not poll may still be dropped by its timers";

    l.close_conn();
    ASSERT_TRUE(pump_until([&] { return gw_.host_sockets_closed_by_peer(); }))
        << "the host's FIN never reached slirp's socket";
}

TEST_F(SlirpGatewayTest, SlirpRetransmitsOnVirtualTimeOnly) {
    Listener l;
    const Conn c = connect(l);
    ASSERT_TRUE(pump_until([&] { return l.try_accept().has_value(); }));
    const size_t mark = down_.frames.size();
    const std::string data = "unacknowledged";
    ASSERT_EQ(::send(l.conn(), data.data(), data.size(), 0), static_cast<ssize_t>(data.size()));
    auto data_frames = [&] {
        std::vector<Frame> out;
        for (const Frame& f : tcp_from_gateway(l.port(), mark))
            if (tcp_payload(f) == data)
                out.push_back(f);
        return out;
    };
    ASSERT_TRUE(pump_until([&] { return !data_frames().empty(); }));
    const clock::SimTime sent_at = data_frames()[0].created_at;

    // Real time passes (host polls), virtual time does not: no retransmission.
    const auto wall0 = std::chrono::steady_clock::now();
    pump_until([] { return false; }, 10);
    EXPECT_EQ(data_frames().size(), 1u);

    // The guest never acknowledges. Move virtual time 60 s in 100 ms steps.
    for (int i = 0; i < 600; ++i)
        timer_.advance(clock::from_ms(100));
    const double wall_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
    const auto frames = data_frames();
    ASSERT_GE(frames.size(), 4u) << "slirp keeps retransmitting while unacknowledged";
    std::vector<int64_t> gaps;
    for (size_t i = 0; i < frames.size(); ++i) {
        const PacketInfo p = parse_frame(frames[i].bytes);
        EXPECT_EQ(p.tcp_seq, c.slirp_next) << "same bytes, same sequence number";
        const clock::SimTime prev = i == 0 ? sent_at : frames[i - 1].created_at;
        if (i > 0) {
            const auto gap = frames[i].created_at - prev;
            EXPECT_EQ(gap % clock::from_ms(1), clock::SimDuration{0});
            gaps.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(gap).count());
        }
    }
    // slirp is BSD TCP on a slow timer of TIMEOUT_SLOW = 499 ms (PR_SLOWHZ = 2 ticks/"s"):
    // every retransmission must land exactly on a slow tick of virtual time; the RTO starts at
    // no less than TCPTV_MIN (2 ticks), doubles per retry (tcp_backoff) and is capped at
    // TCPTV_REXMTMAX (12 * PR_SLOWHZ = 24 ticks).
    constexpr int64_t kTick = 499;
    ASSERT_FALSE(gaps.empty());
    EXPECT_GE(gaps[0], 2 * kTick);
    for (size_t i = 0; i < gaps.size(); ++i) {
        EXPECT_EQ(gaps[i] % kTick, 0) << "retry " << i << " not on a slow tick: " << gaps[i];
        if (i > 0) {
            EXPECT_EQ(gaps[i], std::min(2 * gaps[i - 1], 24 * kTick)) << "retry " << i;
        }
    }
    std::printf("[ figures ] retransmission gaps (virtual s):");
    for (int64_t g : gaps)
        std::printf(" %.3f", static_cast<double>(g) / 1000);
    std::printf("\n[ figures ] 60 s of virtual time took %.3f s of wall time, %llu ticks\n", wall_s,
                static_cast<unsigned long long>(gw_.stats().timer_ticks));
}

TEST(SlirpGatewaySingleton, SecondGatewayInOneProcessIsRefused) {
    ManualTimer t;
    CollectSink s;
    SlirpGateway first(t, s);
    EXPECT_THROW(SlirpGateway(t, s), SlirpError);
}

} // namespace
} // namespace lwipsim::link
