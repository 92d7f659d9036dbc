#include "harness/program/program_watchdog.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace lwipsim::program {

namespace {

int g_error_fd = -1;
int g_outer_error_fd = -1;

void write_all(int fd, const std::string& text) {
    if (fd < 0)
        return;
    const char* p = text.data();
    size_t left = text.size();
    while (left > 0) {
        ssize_t n = ::write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        p += n;
        left -= static_cast<size_t>(n);
    }
}

// How often the watcher looks: fine enough for a 2 s limit, rare enough to cost nothing.
constexpr std::chrono::milliseconds kLookEvery{250};

} // namespace

std::chrono::seconds stall_limit_from_env() {
    const char* text = std::getenv(kStallLimitEnv);
    if (text == nullptr || *text == '\0')
        return kDefaultStallLimit;
    char* end = nullptr;
    errno = 0;
    const long long s = std::strtoll(text, &end, 10);
    if (errno != 0 || *end != '\0' || s < 1 || s > 86400) {
        throw std::invalid_argument(std::string(kStallLimitEnv) + "='" + text +
                                    "' is not a whole number of seconds 1..86400 (the device "
                                    "program's stall limit, docs/programs.md)");
    }
    return std::chrono::seconds(s);
}

void report_stalls_to(int error_fd, int outer_error_fd) {
    g_error_fd = error_fd;
    g_outer_error_fd = outer_error_fd;
}

StallWatchdog::StallWatchdog(clock::Scheduler& scheduler, std::string program_path,
                             std::chrono::seconds limit)
    : scheduler_(scheduler), path_(std::move(program_path)), limit_(limit),
      watcher_([this] { loop(); }) {}

StallWatchdog::~StallWatchdog() {
    {
        std::lock_guard lk(mu_);
        stop_ = true;
    }
    stop_cv_.notify_one();
    watcher_.join();
}

void StallWatchdog::watch(const clock::SimThread* thread) {
    std::lock_guard lk(mu_);
    threads_.insert(thread);
}

bool StallWatchdog::is_program_thread(const clock::SimThread* thread) {
    std::lock_guard lk(mu_);
    return threads_.contains(thread);
}

void StallWatchdog::loop() {
    using Clock = std::chrono::steady_clock;
    int64_t seen_ns = scheduler_.progress().now_ns;
    Clock::time_point since = Clock::now(); // when virtual time was last seen to move
    std::unique_lock lk(mu_);
    while (!stop_cv_.wait_for(lk, kLookEvery, [this] { return stop_; })) {
        lk.unlock();
        const clock::Scheduler::Progress p = scheduler_.progress();
        const Clock::time_point now = Clock::now();
        if (p.now_ns != seen_ns) {
            seen_ns = p.now_ns;
            since = now;
        } else if (now - since >= limit_ && p.holder != nullptr && is_program_thread(p.holder)) {
            fire(p.holder, std::chrono::duration<double>(now - since).count(), p.now_ns);
        }
        lk.lock();
    }
}

void StallWatchdog::fire(const clock::SimThread* thread, double stalled_s, int64_t now_ns) {
    char head[160];
    std::snprintf(head, sizeof head,
                  "ran %.0f s of wall time while virtual time stood still at %.6f s", stalled_s,
                  static_cast<double>(now_ns) / 1e9);
    const std::string why =
        "the device program " + path_ + " stalled: its thread '" +
        clock::Scheduler::name_of(thread) + "' " + head +
        ": a busy loop never lets virtual time move (taskYIELD, vTaskDelay(0) and zero-timeout "
        "polls do not either); block in a wait, vTaskDelay(ticks > 0), or a socket call with a "
        "timeout (limit " +
        std::to_string(limit_.count()) + " s, " + kStallLimitEnv + "; docs/programs.md)";
    write_all(STDERR_FILENO, "lwipsim: " + why + "\n");
    write_all(g_error_fd, why);
    write_all(g_outer_error_fd, why);
    // No destructor may run: the program's thread still holds the baton and lwIP's state. The
    // broker and every other child die with this process (PR_SET_PDEATHSIG, child_process.h).
    ::_exit(kStallExitCode);
}

} // namespace lwipsim::program
