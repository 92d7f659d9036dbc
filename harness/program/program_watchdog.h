#pragma once
// The stall watchdog of a device program run (docs/programs.md, "busy loop"). Virtual time
// moves only when every simulated thread waits, so a program thread that loops without ever
// waiting for a later instant (`for(;;){}`, or polling with zero timeouts and taskYIELD) holds
// virtual time still forever and the run would never end. On the device, ESP-IDF's task
// watchdog catches the same code (the idle task never runs). Here a host thread watches the
// scheduler's progress and, when virtual time has not moved for the limit of wall time while a
// thread of the program holds the baton, ends the worker: the reason on stderr and in the CLI's
// error report (JUnit), exit 1 (a failed run, as for a hung program), the broker killed by its
// PDEATHSIG as the worker goes.

#include "sim/clock/scheduler.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>

namespace lwipsim::program {

/// The environment variable that sets the limit in whole seconds (tests use 2).
inline constexpr const char* kStallLimitEnv = "LWIPSIM_PROGRAM_STALL_S";
/// The default: generous, since the 32-bit worker may run under qemu-i386 and a TLS handshake's
/// arithmetic holds virtual time still for seconds of wall time on a loaded machine.
inline constexpr std::chrono::seconds kDefaultStallLimit{60};
/// The worker's exit code when the watchdog ends it (a failed run).
inline constexpr int kStallExitCode = 1;

/// The limit from LWIPSIM_PROGRAM_STALL_S, or the default when it is unset. Throws
/// std::invalid_argument (exit 2) naming the variable when it is not 1..86400.
std::chrono::seconds stall_limit_from_env();

/// Where the watchdog also writes its reason besides stderr: the worker's error pipe (the CLI
/// reads it for JUnit's <error>) and, in a sibling worker, the first CLI's; -1 for none.
void report_stalls_to(int error_fd, int outer_error_fd);

class StallWatchdog {
  public:
    StallWatchdog(clock::Scheduler& scheduler, std::string program_path,
                  std::chrono::seconds limit);
    ~StallWatchdog(); ///< stops and joins the watching thread
    StallWatchdog(const StallWatchdog&) = delete;
    StallWatchdog& operator=(const StallWatchdog&) = delete;

    /// A thread of the program: a stall while it holds the baton ends the run.
    void watch(const clock::SimThread* thread);

  private:
    void loop();
    [[nodiscard]] bool is_program_thread(const clock::SimThread* thread);
    [[noreturn]] void fire(const clock::SimThread* thread, double stalled_s, int64_t now_ns);

    clock::Scheduler& scheduler_;
    std::string path_;
    std::chrono::seconds limit_;
    std::mutex mu_;
    std::condition_variable stop_cv_;
    bool stop_ = false;
    std::set<const clock::SimThread*> threads_;
    std::thread watcher_;
};

} // namespace lwipsim::program
