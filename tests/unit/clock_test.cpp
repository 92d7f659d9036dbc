// Scheduler and sync primitives: determinism, time jumps, deadlock diagnostic, the 32-bit wrap.
#include "sim/clock/scheduler.h"
#include "sim/clock/sync.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace lwipsim::clock;
using namespace std::chrono_literals;

namespace {

// Three threads hand a token around through semaphores and sleep in between; the log is the
// order of their steps with virtual times.
std::vector<std::string> ping_pong_log() {
    auto& s = Scheduler::create();
    std::vector<std::string> log;
    s.run("main", 1, [&] {
        Semaphore a(0, "a"), b(0, "b"), done(0, "done");
        auto stamp = [&](const std::string& what) {
            log.push_back(std::to_string(s.now().ns()) + " " + what);
        };
        s.spawn("ping", 1, [&] {
            for (int i = 0; i < 3; ++i) {
                stamp("ping " + std::to_string(i));
                s.sleep_for(10ms);
                b.signal();
                a.wait();
            }
            done.signal();
        });
        s.spawn("pong", 1, [&] {
            for (int i = 0; i < 3; ++i) {
                b.wait();
                stamp("pong " + std::to_string(i));
                s.sleep_for(5ms);
                a.signal();
            }
            done.signal();
        });
        done.wait();
        done.wait();
        stamp("end");
    });
    return log;
}

} // namespace

TEST(Scheduler, MultiThreadProgramRunsInTheSameOrderTwice) {
    auto first = ping_pong_log();
    auto second = ping_pong_log();
    EXPECT_EQ(first, second);
    // Expected from the program itself: ping sleeps 10 ms, pong 5 ms, strictly alternating.
    std::vector<std::string> expected = {"0 ping 0",        "10000000 pong 0", "15000000 ping 1",
                                         "25000000 pong 1", "30000000 ping 2", "40000000 pong 2",
                                         "45000000 end"};
    EXPECT_EQ(first, expected);
}

TEST(Scheduler, ThirtyMinuteSleepEndsAtExactlyThatVirtualTime) {
    auto& s = Scheduler::create();
    SimTime woke{};
    s.run("main", 1, [&] {
        s.sleep_for(30min);
        woke = s.now();
    });
    EXPECT_EQ(woke.since_start, SimDuration(30min));
    EXPECT_EQ(s.stats().jumps, 1u);
    EXPECT_EQ(s.stats().skipped, SimDuration(30min));
}

// What the device program's stall watchdog reads from another OS thread
// (harness/program/program_watchdog.h): the baton holder, and virtual time, which a zero sleep
// (taskYIELD) leaves where it is: other threads run, time does not move.
TEST(Scheduler, ProgressShowsTheBatonHolderAndVirtualTime) {
    auto& s = Scheduler::create();
    EXPECT_EQ(s.progress().holder, nullptr);
    std::vector<std::string> holders;
    int64_t after_zero_sleeps = -1, after_sleep = -1;
    s.run("main", 1, [&] {
        s.spawn("other", 1, [&] { holders.push_back(Scheduler::name_of(s.progress().holder)); });
        holders.push_back(Scheduler::name_of(s.progress().holder));
        for (int i = 0; i < 100; ++i)
            s.sleep_for(SimDuration(0));
        after_zero_sleeps = s.progress().now_ns;
        s.sleep_for(5ms);
        after_sleep = s.progress().now_ns;
        holders.push_back(Scheduler::name_of(s.progress().holder));
    });
    EXPECT_EQ(holders, (std::vector<std::string>{"main", "other", "main"}));
    EXPECT_EQ(after_zero_sleeps, 0);
    EXPECT_EQ(after_sleep, 5'000'000);
}

TEST(Scheduler, DeadlockIsReportedWithWhoWaitsOnWhat) {
    auto& s = Scheduler::create();
    try {
        s.run("main", 1, [&] {
            s.spawn("worker", 2, [&] {
                Semaphore never(0, "never-signalled");
                never.wait();
            });
            Semaphore also(0, "main-sem");
            also.wait();
        });
        FAIL() << "expected a DeadlockError";
    } catch (const DeadlockError& e) {
        std::string msg = e.what();
        EXPECT_NE(msg.find("'worker'"), std::string::npos) << msg;
        EXPECT_NE(msg.find("never-signalled"), std::string::npos) << msg;
        EXPECT_NE(msg.find("'main'"), std::string::npos) << msg;
        EXPECT_NE(msg.find("main-sem"), std::string::npos) << msg;
    }
}

