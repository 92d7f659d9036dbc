// lwIP on virtual time with the device heap: timeouts, heap baseline, budget, failure injection.
#include "sim/clock/scheduler.h"
#include "sim/clock/sync.h"
#include "sim/heap/device_heap.h"
#include "sim/port/lwip/device_stack.h"
#include "tests/support/device_process.h"

#include <gtest/gtest.h>

extern "C" {
#include "lwip/sockets.h"
#include "lwip/stats.h"
#include "lwip/tcpip.h"
#include "lwip/timeouts.h"
}

using namespace lwipsim;
using namespace std::chrono_literals;
using heap::DeviceHeap;
using heap::Subsystem;

namespace {

void start_loopback_stack(size_t budget = 256 * 1024) {
    DeviceHeap::instance().configure(budget, heap::BlockCost{});
    port::apply_tcp_settings(port::profile_defaults());
    port::start_stack(nullptr, {}, 1);
}

sockaddr_in loopback(uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = lwip_htons(port);
    a.sin_addr.s_addr = lwip_htonl(0x7f000001);
    return a;
}

// A listening socket on lwIP's own loopback (127.0.0.1 inside the device).
int listen_on(uint16_t port) {
    int fd = lwip_socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_GE(fd, 0);
    sockaddr_in a = loopback(port);
    EXPECT_EQ(lwip_bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(lwip_listen(fd, 1), 0);
    return fd;
}

int connect_to(uint16_t port) {
    int fd = lwip_socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return fd;
    sockaddr_in a = loopback(port);
    if (lwip_connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        lwip_close(fd);
        return -1;
    }
    return fd;
}

clock::Semaphore* g_fired = nullptr;
clock::SimTime g_fired_at{};
clock::SimTime g_armed_at{};

} // namespace

TEST(Stack, LwipTimeoutThirtyMinutesAheadFiresAtExactlyThatTime) {
    lwipsim::testing::run_as_device([] {
        start_loopback_stack();
        clock::Semaphore fired(0, "fired");
        g_fired = &fired;
        // sys_timeout must be called in the tcpip thread.
        tcpip_callback([](void*) {
            g_armed_at = clock::Scheduler::current().now();
            sys_timeout(30 * 60 * 1000, [](void*) {
                g_fired_at = clock::Scheduler::current().now();
                g_fired->signal();
            }, nullptr);
        }, nullptr);
        fired.wait();
        EXPECT_EQ(g_fired_at - g_armed_at, clock::SimDuration(30min));
    });
}

TEST(Stack, HeapReturnsToBaselineAfterSocketOpenCloseAndPcbExpiry) {
    lwipsim::testing::run_as_device([] {
        start_loopback_stack();
        auto& heap = DeviceHeap::instance();
        auto& s = clock::Scheduler::current();
        size_t baseline = heap.in_use();
        int server = listen_on(7000);
        int client = connect_to(7000);
        ASSERT_GE(client, 0);
        int accepted = lwip_accept(server, nullptr, nullptr);
        ASSERT_GE(accepted, 0);
        const char msg[] = "hello over lwIP loopback";
        ASSERT_EQ(lwip_send(client, msg, sizeof msg, 0), static_cast<ssize_t>(sizeof msg));
        char buf[64] = {};
        ASSERT_EQ(lwip_recv(accepted, buf, sizeof buf, 0), static_cast<ssize_t>(sizeof msg));
        EXPECT_STREQ(buf, msg);
        EXPECT_GT(heap.in_use(), baseline);
        EXPECT_EQ(heap.in_use(), heap.sum_live_blocks());
        lwip_close(client);
        lwip_close(accepted);
        lwip_close(server);
        // The active closer sits in TIME_WAIT for 2 * TCP_MSL (2 * 60 s) before lwIP frees it.
        s.sleep_for(2 * 60s + 2s);
        EXPECT_EQ(lwip_stats.memp[MEMP_TCP_PCB]->used, 0);
        EXPECT_EQ(heap.in_use(), baseline) << "lwIP bytes still held after every PCB expired";
        EXPECT_EQ(heap.in_use(), heap.sum_live_blocks());
    });
}

// A sampler sees the lowest and highest use between two samples, not just the use at each:
// a 3000 B peak that is gone by the next sample still shows. Block overhead 16 B, so each
// block is charged its size + 16.
TEST(Stack, HeapUseWindowKeepsThePeakBetweenSamples) {
    lwipsim::testing::run_as_device([] {
        auto& heap = DeviceHeap::instance();
        heap.configure(64 * 1024, lwipsim::heap::BlockCost::flat(16));
        void* a = heap.allocate(heap::Subsystem::kApp, 1000);
        auto w = heap.take_use_window(); // since configure: 0 .. 1016
        EXPECT_EQ(w.min_used, 0u);
        EXPECT_EQ(w.max_used, 1016u);
        void* b = heap.allocate(heap::Subsystem::kApp, 3000); // 1016 + 3016 = 4032
        heap.release(b);
        heap.release(a); // down to 0
        void* c = heap.allocate(heap::Subsystem::kApp, 484); // 500
        w = heap.take_use_window();
        EXPECT_EQ(heap.in_use(), 500u);
        EXPECT_EQ(w.min_used, 0u);
        EXPECT_EQ(w.max_used, 4032u);
        w = heap.take_use_window(); // nothing happened: the window is the current use
        EXPECT_EQ(w.min_used, 500u);
        EXPECT_EQ(w.max_used, 500u);
        heap.release(c);
    });
}

TEST(Stack, BudgetTooSmallMakesSocketCreationFail) {
    lwipsim::testing::run_as_device([] {
        start_loopback_stack(256 * 1024);
        auto& heap = DeviceHeap::instance();
        // Leave less than one netconn (tens of bytes): lwip_socket must fail.
        heap.set_budget(heap.in_use() + 16);
        int fd = lwip_socket(AF_INET, SOCK_STREAM, 0);
        EXPECT_LT(fd, 0);
        EXPECT_GE(heap.stats(Subsystem::kLwip).failures, 1u);
    });
}

TEST(Stack, FailureInjectionHitsTheChosenAllocation) {
    lwipsim::testing::run_as_device([] {
        start_loopback_stack();
        auto& heap = DeviceHeap::instance();
        // lwip_socket allocates the netconn first: failing the very next allocation fails it.
        heap::FailureInjection f;
        f.fail_nth = heap.allocation_count() + 1;
        heap.set_failure_injection(f);
        uint64_t failures_before = heap.failures();
        EXPECT_LT(lwip_socket(AF_INET, SOCK_STREAM, 0), 0);
        EXPECT_EQ(heap.failures(), failures_before + 1);
        heap.set_failure_injection({});
        int fd = lwip_socket(AF_INET, SOCK_STREAM, 0);
        EXPECT_GE(fd, 0);
        lwip_close(fd);
    });
}

namespace {
// One loopback connection closed by the client first: the client's PCB stays in TIME_WAIT
// (2 * TCP_MSL), the server's goes through LAST_ACK and is freed.
void one_closed_connection(uint16_t port) {
    int server = listen_on(port);
    int client = connect_to(port);
    ASSERT_GE(client, 0);
    int accepted = lwip_accept(server, nullptr, nullptr);
    ASSERT_GE(accepted, 0);
    lwip_close(client);
    lwip_close(accepted);
    lwip_close(server);
    clock::Scheduler::current().sleep_for(1s); // let the FIN/ACK exchange finish
}

size_t live_pcbs() { return lwip_stats.memp[MEMP_TCP_PCB]->used; }
} // namespace

TEST(Stack, PcbCapKillsTheOldestTimeWaitPcbLikeEspLwip) {
    lwipsim::testing::run_as_device([] {
        DeviceHeap::instance().configure(256 * 1024, heap::BlockCost{});
        auto settings = port::profile_defaults();
        settings.pcb_cap = 2;
        port::apply_tcp_settings(settings);
        port::start_stack(nullptr, {}, 1);
        one_closed_connection(7100);
        EXPECT_EQ(live_pcbs(), 1u) << "the client's PCB should be in TIME_WAIT";
        // A second connection needs two PCBs; with a cap of 2, tcp_alloc must kill the
        // TIME_WAIT one (esp-lwip's first choice) to make room for the second of them.
        int server = listen_on(7101);
        int client = connect_to(7101);
        ASSERT_GE(client, 0);
        int accepted = lwip_accept(server, nullptr, nullptr);
        ASSERT_GE(accepted, 0);
        EXPECT_EQ(live_pcbs(), 2u);
        EXPECT_LE(lwip_stats.memp[MEMP_TCP_PCB]->max, 2);
    });
}

TEST(Stack, WithoutACapTimeWaitPcbsAccumulateAsUpstream) {
    lwipsim::testing::run_as_device([] {
        DeviceHeap::instance().configure(256 * 1024, heap::BlockCost{});
        auto settings = port::profile_defaults();
        settings.pcb_cap = 0;
        port::apply_tcp_settings(settings);
        port::start_stack(nullptr, {}, 1);
        one_closed_connection(7200);
        one_closed_connection(7201);
        one_closed_connection(7202);
        EXPECT_EQ(live_pcbs(), 3u) << "three clients in TIME_WAIT (2 * 60 s not over)";
    });
}
