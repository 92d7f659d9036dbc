#include "harness/runner/broker_faults.h"

#include "harness/broker/managed_broker.h"
#include "sim/clock/scheduler.h"
#include "sim/host/child_process.h"
#include "sim/host/vclock_peer.h"

#include <csignal>
#include <cstdio>
#include <exception>

namespace lwipsim::runner {

using clock::Scheduler;
using clock::SimTime;
using scenario::FaultType;

namespace {
bool needs_control_thread(const scenario::Scenario& sc) {
    for (const auto& f : sc.faults)
        if (f.type == FaultType::kBrokerStop || f.type == FaultType::kBrokerRestart)
            return true;
    return false;
}
double now_s() {
    return Scheduler::current().now().seconds();
}
} // namespace

BrokerFaults::BrokerFaults(const scenario::Scenario& sc, broker::ManagedBroker* broker,
                           host::VclockPeer* clock, Recorder& rec,
                           std::function<void(const std::string&)> warn)
    : sc_(sc), broker_(broker), clock_(clock), rec_(rec), warn_(std::move(warn)) {
    if (broker_ != nullptr && needs_control_thread(sc))
        control_ = std::thread([this] { control_loop(); });
}

BrokerFaults::~BrokerFaults() {
    if (!control_.joinable())
        return;
    {
        std::lock_guard lk(mu_);
        quit_ = true;
    }
    cv_.notify_all();
    control_.join();
}

void BrokerFaults::control_loop() {
    std::unique_lock lk(mu_);
    for (;;) {
        cv_.wait(lk, [this] { return quit_ || job_; });
        if (!job_)
            return; // quit with nothing left to do
        auto job = std::move(job_);
        job_ = nullptr;
        lk.unlock();
        job();
        lk.lock();
        job_done_ = true;
        cv_.notify_all();
    }
}

void BrokerFaults::on_control_thread(const std::function<void()>& fn) {
    std::exception_ptr error;
    auto job = [&] {
        try {
            fn();
        } catch (...) {
            error = std::current_exception();
        }
    };
    std::unique_lock lk(mu_);
    job_done_ = false;
    job_ = job;
    cv_.notify_all();
    cv_.wait(lk, [this] { return job_done_; });
    lk.unlock();
    if (error)
        std::rethrow_exception(error);
}

void BrokerFaults::schedule_timed() {
    if (broker_ == nullptr)
        return;
    for (const auto& f : sc_.faults) {
        if (scenario::is_broker_fault(f.type) &&
            std::holds_alternative<clock::SimDuration>(f.start))
            schedule_from(f, SimTime{std::get<clock::SimDuration>(f.start)});
    }
}

void BrokerFaults::start(size_t index, SimTime start) {
    if (broker_ != nullptr)
        schedule_from(sc_.faults.at(index), start);
}

// The same windows fault_windows() and FaultTriggers report: [w, min(w + for, end)]. An end at
// or after the run's end is left to finish().
void BrokerFaults::schedule_from(const scenario::FaultSpec& f, SimTime first) {
    auto& s = Scheduler::current();
    const SimTime end{sc_.duration};
    for (SimTime w = first; w < end; w = w + *f.every) {
        s.at(w, [this, &f] { begin(f); });
        if (f.duration && w + *f.duration < end)
            s.at(w + *f.duration, [this, &f] { this->end(f); });
        if (!f.every)
            break;
    }
}

void BrokerFaults::begin(const scenario::FaultSpec& f) {
    if (state_ != State::kRunning) {
        char at[32];
        std::snprintf(at, sizeof at, "%.3f", now_s());
        warn_("broker fault '" + f.name + "' at " + at + " s found the broker " +
              (state_ == State::kStopped ? "stopped" : "paused") +
              " by another broker fault; skipped (broker faults must not overlap)");
        return;
    }
    switch (f.type) {
    case FaultType::kBrokerStop:
        stop_broker(f);
        break;
    case FaultType::kBrokerRestart:
        stop_broker(f);
        if (state_ == State::kStopped)
            start_broker(f.name);
        break;
    case FaultType::kBrokerPause:
        pause_broker(f.name);
        break;
    default:
        break;
    }
}

void BrokerFaults::end(const scenario::FaultSpec& f) {
    if (f.type == FaultType::kBrokerStop && state_ == State::kStopped)
        start_broker(f.name);
    if (f.type == FaultType::kBrokerPause && state_ == State::kPaused)
        resume_broker(f.name);
}

void BrokerFaults::stop_broker(const scenario::FaultSpec& f) {
    const auto* params = std::get_if<scenario::BrokerStopParams>(&f.params);
    const bool kill = params != nullptr && params->kill;
    // SIGTERM, then real waits: the detach ends mosquitto's wait, which held the signal blocked
    // (docs/design.md "Stopping"); a SIGKILLed program leaves the page as it was (reattach()
    // clears it).
    if (clock_ != nullptr && !kill)
        broker_->signal_stop();
    if (clock_ != nullptr)
        clock_->detach();
    try {
        on_control_thread([this, kill] { kill ? broker_->kill() : broker_->stop(); });
    } catch (const std::exception& e) {
        warn_("broker fault '" + f.name + "': stopping the broker failed: " + e.what());
    }
    state_ = State::kStopped;
    rec_.event(now_s(), "broker_stopped",
               {{"fault", f.name},
                {"signal", kill ? "kill" : "term"},
                {"persistence", sc_.broker.persistence}});
}

void BrokerFaults::start_broker(const std::string& fault) {
    const SimTime now = Scheduler::current().now();
    if (clock_ != nullptr)
        clock_->reattach(now);
    try {
        on_control_thread([this] { broker_->start_again(); });
    } catch (const std::exception& e) {
        // Still down: the run goes on with the broker stopped, and says so.
        if (clock_ != nullptr)
            clock_->detach();
        rec_.event(now_s(), "broker_start_failed", {{"fault", fault}, {"error", e.what()}});
        warn_("broker fault '" + fault + "': the broker did not start again: " + e.what());
        return;
    }
    if (clock_ != nullptr) {
        clock_->watch(broker_->pid());
        clock_->wake(now); // it answers whatever waits for it before time moves on
    }
    state_ = State::kRunning;
    ++starts_;
    rec_.event(now_s(), "broker_started", {{"fault", fault}, {"starts", starts_}});
}

// Held before the SIGSTOP, so no wake reaches a process that cannot answer.
void BrokerFaults::pause_broker(const std::string& fault) {
    if (clock_ != nullptr)
        clock_->hold();
    host::signal_child(broker_->pid(), SIGSTOP);
    state_ = State::kPaused;
    rec_.event(now_s(), "broker_paused", {{"fault", fault}});
}

void BrokerFaults::resume_broker(const std::string& fault) {
    host::signal_child(broker_->pid(), SIGCONT);
    if (clock_ != nullptr)
        clock_->release(Scheduler::current().now());
    state_ = State::kRunning;
    rec_.event(now_s(), "broker_resumed", {{"fault", fault}});
}

void BrokerFaults::finish() {
    if (state_ != State::kPaused)
        return;
    host::signal_child(broker_->pid(), SIGCONT);
    // The scheduler is gone: nothing to wake; the stop that follows detaches the clock.
    state_ = State::kRunning;
}

} // namespace lwipsim::runner
