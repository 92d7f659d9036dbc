// The only place under sim/ that touches real time: waiting for host input (a real broker
// behind slirp, a TAP fd) and the optional realtime mode. Virtual time itself never comes
// from here; real time only bounds how long the scheduler waits.
#include "sim/clock/scheduler.h"

#include <cerrno>
#include <cstdio>
#include <thread>

namespace lwipsim::clock {

namespace {
constexpr std::chrono::milliseconds kHostSettle{2};
} // namespace

std::chrono::steady_clock::time_point Scheduler::realtime_now() {
    return std::chrono::steady_clock::now();
}

void Scheduler::poll_host(int timeout_ms) {
    std::vector<pollfd> fds;
    std::vector<size_t> starts;
    for (HostIo* io : host_ios_) {
        starts.push_back(fds.size());
        io->fill_pollfds(fds);
    }
    auto t0 = realtime_now();
    // No fds and no timeout: nothing to ask the kernel (a system call per idle step is a large
    // part of an idle hour's cost). The sources still get their (empty) slices below.
    int n = fds.empty() && timeout_ms == 0 ? 0 : ::poll(fds.data(), fds.size(), timeout_ms);
    if (timeout_ms > 0) {
        stats_.host_wait_s += std::chrono::duration<double>(realtime_now() - t0).count();
    }
    if (n < 0 && errno != EINTR)
        std::perror("lwipsim: poll");
    if (n > 0 && timeout_ms > 0) {
        // The host answered while virtual time stood still. A server often writes to several
        // sockets in one go (mosquitto drops the old session and sends CONNACK): let those
        // writes land, then read the whole set, so slirp sees them in its own fixed order
        // rather than in the order the kernel happened to wake us.
        std::this_thread::sleep_for(kHostSettle);
        n = ::poll(fds.data(), fds.size(), 0);
        stats_.host_wait_s += std::chrono::duration<double>(kHostSettle).count();
    }
    // Every source sees its slice even when nothing is ready: slirp needs the call to run
    // its own bookkeeping.
    for (size_t i = 0; i < host_ios_.size(); ++i) {
        size_t end = i + 1 < starts.size() ? starts[i + 1] : fds.size();
        host_ios_[i]->on_polled(std::span<const pollfd>(fds.data() + starts[i], end - starts[i]));
    }
}

void Scheduler::hold_for_host() {
    auto until = realtime_now() + options_.host_grace;
    while (runnable_.empty() && any_host_pending()) {
        auto left = std::chrono::ceil<std::chrono::milliseconds>(until - realtime_now()).count();
        if (left <= 0)
            return;
        poll_host(static_cast<int>(left));
    }
}

void Scheduler::wait_realtime_until(SimTime when) {
    for (;;) {
        auto due = realtime_origin_ + when.since_start;
        auto left = due - realtime_now();
        if (left <= std::chrono::steady_clock::duration::zero())
            return;
        auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
        if (host_ios_.empty()) {
            std::this_thread::sleep_for(left);
            return;
        }
        poll_host(static_cast<int>(ms));
        if (!runnable_.empty())
            return; // host input arrived: handle it before the deadline
    }
}

} // namespace lwipsim::clock
