#pragma once
// The scenario's broker faults on the managed mosquitto, on the run's clock:
//   broker_stop    SIGTERM at the start (a clean stop: a persistent broker saves its database;
//                  params.signal kill: SIGKILL, a crash that saves nothing), started again on
//                  the same port after `for`;
//   broker_restart the same with no gap;
//   broker_pause   SIGSTOP for `for`, then SIGCONT: the kernel still accepts connections and
//                  bytes, nothing is processed (an overloaded broker).
// A broker on virtual time (host::VclockPeer) is detached before a stop and re-attached to a
// fresh start; while paused it is held (never waited for, never woken), so the scheduler moves
// on without it (docs/design.md, "Broker faults").
//
// Each stop/start/pause/resume is an event of events.jsonl at its virtual time (broker_stopped,
// broker_started, broker_paused, broker_resumed), without the host's pid or port, which change
// from run to run (events.jsonl repeats for a seed; broker.log and run.log name the process). Faults found the broker in another state
// (overlapping broker faults) are skipped with a warning.
//
// Threading: every call comes from the scheduler's baton holder (events, triggers) except the
// constructor, finish() and the destructor (the run's own OS thread). A broker started again
// is spawned on a control thread this object owns, which lives until the destructor: the child
// dies with the thread that spawned it (PDEATHSIG), and simulated threads may end earlier.

#include "harness/runner/recorder.h"
#include "harness/scenario/scenario.h"
#include "sim/clock/sim_time.h"

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace lwipsim::broker {
class ManagedBroker;
}
namespace lwipsim::host {
class VclockPeer;
}

namespace lwipsim::runner {

class BrokerFaults {
  public:
    /// `broker` is null for an external broker (the loader refuses broker faults then);
    /// `clock` is null when the broker runs on the wall clock. `warn` receives "check this
    /// before trusting the results" messages.
    BrokerFaults(const scenario::Scenario& sc, broker::ManagedBroker* broker,
                 host::VclockPeer* clock, Recorder& rec,
                 std::function<void(const std::string&)> warn);
    ~BrokerFaults();
    BrokerFaults(const BrokerFaults&) = delete;
    BrokerFaults& operator=(const BrokerFaults&) = delete;

    /// Puts every broker fault with an `at` on the current scheduler (from a simulated thread).
    void schedule_timed();
    /// A trigger fired: fault `index` (of the scenario's faults) starts at `start`, and repeats.
    void start(size_t index, clock::SimTime start);
    /// After the run, before the broker is stopped: resumes a paused broker (a stopped one
    /// stays down). Idempotent.
    void finish();

  private:
    enum class State { kRunning, kStopped, kPaused };
    void schedule_from(const scenario::FaultSpec& f, clock::SimTime first);
    void begin(const scenario::FaultSpec& f);
    void end(const scenario::FaultSpec& f);
    void stop_broker(const scenario::FaultSpec& f);
    void start_broker(const std::string& fault);
    void pause_broker(const std::string& fault);
    void resume_broker(const std::string& fault);
    /// Runs fn on the control thread and waits for it; rethrows what it threw.
    void on_control_thread(const std::function<void()>& fn);
    void control_loop();

    const scenario::Scenario& sc_;
    broker::ManagedBroker* broker_;
    host::VclockPeer* clock_;
    Recorder& rec_;
    std::function<void(const std::string&)> warn_;
    State state_ = State::kRunning;
    int starts_ = 1; ///< times the broker was started in this run, the first start included

    std::mutex mu_;
    std::condition_variable cv_;
    std::function<void()> job_; ///< the control thread's next job; empty when none
    bool job_done_ = false;
    bool quit_ = false;
    std::thread control_; ///< started only when a broker fault may start the broker again
};

} // namespace lwipsim::runner
