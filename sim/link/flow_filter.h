#pragma once
// Which frames a fault applies to: an optional IPv4 5-tuple pattern. Every field left unset
// matches anything.
//
// A filter selects a conversation in both its halves: a frame matches if it matches as written
// (frame src against filter src) or with source and destination swapped. So `dst_port: 8883`
// catches the device's segments to the broker and the broker's answers, and the fault's own
// direction setting (up/down/both) is what narrows it to one half.

#include "sim/link/packet.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lwipsim::link {

struct FlowFilter {
    std::optional<uint32_t> src_ip; ///< host byte order
    std::optional<uint32_t> dst_ip;
    std::optional<uint16_t> src_port;
    std::optional<uint16_t> dst_port;
    std::optional<IpProto> protocol;

    /// True when no field is set (matches every frame, IP or not).
    [[nodiscard]] bool empty() const {
        return !src_ip && !dst_ip && !src_port && !dst_port && !protocol;
    }
    /// A non-empty filter never matches non-IPv4 frames; a port condition never matches a
    /// frame without ports (ICMP, fragments, truncated headers).
    [[nodiscard]] bool matches(const PacketInfo& info) const;
};

/// "10.0.0.1" -> 0x0A000001. Throws std::invalid_argument naming the text when malformed.
[[nodiscard]] uint32_t parse_ipv4(std::string_view text);
/// 0x0A000001 -> "10.0.0.1".
[[nodiscard]] std::string format_ipv4(uint32_t addr);
/// "tcp" / "udp" / "icmp" (case-sensitive). Throws std::invalid_argument otherwise.
[[nodiscard]] IpProto parse_protocol(std::string_view text);

} // namespace lwipsim::link
