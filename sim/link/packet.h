#pragma once
// Reading and writing the headers the link's faults care about: Ethernet II, IPv4, TCP, UDP.
// Parsing never trusts the frame: short, truncated, non-IPv4 or fragmented frames simply yield
// less information (no ports, or no IPv4 at all), never a crash or an out-of-bounds read.

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace lwipsim::link {

inline constexpr size_t kEthHeaderLen = 14;
inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeArp = 0x0806;

enum class IpProto : uint8_t {
    kIcmp = 1,
    kTcp = 6,
    kUdp = 17,
};

/// TCP flag bits as in the header's 13th byte.
enum TcpFlag : uint8_t {
    kTcpFin = 0x01,
    kTcpSyn = 0x02,
    kTcpRst = 0x04,
    kTcpPsh = 0x08,
    kTcpAck = 0x10,
};

/// What parse_frame() could read. Addresses are in host byte order (10.0.0.1 = 0x0A000001).
struct PacketInfo {
    uint16_t ethertype = 0;
    bool ipv4 = false; ///< a complete IPv4 header is present
    uint32_t src_ip = 0;
    uint32_t dst_ip = 0;
    uint8_t protocol = 0;     ///< IPv4 protocol number (valid when ipv4)
    size_t ip_offset = 0;     ///< where the IPv4 header starts in the frame
    size_t ip_header_len = 0; ///< IHL * 4
    size_t ip_total_len = 0;  ///< IPv4 total length, clamped to what the frame holds
    bool has_ports = false;   ///< first fragment of TCP/UDP with a complete L4 header
    uint16_t src_port = 0;
    uint16_t dst_port = 0;
    // TCP only (valid when protocol == 6 and has_ports):
    uint32_t tcp_seq = 0;
    uint32_t tcp_ack = 0;
    uint8_t tcp_flags = 0;
    size_t tcp_payload_len = 0;
};

/// Never fails: returns what it could read (ethertype 0 for frames shorter than 14 bytes).
[[nodiscard]] PacketInfo parse_frame(std::span<const uint8_t> frame);

/// A TCP or UDP conversation regardless of direction: the two endpoints are stored in a fixed
/// (sorted) order so A->B and B->A give the same key.
struct FlowKey {
    uint32_t ip_a = 0;
    uint32_t ip_b = 0;
    uint16_t port_a = 0;
    uint16_t port_b = 0;
    uint8_t protocol = 0;
    auto operator<=>(const FlowKey&) const = default;
};

/// The direction-independent 5-tuple, or nothing when the frame is not TCP/UDP with ports.
[[nodiscard]] std::optional<FlowKey> flow_key(const PacketInfo& info);

/// RFC 1071 one's-complement sum of `data`, folded to 16 bits but not inverted, starting from
/// `initial` (so pseudo-header and segment sums can be chained).
[[nodiscard]] uint32_t ones_complement_sum(std::span<const uint8_t> data, uint32_t initial = 0);
/// The Internet checksum (inverted folded sum) to store in a header.
[[nodiscard]] uint16_t internet_checksum(std::span<const uint8_t> data, uint32_t initial = 0);

/// Builds the RST a middlebox would send back to the sender of `segment` (an Ethernet/IPv4/TCP
/// frame): MACs, addresses and ports swapped, checksums correct. Per RFC 793 "Reset
/// Generation": if the segment carries an ACK, the RST has seq = its ack number and only RST
/// set; otherwise seq = 0, ack = its seq + its length (SYN and FIN count one), flags RST|ACK.
/// Returns nothing for frames that are not a complete TCP segment or that are themselves RSTs
/// (a RST is never answered with a RST).
[[nodiscard]] std::optional<std::vector<uint8_t>> build_tcp_rst(std::span<const uint8_t> segment);

/// Replaces the source (`source`) or destination TCP port of a complete first-fragment TCP
/// segment in an Ethernet/IPv4 frame and updates its checksum incrementally (RFC 1624, so a
/// segment whose checksum was wrong stays wrong by the same amount). Returns false, leaving the
/// frame untouched, when it is not such a segment.
bool rewrite_tcp_port(std::span<uint8_t> frame, bool source, uint16_t port);

} // namespace lwipsim::link
