#include "sim/link/packet.h"

#include <algorithm>
#include <utility>

namespace lwipsim::link {

namespace {

uint16_t rd16(std::span<const uint8_t> b, size_t at) {
    return static_cast<uint16_t>((b[at] << 8) | b[at + 1]);
}
uint32_t rd32(std::span<const uint8_t> b, size_t at) {
    return (uint32_t{b[at]} << 24) | (uint32_t{b[at + 1]} << 16) | (uint32_t{b[at + 2]} << 8) |
           uint32_t{b[at + 3]};
}
void wr16(std::vector<uint8_t>& b, size_t at, uint16_t v) {
    b[at] = static_cast<uint8_t>(v >> 8);
    b[at + 1] = static_cast<uint8_t>(v);
}
void wr32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
    for (size_t i = 0; i < 4; ++i) {
        b[at + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
    }
}

constexpr size_t kIpv4MinHeader = 20;
constexpr size_t kTcpMinHeader = 20;
constexpr size_t kUdpHeader = 8;

} // namespace

PacketInfo parse_frame(std::span<const uint8_t> frame) {
    PacketInfo info;
    if (frame.size() < kEthHeaderLen) {
        return info;
    }
    info.ethertype = rd16(frame, 12);
    if (info.ethertype != kEtherTypeIpv4 || frame.size() < kEthHeaderLen + kIpv4MinHeader) {
        return info;
    }
    const auto ip = frame.subspan(kEthHeaderLen);
    const uint8_t version = ip[0] >> 4;
    const size_t ihl = size_t{ip[0] & 0x0Fu} * 4;
    if (version != 4 || ihl < kIpv4MinHeader || ihl > ip.size()) {
        return info;
    }
    info.ipv4 = true;
    info.ip_offset = kEthHeaderLen;
    info.ip_header_len = ihl;
    // A total length that claims more than the frame holds is clamped; one that is smaller
    // than the header (corrupt) leaves no room for L4 below.
    info.ip_total_len = std::min<size_t>(rd16(ip, 2), ip.size());
    info.protocol = ip[9];
    info.src_ip = rd32(ip, 12);
    info.dst_ip = rd32(ip, 16);

    // Only the first fragment carries the L4 header.
    const uint16_t frag_offset = rd16(ip, 6) & 0x1FFF;
    if (frag_offset != 0 || info.ip_total_len < ihl) {
        return info;
    }
    const auto l4 = ip.subspan(ihl, info.ip_total_len - ihl);
    if (info.protocol == static_cast<uint8_t>(IpProto::kTcp)) {
        if (l4.size() < kTcpMinHeader) {
            return info;
        }
        const size_t data_offset = size_t{static_cast<uint8_t>(l4[12] >> 4)} * 4;
        if (data_offset < kTcpMinHeader || data_offset > l4.size()) {
            return info;
        }
        info.has_ports = true;
        info.src_port = rd16(l4, 0);
        info.dst_port = rd16(l4, 2);
        info.tcp_seq = rd32(l4, 4);
        info.tcp_ack = rd32(l4, 8);
        info.tcp_flags = l4[13];
        info.tcp_payload_len = l4.size() - data_offset;
    } else if (info.protocol == static_cast<uint8_t>(IpProto::kUdp)) {
        if (l4.size() < kUdpHeader) {
            return info;
        }
        info.has_ports = true;
        info.src_port = rd16(l4, 0);
        info.dst_port = rd16(l4, 2);
    }
    return info;
}

std::optional<FlowKey> flow_key(const PacketInfo& info) {
    if (!info.ipv4 || !info.has_ports) {
        return std::nullopt;
    }
    FlowKey key{info.src_ip, info.dst_ip, info.src_port, info.dst_port, info.protocol};
    if (std::pair{key.ip_b, key.port_b} < std::pair{key.ip_a, key.port_a}) {
        std::swap(key.ip_a, key.ip_b);
        std::swap(key.port_a, key.port_b);
    }
    return key;
}

uint32_t ones_complement_sum(std::span<const uint8_t> data, uint32_t initial) {
    uint64_t sum = initial;
    size_t i = 0;
    for (; i + 1 < data.size(); i += 2) {
        sum += static_cast<uint32_t>((data[i] << 8) | data[i + 1]);
    }
    if (i < data.size()) {
        sum += static_cast<uint32_t>(data[i] << 8); // odd length: pad with a zero byte
    }
    while (sum >> 16) {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    return static_cast<uint32_t>(sum);
}

uint16_t internet_checksum(std::span<const uint8_t> data, uint32_t initial) {
    return static_cast<uint16_t>(~ones_complement_sum(data, initial) & 0xFFFF);
}

bool rewrite_tcp_port(std::span<uint8_t> frame, bool source, uint16_t port) {
    const PacketInfo in = parse_frame(frame);
    if (!in.ipv4 || in.protocol != static_cast<uint8_t>(IpProto::kTcp) || !in.has_ports)
        return false;
    const size_t tcp = in.ip_offset + in.ip_header_len;
    const size_t at = tcp + (source ? 0 : 2);
    const uint16_t old_port = source ? in.src_port : in.dst_port;
    const uint16_t old_sum = static_cast<uint16_t>((frame[tcp + 16] << 8) | frame[tcp + 17]);
    // RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m').
    uint32_t sum = static_cast<uint16_t>(~old_sum) + static_cast<uint16_t>(~old_port) + port;
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    const auto new_sum = static_cast<uint16_t>(~sum);
    frame[at] = static_cast<uint8_t>(port >> 8);
    frame[at + 1] = static_cast<uint8_t>(port & 0xFF);
    frame[tcp + 16] = static_cast<uint8_t>(new_sum >> 8);
    frame[tcp + 17] = static_cast<uint8_t>(new_sum & 0xFF);
    return true;
}

std::optional<std::vector<uint8_t>> build_tcp_rst(std::span<const uint8_t> segment) {
    const PacketInfo in = parse_frame(segment);
    if (!in.ipv4 || in.protocol != static_cast<uint8_t>(IpProto::kTcp) || !in.has_ports ||
        (in.tcp_flags & kTcpRst) != 0) {
        return std::nullopt;
    }
    constexpr size_t kIp = kEthHeaderLen;
    constexpr size_t kTcp = kIp + kIpv4MinHeader;
    std::vector<uint8_t> out(kTcp + kTcpMinHeader, 0);

    // Ethernet: back to where the segment came from.
    std::copy_n(segment.begin() + 6, 6, out.begin()); // dst = segment's src
    std::copy_n(segment.begin(), 6, out.begin() + 6); // src = segment's dst
    wr16(out, 12, kEtherTypeIpv4);

    out[kIp] = 0x45; // IPv4, 20-byte header
    wr16(out, kIp + 2, static_cast<uint16_t>(kIpv4MinHeader + kTcpMinHeader));
    wr16(out, kIp + 6, 0x4000); // DF, as stacks send RSTs
    out[kIp + 8] = 64;          // TTL
    out[kIp + 9] = static_cast<uint8_t>(IpProto::kTcp);
    wr32(out, kIp + 12, in.dst_ip);
    wr32(out, kIp + 16, in.src_ip);
    const std::span<const uint8_t> ip_hdr(out.data() + kIp, kIpv4MinHeader);
    wr16(out, kIp + 10, internet_checksum(ip_hdr));

    wr16(out, kTcp, in.dst_port);
    wr16(out, kTcp + 2, in.src_port);
    if ((in.tcp_flags & kTcpAck) != 0) {
        wr32(out, kTcp + 4, in.tcp_ack);
        out[kTcp + 13] = kTcpRst;
    } else {
        const uint32_t seg_len = static_cast<uint32_t>(in.tcp_payload_len) +
                                 ((in.tcp_flags & kTcpSyn) ? 1u : 0u) +
                                 ((in.tcp_flags & kTcpFin) ? 1u : 0u);
        wr32(out, kTcp + 4, 0);
        wr32(out, kTcp + 8, in.tcp_seq + seg_len);
        out[kTcp + 13] = kTcpRst | kTcpAck;
    }
    out[kTcp + 12] = 0x50; // data offset 5 words
    // Window 0, urgent 0 (already zero).

    // TCP checksum over the pseudo-header (src, dst, zero, protocol, TCP length) + segment.
    std::vector<uint8_t> pseudo(12, 0);
    wr32(pseudo, 0, in.dst_ip);
    wr32(pseudo, 4, in.src_ip);
    pseudo[9] = static_cast<uint8_t>(IpProto::kTcp);
    wr16(pseudo, 10, static_cast<uint16_t>(kTcpMinHeader));
    const uint32_t pseudo_sum = ones_complement_sum(pseudo);
    const std::span<const uint8_t> tcp_seg(out.data() + kTcp, kTcpMinHeader);
    wr16(out, kTcp + 16, internet_checksum(tcp_seg, pseudo_sum));
    return out;
}

} // namespace lwipsim::link
