#include "sim/clock/scheduler.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <thread>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace lwipsim::clock {

enum class ThreadState { kNew, kRunnable, kRunning, kBlocked, kFinished };

class SimThread {
  public:
    std::string name;
    int priority = 0;
    ThreadState state = ThreadState::kNew;
    WaitReason waiting;
    std::optional<EventId> timeout_event;
    bool timed_out = false;
    /// The baton, handed between OS threads: kNoBaton, kBaton, or kSleeping (the thread waits
    /// for it in the futex). Only a sleeping receiver costs the giver a system call.
    std::atomic<uint32_t> baton{0};
    std::function<void()> body;
};

namespace {
Scheduler* g_current = nullptr;

// A hand-over is one futex wake (when the receiver sleeps) and one futex wait, and nothing else:
// a mutex and condition variable per hand-over cost about twice the system calls (the woken
// thread first wakes, then contends for the mutex its waker still holds), and on a
// paravirtualised machine each call is microseconds (docs/performance.md, the idle hour).
constexpr uint32_t kNoBaton = 0, kBaton = 1, kSleeping = 2;
static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t), "a futex word");

void give_baton(SimThread* to) {
    if (to->baton.exchange(kBaton, std::memory_order_release) == kSleeping)
        ::syscall(SYS_futex, &to->baton, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

void take_baton(SimThread* me) {
    for (;;) {
        uint32_t seen = kBaton;
        if (me->baton.compare_exchange_strong(seen, kNoBaton, std::memory_order_acquire))
            return;
        if (seen == kNoBaton &&
            !me->baton.compare_exchange_strong(seen, kSleeping, std::memory_order_relaxed))
            continue; // the baton came meanwhile
        ::syscall(SYS_futex, &me->baton, FUTEX_WAIT_PRIVATE, kSleeping, nullptr, nullptr, 0);
    }
}

[[noreturn]] void invariant_broken(const char* what) {
    std::fprintf(stderr, "lwipsim: scheduler invariant broken: %s\n", what);
    std::abort();
}

const char* state_name(ThreadState s) {
    switch (s) {
    case ThreadState::kNew:
        return "new";
    case ThreadState::kRunnable:
        return "runnable";
    case ThreadState::kRunning:
        return "running";
    case ThreadState::kBlocked:
        return "blocked";
    case ThreadState::kFinished:
        return "finished";
    }
    return "?";
}
} // namespace

Scheduler& Scheduler::create(SchedulerOptions options) {
    // Never destroyed (not even at exit): parked threads may still wait inside these objects,
    // and a global root keeps them visible to leak checkers as reachable.
    static auto* all = new std::vector<Scheduler*>();
    all->push_back(new Scheduler(options));
    return *all->back();
}

Scheduler& Scheduler::current() {
    if (g_current == nullptr)
        invariant_broken("no scheduler is running");
    return *g_current;
}

Scheduler::Scheduler(SchedulerOptions options) : options_(options) {}

uint32_t Scheduler::now_ms32() const {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now_.since_start).count();
    return options_.start_ms + static_cast<uint32_t>(static_cast<uint64_t>(ms) & 0xffffffffU);
}

SimThread* Scheduler::new_thread(const std::string& name, int priority) {
    auto t = std::make_unique<SimThread>();
    t->name = name;
    t->priority = priority;
    threads_.push_back(std::move(t));
    return threads_.back().get();
}

void Scheduler::make_runnable(SimThread* t) {
    t->state = ThreadState::kRunnable;
    runnable_.emplace(RunKey{-t->priority, ++seq_}, t);
}

void Scheduler::run(const std::string& name, int priority, std::function<void()> main) {
    if (g_current != nullptr)
        invariant_broken("one scheduler run at a time per process");
    g_current = this;
    realtime_origin_ = realtime_now();
    spawn(name, priority, std::move(main));
    SimThread* first = runnable_.begin()->second;
    runnable_.erase(runnable_.begin());
    first->state = ThreadState::kRunning;
    current_ = first;
    holder_.store(first, std::memory_order_release);
    std::unique_lock lk(handoff_mu_);
    // The main thread's finish (or a deadlock) ends the run; other threads stay parked.
    static std::condition_variable done_cv;
    done_cv_ = &done_cv;
    give_baton(first);
    done_cv.wait(lk, [this] { return run_done_; });
    g_current = nullptr;
    if (!deadlock_.empty())
        throw DeadlockError(deadlock_);
}

void Scheduler::spawn(const std::string& name, int priority, std::function<void()> fn) {
    SimThread* t = new_thread(name, priority);
    t->body = std::move(fn);
    bool is_main = threads_.size() == 1;
    std::thread([this, t, is_main] {
        wait_for_baton(t);
        t->body();
        if (is_main) {
            std::lock_guard lk(handoff_mu_);
            t->state = ThreadState::kFinished;
            run_done_ = true;
            done_cv_->notify_one();
            return;
        }
        thread_finished(t);
    }).detach();
    make_runnable(t);
}

