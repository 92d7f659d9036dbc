#pragma once
// The deterministic scheduler: simulated threads on virtual time.
//
// Every simulated thread is a real OS thread, but exactly one of them runs at a time: the one
// holding the baton. A thread gives the baton away only when it blocks (semaphore, mailbox,
// mutex, sleep) or is preempted at such a point by a higher-priority thread it woke (as
// FreeRTOS does on a device). When no thread can run, the scheduler polls host input (a gateway
// socket, a TAP fd) and then jumps virtual time straight to the earliest deadline — a timed
// wait, an lwIP timeout or a link/scenario event — ordered by (time, sequence number), so the
// order of everything is deterministic. Time never goes back.
//
// Threading contract: all methods except run() and stats accessors are called only from the
// thread that holds the baton (a simulated thread or an event callback running inside one).

#include "sim/clock/sim_time.h"

#include <poll.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace lwipsim::clock {

class SimThread;

/// What a blocked thread waits on, for the deadlock diagnostic.
/// What a blocked thread waits on, for the deadlock diagnostic. Cheap to make on every block
/// (this is the scheduler's hot path): text is only assembled when a deadlock is reported.
struct WaitReason {
    const char* what = "";             ///< e.g. "semaphore", "mailbox fetch", "sleep"
    const std::string* name = nullptr; ///< the primitive's name, if it has one
    const void* object = nullptr;
};

/// Host-side input that takes part in the schedule (slirp's host sockets, a TAP fd).
class HostIo {
  public:
    virtual ~HostIo() = default;
    /// Appends the fds to poll; called only when no simulated thread can run.
    virtual void fill_pollfds(std::vector<pollfd>& fds) = 0;
    /// Called with exactly the slice fill_pollfds appended, revents set; input is delivered at
    /// the current virtual time.
    virtual void on_polled(std::span<const pollfd> fds) = 0;
    /// True while a host round trip is outstanding (data forwarded to a host socket and no
    /// answer yet): virtual time is then held still for up to the grace period.
    [[nodiscard]] virtual bool awaiting_host() const = 0;
};

/// A host program on virtual time (the managed broker under liblwipsim_vclock.so, see
/// sim/host/vclock_peer.h): it runs only between a wake and its next idle report, and its own
/// timeout is an event of the schedule like any lwIP timer. With a peer the scheduler never
/// guesses with host_grace: it waits for the idle report instead.
class HostPeer {
  public:
    virtual ~HostPeer() = default;
    struct Idle {
        double waited_s = 0; ///< real seconds spent waiting
        std::string error;   ///< why the program never reported idle; empty when it did
    };
    /// Blocks (real time, bounded) until the program has reported idle after the latest wake.
    /// An error (hung, crashed, an uncovered wait) ends the run like a deadlock, with the text.
    virtual Idle wait_idle() = 0;
    /// True when the program has reported idle after every wake so far (a wake makes it busy).
    [[nodiscard]] virtual bool idle() const = 0;
    /// The idle program's next timeout in virtual time; nullopt when it waits without one.
    [[nodiscard]] virtual std::optional<SimTime> deadline() const = 0;
    /// Publishes `now` and makes the program look again (its deadline came, or data arrived).
    virtual void wake(SimTime now) = 0;
    /// wake(now) with a promise (the lookahead): nothing will reach the program before
    /// `quiet_until`, so it may let its own timeouts before then pass without a round trip, as
    /// long as it does nothing the worker can see (docs/design.md, "Lookahead"). A peer that
    /// cannot use the promise keeps this default.
    virtual void wake_with_grant(SimTime now, SimTime quiet_until) {
        (void)quiet_until;
        wake(now);
    }
    /// A count that changes whenever the program may have run since it was last read (a wake
    /// passed on, a detach): input only the program writes (its log) need not be looked at
    /// again while it stays the same. nullopt: unknown, look every time.
    [[nodiscard]] virtual std::optional<uint64_t> activity() const { return std::nullopt; }
};

