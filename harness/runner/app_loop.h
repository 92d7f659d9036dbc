#pragma once
// The device application, on a simulated thread of its own until the run's end: the built-in
// client (esp-mqtt's loop over esp-tls: connect, MQTT until it fails, destroy, wait, reconnect,
// with the scenario's app.actions), or the user's app.program instead. What it observes goes to
// the run's Recorder and RunState (run_state.h).

#include "harness/probes/pcb_probe.h"
#include "harness/runner/fault_triggers.h"
#include "harness/runner/recorder.h"
#include "sim/device/mqtt_session.h"
#include "sim/device/tls_transport.h"

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace lwipsim::runner {

struct BrokerTarget;
struct RunState;

// Counts the MQTT session's events and writes them to the event log.
class AppObserver final : public device::SessionObserver, public device::SocketObserver {
  public:
    AppObserver(Recorder& rec, probes::PcbProbe& probe, FaultTriggers& triggers)
        : rec_(rec), probe_(probe), triggers_(triggers) {}
    void on_connected(bool session_present) override;
    void on_outbox_store_failed(uint16_t packet_id, size_t encoded_size) override;
    void on_ping_timeout() override;
    void on_handshake_done(bool ok) override;
    void on_linger_result(int, bool ok, int err) override;
    void on_socket_closing(uint16_t local_port) override;
    uint64_t connects = 0, ping_timeouts = 0, handshakes_ok = 0, handshake_failures = 0;
    std::vector<size_t> heap_at_connect; ///< device heap in use at each CONNACK

  private:
    Recorder& rec_;
    probes::PcbProbe& probe_;
    FaultTriggers& triggers_;
};

/// What the built-in client did over the run, summed over its sessions (summary.json `app`).
struct AppTotals {
    uint64_t publishes_sent = 0, publishes_acked = 0, messages_received = 0, disconnects = 0;
    uint64_t outbox_store_failures = 0; ///< QoS 1 publishes sent without an outbox item
    size_t outbox_peak_bytes = 0;       ///< largest outbox (messages + items), see heap_outbox.h
    uint64_t socket_failures = 0;       ///< lwip_socket() refused (no slot or no memory)
    double connected_s = 0;             ///< time with an accepted MQTT session
    /// Longest loss-to-CONNACK gap (an open gap counts to the end); 0 when the session never
    /// broke; nullopt when the device never had one (nothing to time: null, not 0).
    std::optional<double> max_reconnect_s;
    std::vector<std::string> cut;              ///< what was still in progress when the run ended
    const char* blocked_in = nullptr;          ///< a call the run's end cannot cut (see run_device)
    const device::MqttSession* live = nullptr; ///< the session in run_until, and since when
    double live_since = 0;
    size_t publishes_unacked = 0; ///< QoS 1 publishes still awaiting PUBACK at the end
};

/// The built-in client until the run's end, then the `run_end` event. The application runs in a
/// simulated thread of its own, and this one ends the run at its duration: a call the
/// application cannot cut (a lingering close) is left in progress, parked, as are lwIP's threads.
void run_app_until_end(const scenario::Scenario& sc, const BrokerTarget& broker, RunState& st,
                       std::ofstream& keylog);

/// app.program: the user's device program runs instead of the built-in client, until the end.
void run_program_until_end(const BrokerTarget& broker, RunState& st, std::ofstream& keylog);

} // namespace lwipsim::runner