void Scheduler::wait_for_baton(SimThread* me) {
    take_baton(me);
}

void Scheduler::hand_baton(SimThread* from, SimThread* to) {
    ++stats_.switches;
    if (trace_enabled_)
        record("run " + to->name);
    // Read before the baton leaves: from then on `to` may change `from`'s state.
    const bool wait_for_return = from != nullptr && from->state != ThreadState::kFinished;
    give_baton(to);
    if (wait_for_return)
        take_baton(from);
}

void Scheduler::thread_finished(SimThread* me) {
    me->state = ThreadState::kFinished;
    dispatch(me);
}

EventId Scheduler::at(SimTime when, std::function<void()> fn) {
    if (when < now_)
        invariant_broken("event scheduled in the past: time never goes back");
    EventKey key{when, ++seq_};
    events_.emplace(key, std::move(fn));
    event_keys_.emplace(key.seq, key);
    return key.seq;
}

void Scheduler::cancel(EventId id) {
    auto it = event_keys_.find(id);
    if (it == event_keys_.end())
        return;
    events_.erase(it->second);
    event_keys_.erase(it);
}

bool Scheduler::block(WaitReason reason, std::optional<SimTime> deadline) {
    SimThread* me = current_;
    if (me == nullptr || in_dispatch_)
        invariant_broken("block() outside a simulated thread step");
    me->state = ThreadState::kBlocked;
    me->waiting = std::move(reason);
    me->timed_out = false;
    if (deadline) {
        me->timeout_event = at(std::max(*deadline, now_), [this, me] {
            me->timeout_event.reset();
            me->timed_out = true;
            make_runnable(me);
        });
    }
    dispatch(me);
    return !me->timed_out;
}

void Scheduler::wake(SimThread* t) {
    if (t->state != ThreadState::kBlocked)
        invariant_broken("wake() of a thread that is not blocked");
    if (t->timeout_event) {
        cancel(*t->timeout_event);
        t->timeout_event.reset();
    }
    make_runnable(t);
    // A higher-priority thread preempts its waker at once (FreeRTOS semantics); inside the idle
    // dispatcher the choice is made there anyway.
    SimThread* me = current_;
    if (!in_dispatch_ && me != nullptr && t->priority > me->priority) {
        make_runnable(me);
        dispatch(me);
    }
}

void Scheduler::sleep_for(SimDuration d) {
    block(WaitReason{"sleep", nullptr, nullptr}, now_ + d);
}

bool Scheduler::is_blocked(const SimThread* thread) {
    return thread->state == ThreadState::kBlocked;
}
const std::string& Scheduler::name_of(const SimThread* thread) {
    return thread->name;
}
bool Scheduler::is_finished(const SimThread* thread) {
    return thread->state == ThreadState::kFinished;
}
bool Scheduler::waits_forever(const SimThread* thread) {
    return thread->state == ThreadState::kBlocked && !thread->timeout_event;
}
std::string Scheduler::describe_wait(const SimThread* thread) {
    std::string out = state_name(thread->state);
    if (thread->state == ThreadState::kBlocked) {
        out = thread->waiting.what;
        if (thread->waiting.name != nullptr)
            out += " '" + *thread->waiting.name + "'";
    }
    return out;
}

void Scheduler::dispatch(SimThread* me) {
    while (runnable_.empty()) {
        idle_step();
        if (!deadlock_.empty()) {
            fail_deadlock(me);
            return;
        }
    }
    SimThread* next = runnable_.begin()->second;
    runnable_.erase(runnable_.begin());
    next->state = ThreadState::kRunning;
    current_ = next;
    holder_.store(next, std::memory_order_release);
    if (next != me)
        hand_baton(me, next);
}