enum class TimeMode {
    kVirtual,  ///< jump to the next deadline when idle
    kRealtime, ///< virtual time locked to the wall clock (for comparison)
};

struct SchedulerOptions {
    uint32_t start_ms = 0; ///< sys_now() at SimTime 0; near 2^32 to exercise the wrap
    TimeMode mode = TimeMode::kVirtual;
    std::chrono::milliseconds host_grace{20}; ///< real time to wait for a pending host reply
};

struct TimeStats {
    uint64_t jumps = 0;                   ///< times virtual time moved forward when idle
    SimDuration skipped{0};               ///< virtual time covered by those jumps
    double host_wait_s = 0;               ///< real seconds spent waiting for host input
    uint64_t jumps_with_host_pending = 0; ///< jumps taken while a host reply was still due
    /// Where the first of those jumps left from: everything before it repeats for a seed.
    std::optional<SimTime> first_jump_with_host_pending;
    uint64_t switches = 0;       ///< baton hand-overs between threads
    uint64_t events = 0;         ///< timed events executed
    uint64_t peer_deadlines = 0; ///< times virtual time reached the host peer's timeout
};

/// Raised by run() when every thread is blocked and nothing is scheduled.
class DeadlockError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

using EventId = uint64_t;

class Scheduler {
  public:
    /// Creates the process's scheduler. Schedulers are never destroyed while a simulated
    /// thread may still be parked in one (lwIP's tcpip thread never returns), so this hands
    /// out a reference to an object that lives until process exit.
    static Scheduler& create(SchedulerOptions options = {});
    /// The scheduler of the run in progress (for lwIP's sys_arch). Aborts if there is none.
    static Scheduler& current();

    /// Runs `main` as the first simulated thread and returns when it returns. Other threads
    /// may stay parked. Throws DeadlockError with a per-thread diagnostic. Call once.
    void run(const std::string& name, int priority, std::function<void()> main);

    [[nodiscard]] SimTime now() const { return now_; }
    /// Milliseconds for lwIP's sys_now(): start_ms + now, wrapping at 2^32.
    [[nodiscard]] uint32_t now_ms32() const;

    /// Starts a simulated thread; it becomes runnable after the caller's current step.
    void spawn(const std::string& name, int priority, std::function<void()> fn);
    /// Calls `fn` at virtual time `when` (>= now) from the scheduler; ties run in call order.
    EventId at(SimTime when, std::function<void()> fn);
    EventId after(SimDuration delay, std::function<void()> fn) {
        return at(now_ + delay, std::move(fn));
    }
    void cancel(EventId id);

    /// Blocks the calling simulated thread until wake() or the deadline. Returns false on
    /// timeout. Used by the sync primitives; `reason` feeds the deadlock diagnostic.
    bool block(WaitReason reason, std::optional<SimTime> deadline);
    /// Makes a blocked thread runnable. A woken thread of higher priority than the caller
    /// preempts it at once, as on an RTOS.
    void wake(SimThread* thread);
    void sleep_for(SimDuration d);
    [[nodiscard]] SimThread* self() const { return current_; }
    [[nodiscard]] static bool is_blocked(const SimThread* thread);
    [[nodiscard]] static const std::string& name_of(const SimThread* thread);
    [[nodiscard]] static bool is_finished(const SimThread* thread);
    /// True when `thread` is blocked with no deadline: only another thread can wake it.
    [[nodiscard]] static bool waits_forever(const SimThread* thread);
    /// What `thread` waits on, e.g. "semaphore 'sem'", for diagnostics.
    [[nodiscard]] static std::string describe_wait(const SimThread* thread);

    void add_host_io(HostIo* io);
    void remove_host_io(HostIo* io);
    /// At most one; nullptr removes it. While set, host_grace is not used (see HostPeer).
    void set_host_peer(HostPeer* peer) { peer_ = peer; }
    /// The lookahead for the peer: given the time of the next scheduled event (or nullopt when
    /// none), the earliest virtual time anything could reach the peer (nothing writes to its
    /// sockets before). Must be a true lower bound; when unset, the peer gets no grant. Empty
    /// function removes it.
    using PeerLookahead = std::function<SimTime(std::optional<SimTime> next_event)>;
    void set_peer_lookahead(PeerLookahead lookahead) { peer_lookahead_ = std::move(lookahead); }

