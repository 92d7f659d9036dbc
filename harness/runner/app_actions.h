#pragma once
// The scenario's app.actions: scripted calls of the device application on its MQTT client
// (stop, start, reconnect, drop, a publish burst, subscribe, unsubscribe), each at a time or on
// a trigger, run on the application's own simulated thread on virtual time. Every call is an
// `app_action` event (docs/results.md). The semantics follow esp-mqtt's API (docs/scenarios.md):
//  * stop: esp_mqtt_client_stop: DISCONNECT, then close; no reconnect until `start`.
//  * start: esp_mqtt_client_start; ignored while the client runs (it returns ESP_FAIL).
//  * reconnect: esp_mqtt_client_reconnect: only while waiting to reconnect (it cuts the wait
//    short); otherwise ignored, as esp-mqtt ignores it outside MQTT_STATE_WAIT_TIMEOUT.
//  * drop: the transport closed without DISCONNECT, as after a local error, then the normal
//    reconnect delay.
//  * publish / subscribe / unsubscribe: on a connected client; messages due while it is not
//    connected are skipped (counted in the burst's app_action_done event).
// An action due while the client is blocked in connecting runs when that attempt ends, as an
// esp-mqtt task busy in esp_transport_connect would see it.

#include "harness/runner/fault_triggers.h"
#include "harness/runner/recorder.h"
#include "harness/scenario/scenario.h"
#include "sim/clock/sim_time.h"
#include "sim/clock/sync.h"
#include "sim/device/mqtt_session.h"

#include <optional>
#include <string>
#include <vector>

namespace lwipsim::runner {

class AppActions final : public TriggerListener {
  public:
    /// Built before the run starts; `rec` must outlive it.
    AppActions(const scenario::Scenario& sc, const DeviceAddresses& names, Recorder& rec);

    // TriggerListener: may be called from any simulated thread (frames come from lwIP's).
    void on_event(scenario::TriggerEvent event) override;
    void on_frame(const link::PacketInfo& frame) override;

    /// On the application's thread: runs a connected session until `end`, its loss, or an
    /// action that closes it (kAppStop after DISCONNECT, kAppDrop), running the actions that
    /// come due in between. The caller closes the transport, as after any other end.
    device::RunResult run_session(device::MqttSession& session, clock::SimTime end);
    /// On the application's thread, between connections: waits until `until` (while the
    /// client is stopped: until a `start`, or `end`), running the actions that come due.
    /// Returns early when `start` or `reconnect` asks for a connection now.
    void wait(clock::SimTime until, clock::SimTime end);

  private:
    /// One call to make: an action's occurrence started at `occurrence`; `message` is the
    /// index within a publish burst (0 for the others).
    struct Step {
        clock::SimTime at;
        size_t action;
        clock::SimTime occurrence;
        uint64_t message = 0;
    };
    struct Armed {
        size_t action;
        TriggerCounter counter;
    };
    void fire(Armed& a);
    void add(Step step);
    [[nodiscard]] std::optional<clock::SimTime> next_due() const;
    std::optional<Step> take_due();
    void schedule_after(const Step& done);
    /// Runs one step; a result when it ended the session.
    std::optional<device::RunResult> run_step(const Step& step, device::MqttSession* session);
    void record(const Step& step, const char* result, const std::string& detail = {});

    const scenario::Scenario& sc_;
    Recorder& rec_;
    clock::SimTime end_;
    std::vector<Step> due_; // sorted by time, then by when they were added
    std::vector<Armed> armed_;
    bool packet_triggers_ = false;
    bool stopped_ = false;     // after `stop`, until `start`
    bool connect_now_ = false; // `start` or `reconnect` cut the wait short
    struct Burst {
        uint64_t published = 0, skipped = 0;
        std::string cut_by; // why the session ended part way through the burst
    };
    std::vector<Burst> bursts_; // per action: the publish burst in progress
    clock::Semaphore woken_{0, "app actions"};
};

} // namespace lwipsim::runner
