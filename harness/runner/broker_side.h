#pragma once
// The managed broker's own view in a run's results: the connects and disconnects its log
// records (harness/broker/broker_log.h) as events with virtual times, the broker.* counts, and
// the messages the harness's observer receives (broker_observer.h). Format: docs/results.md.
//
// Threading: attach() and detach() are called by the scheduler's baton holder (inside run()),
// the accessors after the run.

#include "harness/broker/broker_log.h"
#include "harness/runner/broker_observer.h"
#include "harness/runner/recorder.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace lwipsim::runner {

struct BrokerSideOptions {
    std::filesystem::path log;          ///< the managed broker's broker.log
    std::optional<uint16_t> plain_port; ///< set: run the observer on this plain listener
    std::string observe_topic;          ///< what the observer subscribes to (the device's will)
    /// The broker on virtual time, or nullptr (wall clock: its lines are counted, but not
    /// recorded as events).
    clock::HostPeer* peer = nullptr;
    std::function<void(const std::string&)> warn; ///< a warning for summary.json and events
};

class BrokerSide {
  public:
    BrokerSide(Recorder& rec, BrokerSideOptions options);
    ~BrokerSide();
    BrokerSide(const BrokerSide&) = delete;
    BrokerSide& operator=(const BrokerSide&) = delete;

    /// Starts following the log and, if asked for, the observer (at the current virtual time).
    void attach(clock::Scheduler& sched);
    /// Stops both; lines the broker writes after the last poll (the run's teardown) are not part
    /// of the run.
    void detach(clock::Scheduler& sched);

    [[nodiscard]] const broker::BrokerCounts& counts() const { return counts_; }
    /// summary.json's `broker` object.
    [[nodiscard]] nlohmann::json summary_json() const;
    /// The same for a run whose broker's log is not ours (an external broker): all null.
    static nlohmann::json unmeasured_json();

  private:
    void on_line(std::string_view line);

    Recorder& rec_;
    BrokerSideOptions options_;
    broker::BrokerCounts counts_;
    broker::BrokerLogTail tail_;
    std::unique_ptr<BrokerObserver> observer_;
    uint64_t observed_ = 0;
};

} // namespace lwipsim::runner
