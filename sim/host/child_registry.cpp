#include "sim/host/child_registry.h"

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>
#include <string>

#include "sim/host/errors.h"

namespace lwipsim::host {
namespace {

// Fixed table of atomics because the signal handler may neither lock nor allocate.
constexpr std::size_t kMaxChildren = 64;
std::array<std::atomic<pid_t>, kMaxChildren> g_children{};

struct sigaction g_previous_int {};
struct sigaction g_previous_term {};

void kill_registered_children() noexcept {
    for (auto& slot : g_children) {
        const pid_t pid = slot.load();
        if (pid > 0) {
            ::kill(pid, SIGKILL);
        }
    }
}

extern "C" void cleanup_handler(int sig) {
    const int saved_errno = errno;
    kill_registered_children();
    // Hand the signal to whoever owned it before us (default: terminate), so the process still
    // ends the way the sender asked for.
    ::sigaction(sig, sig == SIGINT ? &g_previous_int : &g_previous_term, nullptr);
    ::raise(sig);
    errno = saved_errno;
}

} // namespace

bool register_child(pid_t pid) noexcept {
    if (pid <= 0) {
        return false; // the handler must never kill(0) or kill(-1)
    }
    for (auto& slot : g_children) {
        pid_t expected = 0;
        if (slot.compare_exchange_strong(expected, pid)) {
            return true;
        }
    }
    return false;
}

void unregister_child(pid_t pid) noexcept {
    for (auto& slot : g_children) {
        pid_t expected = pid;
        if (slot.compare_exchange_strong(expected, 0)) {
            return;
        }
    }
}

int registered_child_count() noexcept {
    int count = 0;
    for (auto& slot : g_children) {
        count += slot.load() > 0 ? 1 : 0;
    }
    return count;
}

void install_cleanup_handlers() {
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction action {};
        action.sa_handler = cleanup_handler;
        sigemptyset(&action.sa_mask);
        action.sa_flags = 0;
        if (::sigaction(SIGINT, &action, &g_previous_int) != 0 ||
            ::sigaction(SIGTERM, &action, &g_previous_term) != 0) {
            throw ProcessError(std::string("install_cleanup_handlers: sigaction failed: ") +
                               std::strerror(errno));
        }
    });
}

} // namespace lwipsim::host