    /// Called by the scheduler each time virtual time is about to move forward (after all
    /// runnable work at the current instant is done). Used by probes to sample at quiet points.
    void set_before_jump(std::function<void(SimTime next)> hook) { before_jump_ = std::move(hook); }

    /// Records "time thread" on every switch and "time event" on every event (for tests).
    void enable_trace() { trace_enabled_ = true; }
    [[nodiscard]] const std::vector<std::string>& trace() const { return trace_; }
    [[nodiscard]] TimeStats stats() const { return stats_; }

    /// What a watchdog on another OS thread may read at any time (both atomics): virtual time,
    /// and the simulated thread holding the baton (the one whose code, or whose call into the
    /// scheduler, runs now; nullptr before run()). Virtual time moves only when every thread
    /// waits, so a thread that holds the baton while `now_ns` stays put is not letting it.
    struct Progress {
        int64_t now_ns = 0;
        const SimThread* holder = nullptr;
    };
    [[nodiscard]] Progress progress() const {
        return {now_ns_.load(std::memory_order_relaxed), holder_.load(std::memory_order_acquire)};
    }
    [[nodiscard]] const SchedulerOptions& options() const { return options_; }

    Scheduler(const Scheduler&) = delete;
    Scheduler& operator=(const Scheduler&) = delete;

  private:
    explicit Scheduler(SchedulerOptions options);
    struct EventKey {
        SimTime when;
        uint64_t seq;
        auto operator<=>(const EventKey&) const = default;
    };
    struct RunKey {
        int neg_priority;
        uint64_t seq;
        auto operator<=>(const RunKey&) const = default;
    };

    SimThread* new_thread(const std::string& name, int priority);
    void make_runnable(SimThread* t);
    void dispatch(SimThread* me);
    void idle_step();
    /// True when the host peer's timeout comes before every event: time moved to it.
    bool reach_peer_deadline();
    void poll_host(int timeout_ms); // host_wait.cpp
    void hold_for_host();           // host_wait.cpp
    [[nodiscard]] bool any_host_pending() const;
    void wait_realtime_until(SimTime when); // host_wait.cpp
    void hand_baton(SimThread* from, SimThread* to);
    void wait_for_baton(SimThread* me);
    void thread_finished(SimThread* me);
    void fail_deadlock(SimThread* me);
    [[nodiscard]] std::string describe_threads() const;
    void record(const std::string& what);
    static std::chrono::steady_clock::time_point realtime_now(); // host_wait.cpp

    SchedulerOptions options_;
    SimTime now_{};
    /// Mirrors of now_ and current_ for progress(), written by the baton holder only.
    std::atomic<int64_t> now_ns_{0};
    std::atomic<const SimThread*> holder_{nullptr};
    uint64_t seq_ = 0;
    std::map<EventKey, std::function<void()>> events_;
    std::map<EventId, EventKey> event_keys_;
    std::map<RunKey, SimThread*> runnable_;
    std::vector<std::unique_ptr<SimThread>> threads_;
    SimThread* current_ = nullptr;
    bool in_dispatch_ = false;
    std::vector<HostIo*> host_ios_;
    HostPeer* peer_ = nullptr;
    PeerLookahead peer_lookahead_;
    std::function<void(SimTime)> before_jump_;
    TimeStats stats_;
    bool trace_enabled_ = false;
    std::vector<std::string> trace_;

    // The end of run() (the baton itself is a futex word per thread, scheduler.cpp).
    std::mutex handoff_mu_;
    std::condition_variable* done_cv_ = nullptr;
    bool run_done_ = false;
    std::chrono::steady_clock::time_point realtime_origin_{}; // kRealtime only
    std::string deadlock_;
};

} // namespace lwipsim::clock
