#pragma once
// A scripted far end for device tests: at 10.0.2.2 on the simulated Ethernet it answers ARP and,
// as its Behaviour says, a TCP handshake, data, the device's FIN; the test can make it send a
// FIN or a RST. It keeps the sequence numbers of one connection (the latest SYN), so what it
// sends is acceptable to lwIP. Replies reach the device 1 ms later (a scheduler event).
// Header-only, for device processes (tests/support/device_process.h).

#include "sim/clock/scheduler.h"
#include "sim/link/packet.h"
#include "sim/port/lwip/device_stack.h"

#include <cstring>
#include <functional>
#include <optional>
#include <span>
#include <vector>

namespace lwipsim::testing {

class TcpPeer final : public link::FrameSink {
  public:
    static constexpr uint8_t kMac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
    static constexpr uint8_t kIp[4] = {10, 0, 2, 2};

    struct Behaviour {
        bool answer_syn = true;  ///< SYN -> SYN|ACK; else the SYN goes unanswered
        bool ack_data = false;   ///< ACK every data segment; else data stays unacked
        bool ack_fin = false;    ///< ACK the device's FIN
        bool answer_fin = false; ///< with ack_fin: send our own FIN in the same segment
    };
    struct Seen {
        double at_s;
        link::PacketInfo info;
    };

    explicit TcpPeer(Behaviour b) : behaviour_(b) {}
    void attach(port::LinkNetif* netif) { netif_ = netif; }
    /// Called for every TCP segment the device sends (e.g. to feed a probe's RST watch).
    std::function<void(const link::PacketInfo&)> on_device_segment;

    void deliver(link::Frame frame) override {
        const auto& b = frame.bytes;
        const link::PacketInfo in = link::parse_frame(b);
        if (in.ethertype == link::kEtherTypeArp && b.size() >= 42 &&
            std::memcmp(&b[38], kIp, 4) == 0) {
            reply_arp(b);
            return;
        }
        if (!in.ipv4 || in.protocol != static_cast<uint8_t>(link::IpProto::kTcp) || !in.has_ports)
            return;
        seen.push_back({clock::Scheduler::current().now().seconds(), in});
        if (on_device_segment)
            on_device_segment(in);
        react(b, in);
    }

    /// Our FIN (we close first, or close after the device's FIN was acked).
    void send_fin() {
        send(link::kTcpFin | link::kTcpAck);
        ++snd_nxt_;
    }
    /// A RST with an in-window sequence number: lwIP accepts it (tcp_process, RST check).
    void send_rst() { send(link::kTcpRst | link::kTcpAck); }

    [[nodiscard]] int count(uint8_t flag) const {
        int n = 0;
        for (const auto& s : seen)
            n += (s.info.tcp_flags & flag) != 0 ? 1 : 0;
        return n;
    }
    [[nodiscard]] std::optional<double> first(uint8_t flag) const {
        for (const auto& s : seen)
            if ((s.info.tcp_flags & flag) != 0)
                return s.at_s;
        return std::nullopt;
    }
    /// When the device last received a segment from us (virtual seconds).
    [[nodiscard]] std::optional<double> last_delivered_at() const { return last_delivered_at_; }

    std::vector<Seen> seen; ///< every TCP segment the device sent, in order

  private:
    void react(const std::vector<uint8_t>& b, const link::PacketInfo& in) {
        const bool syn = (in.tcp_flags & link::kTcpSyn) != 0;
        const bool fin = (in.tcp_flags & link::kTcpFin) != 0;
        if (syn && (in.tcp_flags & link::kTcpAck) == 0) {
            if (!behaviour_.answer_syn)
                return;
            std::memcpy(device_mac_, &b[6], 6);
            device_ip_ = in.src_ip;
            device_port_ = in.src_port;
            port_ = in.dst_port;
            rcv_nxt_ = in.tcp_seq + 1;
            snd_nxt_ = kIss;
            send(link::kTcpSyn | link::kTcpAck);
            snd_nxt_ = kIss + 1;
            return;
        }
        if (in.src_port != device_port_)
            return;
        if (in.tcp_payload_len > 0 && behaviour_.ack_data && in.tcp_seq == rcv_nxt_) {
            rcv_nxt_ += static_cast<uint32_t>(in.tcp_payload_len);
            if (!fin)
                send(link::kTcpAck);
        }
        if (fin && behaviour_.ack_fin) {
            rcv_nxt_ = in.tcp_seq + static_cast<uint32_t>(in.tcp_payload_len) + 1;
            if (behaviour_.answer_fin) {
                send_fin();
            } else {
                send(link::kTcpAck);
            }
        }
    }

