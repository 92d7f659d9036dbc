#include "sim/link/flow_filter.h"

#include <charconv>
#include <stdexcept>

namespace lwipsim::link {

namespace {

template <class T> bool field_ok(const std::optional<T>& want, T have) {
    return !want || *want == have;
}

bool matches_oriented(const FlowFilter& f, uint32_t src_ip, uint32_t dst_ip, uint16_t src_port,
                      uint16_t dst_port) {
    return field_ok(f.src_ip, src_ip) && field_ok(f.dst_ip, dst_ip) &&
           field_ok(f.src_port, src_port) && field_ok(f.dst_port, dst_port);
}

} // namespace

bool FlowFilter::matches(const PacketInfo& info) const {
    if (empty()) {
        return true;
    }
    if (!info.ipv4) {
        return false;
    }
    if (protocol && static_cast<uint8_t>(*protocol) != info.protocol) {
        return false;
    }
    if ((src_port || dst_port) && !info.has_ports) {
        return false;
    }
    return matches_oriented(*this, info.src_ip, info.dst_ip, info.src_port, info.dst_port) ||
           matches_oriented(*this, info.dst_ip, info.src_ip, info.dst_port, info.src_port);
}

uint32_t parse_ipv4(std::string_view text) {
    uint32_t addr = 0;
    const char* p = text.data();
    const char* end = text.data() + text.size();
    for (int part = 0; part < 4; ++part) {
        if (part > 0) {
            if (p == end || *p != '.') {
                throw std::invalid_argument("not an IPv4 address: '" + std::string(text) + "'");
            }
            ++p;
        }
        unsigned value = 0;
        auto [next, ec] = std::from_chars(p, end, value);
        if (ec != std::errc{} || next == p || next - p > 3 || value > 255) {
            throw std::invalid_argument("not an IPv4 address: '" + std::string(text) + "'");
        }
        addr = (addr << 8) | value;
        p = next;
    }
    if (p != end) {
        throw std::invalid_argument("not an IPv4 address: '" + std::string(text) + "'");
    }
    return addr;
}

std::string format_ipv4(uint32_t addr) {
    return std::to_string(addr >> 24) + "." + std::to_string((addr >> 16) & 0xFF) + "." +
           std::to_string((addr >> 8) & 0xFF) + "." + std::to_string(addr & 0xFF);
}

IpProto parse_protocol(std::string_view text) {
    if (text == "tcp") {
        return IpProto::kTcp;
    }
    if (text == "udp") {
        return IpProto::kUdp;
    }
    if (text == "icmp") {
        return IpProto::kIcmp;
    }
    throw std::invalid_argument("unknown protocol '" + std::string(text) +
                                "' (expected tcp, udp or icmp)");
}

} // namespace lwipsim::link
