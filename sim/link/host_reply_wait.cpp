#include "sim/link/host_reply_wait.h"

#include "sim/link/packet.h"

#include <optional>

namespace lwipsim::link {

namespace {
constexpr uint32_t kAwaitArp = 0x10000; // keys beyond the TCP port range
constexpr uint32_t kAwaitEcho = 0x10001;
constexpr uint8_t kArpRequest = 1, kArpReply = 2, kEchoRequest = 8, kEchoReply = 0;

std::optional<uint32_t> arp_key(std::span<const uint8_t> f, uint8_t opcode) {
    return f.size() >= 22 && f[20] == 0 && f[21] == opcode ? std::optional(kAwaitArp)
                                                           : std::nullopt;
}

std::optional<uint32_t> echo_key(std::span<const uint8_t> f, const PacketInfo& p, uint8_t type) {
    const size_t icmp = p.ip_offset + p.ip_header_len;
    return icmp < f.size() && f[icmp] == type ? std::optional(kAwaitEcho) : std::nullopt;
}

bool is_tcp(const PacketInfo& p) {
    return p.ipv4 && p.protocol == static_cast<uint8_t>(IpProto::kTcp) && p.has_ports;
}
bool is_icmp(const PacketInfo& p) {
    return p.ipv4 && p.protocol == static_cast<uint8_t>(IpProto::kIcmp);
}

std::optional<uint32_t> request_key(std::span<const uint8_t> f) {
    const PacketInfo p = parse_frame(f);
    if (p.ethertype == kEtherTypeArp)
        return arp_key(f, kArpRequest);
    if (is_icmp(p))
        return echo_key(f, p, kEchoRequest);
    if (is_tcp(p) && (p.tcp_flags & kTcpRst) == 0 &&
        (p.tcp_payload_len > 0 || (p.tcp_flags & (kTcpSyn | kTcpFin)) != 0)) {
        return p.src_port;
    }
    return std::nullopt;
}

std::optional<uint32_t> answer_key(std::span<const uint8_t> f) {
    const PacketInfo p = parse_frame(f);
    if (p.ethertype == kEtherTypeArp)
        return arp_key(f, kArpReply);
    if (is_icmp(p))
        return echo_key(f, p, kEchoReply);
    if (is_tcp(p) &&
        (p.tcp_payload_len > 0 || (p.tcp_flags & (kTcpSyn | kTcpFin | kTcpRst)) != 0)) {
        return p.dst_port;
    }
    return std::nullopt;
}
} // namespace

void HostReplyWait::on_request(std::span<const uint8_t> frame, clock::SimTime now) {
    // Requests from earlier instants can no longer hold time; dropping them keeps the map small.
    std::erase_if(waiting_, [now](const auto& kv) { return kv.second != now; });
    if (const auto key = request_key(frame))
        waiting_[*key] = now;
}

void HostReplyWait::on_answer(std::span<const uint8_t> frame) {
    if (const auto key = answer_key(frame))
        waiting_.erase(*key);
}

bool HostReplyWait::pending(clock::SimTime now) const {
    for (const auto& [key, since] : waiting_) {
        if (since == now)
            return true;
    }
    return false;
}

} // namespace lwipsim::link