TEST(Scheduler, MillisecondClockWrapsAt32Bits) {
    SchedulerOptions opts;
    opts.start_ms = 0xFFFFFFFFu - 999u; // 1000 ms before the wrap
    auto& s = Scheduler::create(opts);
    uint32_t before = 0, after = 0;
    s.run("main", 1, [&] {
        before = s.now_ms32();
        s.sleep_for(1500ms);
        after = s.now_ms32();
    });
    EXPECT_EQ(before, 0xFFFFFFFFu - 999u);
    EXPECT_EQ(after, 500u); // 1500 ms later: 1000 to wrap, then 500
    EXPECT_EQ(static_cast<uint32_t>(after - before), 1500u); // lwIP's unsigned differences hold
}

TEST(Scheduler, WokenHigherPriorityThreadPreemptsItsWaker) {
    auto& s = Scheduler::create();
    std::vector<std::string> order;
    s.run("low", 1, [&] {
        Semaphore sem(0, "sem");
        s.spawn("high", 5, [&] {
            sem.wait();
            order.push_back("high runs");
        });
        s.sleep_for(1ms); // let 'high' block on the semaphore
        sem.signal();
        order.push_back("low continues");
    });
    EXPECT_EQ(order, (std::vector<std::string>{"high runs", "low continues"}));
}

TEST(Scheduler, EqualTimesRunInCallOrder) {
    auto& s = Scheduler::create();
    std::string seen;
    s.run("main", 1, [&] {
        for (char c : std::string("abcde"))
            s.after(5ms, [&seen, c] { seen += c; });
        s.sleep_for(10ms);
    });
    EXPECT_EQ(seen, "abcde");
}

TEST(Mailbox, FetchTimesOutAtTheDeadlineAndDeliversInOrder) {
    auto& s = Scheduler::create();
    std::vector<long> got;
    SimTime timed_out_at{};
    s.run("main", 1, [&] {
        Mailbox box(2, "box");
        void* msg = nullptr;
        EXPECT_FALSE(box.fetch(&msg, s.now() + 250ms));
        timed_out_at = s.now();
        s.spawn("producer", 1, [&] {
            for (long i = 1; i <= 4; ++i)
                box.post(reinterpret_cast<void*>(i)); // blocks when full
        });
        for (int i = 0; i < 4; ++i) {
            ASSERT_TRUE(box.fetch(&msg, s.now() + 1s));
            got.push_back(reinterpret_cast<long>(msg));
        }
        EXPECT_FALSE(box.try_fetch(&msg));
    });
    EXPECT_EQ(timed_out_at.since_start, SimDuration(250ms));
    EXPECT_EQ(got, (std::vector<long>{1, 2, 3, 4}));
}

namespace {
// A host program as the scheduler sees it (clock::HostPeer), scripted: it times out every
// `period` and reports idle at once; `fail_after` wakes, it never reports idle again.
class ScriptedPeer final : public HostPeer {
  public:
    explicit ScriptedPeer(SimDuration period, int fail_after = -1)
        : period_(period), fail_after_(fail_after) {}
    Idle wait_idle() override {
        if (fail_after_ >= 0 && static_cast<int>(wakes.size()) >= fail_after_)
            return Idle{0, "stuck in an uncovered wait"};
        if (busy_)
            answered.push_back(Scheduler::current().now().ns() / 1000000);
        busy_ = false;
        return {};
    }
    [[nodiscard]] bool idle() const override { return !busy_; }
    [[nodiscard]] std::optional<SimTime> deadline() const override { return next_; }
    void wake(SimTime now) override {
        wakes.push_back(now.ns() / 1000000);
        next_ = now + period_;
        busy_ = true;
    }
    void wake_with_grant(SimTime now, SimTime quiet_until) override {
        grants.push_back(quiet_until.ns() / 1000000);
        wake(now);
    }
    std::vector<int64_t> wakes;    ///< virtual ms of each wake
    std::vector<int64_t> grants;   ///< virtual ms of each wake_with_grant's promise
    std::vector<int64_t> answered; ///< virtual ms at which the scheduler awaited each wake

