// The assembled link: chain order, ids, per-direction models, spec validation.
#include "sim/link/link_builder.h"
#include "tests/unit/link_test_support.h"

#include <gtest/gtest.h>

#include <cmath>

namespace lwipsim::link {
namespace {

using namespace test;

struct World {
    ManualTimer timer;
    MemoryAuditLog audit;
    RecordingSink device{timer};
    RecordingSink network{timer};
    std::unique_ptr<Link> link;

    explicit World(const std::vector<FaultSpec>& specs, LinkConfig cfg = {}) {
        link = build_link(cfg, specs, timer, audit, LinkEndpoints{&device, &network});
    }
};

FaultSpec spec(std::string type, std::string name, std::map<std::string, double> params = {}) {
    FaultSpec s;
    s.type = std::move(type);
    s.name = std::move(name);
    s.params = std::move(params);
    return s;
}

std::string error_of(const std::vector<FaultSpec>& specs) {
    try {
        World w(specs);
    } catch (const FaultSpecError& e) {
        return e.what();
    }
    return "";
}

TEST(LinkBuilder, NoFaultsIsJustTheModels) {
    LinkConfig cfg;
    cfg.up.latency = clock::from_ms(20);
    cfg.down.latency = clock::from_ms(30);
    World w({}, cfg);
    w.link->from_device().deliver(Frame{build_frame({}), Direction::kDown, 0, {}});
    w.link->from_network().deliver(Frame{build_frame({}), Direction::kUp, 0, {}});
    w.timer.run_all();
    ASSERT_EQ(w.network.got.size(), 1u);
    ASSERT_EQ(w.device.got.size(), 1u);
    // Entries stamp direction and ids whatever the caller put there.
    EXPECT_EQ(w.network.got[0].frame.direction, Direction::kUp);
    EXPECT_EQ(w.network.got[0].frame.id, 1u);
    EXPECT_EQ(w.network.got[0].at, at_ms(20));
    EXPECT_EQ(w.device.got[0].frame.direction, Direction::kDown);
    EXPECT_EQ(w.device.got[0].frame.id, 2u);
    EXPECT_EQ(w.device.got[0].at, at_ms(30));
}

TEST(LinkBuilder, DownFramesMeetFaultsInReverseOrder) {
    // duplicate then blackhole(up only): an up frame is duplicated and both copies are
    // dropped by the blackhole (2 drops); a down frame meets the blackhole first (not selected)
    // and then the duplicate: the device gets two copies.
    FaultSpec bh = spec("blackhole", "bh");
    bh.direction = FaultDirection::kUp;
    World w({spec("duplicate", "dup", {{"p", 1.0}}), bh});
    w.link->from_device().deliver(Frame{build_frame({}), {}, 0, {}});
    w.link->from_network().deliver(Frame{build_frame({}), {}, 0, {}});
    w.timer.run_all();
    EXPECT_EQ(w.network.got.size(), 0u);
    EXPECT_EQ(w.device.got.size(), 2u);
    ASSERT_EQ(w.audit.entries().size(), 4u);
    EXPECT_EQ(w.audit.entries()[0].piece, "dup");
    EXPECT_EQ(w.audit.entries()[1].piece, "bh");
}

TEST(LinkBuilder, InjectedRstSkipsTheWireAndReachesTheDevice) {
    LinkConfig cfg;
    cfg.up.latency = clock::from_ms(50);
    cfg.down.latency = clock::from_ms(50);
    FaultSpec rst = spec("reset", "rst");
    rst.start = at_ms(7);
    World w({rst}, cfg);
    w.link->from_device().deliver(Frame{build_frame({}), {}, 0, {}}); // the flow, at 0
    w.timer.run_all();
    EXPECT_EQ(w.network.got.size(), 1u);
    ASSERT_EQ(w.device.got.size(), 1u);
    EXPECT_EQ(w.device.got[0].at, at_ms(7)); // injected at the fault box, device side of the wire
    EXPECT_EQ(parse_frame(w.device.got[0].frame.bytes).tcp_flags, kTcpRst);
}

// The broker's lookahead (docs/design.md, "Lookahead"): when can an up frame next reach the
// far side, if nothing on the device's side runs before `next`? The wire's latency after
// `next`; a frame already on the wire at its arrival; an active blackhole that takes every up
// frame holds them back to its end, unless a fault after it (a delay) may emit frames of its
// own; a filtered blackhole promises nothing.
TEST(LinkBuilder, EarliestNetworkArrivalForTheLookahead) {
    LinkConfig cfg;
    cfg.up.latency = clock::from_ms(10);
    FaultSpec bh = spec("blackhole", "bh");
    bh.start = at_ms(1000);
    bh.duration = clock::from_ms(60000);
    const clock::SimTime never{clock::SimDuration::max()};
    {
        World w({bh}, cfg);
        EXPECT_EQ(w.link->earliest_network_arrival(std::nullopt), never);
        EXPECT_EQ(w.link->earliest_network_arrival(at_ms(500)), at_ms(510));
        EXPECT_EQ(w.link->earliest_network_arrival(at_ms(2000)), at_ms(61010));
        EXPECT_EQ(w.link->earliest_network_arrival(at_ms(61000)), at_ms(61010));
        w.link->from_device().deliver(Frame{build_frame({}), {}, 0, {}}); // on the wire at 0
        EXPECT_EQ(w.link->earliest_network_arrival(at_ms(2000)), at_ms(10));
        w.timer.run_all();
        EXPECT_EQ(w.network.got.size(), 1u);
        EXPECT_EQ(w.link->earliest_network_arrival(at_ms(2000)), at_ms(61010));
    }
    {
        World before({spec("delay", "d", {{"delay_ms", 5}}), bh}, cfg);
        EXPECT_EQ(before.link->earliest_network_arrival(at_ms(2000)), at_ms(61010));
        World after({bh, spec("delay", "d", {{"delay_ms", 5}})}, cfg);
        EXPECT_EQ(after.link->earliest_network_arrival(at_ms(2000)), at_ms(2010));
    }
    {
        FaultSpec filtered = bh;
        filtered.filter.dst_port = 8883;
        World w({filtered}, cfg);
        EXPECT_EQ(w.link->earliest_network_arrival(at_ms(2000)), at_ms(2010));
        FaultSpec down_only = bh;
        down_only.direction = FaultDirection::kDown;
        World d({down_only}, cfg);
        EXPECT_EQ(d.link->earliest_network_arrival(at_ms(2000)), at_ms(2010));
    }
}

TEST(LinkBuilder, UnnamedFaultsGetTypeAndIndex) {
    World w({spec("loss", "", {{"p", 0.1}}), spec("loss", "", {{"p", 0.1}})});
    EXPECT_EQ(w.link->faults()[0]->name(), "loss#0");
    EXPECT_EQ(w.link->faults()[1]->name(), "loss#1");
    EXPECT_NE(w.link->faults()[0]->common().seed, w.link->faults()[1]->common().seed);
}

TEST(LinkBuilder, ErrorsNameTheFaultAndTheKey) {
    const std::string unknown_key = error_of({spec("loss", "wifi", {{"p", 0.1}, {"q", 1}})});
    EXPECT_NE(unknown_key.find("'wifi'"), std::string::npos) << unknown_key;
    EXPECT_NE(unknown_key.find("'q'"), std::string::npos) << unknown_key;

    const std::string missing = error_of({spec("burst_loss", "cell", {{"p", 0.1}})});
    EXPECT_NE(missing.find("'cell'"), std::string::npos) << missing;
    EXPECT_NE(missing.find("'r'"), std::string::npos) << missing;

    const std::string range = error_of({spec("loss", "x", {{"p", 1.5}})});
    EXPECT_NE(range.find("'p'"), std::string::npos) << range;
    EXPECT_NE(range.find("out of range"), std::string::npos) << range;

    EXPECT_NE(error_of({spec("loss", "x", {{"p", std::nan("")}})}).find("'p'"), std::string::npos);
    EXPECT_NE(error_of({spec("rate", "r", {{"rate_bps", 0}})}).find("'rate_bps'"),
              std::string::npos);
    EXPECT_NE(error_of({spec("rate", "r", {{"rate_bps", 1e6}, {"queue_frames", 2.5}})})
                  .find("whole number"),
              std::string::npos);
    EXPECT_NE(error_of({spec("teleport", "t")}).find("unknown fault type 'teleport'"),
              std::string::npos);
    EXPECT_NE(error_of({spec("blackhole", "a"), spec("loss", "a", {{"p", 0}})}).find("duplicate"),
              std::string::npos);

    FaultSpec bad_repeat = spec("blackhole", "flap");
    bad_repeat.duration = clock::from_ms(20);
    bad_repeat.repeat = clock::from_ms(10);
    const std::string sched = error_of({bad_repeat});
    EXPECT_NE(sched.find("'flap'"), std::string::npos) << sched;
    EXPECT_NE(sched.find("schedule"), std::string::npos) << sched;

    FaultSpec ld = spec("link_down", "wifi");
    ld.direction = FaultDirection::kUp;
    EXPECT_NE(error_of({ld}).find("direction"), std::string::npos);
    FaultSpec rst = spec("reset", "rst");
    rst.direction = FaultDirection::kDown;
    EXPECT_NE(error_of({rst}).find("direction"), std::string::npos);
    FaultSpec long_rst = spec("reset", "rst");
    long_rst.duration = clock::from_ms(10);
    EXPECT_NE(error_of({long_rst}).find("instantaneous"), std::string::npos);
}

TEST(LinkBuilder, SameSeedSameAuditTrail) {
    auto run = [](uint64_t seed) {
        LinkConfig cfg;
        cfg.seed = seed;
        cfg.up.latency = clock::from_ms(5);
        World w({spec("loss", "l", {{"p", 0.2}}),
                 spec("delay", "d", {{"delay_ms", 1}, {"jitter_ms", 3}}),
                 spec("corrupt", "c", {{"p", 0.1}})},
                cfg);
        std::vector<std::string> trail;
        for (int i = 0; i < 500; ++i) {
            w.timer.advance_to(at_ms(i));
            w.link->from_device().deliver(Frame{build_frame({}), {}, 0, {}});
        }
        w.timer.run_all();
        for (const auto& e : w.audit.entries()) {
            trail.push_back(std::to_string(e.frame_id) + e.piece + std::to_string(e.at.ns()));
        }
        for (const auto& g : w.network.got) {
            trail.push_back(std::to_string(g.at.ns()) +
                            std::string(g.frame.bytes.begin(), g.frame.bytes.end()));
        }
        return trail;
    };
    EXPECT_EQ(run(1), run(1));
    EXPECT_NE(run(1), run(2));
}

} // namespace
} // namespace lwipsim::link
