#pragma once
// Faults that start on a protocol event instead of at a fixed time (the scenario's `trigger`):
// after the Nth MQTT connect, TLS handshake, application close, or matching packet. The link
// builds them dormant; this starts them when their event comes, and records their windows.

#include "harness/runner/recorder.h"
#include "harness/scenario/scenario.h"
#include "sim/clock/sim_time.h"
#include "sim/link/flow_filter.h"
#include "sim/link/frame.h"
#include "sim/link/packet.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <string_view>
#include <vector>

namespace lwipsim::link {
class Link;
}

namespace lwipsim::runner {

/// The addresses a scenario's "device" and "broker" stand for on the link in use (host byte
/// order): slirp's 10.0.2.15 / 10.0.2.2, or the TAP's 10.0.3.15 / 10.0.3.1.
struct DeviceAddresses {
    uint32_t device = 0;
    uint32_t broker = 0;
};

/// The scenario's packet filter as the link matches it. Throws std::invalid_argument for a bad
/// address.
link::FlowFilter to_flow_filter(const scenario::PacketFilter& f, const DeviceAddresses& names);

/// One `trigger:` counting its events: fires once, on the count-th (a fault's or an action's).
class TriggerCounter {
  public:
    TriggerCounter(const scenario::Trigger& t, const DeviceAddresses& names)
        : trigger_(t), filter_(to_flow_filter(t.filter, names)) {}
    /// True when this event makes it fire.
    /// True when this event makes it fire; `name` is a program_event's lwipsim_event name.
    bool on_event(scenario::TriggerEvent event, std::string_view name = {});
    /// True when this frame (nth_packet) makes it fire.
    bool on_frame(const link::PacketInfo& frame);
    [[nodiscard]] const scenario::Trigger& trigger() const { return trigger_; }
    [[nodiscard]] bool counts_packets() const {
        return trigger_.event == scenario::TriggerEvent::kNthPacket;
    }

  private:
    scenario::Trigger trigger_;
    link::FlowFilter filter_;
    uint32_t seen_ = 0;
    bool done_ = false;
};

/// Someone else who starts things on the same events (app actions, harness/runner/app_actions.h).
class TriggerListener {
  public:
    virtual ~TriggerListener() = default;
    virtual void on_event(scenario::TriggerEvent event) = 0;
    virtual void on_frame(const link::PacketInfo& frame) = 0;
};

class FaultTriggers {
  public:
    FaultTriggers(const scenario::Scenario& sc, const DeviceAddresses& names, Recorder& rec);
    /// The built link: it holds the scenario's link faults in order, without the broker faults.
    void bind(link::Link* link) { link_ = link; }
    /// Who starts a triggered broker fault: fn(index in the scenario's faults, start time).
    void bind_broker(std::function<void(size_t, clock::SimTime)> fn) { broker_ = std::move(fn); }
    void on_event(scenario::TriggerEvent event);
    /// A device program's lwipsim_event(name): program_event triggers count it.
    void on_program_event(std::string_view name);
    /// Every frame at the device's edge (both directions, parsed once there), for nth_packet.
    void on_frame(const link::PacketInfo& frame);
    [[nodiscard]] bool any_packet_triggers() const { return packet_triggers_; }
    /// Also tells `l` (which must outlive this) of every event and frame.
    void add_listener(TriggerListener* l) { listeners_.push_back(l); }
    /// {name, type, windows} of the triggered faults that fired (for summary.json).
    [[nodiscard]] const nlohmann::json& fired() const { return fired_; }

  private:
    struct Pending {
        size_t index;      ///< in the scenario's faults
        size_t link_index; ///< in the link's faults (link faults only)
        TriggerCounter counter;
    };
    void fire(Pending& p);

    const scenario::Scenario& sc_;
    Recorder& rec_;
    link::Link* link_ = nullptr;
    std::function<void(size_t, clock::SimTime)> broker_;
    std::vector<Pending> pending_;
    bool packet_triggers_ = false;
    std::vector<TriggerListener*> listeners_;
    nlohmann::json fired_ = nlohmann::json::array();
};

} // namespace lwipsim::runner
