#pragma once
// Test doubles for the link's unit tests: a manual event-queue Timer, a recording sink and a
// frame builder written independently of sim/link/packet.* (so tests do not check the parser
// with itself).

#include "sim/link/frame.h"

#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <utility>
#include <vector>

namespace lwipsim::link::test {

using clock::SimDuration;
using clock::SimTime;

inline SimTime at_ms(int64_t ms) {
    return SimTime{clock::from_ms(ms)};
}
inline SimTime at_ns(int64_t ns) {
    return SimTime{SimDuration(ns)};
}

/// Events ordered by (time, call order); time only moves forward when the test says so.
class ManualTimer final : public Timer {
  public:
    [[nodiscard]] SimTime now() const override { return now_; }
    void at(SimTime when, std::function<void()> fn) override {
        if (when < now_) {
            throw std::logic_error("ManualTimer: event scheduled in the past");
        }
        events_.emplace(std::pair{when, seq_++}, std::move(fn));
    }
    /// Runs every event due at or before `t`, then sets now = t.
    void advance_to(SimTime t) {
        while (!events_.empty() && events_.begin()->first.first <= t) {
            auto node = events_.extract(events_.begin());
            now_ = node.key().first;
            node.mapped()();
        }
        now_ = t;
    }
    void run_all() {
        while (!events_.empty()) {
            advance_to(events_.begin()->first.first);
        }
    }
    [[nodiscard]] size_t pending() const { return events_.size(); }

  private:
    SimTime now_{};
    uint64_t seq_ = 0;
    std::map<std::pair<SimTime, uint64_t>, std::function<void()>> events_;
};

/// Remembers every frame and when it arrived.
class RecordingSink final : public FrameSink {
  public:
    explicit RecordingSink(const Timer& timer) : timer_(timer) {}
    void deliver(Frame frame) override { got.push_back({timer_.now(), std::move(frame)}); }
    struct Got {
        SimTime at;
        Frame frame;
    };
    std::vector<Got> got;

  private:
    const Timer& timer_;
};

/// Ethernet II + IPv4 (20 bytes) + TCP (20 bytes) or UDP (8 bytes) + payload. Checksums are
/// left zero unless a test computes them itself.
struct FrameSpec {
    uint8_t src_mac[6] = {0x02, 0, 0, 0, 0, 0x01};
    uint8_t dst_mac[6] = {0x02, 0, 0, 0, 0, 0x02};
    uint32_t src_ip = 0x0A000002; // 10.0.0.2 (device)
    uint32_t dst_ip = 0x0A000001; // 10.0.0.1 (gateway)
    uint8_t protocol = 6;
    uint16_t src_port = 50000;
    uint16_t dst_port = 8883;
    uint32_t seq = 1000;
    uint32_t ack = 2000;
    uint8_t flags = 0x18; // PSH|ACK
    size_t payload = 0;
};

inline void put16(std::vector<uint8_t>& b, uint16_t v) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
}
inline void put32(std::vector<uint8_t>& b, uint32_t v) {
    put16(b, static_cast<uint16_t>(v >> 16));
    put16(b, static_cast<uint16_t>(v));
}

inline std::vector<uint8_t> build_frame(const FrameSpec& s) {
    std::vector<uint8_t> b;
    b.insert(b.end(), s.dst_mac, s.dst_mac + 6);
    b.insert(b.end(), s.src_mac, s.src_mac + 6);
    put16(b, 0x0800);
    const size_t l4 = s.protocol == 6 ? 20 : (s.protocol == 17 ? 8 : 8);
    put16(b, 0x4500);
    put16(b, static_cast<uint16_t>(20 + l4 + s.payload));
    put32(b, 0);                                           // id, flags, fragment offset
    put16(b, static_cast<uint16_t>(64 << 8 | s.protocol)); // TTL, protocol
    put16(b, 0);                                           // checksum
    put32(b, s.src_ip);
    put32(b, s.dst_ip);
    if (s.protocol == 6) {
        put16(b, s.src_port);
        put16(b, s.dst_port);
        put32(b, s.seq);
        put32(b, s.ack);
        b.push_back(0x50);
        b.push_back(s.flags);
        put16(b, 5744); // window
        put32(b, 0);    // checksum, urgent
    } else if (s.protocol == 17) {
        put16(b, s.src_port);
        put16(b, s.dst_port);
        put16(b, static_cast<uint16_t>(8 + s.payload));
        put16(b, 0);
    } else {
        put32(b, 0x08000000); // ICMP echo request header
        put32(b, 0);
    }
    for (size_t i = 0; i < s.payload; ++i) {
        b.push_back(static_cast<uint8_t>(i));
    }
    return b;
}

inline Frame make_frame(const FrameSpec& s, Direction d, uint64_t id) {
    return Frame{build_frame(s), d, id, SimTime{}};
}

} // namespace lwipsim::link::test
