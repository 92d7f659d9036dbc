// Each fault piece on its own, between two recording sinks, with a manual timer.
#include "sim/link/link_builder.h"
#include "tests/unit/link_test_support.h"

#include <gtest/gtest.h>

#include <cmath>

namespace lwipsim::link {
namespace {

using namespace test;

struct Rig {
    ManualTimer timer;
    MemoryAuditLog audit;
    FrameIds ids;
    RecordingSink to_net{timer};
    RecordingSink to_dev{timer};
    std::vector<bool> link_changes;
    std::unique_ptr<Fault> fault;

    explicit Rig(const FaultSpec& spec, uint64_t seed = 1) {
        LinkHooks hooks{[this](bool up) { link_changes.push_back(up); }};
        fault = make_fault(spec, 0, seed, LinkContext{timer, audit, ids}, hooks);
        fault->set_next(Direction::kUp, &to_net);
        fault->set_next(Direction::kDown, &to_dev);
        fault->arm();
    }
    void send(const FrameSpec& s, Direction d = Direction::kUp) {
        fault->deliver(Frame{build_frame(s), d, ids.next(), timer.now()});
    }
    void send_at(SimTime t, const FrameSpec& s, Direction d = Direction::kUp) {
        timer.advance_to(t);
        send(s, d);
    }
};

FaultSpec spec(std::string type, std::map<std::string, double> params = {}) {
    FaultSpec s;
    s.type = std::move(type);
    s.name = s.type;
    s.params = std::move(params);
    return s;
}

TEST(LinkFaults, BlackholeWindowEdgesAreExact) {
    FaultSpec s = spec("blackhole");
    s.start = at_ms(1000);
    s.duration = clock::from_ms(500);
    Rig rig(s);
    rig.send_at(at_ns(1'000'000'000 - 1), {}); // id 1: passes
    rig.send_at(at_ms(1000), {});              // id 2: dropped
    rig.send_at(at_ns(1'500'000'000 - 1), {}); // id 3: dropped
    rig.send_at(at_ms(1500), {});              // id 4: passes
    ASSERT_EQ(rig.to_net.got.size(), 2u);
    EXPECT_EQ(rig.to_net.got[0].frame.id, 1u);
    EXPECT_EQ(rig.to_net.got[1].frame.id, 4u);
    ASSERT_EQ(rig.audit.entries().size(), 2u);
    EXPECT_EQ(rig.audit.entries()[0].frame_id, 2u);
    EXPECT_EQ(rig.audit.entries()[0].at, at_ms(1000));
    EXPECT_EQ(rig.audit.entries()[0].piece, "blackhole");
    EXPECT_EQ(rig.audit.entries()[0].action, AuditAction::kDropped);
}

TEST(LinkFaults, DirectionAndFilterSelectFrames) {
    FaultSpec s = spec("blackhole");
    s.direction = FaultDirection::kUp;
    s.filter.dst_port = 8883;
    Rig rig(s);
    FrameSpec mqtt;
    FrameSpec dns;
    dns.protocol = 17;
    dns.dst_port = 53;
    rig.send(mqtt);                   // up, matching: dropped
    rig.send(dns);                    // up, not matching: passes
    rig.send(mqtt, Direction::kDown); // down: the fault is up-only
    EXPECT_EQ(rig.to_net.got.size(), 1u);
    EXPECT_EQ(rig.to_dev.got.size(), 1u);
    EXPECT_EQ(rig.audit.entries().size(), 1u);
}

TEST(LinkFaults, RepeatingBlackhole) {
    FaultSpec s = spec("blackhole");
    s.start = at_ms(100);
    s.duration = clock::from_ms(10);
    s.repeat = clock::from_ms(100);
    Rig rig(s);
    // One frame per ms for 1 s: windows [100,110), [200,210) ... [900,910) = 9 windows * 10.
    for (int ms = 0; ms < 1000; ++ms) {
        rig.send_at(at_ms(ms), {});
    }
    EXPECT_EQ(rig.audit.entries().size(), 90u);
    EXPECT_EQ(rig.to_net.got.size(), 910u);
    EXPECT_EQ(rig.audit.entries().front().at, at_ms(100));
    EXPECT_EQ(rig.audit.entries().back().at, at_ms(909));
}

TEST(LinkFaults, NatResetKillsOldFlowsForGoodAndLetsNewOnesPass) {
    FaultSpec s = spec("nat_reset");
    s.start = at_ms(1000);
    s.duration = clock::from_ms(1000);
    Rig rig(s);
    FrameSpec old_flow; // 50000 -> 8883
    FrameSpec old_reply = old_flow;
    std::swap(old_reply.src_ip, old_reply.dst_ip);
    std::swap(old_reply.src_port, old_reply.dst_port);
    FrameSpec new_flow = old_flow;
    new_flow.src_port = 50001;

    rig.send_at(at_ms(500), old_flow);                     // passes, flow recorded
    rig.send_at(at_ms(600), old_reply, Direction::kDown);  // passes
    rig.send_at(at_ms(1200), new_flow);                    // active: dropped
    rig.send_at(at_ms(1300), old_flow);                    // active: dropped
    rig.send_at(at_ms(2000), old_flow);                    // ended, but stale: dropped
    rig.send_at(at_ms(2100), old_reply, Direction::kDown); // stale either way: dropped
    rig.send_at(at_ms(2200), new_flow);                    // new after end: passes
    rig.send_at(at_ms(9000), new_flow);                    // still passes
    rig.send_at(at_ms(9000), old_flow);                    // still dead

    EXPECT_EQ(rig.to_net.got.size(), 3u);
    EXPECT_EQ(rig.to_dev.got.size(), 1u);
    std::vector<std::string> reasons;
    for (const auto& e : rig.audit.entries()) {
        reasons.push_back(e.reason);
    }
    EXPECT_EQ(reasons, (std::vector<std::string>{"nat_reset", "nat_reset", "nat_reset_stale_flow",
                                                 "nat_reset_stale_flow", "nat_reset_stale_flow"}));
}

TEST(LinkFaults, RepeatingNatResetKillsFlowsOfEachEpoch) {
    FaultSpec s = spec("nat_reset");
    s.start = at_ms(1000);
    s.duration = clock::from_ms(100);
    s.repeat = clock::from_ms(1000);
    Rig rig(s);
    FrameSpec f;
    rig.send_at(at_ms(1500), f); // first seen between windows 1 and 2: passes
    rig.send_at(at_ms(1900), f); // passes
    rig.send_at(at_ms(2500), f); // window 2 started at 2000 after it was first seen: dead
    EXPECT_EQ(rig.to_net.got.size(), 2u);
}

TEST(LinkFaults, BernoulliLossRateWithinBinomialBound) {
    constexpr int kN = 100'000;
    constexpr double kP = 0.1;
    Rig rig(spec("loss", {{"p", kP}}), 42);
    for (int i = 0; i < kN; ++i) {
        rig.send({});
    }
    const double dropped = static_cast<double>(rig.audit.entries().size());
    // Binomial(n, p): sd = sqrt(n p (1-p)) = 94.9; allow 5 sd.
    const double sd = std::sqrt(kN * kP * (1 - kP));
    EXPECT_NEAR(dropped, kN * kP, 5 * sd);
    EXPECT_EQ(rig.audit.entries().size() + rig.to_net.got.size(), static_cast<size_t>(kN));
}

struct GeResult {
    double loss_rate;
    double mean_burst;
};

GeResult run_ge(double p, double r, double k, double h, int n, uint64_t seed) {
    Rig rig(spec("burst_loss", {{"p", p}, {"r", r}, {"k", k}, {"h", h}}), seed);
    std::vector<bool> lost;
    lost.reserve(static_cast<size_t>(n));
    size_t seen = 0;
    for (int i = 0; i < n; ++i) {
        rig.send({});
        const bool l = rig.audit.entries().size() > seen;
        seen = rig.audit.entries().size();
        lost.push_back(l);
    }
    size_t losses = 0;
    size_t bursts = 0;
    for (size_t i = 0; i < lost.size(); ++i) {
        losses += lost[i];
        bursts += lost[i] && (i == 0 || !lost[i - 1]);
    }
    return {static_cast<double>(losses) / n,
            bursts ? static_cast<double>(losses) / static_cast<double>(bursts) : 0.0};
}

TEST(LinkFaults, GilbertElliottBurstLengthAndStationaryLoss) {
    // k = 1, h = 0: a frame is lost exactly when the chain is in the bad state, so loss bursts
    // are bad-state sojourns: geometric with mean 1/r = 4; stationary loss p/(p+r) = 1/6.
    // Bounds: ~5 standard errors (burst-length sd 3.5 over ~8300 bursts; loss-rate sd
    // inflated by the chain's correlation (1+0.7)/(1-0.7)).
    const double p = 0.05;
    const double r = 0.25;
    const GeResult g = run_ge(p, r, 1.0, 0.0, 200'000, 3);
    EXPECT_NEAR(g.mean_burst, 1.0 / r, 0.2);
    EXPECT_NEAR(g.loss_rate, p / (p + r), 0.01);
}

TEST(LinkFaults, GilbertElliottGeneralStationaryLoss) {
    const double p = 0.05, r = 0.25, k = 0.99, h = 0.3;
    const double expected = p / (p + r) * (1 - h) + r / (p + r) * (1 - k); // = 0.125
    const GeResult g = run_ge(p, r, k, h, 200'000, 5);
    EXPECT_NEAR(g.loss_rate, expected, 0.01);
}

std::vector<uint64_t> dropped_ids(uint64_t seed) {
    Rig rig(spec("loss", {{"p", 0.3}}), seed);
    for (int i = 0; i < 2000; ++i) {
        rig.send({});
    }
    std::vector<uint64_t> ids;
    for (const auto& e : rig.audit.entries()) {
        ids.push_back(e.frame_id);
    }
    return ids;
}

TEST(LinkFaults, SameSeedSameDecisionsDifferentSeedDifferent) {
    EXPECT_EQ(dropped_ids(11), dropped_ids(11));
    EXPECT_NE(dropped_ids(11), dropped_ids(12));
    // The fault's name feeds the seed too: two faults in one scenario differ.
    EXPECT_NE(derive_seed(11, "a"), derive_seed(11, "b"));
}

// Rng::below's 64x64 -> high 64 multiply is built from 32-bit halves so that the 32-bit device
// build (no __int128) draws the same numbers: here it must equal the compiler's 128-bit product.
TEST(LinkFaults, MulHighMatchesThe128BitProduct) {
    Rng draws(99);
    const uint64_t edges[] = {0, 1, 0xFFFFFFFFu, 0x100000000ULL, ~0ULL, ~0ULL - 1};
    auto wide = [](uint64_t a, uint64_t b) {
        return static_cast<uint64_t>((static_cast<unsigned __int128>(a) * b) >> 64);
    };
    for (uint64_t a : edges)
        for (uint64_t b : edges)
            EXPECT_EQ(Rng::mul_high(a, b), wide(a, b)) << a << " * " << b;
    for (int i = 0; i < 100000; ++i) {
        const uint64_t a = draws.next_u64(), b = draws.next_u64();
        ASSERT_EQ(Rng::mul_high(a, b), wide(a, b)) << a << " * " << b;
    }
}

TEST(LinkFaults, DelayWithJitterStaysInRange) {
    Rig rig(spec("delay", {{"delay_ms", 100}, {"jitter_ms", 20}}), 9);
    for (int i = 0; i < 1000; ++i) {
        rig.send({});
    }
    rig.timer.run_all();
    ASSERT_EQ(rig.to_net.got.size(), 1000u);
    bool reordered = false;
    for (size_t i = 0; i < rig.to_net.got.size(); ++i) {
        EXPECT_GE(rig.to_net.got[i].at, at_ms(100));
        EXPECT_LT(rig.to_net.got[i].at, at_ms(120));
        reordered =
            reordered || (i > 0 && rig.to_net.got[i].frame.id < rig.to_net.got[i - 1].frame.id);
    }
    // All sent at t=0 with independent jitter: arrival order is shuffled.
    EXPECT_TRUE(reordered);
    EXPECT_EQ(rig.audit.entries().size(), 1000u);
    EXPECT_EQ(rig.audit.entries()[0].action, AuditAction::kDelayed);
}

TEST(LinkFaults, FixedDelayInMillisecondsIsExactInNanoseconds) {
    // 0.3 ms is not exact in binary floating point; the link must still use 300000 ns.
    Rig rig(spec("delay", {{"delay_ms", 0.3}}));
    rig.send({});
    rig.timer.run_all();
    ASSERT_EQ(rig.to_net.got.size(), 1u);
    EXPECT_EQ(rig.to_net.got[0].at, at_ns(300'000));
}

TEST(LinkFaults, RateLimitSerializesWhileActive) {
    FaultSpec s = spec("rate", {{"rate_bps", 1e6}, {"queue_frames", 2}});
    s.duration = clock::from_ms(1000);
    Rig rig(s);
    FrameSpec big;
    big.payload = 1500 - 54; // 1500-byte frame: 12 ms at 1 Mbit/s
    rig.send(big);
    rig.send(big);
    rig.send(big); // third exceeds the 2-frame queue
    rig.timer.run_all();
    ASSERT_EQ(rig.to_net.got.size(), 2u);
    EXPECT_EQ(rig.to_net.got[0].at, at_ms(12));
    EXPECT_EQ(rig.to_net.got[1].at, at_ms(24));
    EXPECT_EQ(rig.audit.entries().back().reason, "queue_full");
}

TEST(LinkFaults, ReorderHoldsFramesBackSoLaterOnesOvertake) {
    Rig rig(spec("reorder", {{"p", 1.0}, {"delay_ms", 5}}));
    rig.send({}); // held until 5 ms
    rig.timer.run_all();
    ASSERT_EQ(rig.to_net.got.size(), 1u);
    EXPECT_EQ(rig.to_net.got[0].at, at_ms(5));

    Rig half(spec("reorder", {{"p", 0.5}, {"delay_ms", 5}}), 4);
    for (int i = 0; i < 100; ++i) {
        half.send({});
    }
    const size_t immediate = half.to_net.got.size();
    half.timer.run_all();
    ASSERT_EQ(half.to_net.got.size(), 100u);
    EXPECT_GT(immediate, 20u); // Binomial(100, 0.5): far outside 20..80 is a bug
    EXPECT_LT(immediate, 80u);
    EXPECT_EQ(half.audit.entries().size(), 100u - immediate);
}

TEST(LinkFaults, DuplicateSendsTwiceWithSameId) {
    Rig rig(spec("duplicate", {{"p", 1.0}}));
    rig.send({});
    ASSERT_EQ(rig.to_net.got.size(), 2u);
    EXPECT_EQ(rig.to_net.got[0].frame.id, rig.to_net.got[1].frame.id);
    EXPECT_EQ(rig.to_net.got[0].frame.bytes, rig.to_net.got[1].frame.bytes);
    EXPECT_EQ(rig.audit.entries()[0].action, AuditAction::kDuplicated);
}

TEST(LinkFaults, CorruptFlipsExactlyOneBitPastEthernet) {
    Rig rig(spec("corrupt", {{"p", 1.0}}), 77);
    FrameSpec s;
    s.payload = 100;
    const auto original = build_frame(s);
    for (int i = 0; i < 200; ++i) {
        rig.send(s);
    }
    ASSERT_EQ(rig.to_net.got.size(), 200u);
    for (const auto& g : rig.to_net.got) {
        int flipped = 0;
        for (size_t b = 0; b < original.size(); ++b) {
            const int diff = __builtin_popcount(original[b] ^ g.frame.bytes[b]);
            flipped += diff;
            if (b < 14) {
                EXPECT_EQ(diff, 0);
            }
        }
        EXPECT_EQ(flipped, 1);
    }
    // A frame with nothing past the Ethernet header passes unchanged.
    rig.fault->deliver(Frame{std::vector<uint8_t>(14, 1), Direction::kUp, 999, {}});
    EXPECT_EQ(rig.to_net.got.back().frame.bytes, std::vector<uint8_t>(14, 1));
}

TEST(LinkFaults, LinkDownCallsBackAndDropsBothDirections) {
    FaultSpec s = spec("link_down");
    s.start = at_ms(100);
    s.duration = clock::from_ms(50);
    s.repeat = clock::from_ms(1000);
    Rig rig(s);
    rig.timer.advance_to(at_ms(99));
    EXPECT_TRUE(rig.link_changes.empty());
    rig.send_at(at_ms(120), {});
    rig.send_at(at_ms(130), {}, Direction::kDown);
    rig.send_at(at_ms(150), {});
    rig.timer.advance_to(at_ms(1150));
    EXPECT_EQ(rig.link_changes, (std::vector<bool>{false, true, false, true}));
    EXPECT_EQ(rig.audit.entries().size(), 2u);
    EXPECT_EQ(rig.to_net.got.size(), 1u);
}

// A reset is an instant: the flows seen before it get a RST then, and nothing else does.
TEST(LinkFaults, ResetHitsOnlyTheFlowsThatExistAtItsInstant) {
    FaultSpec s = spec("reset");
    s.start = at_ms(1000);
    s.filter.dst_port = 8883;
    Rig rig(s);
    FrameSpec a_up; // flow A: device 50000 -> 8883, acknowledging 2000
    FrameSpec a_down;
    a_down.src_ip = a_up.dst_ip;
    a_down.dst_ip = a_up.src_ip;
    a_down.src_port = 8883;
    a_down.dst_port = 50000;
    a_down.seq = 2000;
    a_down.payload = 100; // the device expects 2100 next
    rig.send_at(at_ms(0), a_up);
    rig.send_at(at_ms(500), a_down, Direction::kDown);
    rig.timer.advance_to(at_ms(1000));
    ASSERT_EQ(rig.to_dev.got.size(), 2u); // a_down, then the RST
    const auto& rst = rig.to_dev.got[1];
    EXPECT_EQ(rst.at, at_ms(1000));
    EXPECT_EQ(rst.frame.created_at, at_ms(1000));
    PacketInfo i = parse_frame(rst.frame.bytes);
    EXPECT_EQ(i.tcp_flags, kTcpRst);
    EXPECT_EQ(i.tcp_seq, 2100u); // 2000 + 100 payload, past the device's ack of 2000
    EXPECT_EQ(i.src_port, 8883);
    EXPECT_EQ(i.dst_port, 50000);

    // A connection made after the instant passes, SYN and data alike.
    FrameSpec b_syn;
    b_syn.src_port = 50001;
    b_syn.flags = kTcpSyn;
    FrameSpec b_data = b_syn;
    b_data.flags = kTcpAck | kTcpPsh;
    rig.send_at(at_ms(2000), b_syn);
    rig.send_at(at_ms(2100), b_data);
    EXPECT_EQ(rig.to_net.got.size(), 3u); // a_up, b_syn, b_data
    EXPECT_EQ(rig.to_dev.got.size(), 2u);

    // The device sends again on A (its challenge ACK, or a retransmission): RST with its ack.
    rig.send_at(at_ms(3000), a_up);
    EXPECT_EQ(rig.to_net.got.size(), 3u);
    ASSERT_EQ(rig.to_dev.got.size(), 3u);
    i = parse_frame(rig.to_dev.got[2].frame.bytes);
    EXPECT_EQ(i.tcp_flags, kTcpRst);
    EXPECT_EQ(i.tcp_seq, 2000u);

    // Nothing more happens, however long the run goes on.
    rig.timer.advance_to(at_ms(3'600'000));
    rig.send(b_data);
    EXPECT_EQ(rig.to_net.got.size(), 4u);
    EXPECT_EQ(rig.to_dev.got.size(), 3u);
    ASSERT_EQ(rig.audit.entries().size(), 3u); // injected, dropped, injected
    EXPECT_EQ(rig.audit.entries()[0].action, AuditAction::kInjected);
    EXPECT_EQ(rig.audit.entries()[1].action, AuditAction::kDropped);
    EXPECT_EQ(rig.audit.entries()[2].action, AuditAction::kInjected);
}

TEST(LinkFaults, ResetAnswersAConnectInProgressAndSkipsFlowsAlreadyEnded) {
    FaultSpec s = spec("reset");
    s.start = at_ms(100);
    Rig rig(s);
    FrameSpec syn; // a connect still waiting for its SYN-ACK
    syn.flags = kTcpSyn;
    syn.seq = 5000;
    FrameSpec ended; // a flow the device itself reset
    ended.src_port = 50002;
    ended.flags = kTcpRst;
    FrameSpec udp;
    udp.protocol = 17;
    rig.send_at(at_ms(10), syn);
    rig.send_at(at_ms(20), ended);
    rig.send_at(at_ms(30), udp);
    rig.timer.advance_to(at_ms(100));
    ASSERT_EQ(rig.to_dev.got.size(), 1u);
    const PacketInfo i = parse_frame(rig.to_dev.got[0].frame.bytes);
    // RFC 793: a RST answering a segment without ACK acknowledges it (SYN counts one).
    EXPECT_EQ(i.tcp_flags, kTcpRst | kTcpAck);
    EXPECT_EQ(i.tcp_ack, 5001u);
    EXPECT_EQ(i.dst_port, 50000);
    // A new SYN on the same ports is a new connection: it passes.
    rig.send_at(at_ms(200), syn);
    EXPECT_EQ(rig.to_net.got.size(), 4u);
}

TEST(LinkFaults, TriggeredAndRepeatingResetsFireAtTheirInstantsOnly) {
    FaultSpec s = spec("reset");
    s.dormant = true;
    s.repeat = clock::from_ms(1000);
    Rig rig(s);
    FrameSpec seg;
    rig.send_at(at_ms(10), seg);
    rig.timer.advance_to(at_ms(5000)); // dormant: nothing yet
    EXPECT_TRUE(rig.to_dev.got.empty());
    rig.fault->trigger(at_ms(5500));
    rig.timer.advance_to(at_ms(5499));
    EXPECT_TRUE(rig.to_dev.got.empty());
    rig.timer.advance_to(at_ms(5500));
    ASSERT_EQ(rig.to_dev.got.size(), 1u);
    EXPECT_EQ(rig.to_dev.got[0].at, at_ms(5500));
    FrameSpec later_syn; // after the first instant, before the second
    later_syn.src_port = 50009;
    later_syn.flags = kTcpSyn;
    rig.send_at(at_ms(6000), later_syn);
    EXPECT_EQ(rig.to_net.got.size(), 2u);
    rig.timer.advance_to(at_ms(6500)); // second instant: only the new flow is still alive
    ASSERT_EQ(rig.to_dev.got.size(), 2u);
    EXPECT_EQ(rig.to_dev.got[1].at, at_ms(6500));
    EXPECT_EQ(parse_frame(rig.to_dev.got[1].frame.bytes).dst_port, 50009);
    rig.timer.advance_to(at_ms(9500));
    EXPECT_EQ(rig.to_dev.got.size(), 2u);
}

} // namespace
} // namespace lwipsim::link
