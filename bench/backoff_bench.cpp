// Benchmark (prints figures, asserts nothing): simulated seconds per wall second for a device
// whose only work is timers — TCP connections retransmitting SYNs into a link that drops
// everything, one after another, for one simulated hour.
#include "sim/clock/scheduler.h"
#include "sim/heap/device_heap.h"
#include "sim/port/lwip/device_stack.h"

#include <chrono>
#include <cstdio>

extern "C" {
#include "lwip/sockets.h"
}

namespace {
struct Void final : lwipsim::link::FrameSink {
    uint64_t frames = 0;
    void deliver(lwipsim::link::Frame) override { ++frames; }
};
} // namespace

int main() {
    using namespace lwipsim;
    using namespace std::chrono_literals;
    auto& s = clock::Scheduler::create();
    Void nothing;
    int attempts = 0;
    auto wall0 = std::chrono::steady_clock::now();
    s.run("app", 5, [&] {
        heap::DeviceHeap::instance().configure(1 << 20, heap::BlockCost{});
        port::apply_tcp_settings(port::profile_defaults());
        port::LinkNetif netif(&nothing);
        port::start_stack(&netif, {}, 1);
        auto end = s.now() + std::chrono::hours(1);
        while (s.now() < end) {
            int fd = lwip_socket(AF_INET, SOCK_STREAM, 0);
            sockaddr_in a{};
            a.sin_family = AF_INET;
            a.sin_port = lwip_htons(8883);
            a.sin_addr.s_addr = lwip_htonl(0x0a000202); // 10.0.2.2: never answers here
            lwip_connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a); // blocks through backoff
            lwip_close(fd);
            ++attempts;
        }
    });
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
    double sim = s.now().seconds();
    std::printf("backoff_bench: %.0f simulated s in %.3f wall s = %.0fx real time "
                "(%d connects retransmitting into nothing, %llu frames, %llu timer jumps)\n",
                sim, wall, sim / wall, attempts, static_cast<unsigned long long>(nothing.frames),
                static_cast<unsigned long long>(s.stats().jumps));
    std::fflush(stdout);
    _exit(0); // lwIP's tcpip thread stays parked
}
