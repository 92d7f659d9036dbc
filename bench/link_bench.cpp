// Throughput of the simulated link: frames per second pushed through
//   device tap (off) -> loss -> delay -> corrupt -> LinkModel -> sink
// with a manual event-queue timer, as a scenario run would drive it. Prints the figure; the
// goal is >= 200k frames/s (a busy scenario moves well under 10k frames per simulated second).

#include "sim/link/link_builder.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <queue>
#include <vector>

namespace {

using lwipsim::clock::SimDuration;
using lwipsim::clock::SimTime;
namespace link = lwipsim::link;

class HeapTimer final : public link::Timer {
  public:
    [[nodiscard]] SimTime now() const override { return now_; }
    void at(SimTime when, std::function<void()> fn) override {
        events_.push(Event{when, seq_++, std::move(fn)});
    }
    void run_until(SimTime t) {
        while (!events_.empty() && events_.top().when <= t) {
            // priority_queue::top() is const: move out via const_cast is safe because the
            // element is popped immediately after.
            auto& top = const_cast<Event&>(events_.top());
            now_ = top.when;
            auto fn = std::move(top.fn);
            events_.pop();
            fn();
        }
        now_ = t;
    }
    void run_all() {
        while (!events_.empty()) {
            run_until(events_.top().when);
        }
    }

  private:
    struct Event {
        SimTime when;
        uint64_t seq;
        std::function<void()> fn;
        bool operator>(const Event& o) const {
            return when != o.when ? when > o.when : seq > o.seq;
        }
    };
    SimTime now_{};
    uint64_t seq_ = 0;
    std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
};

class CountingSink final : public link::FrameSink {
  public:
    void deliver(link::Frame frame) override {
        ++frames;
        bytes += frame.bytes.size();
    }
    uint64_t frames = 0;
    uint64_t bytes = 0;
};

std::vector<uint8_t> tcp_frame(size_t payload) {
    std::vector<uint8_t> b(14 + 20 + 20 + payload, 0);
    b[12] = 0x08;
    b[14] = 0x45;
    const size_t ip_len = 20 + 20 + payload;
    b[16] = static_cast<uint8_t>(ip_len >> 8);
    b[17] = static_cast<uint8_t>(ip_len);
    b[23] = 6;
    b[34] = 0xC3; // src port 50000
    b[35] = 0x50;
    b[36] = 0x22; // dst port 8883
    b[37] = 0xB3;
    b[46] = 0x50;
    return b;
}

link::FaultSpec fault(const char* type, const char* name, std::map<std::string, double> params) {
    link::FaultSpec s;
    s.type = type;
    s.name = name;
    s.params = std::move(params);
    return s;
}

} // namespace

int main(int argc, char** argv) {
    const long n = argc > 1 ? std::atol(argv[1]) : 2'000'000;
    HeapTimer timer;
    link::NullAuditLog audit;
    CountingSink device;
    CountingSink network;

    link::LinkConfig cfg;
    cfg.seed = 1;
    cfg.up = link::LinkParams{std::chrono::milliseconds(20), 100e6, 1000};
    link::FaultSpec loss = fault("loss", "loss", {{"p", 0.01}});
    loss.filter.dst_port = 8883; // makes this piece parse every frame
    const std::vector<link::FaultSpec> specs = {
        loss,
        fault("delay", "delay", {{"delay_ms", 2}, {"jitter_ms", 1}}),
        fault("corrupt", "corrupt", {{"p", 0.001}}),
    };
    auto l = link::build_link(cfg, specs, timer, audit, link::LinkEndpoints{&device, &network});

    const auto frame = tcp_frame(200); // 254-byte frame: ~20 us at 100 Mbit/s
    const SimDuration gap = std::chrono::microseconds(25);
    const auto t0 = std::chrono::steady_clock::now();
    SimTime t{};
    for (long i = 0; i < n; ++i) {
        timer.run_until(t);
        l->from_device().deliver(link::Frame{frame, link::Direction::kUp, 0, {}});
        t = t + gap;
    }
    timer.run_all();
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    std::printf("link_bench: %ld frames in %.3f s wall (%.2f s simulated)\n", n, wall, t.seconds());
    std::printf(
        "link_bench: delivered %llu, dropped %llu (loss 1%%), queue drops %llu\n",
        static_cast<unsigned long long>(network.frames),
        static_cast<unsigned long long>(n - static_cast<long>(network.frames)),
        static_cast<unsigned long long>(l->model(link::Direction::kUp).stats().dropped_queue_full));
    std::printf("link_bench: %.0f frames/s (goal >= 200000)\n", static_cast<double>(n) / wall);
    return 0;
}