void Scheduler::idle_step() {
    in_dispatch_ = true;
    // The host peer answers everything it was woken for before the host sockets are read, so
    // its replies land at this virtual instant, whatever the machine's load.
    // Reading the host sockets can wake the peer again (slirp flushed buffered bytes to it, or
    // a connect to it completed): it answers those at this instant too, before time moves on.
    // The bound only stops a livelock from hiding as a hang; each round is one real exchange.
    constexpr int kMaxPeerRounds = 1000;
    for (int round = 0; round < kMaxPeerRounds; ++round) {
        if (peer_ != nullptr) {
            HostPeer::Idle idle = peer_->wait_idle();
            stats_.host_wait_s += idle.waited_s;
            if (!idle.error.empty()) {
                deadlock_ = "the host program on virtual time failed: " + idle.error + "\n";
                in_dispatch_ = false;
                return;
            }
        }
        if (!host_ios_.empty()) {
            poll_host(0);
            if (!runnable_.empty()) {
                in_dispatch_ = false;
                return;
            }
        }
        if (peer_ == nullptr || peer_->idle())
            break;
    }
    bool host_pending = any_host_pending();
    if (host_pending && options_.mode == TimeMode::kVirtual && peer_ == nullptr) {
        // Hold virtual time still while a host round trip is due, for up to the grace in all:
        // an answer on one connection may come before the one still awaited on another.
        hold_for_host();
        if (!runnable_.empty()) {
            in_dispatch_ = false;
            return;
        }
        host_pending = any_host_pending();
    }
    if (peer_ != nullptr && options_.mode == TimeMode::kVirtual && reach_peer_deadline()) {
        in_dispatch_ = false;
        return;
    }
    if (events_.empty()) {
        deadlock_ =
            "every simulated thread is blocked and nothing is scheduled:\n" + describe_threads();
        in_dispatch_ = false;
        return;
    }
    auto it = events_.begin();
    SimTime when = it->first.when;
    if (when > now_) {
        if (before_jump_)
            before_jump_(when);
        if (options_.mode == TimeMode::kRealtime) {
            wait_realtime_until(when);
            if (!runnable_.empty()) {
                // Host input came before the deadline: it happens at the wall-clock instant.
                auto wall = SimTime{
                    std::chrono::duration_cast<SimDuration>(realtime_now() - realtime_origin_)};
                now_ = std::clamp(wall, now_, when);
                now_ns_.store(now_.ns(), std::memory_order_relaxed);
                in_dispatch_ = false;
                return;
            }
        }
        ++stats_.jumps;
        stats_.skipped += when - now_;
        if (host_pending) {
            ++stats_.jumps_with_host_pending;
            if (!stats_.first_jump_with_host_pending)
                stats_.first_jump_with_host_pending = now_;
        }
        // before_jump_ or host input may have scheduled earlier work: re-evaluate.
        if (!runnable_.empty() || events_.begin()->first.when < when) {
            in_dispatch_ = false;
            return;
        }
        now_ = when;
        now_ns_.store(now_.ns(), std::memory_order_relaxed);
    }
    auto fn = std::move(it->second);
    event_keys_.erase(it->first.seq);
    events_.erase(it);
    ++stats_.events;
    if (trace_enabled_)
        record("event");
    fn();
    in_dispatch_ = false;
}

bool Scheduler::reach_peer_deadline() {
    const std::optional<SimTime> due = peer_->deadline();
    if (!due || (!events_.empty() && events_.begin()->first.when <= *due))
        return false;
    const SimTime when = std::max(*due, now_);
    if (when > now_) {
        if (before_jump_)
            before_jump_(when);
        // before_jump_ may have scheduled earlier work: re-evaluate.
        if (!runnable_.empty() || (!events_.empty() && events_.begin()->first.when <= when))
            return true;
        ++stats_.jumps;
        stats_.skipped += when - now_;
        now_ = when;
        now_ns_.store(now_.ns(), std::memory_order_relaxed);
    }
    ++stats_.peer_deadlines;
    if (trace_enabled_)
        record("host peer deadline");
    if (peer_lookahead_) {
        std::optional<SimTime> next;
        if (!events_.empty())
            next = events_.begin()->first.when;
        peer_->wake_with_grant(now_, std::max(now_, peer_lookahead_(next)));
    } else {
        peer_->wake(now_);
    }
    return true;
}

bool Scheduler::any_host_pending() const {
    return std::any_of(host_ios_.begin(), host_ios_.end(),
                       [](const HostIo* io) { return io->awaiting_host(); });
}

void Scheduler::fail_deadlock(SimThread* me) {
    std::fprintf(stderr, "lwipsim: deadlock at t=%.6fs\n%s", now_.seconds(), deadlock_.c_str());
    {
        std::lock_guard lk(handoff_mu_);
        run_done_ = true;
        done_cv_->notify_one();
    }
    // Park this thread for good: nothing can ever give it the baton again.
    take_baton(me);
}

std::string Scheduler::describe_threads() const {
    std::ostringstream out;
    for (const auto& t : threads_) {
        out << "  thread '" << t->name << "' (priority " << t->priority
            << "): " << state_name(t->state);
        if (t->state == ThreadState::kBlocked) {
            out << " on " << t->waiting.what;
            if (t->waiting.name != nullptr)
                out << " '" << *t->waiting.name << "'";
        }
        out << "\n";
    }
    return out.str();
}

void Scheduler::record(const std::string& what) {
    char stamp[32];
    std::snprintf(stamp, sizeof stamp, "%.9f ", now_.seconds());
    trace_.push_back(stamp + what);
}

void Scheduler::add_host_io(HostIo* io) {
    host_ios_.push_back(io);
}
void Scheduler::remove_host_io(HostIo* io) {
    std::erase(host_ios_, io);
}

} // namespace lwipsim::clock
