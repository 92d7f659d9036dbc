// LinkModel arithmetic (latency, serialization, queue) and fault schedules.
#include "sim/link/link_model.h"
#include "sim/link/schedule.h"
#include "tests/unit/link_test_support.h"

#include <gtest/gtest.h>

namespace lwipsim::link {
namespace {

using namespace test;

Frame sized(size_t bytes, uint64_t id) {
    return Frame{std::vector<uint8_t>(bytes, 0xAB), Direction::kUp, id, {}};
}

TEST(LinkModel, SerializationPlusLatency) {
    ManualTimer timer;
    RecordingSink sink(timer);
    MemoryAuditLog audit;
    // 1500 bytes * 8 bit / 1e6 bit/s = 12 ms on the wire, then 5 ms propagation.
    LinkModel m("wire_up", LinkParams{clock::from_ms(5), 1e6, 10}, timer, audit, &sink);
    m.deliver(sized(1500, 1));
    m.deliver(sized(1500, 2)); // queues behind the first: done at 24 ms
    timer.advance_to(at_ms(10));
    m.deliver(sized(125, 3)); // 1000 bits = 1 ms, starts when the wire frees at 24 ms
    timer.run_all();
    ASSERT_EQ(sink.got.size(), 3u);
    EXPECT_EQ(sink.got[0].at, at_ms(17));
    EXPECT_EQ(sink.got[1].at, at_ms(29));
    EXPECT_EQ(sink.got[2].at, at_ms(30));
    EXPECT_EQ(sink.got[2].frame.id, 3u);
    EXPECT_TRUE(audit.entries().empty());
}

TEST(LinkModel, IdleWireStartsAtNow) {
    ManualTimer timer;
    RecordingSink sink(timer);
    NullAuditLog audit;
    LinkModel m("wire_down", LinkParams{clock::from_ms(0), 8e6, 10}, timer, audit, &sink);
    m.deliver(sized(1000, 1)); // 8000 bits at 8 Mbit/s = 1 ms
    timer.advance_to(at_ms(100));
    m.deliver(sized(1000, 2)); // wire idle since 1 ms: done at 101 ms
    timer.run_all();
    ASSERT_EQ(sink.got.size(), 2u);
    EXPECT_EQ(sink.got[0].at, at_ms(1));
    EXPECT_EQ(sink.got[1].at, at_ms(101));
}

TEST(LinkModel, UnlimitedRateIsPureLatencyInOrder) {
    ManualTimer timer;
    RecordingSink sink(timer);
    NullAuditLog audit;
    LinkModel m("wire_up", LinkParams{clock::from_ms(40), 0, 1}, timer, audit, &sink);
    for (uint64_t i = 1; i <= 5; ++i) {
        m.deliver(sized(1500, i)); // queue of 1 never fills: nothing waits
    }
    timer.run_all();
    ASSERT_EQ(sink.got.size(), 5u);
    for (uint64_t i = 0; i < 5; ++i) {
        EXPECT_EQ(sink.got[i].at, at_ms(40));
        EXPECT_EQ(sink.got[i].frame.id, i + 1);
    }
}

TEST(LinkModel, FramesBeyondTheQueueAreDroppedAndAudited) {
    ManualTimer timer;
    RecordingSink sink(timer);
    MemoryAuditLog audit;
    LinkModel m("wire_up", LinkParams{clock::from_ms(0), 1e6, 2}, timer, audit, &sink);
    for (uint64_t i = 1; i <= 4; ++i) {
        m.deliver(sized(1500, i)); // queue holds 2 (12 ms each); 3 and 4 are dropped
    }
    timer.advance_to(at_ms(12)); // first done: one slot free
    m.deliver(sized(1500, 5));   // done at 36 ms
    timer.run_all();
    ASSERT_EQ(sink.got.size(), 3u);
    EXPECT_EQ(sink.got[2].frame.id, 5u);
    EXPECT_EQ(sink.got[2].at, at_ms(36));
    ASSERT_EQ(audit.entries().size(), 2u);
    EXPECT_EQ(audit.entries()[0].frame_id, 3u);
    EXPECT_EQ(audit.entries()[0].reason, "queue_full");
    EXPECT_EQ(audit.entries()[0].piece, "wire_up");
    EXPECT_EQ(audit.entries()[0].action, AuditAction::kDropped);
    EXPECT_EQ(m.stats().dropped_queue_full, 2u);
    EXPECT_EQ(m.stats().delivered, 3u);
}

TEST(LinkModel, RejectsBadParams) {
    ManualTimer timer;
    NullAuditLog audit;
    EXPECT_THROW(LinkModel("x", LinkParams{clock::from_ms(-1), 0, 1}, timer, audit),
                 std::invalid_argument);
    EXPECT_THROW(LinkModel("x", LinkParams{clock::from_ms(1), 0, 0}, timer, audit),
                 std::invalid_argument);
}

TEST(LinkSchedule, OneShotWindowIsHalfOpen) {
    Schedule s{at_ms(100), clock::from_ms(50), std::nullopt};
    EXPECT_FALSE(s.active(at_ns(100'000'000 - 1)));
    EXPECT_TRUE(s.active(at_ms(100)));
    EXPECT_TRUE(s.active(at_ns(150'000'000 - 1)));
    EXPECT_FALSE(s.active(at_ms(150)));
    EXPECT_FALSE(s.active(at_ms(10'000)));
    Schedule forever{at_ms(100), std::nullopt, std::nullopt};
    EXPECT_TRUE(forever.active(at_ms(1'000'000)));
}

TEST(LinkSchedule, RepeatingWindows) {
    // 2 s on every 10 s from t = 5 s: on in [5,7), [15,17), [25,27) ...
    Schedule s{at_ms(5000), clock::from_ms(2000), clock::from_ms(10000)};
    s.validate();
    const std::pair<int64_t, bool> cases[] = {
        {4999, false}, {5000, true},  {6999, true},   {7000, false}, {14999, false},
        {15000, true}, {16999, true}, {17000, false}, {95000, true}, {97000, false}};
    for (auto [ms, want] : cases) {
        EXPECT_EQ(s.active(at_ms(ms)), want) << ms;
    }
    EXPECT_EQ(s.last_start(at_ms(16000)), at_ms(15000));
    EXPECT_EQ(s.next_start(at_ms(15000)), at_ms(25000));
    EXPECT_EQ(s.next_start(at_ms(0)), at_ms(5000));
    EXPECT_FALSE(s.last_start(at_ms(4999)));
}

TEST(LinkSchedule, ValidationErrors) {
    EXPECT_THROW((Schedule{at_ms(0), std::nullopt, clock::from_ms(10)}.validate()),
                 std::invalid_argument);
    EXPECT_THROW((Schedule{at_ms(0), clock::from_ms(20), clock::from_ms(10)}.validate()),
                 std::invalid_argument);
    EXPECT_THROW((Schedule{at_ms(0), clock::from_ms(1), clock::from_ms(0)}.validate()),
                 std::invalid_argument);
    EXPECT_THROW((Schedule{at_ms(-1), clock::from_ms(1), std::nullopt}.validate()),
                 std::invalid_argument);
}

} // namespace
} // namespace lwipsim::link
