#pragma once
// Test helpers for the slirp gateway tests: a manual virtual clock, a frame collector, and
// hand-built Ethernet/ARP/IPv4/TCP/UDP frames (no lwIP). Checksums follow RFC 1071/793/768,
// and slirp verifies them, so a wrong builder fails the tests rather than hiding anything.

#include "sim/link/frame.h"
#include "sim/link/packet.h"

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace lwipsim::link::testing {

using Mac = std::array<uint8_t, 6>;
inline constexpr Mac kGuestMac{0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
inline constexpr Mac kBroadcastMac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
inline constexpr uint32_t kGuestIp = 0x0A00020F; // 10.0.2.15

/// link::Timer on a virtual clock the test moves by hand.
class ManualTimer final : public Timer {
  public:
    [[nodiscard]] clock::SimTime now() const override { return now_; }
    void at(clock::SimTime when, std::function<void()> fn) override {
        if (when < now_)
            when = now_;
        events_.emplace(std::pair{when, seq_++}, std::move(fn));
    }
    /// Runs every event due up to `until` in (time, call order), then sets now to `until`.
    void advance_to(clock::SimTime until) {
        while (!events_.empty() && events_.begin()->first.first <= until) {
            auto node = events_.extract(events_.begin());
            now_ = node.key().first;
            node.mapped()();
        }
        now_ = until;
    }
    void advance(clock::SimDuration d) { advance_to(now_ + d); }
    [[nodiscard]] size_t pending() const { return events_.size(); }

  private:
    clock::SimTime now_{};
    uint64_t seq_ = 0;
    std::map<std::pair<clock::SimTime, uint64_t>, std::function<void()>> events_;
};

class CollectSink final : public FrameSink {
  public:
    void deliver(Frame frame) override { frames.push_back(std::move(frame)); }
    std::vector<Frame> frames;
};

inline void put16(std::vector<uint8_t>& b, size_t at, uint16_t v) {
    b[at] = static_cast<uint8_t>(v >> 8);
    b[at + 1] = static_cast<uint8_t>(v);
}
inline void put32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
    for (size_t i = 0; i < 4; ++i)
        b[at + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}
inline uint16_t get16(const std::vector<uint8_t>& b, size_t at) {
    return static_cast<uint16_t>((b[at] << 8) | b[at + 1]);
}
inline uint32_t get32(const std::vector<uint8_t>& b, size_t at) {
    return (uint32_t{b[at]} << 24) | (uint32_t{b[at + 1]} << 16) | (uint32_t{b[at + 2]} << 8) |
           uint32_t{b[at + 3]};
}

inline std::vector<uint8_t> ethernet(const Mac& dst, const Mac& src, uint16_t type,
                                     const std::vector<uint8_t>& payload) {
    std::vector<uint8_t> f(14);
    std::copy(dst.begin(), dst.end(), f.begin());
    std::copy(src.begin(), src.end(), f.begin() + 6);
    put16(f, 12, type);
    f.insert(f.end(), payload.begin(), payload.end());
    return f;
}

/// ARP request (RFC 826) from the guest for `target_ip`.
inline std::vector<uint8_t> arp_request(uint32_t sender_ip, uint32_t target_ip) {
    std::vector<uint8_t> a(28, 0);
    put16(a, 0, 1);      // Ethernet
    put16(a, 2, 0x0800); // IPv4
    a[4] = 6;
    a[5] = 4;
    put16(a, 6, 1); // request
    std::copy(kGuestMac.begin(), kGuestMac.end(), a.begin() + 8);
    put32(a, 14, sender_ip);
    put32(a, 24, target_ip);
    return ethernet(kBroadcastMac, kGuestMac, 0x0806, a);
}

/// IPv4 header (RFC 791, no options) + payload, header checksum filled in.
inline std::vector<uint8_t> ipv4(uint32_t src, uint32_t dst, uint8_t proto,
                                 const std::vector<uint8_t>& l4) {
    std::vector<uint8_t> p(20, 0);
    p[0] = 0x45;
    put16(p, 2, static_cast<uint16_t>(20 + l4.size()));
    put16(p, 4, 0x1234);
    put16(p, 6, 0x4000); // DF
    p[8] = 64;
    p[9] = proto;
    put32(p, 12, src);
    put32(p, 16, dst);
    put16(p, 10, internet_checksum(p));
    p.insert(p.end(), l4.begin(), l4.end());
    return p;
}

inline uint32_t pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, size_t len) {
    std::vector<uint8_t> ph(12, 0);
    put32(ph, 0, src);
    put32(ph, 4, dst);
    ph[9] = proto;
    put16(ph, 10, static_cast<uint16_t>(len));
    return ones_complement_sum(ph);
}

struct TcpSeg {
    uint32_t src_ip = kGuestIp;
    uint32_t dst_ip = 0;
    uint16_t sport = 0;
    uint16_t dport = 0;
    uint32_t seq = 0;
    uint32_t ack = 0;
    uint8_t flags = 0;
    std::string payload;
};

inline std::vector<uint8_t> tcp_frame(const TcpSeg& s, const Mac& dst_mac) {
    std::vector<uint8_t> t(20, 0);
    put16(t, 0, s.sport);
    put16(t, 2, s.dport);
    put32(t, 4, s.seq);
    put32(t, 8, s.ack);
    t[12] = 5 << 4;
    t[13] = s.flags;
    put16(t, 14, 65535);
    t.insert(t.end(), s.payload.begin(), s.payload.end());
    put16(t, 16, internet_checksum(t, pseudo_sum(s.src_ip, s.dst_ip, 6, t.size())));
    return ethernet(dst_mac, kGuestMac, 0x0800, ipv4(s.src_ip, s.dst_ip, 6, t));
}

inline std::vector<uint8_t> udp_frame(uint32_t src_ip, uint32_t dst_ip, uint16_t sport,
                                      uint16_t dport, const std::vector<uint8_t>& payload,
                                      const Mac& dst_mac) {
    std::vector<uint8_t> u(8, 0);
    put16(u, 0, sport);
    put16(u, 2, dport);
    put16(u, 4, static_cast<uint16_t>(8 + payload.size()));
    u.insert(u.end(), payload.begin(), payload.end());
    put16(u, 6, internet_checksum(u, pseudo_sum(src_ip, dst_ip, 17, u.size())));
    return ethernet(dst_mac, kGuestMac, 0x0800, ipv4(src_ip, dst_ip, 17, u));
}

/// The TCP payload of a parsed frame (empty when none).
inline std::string tcp_payload(const Frame& f) {
    const PacketInfo p = parse_frame(f.bytes);
    if (!p.has_ports || p.tcp_payload_len == 0)
        return {};
    const size_t end = p.ip_offset + p.ip_total_len;
    return std::string(f.bytes.begin() + static_cast<long>(end - p.tcp_payload_len),
                       f.bytes.begin() + static_cast<long>(end));
}

/// True when the IPv4 header checksum and the TCP/UDP checksum of `f` verify (RFC 1071: the
/// one's-complement sum over a correct header, checksum included, is all ones).
inline bool checksums_ok(const Frame& f) {
    const PacketInfo p = parse_frame(f.bytes);
    if (!p.ipv4)
        return false;
    const std::span<const uint8_t> ip(f.bytes.data() + p.ip_offset, p.ip_header_len);
    if (internet_checksum(ip) != 0)
        return false;
    if (p.protocol != 6 && p.protocol != 17)
        return true;
    const size_t l4_len = p.ip_total_len - p.ip_header_len;
    const std::span<const uint8_t> l4(f.bytes.data() + p.ip_offset + p.ip_header_len, l4_len);
    if (p.protocol == 17 && get16(f.bytes, p.ip_offset + p.ip_header_len + 6) == 0)
        return true;
    return internet_checksum(l4, pseudo_sum(p.src_ip, p.dst_ip, p.protocol, l4_len)) == 0;
}

} // namespace lwipsim::link::testing