  private:
    SimDuration period_;
    int fail_after_;
    SimTime next_{period_};
    bool busy_ = false;
};

// Host input whose first read wakes the peer, as slirp does when it flushes bytes to the
// broker or a connect to it completes.
class WakingHostIo final : public HostIo {
  public:
    explicit WakingHostIo(ScriptedPeer& peer) : peer_(peer) {}
    void fill_pollfds(std::vector<pollfd>&) override {}
    void on_polled(std::span<const pollfd>) override {
        if (!woke_)
            peer_.wake(Scheduler::current().now());
        woke_ = true;
    }
    [[nodiscard]] bool awaiting_host() const override { return false; }

  private:
    ScriptedPeer& peer_;
    bool woke_ = false;
};
} // namespace

// A wake made while the host sockets are read is answered at that instant: the scheduler waits
// for the peer again before virtual time moves on (else the broker would read its clock while
// time jumps, and its reply would land after the jump).
TEST(Scheduler, HostPeerWokenWhileTheHostIsReadAnswersBeforeTimeMoves) {
    auto& s = Scheduler::create();
    ScriptedPeer peer(std::chrono::hours(1));
    WakingHostIo io(peer);
    s.add_host_io(&io);
    s.set_host_peer(&peer);
    s.run("main", 1, [&] { s.sleep_for(10ms); });
    ASSERT_EQ(peer.wakes, (std::vector<int64_t>{0}));
    EXPECT_EQ(peer.answered, (std::vector<int64_t>{0}));
}

// The peer's own timeout is an event like any other: virtual time jumps to it, and a thread's
// deadline at the same instant runs first (it was due no later).
TEST(Scheduler, HostPeerDeadlinesAreEventsOfTheSchedule) {
    auto& s = Scheduler::create();
    ScriptedPeer peer(300ms);
    s.set_host_peer(&peer);
    std::vector<int64_t> app;
    s.run("main", 1, [&] {
        for (int i = 0; i < 3; ++i) {
            s.sleep_for(450ms);
            app.push_back(s.now().ns() / 1000000);
        }
    });
    EXPECT_EQ(app, (std::vector<int64_t>{450, 900, 1350}));
    EXPECT_EQ(peer.wakes, (std::vector<int64_t>{300, 600, 900, 1200}));
    EXPECT_EQ(s.stats().peer_deadlines, 4U);
}

// With a lookahead, each deadline wake carries its promise, computed from the next scheduled
// event (here the app's wake-up at 450/900 ms; the lookahead adds 1 s). Without one, none.
TEST(Scheduler, HostPeerDeadlineWakesCarryTheLookahead) {
    auto& s = Scheduler::create();
    ScriptedPeer peer(300ms);
    s.set_host_peer(&peer);
    std::vector<std::optional<int64_t>> asked;
    s.set_peer_lookahead([&](std::optional<SimTime> next) {
        asked.push_back(next ? std::optional(next->ns() / 1000000) : std::nullopt);
        return next ? *next + 1s : SimTime{};
    });
    s.run("main", 1, [&] {
        s.sleep_for(450ms);
        s.sleep_for(450ms);
    });
    EXPECT_EQ(peer.wakes, (std::vector<int64_t>{300, 600}));
    EXPECT_EQ(asked, (std::vector<std::optional<int64_t>>{450, 900}));
    EXPECT_EQ(peer.grants, (std::vector<int64_t>{1450, 1900}));
    s.set_peer_lookahead({});
}

// A peer that never reports idle ends the run with its reason, never a silent hang.
TEST(Scheduler, HostPeerThatNeverGoesIdleEndsTheRun) {
    auto& s = Scheduler::create();
    ScriptedPeer peer(100ms, 2);
    s.set_host_peer(&peer);
    try {
        s.run("main", 1, [&] { s.sleep_for(1s); });
        FAIL() << "expected a DeadlockError";
    } catch (const DeadlockError& e) {
        EXPECT_NE(std::string(e.what()).find("stuck in an uncovered wait"), std::string::npos)
            << e.what();
    }
    EXPECT_EQ(peer.wakes, (std::vector<int64_t>{100, 200}));
}
