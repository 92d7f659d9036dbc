// Header parsing, flow keys, filters and the RST builder.
#include "sim/link/flow_filter.h"
#include "sim/link/packet.h"
#include "sim/link/rng.h"
#include "tests/unit/link_test_support.h"

#include <gtest/gtest.h>

namespace lwipsim::link {
namespace {

using test::build_frame;
using test::FrameSpec;

uint32_t be32(const std::vector<uint8_t>& b, size_t at) {
    return (uint32_t{b[at]} << 24) | (uint32_t{b[at + 1]} << 16) | (uint32_t{b[at + 2]} << 8) |
           b[at + 3];
}
uint16_t be16(const std::vector<uint8_t>& b, size_t at) {
    return static_cast<uint16_t>(b[at] << 8 | b[at + 1]);
}

// Independent check (RFC 1071 section 2(A)/(B)): summing a header *including* its checksum
// field in 32-bit arithmetic and folding must give 0xFFFF.
uint16_t folded_sum(const std::vector<uint8_t>& words) {
    uint32_t sum = 0;
    for (size_t i = 0; i < words.size(); i += 2) {
        sum += static_cast<uint32_t>(words[i] << 8) + (i + 1 < words.size() ? words[i + 1] : 0u);
    }
    while (sum > 0xFFFF) {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    return static_cast<uint16_t>(sum);
}

TEST(LinkPacket, ParsesTcpFrame) {
    FrameSpec s;
    s.payload = 10;
    const auto b = build_frame(s);
    const PacketInfo i = parse_frame(b);
    ASSERT_TRUE(i.ipv4);
    EXPECT_EQ(i.src_ip, 0x0A000002u);
    EXPECT_EQ(i.dst_ip, 0x0A000001u);
    EXPECT_EQ(i.protocol, 6);
    ASSERT_TRUE(i.has_ports);
    EXPECT_EQ(i.src_port, 50000);
    EXPECT_EQ(i.dst_port, 8883);
    EXPECT_EQ(i.tcp_seq, 1000u);
    EXPECT_EQ(i.tcp_ack, 2000u);
    EXPECT_EQ(i.tcp_flags, 0x18);
    EXPECT_EQ(i.tcp_payload_len, 10u);
}

TEST(LinkPacket, EveryTruncationIsSafeAndPortsOnlyWhenComplete) {
    FrameSpec s;
    s.payload = 5;
    const auto full = build_frame(s);
    for (size_t len = 0; len <= full.size(); ++len) {
        std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<ptrdiff_t>(len));
        const PacketInfo i = parse_frame(cut);
        EXPECT_EQ(i.ipv4, len >= 14 + 20) << len;
        // Ports need the whole 20-byte TCP header inside the frame.
        EXPECT_EQ(i.has_ports, len >= 14 + 20 + 20) << len;
    }
}

TEST(LinkPacket, RandomBytesNeverCrash) {
    Rng rng(7);
    for (int n = 0; n < 20000; ++n) {
        std::vector<uint8_t> b(rng.below(80));
        for (auto& x : b) {
            x = static_cast<uint8_t>(rng.next_u64());
        }
        if (b.size() > 13 && rng.bernoulli(0.7)) {
            b[12] = 0x08; // mostly IPv4 so the deeper code runs
            b[13] = 0x00;
        }
        const PacketInfo i = parse_frame(b);
        if (i.has_ports) {
            EXPECT_TRUE(i.ipv4);
        }
        (void)build_tcp_rst(b);
    }
}

TEST(LinkPacket, NonIpAndFragmentsHaveNoPorts) {
    FrameSpec s;
    auto arp = build_frame(s);
    arp[12] = 0x08;
    arp[13] = 0x06;
    EXPECT_FALSE(parse_frame(arp).ipv4);

    auto frag = build_frame(s);
    frag[14 + 6] = 0x00;
    frag[14 + 7] = 0x10; // fragment offset 16 (x8 bytes)
    const PacketInfo i = parse_frame(frag);
    EXPECT_TRUE(i.ipv4);
    EXPECT_FALSE(i.has_ports);
}

TEST(LinkPacket, FlowKeyIsDirectionIndependent) {
    FrameSpec a;
    FrameSpec b = a;
    std::swap(b.src_ip, b.dst_ip);
    std::swap(b.src_port, b.dst_port);
    const auto ka = flow_key(parse_frame(build_frame(a)));
    const auto kb = flow_key(parse_frame(build_frame(b)));
    ASSERT_TRUE(ka && kb);
    EXPECT_EQ(*ka, *kb);
    FrameSpec c = a;
    c.src_port = 50001;
    EXPECT_NE(*ka, *flow_key(parse_frame(build_frame(c))));
}

TEST(LinkFlowFilter, MatchesBothHalvesOfAConversation) {
    FlowFilter f;
    f.dst_port = 8883;
    f.protocol = IpProto::kTcp;
    FrameSpec up;
    FrameSpec down = up;
    std::swap(down.src_ip, down.dst_ip);
    std::swap(down.src_port, down.dst_port);
    EXPECT_TRUE(f.matches(parse_frame(build_frame(up))));
    EXPECT_TRUE(f.matches(parse_frame(build_frame(down))));
    FrameSpec other = up;
    other.dst_port = 443;
    EXPECT_FALSE(f.matches(parse_frame(build_frame(other))));
    FrameSpec udp = up;
    udp.protocol = 17;
    EXPECT_FALSE(f.matches(parse_frame(build_frame(udp))));
    FrameSpec icmp = up;
    icmp.protocol = 1;
    EXPECT_FALSE(f.matches(parse_frame(build_frame(icmp)))); // a port condition needs ports

    FlowFilter by_ip;
    by_ip.src_ip = parse_ipv4("10.0.0.2");
    by_ip.dst_ip = parse_ipv4("10.0.0.1");
    EXPECT_TRUE(by_ip.matches(parse_frame(build_frame(up))));
    EXPECT_TRUE(by_ip.matches(parse_frame(build_frame(down))));
    by_ip.dst_ip = parse_ipv4("10.0.0.9");
    EXPECT_FALSE(by_ip.matches(parse_frame(build_frame(up))));

    EXPECT_TRUE(FlowFilter{}.matches(parse_frame(std::vector<uint8_t>{1, 2, 3})));
    FlowFilter proto_only;
    proto_only.protocol = IpProto::kTcp;
    EXPECT_FALSE(proto_only.matches(parse_frame(std::vector<uint8_t>{1, 2, 3})));
}

TEST(LinkFlowFilter, ParsesAddressesAndRejectsGarbage) {
    EXPECT_EQ(parse_ipv4("192.168.4.1"), 0xC0A80401u);
    EXPECT_EQ(format_ipv4(0xC0A80401u), "192.168.4.1");
    for (const char* bad :
         {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1..2.3", "a.b.c.d", "1.2.3.4 "}) {
        EXPECT_THROW((void)parse_ipv4(bad), std::invalid_argument) << bad;
    }
    EXPECT_EQ(parse_protocol("udp"), IpProto::kUdp);
    EXPECT_THROW((void)parse_protocol("sctp"), std::invalid_argument);
}

TEST(LinkPacket, ChecksumOfRfc1071Example) {
    // RFC 1071 section 3 example: bytes 00 01 f2 03 f4 f5 f6 f7 sum to 0xddf2 (folded).
    const std::vector<uint8_t> b{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    EXPECT_EQ(ones_complement_sum(b), 0xddf2u);
    EXPECT_EQ(internet_checksum(b), 0x220d);
}

TEST(LinkPacket, RstAnswersAnAckedSegmentWithValidChecksums) {
    FrameSpec s;
    s.seq = 0x11223344;
    s.ack = 0xA0B0C0D0;
    s.payload = 7;
    const auto seg = build_frame(s);
    const auto rst = build_tcp_rst(seg);
    ASSERT_TRUE(rst);
    ASSERT_EQ(rst->size(), 14u + 20 + 20);
    const auto& r = *rst;
    // MACs swapped.
    EXPECT_TRUE(std::equal(r.begin(), r.begin() + 6, s.src_mac));
    EXPECT_TRUE(std::equal(r.begin() + 6, r.begin() + 12, s.dst_mac));
    EXPECT_EQ(be16(r, 12), 0x0800);
    // IPv4: addresses swapped, total length 40, protocol TCP, header checksum verifies.
    EXPECT_EQ(r[14], 0x45);
    EXPECT_EQ(be16(r, 16), 40);
    EXPECT_EQ(r[23], 6);
    EXPECT_EQ(be32(r, 26), s.dst_ip);
    EXPECT_EQ(be32(r, 30), s.src_ip);
    EXPECT_EQ(folded_sum(std::vector<uint8_t>(r.begin() + 14, r.begin() + 34)), 0xFFFF);
    // TCP: ports swapped, seq = the segment's ack, RST only.
    EXPECT_EQ(be16(r, 34), s.dst_port);
    EXPECT_EQ(be16(r, 36), s.src_port);
    EXPECT_EQ(be32(r, 38), s.ack);
    EXPECT_EQ(r[46] >> 4, 5);
    EXPECT_EQ(r[47], 0x04);
    // TCP checksum over pseudo-header (src, dst, 0, 6, length 20) + header verifies.
    std::vector<uint8_t> pseudo(r.begin() + 26, r.begin() + 34);
    pseudo.insert(pseudo.end(), {0, 6, 0, 20});
    pseudo.insert(pseudo.end(), r.begin() + 34, r.end());
    EXPECT_EQ(folded_sum(pseudo), 0xFFFF);
    // And the checksum field is not trivially zero.
    EXPECT_NE(be16(r, 50), 0);
}

TEST(LinkPacket, RstAnswersASynWithAckOfSeqPlusOne) {
    FrameSpec s;
    s.flags = 0x02;     // SYN
    s.seq = 0xFFFFFFFF; // wraps
    const auto rst = build_tcp_rst(build_frame(s));
    ASSERT_TRUE(rst);
    EXPECT_EQ(be32(*rst, 38), 0u);
    EXPECT_EQ(be32(*rst, 42), 0u); // 0xFFFFFFFF + 1 (SYN) wraps to 0
    EXPECT_EQ((*rst)[47], 0x14);   // RST|ACK
}

TEST(LinkPacket, RstIsNeverAnsweredAndNonTcpIsIgnored) {
    FrameSpec s;
    s.flags = 0x14;
    EXPECT_FALSE(build_tcp_rst(build_frame(s)));
    FrameSpec u;
    u.protocol = 17;
    EXPECT_FALSE(build_tcp_rst(build_frame(u)));
    EXPECT_FALSE(build_tcp_rst(std::vector<uint8_t>(30, 0)));
}

// The slirp gateway's port map (SlirpGateway::map_tcp_port) rewrites ports in place: the
// checksum must still verify over the pseudo-header (RFC 793), for both ports and for ports
// whose change carries across the 16-bit sum.
TEST(LinkPacket, RewrittenTcpPortKeepsTheChecksumValid) {
    for (const uint16_t to : {uint16_t{8883}, uint16_t{1}, uint16_t{0xFFFF}, uint16_t{49153}}) {
        for (const bool source : {false, true}) {
            FrameSpec s;
            s.seq = 0x01020304;
            s.payload = 5;
            const auto rst = build_tcp_rst(build_frame(s)); // a segment with valid checksums
            ASSERT_TRUE(rst);
            std::vector<uint8_t> r = *rst;
            const uint16_t other = be16(r, source ? 36 : 34);
            ASSERT_TRUE(rewrite_tcp_port(r, source, to));
            EXPECT_EQ(be16(r, source ? 34 : 36), to);
            EXPECT_EQ(be16(r, source ? 36 : 34), other);
            std::vector<uint8_t> pseudo(r.begin() + 26, r.begin() + 34);
            pseudo.insert(pseudo.end(), {0, 6, 0, 20});
            pseudo.insert(pseudo.end(), r.begin() + 34, r.end());
            EXPECT_EQ(folded_sum(pseudo), 0xFFFF) << "port " << to << " source " << source;
        }
    }
    FrameSpec udp;
    udp.protocol = 17;
    std::vector<uint8_t> f = build_frame(udp);
    const std::vector<uint8_t> before = f;
    EXPECT_FALSE(rewrite_tcp_port(f, false, 8883));
    EXPECT_EQ(f, before);
}

} // namespace
} // namespace lwipsim::link