    void reply_arp(const std::vector<uint8_t>& req) {
        std::vector<uint8_t> r(42);
        std::memcpy(&r[0], &req[6], 6); // to the asker
        std::memcpy(&r[6], kMac, 6);
        put16(r, 12, link::kEtherTypeArp);
        put16(r, 14, 1);                    // Ethernet
        put16(r, 16, link::kEtherTypeIpv4); // IPv4
        r[18] = 6;
        r[19] = 4;
        put16(r, 20, 2); // reply
        std::memcpy(&r[22], kMac, 6);
        std::memcpy(&r[28], kIp, 4);
        std::memcpy(&r[32], &req[22], 10); // asker's MAC and IP
        send_down(std::move(r));
    }

    // One segment of our connection with the device, without payload.
    void send(uint8_t flags) {
        constexpr size_t kIpAt = link::kEthHeaderLen, kTcpAt = kIpAt + 20;
        std::vector<uint8_t> r(kTcpAt + 20, 0);
        std::memcpy(&r[0], device_mac_, 6);
        std::memcpy(&r[6], kMac, 6);
        put16(r, 12, link::kEtherTypeIpv4);
        r[kIpAt] = 0x45;
        put16(r, kIpAt + 2, 40); // total length
        r[kIpAt + 8] = 64;       // TTL
        r[kIpAt + 9] = static_cast<uint8_t>(link::IpProto::kTcp);
        std::memcpy(&r[kIpAt + 12], kIp, 4);
        put32(r, kIpAt + 16, device_ip_);
        put16(r, kIpAt + 10, link::internet_checksum(std::span(r).subspan(kIpAt, 20)));
        put16(r, kTcpAt, port_);
        put16(r, kTcpAt + 2, device_port_);
        put32(r, kTcpAt + 4, snd_nxt_);
        put32(r, kTcpAt + 8, rcv_nxt_);
        r[kTcpAt + 12] = 5 << 4;
        r[kTcpAt + 13] = flags;
        put16(r, kTcpAt + 14, 8192); // window
        // Pseudo header: addresses, protocol, TCP length.
        uint32_t pseudo = link::ones_complement_sum(std::span(r).subspan(kIpAt + 12, 8)) + 6 + 20;
        put16(r, kTcpAt + 16, link::internet_checksum(std::span(r).subspan(kTcpAt, 20), pseudo));
        send_down(std::move(r));
    }

    void send_down(std::vector<uint8_t> bytes) {
        clock::Scheduler::current().after(clock::from_ms(1), [this, bytes = std::move(bytes)] {
            last_delivered_at_ = clock::Scheduler::current().now().seconds();
            link::Frame f;
            f.bytes = bytes;
            f.direction = link::Direction::kDown;
            netif_->deliver(std::move(f));
        });
    }

    static void put16(std::vector<uint8_t>& b, size_t at, uint32_t v) {
        b[at] = static_cast<uint8_t>(v >> 8);
        b[at + 1] = static_cast<uint8_t>(v);
    }
    static void put32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
        put16(b, at, v >> 16);
        put16(b, at + 2, v & 0xffff);
    }

    static constexpr uint32_t kIss = 1000;
    Behaviour behaviour_;
    port::LinkNetif* netif_ = nullptr;
    uint8_t device_mac_[6] = {};
    uint32_t device_ip_ = 0;
    uint16_t device_port_ = 0, port_ = 0;
    uint32_t snd_nxt_ = 0, rcv_nxt_ = 0;
    std::optional<double> last_delivered_at_;
};

} // namespace lwipsim::testing
