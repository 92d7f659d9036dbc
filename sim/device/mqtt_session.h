#pragma once
// One MQTT 3.1.1 connection over a Transport, behaving like the ESP-IDF 4.4 MQTT client
// (esp-mqtt) in the ways that matter for the field case: when it pings, when it gives up, when
// it resends. It is run by one simulated thread with blocking calls; it owns no thread and never
// reads the wall clock (time comes from SessionClock, waiting happens inside Transport reads).
//
// Keepalive, as esp-mqtt does it. Source read: espressif/esp-mqtt mqtt_client.c at commit
// 001dc1a95eace15d543db6a23240d60e09a9f20e (esp_mqtt_task, mqtt_write_data, esp_mqtt_connect,
// MQTT_STATE_CONNECTED branch); the half-period rule is confirmed by the maintainer in
// espressif/esp-mqtt issue #32.
//  * `keepalive_tick` is the time of the last successful write of any control packet through
//    mqtt_write_data (PUBLISH, PUBACK, SUBSCRIBE, PINGREQ, a resend). Reads never refresh it.
//    esp-mqtt's CONNECT write bypasses mqtt_write_data and the tick is set at client init, so
//    after a *reconnect* it still holds the previous connection's last write and the first
//    PINGREQ can come early. This session models a freshly started client: the tick starts
//    when connect() writes CONNECT.
//  * The task loop runs one iteration, then waits in poll-read for up to
//    MQTT_POLL_READ_TIMEOUT_MS = 1000 ms (returning early when bytes arrive). Each iteration:
//    receive/handle, resend one due QoS1 message, then the keepalive check:
//      if keepalive != 0 and now - keepalive_tick > keepalive/2:
//          if wait_for_ping_resp: "No PING_RESP, disconnected" -> abort the connection
//          else: send PINGREQ (which sets keepalive_tick = now), wait_for_ping_resp = true
//    A PINGRESP clears wait_for_ping_resp; connect() clears it too.
//  * So with nothing else written: PINGREQ goes out at the first loop iteration strictly more
//    than keepalive/2 after the last write, and without a PINGRESP the connection is aborted at
//    the first iteration strictly more than keepalive/2 after that PINGREQ. Example: CONNECT
//    written and CONNACK received at t0, idle link (iterations at t0, t0+1 s, ...), keepalive
//    K s with K even: PINGREQ at t0 + K/2 + 1 s, abort at t0 + K + 2 s (the iterations at
//    exactly K/2 fail the strict ">"). For the esp-mqtt default K = 120: 61 s and 122 s.
//    Bytes arriving end a poll early and restart the 1 s cadence from their arrival time.
//  * Any write in between (an application publish, a resend, a PUBACK) moves keepalive_tick and
//    so postpones both the next PINGREQ and the abort. A client publishing more often than K/2
//    never pings, as on the device.
// Comparisons use nanoseconds where esp-mqtt uses millisecond ticks; with millisecond-aligned
// events (as in lwipsim) the outcomes are the same.
//
// Other esp-mqtt behaviour modelled: writes use network_timeout and any failed or timed-out write
// aborts the connection; CONNACK is awaited for network_timeout; an unacked QoS1 PUBLISH is resent
// with DUP, at most one per iteration, once more than resend_timeout has passed since it was last
// (re)sent (esp-mqtt scans every 1 s and resends items older than 1 s). Publishing stands in for
// an application task calling esp_mqtt_client_publish on a fixed schedule, independent of the
// loop's polls.
// The memory of esp-mqtt's outbox (which outlives the session) is the caller's, through
// OutboxMemory; its cleanup runs once per loop iteration, after receiving.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/clock/sim_time.h"
#include "sim/device/mqtt_codec.h"
#include "sim/device/transport.h"

namespace lwipsim::device {

struct SessionConfig {
    std::string client_id = "lwipsim";
    uint16_t keepalive_s = 120; ///< esp-mqtt default MQTT_KEEPALIVE_TICK; 0 disables pings
    bool clean_session = true;
    std::optional<std::string> username;
    std::optional<std::string> password;
    std::optional<Will> will;

    std::optional<std::string> subscribe_topic; ///< sent right after CONNACK when set
    uint8_t subscribe_qos = 0;

    std::string publish_topic = "lwipsim/telemetry";
    size_t publish_payload_size = 64;
    clock::SimDuration publish_interval{0}; ///< zero = no publishing
    uint8_t publish_qos = 0;                ///< 0 or 1
    bool publish_retain = false;            ///< RETAIN flag on every PUBLISH (3.3.1.3)

    clock::SimDuration resend_timeout = clock::from_ms(1000);   ///< QoS1 resend age
    clock::SimDuration network_timeout = clock::from_ms(10000); ///< MQTT_NETWORK_TIMEOUT_MS
    clock::SimDuration poll_interval = clock::from_ms(1000);    ///< MQTT_POLL_READ_TIMEOUT_MS
    size_t max_incoming_packet = MqttDecoder::kDefaultMaxPacketSize;
};

/// Event hooks for measurement code. Called synchronously on the session's thread; the default
/// implementations do nothing.
class SessionObserver {
  public:
    virtual ~SessionObserver() = default;
    virtual void on_connected(bool /*session_present*/) {}
    virtual void on_ping_sent() {}
    virtual void on_ping_timeout() {}
    virtual void on_publish_sent(uint16_t /*packet_id*/, uint8_t /*qos*/) {}
    virtual void on_publish_acked(uint16_t /*packet_id*/) {}
    /// No outbox memory for a QoS 1 publish: it is sent but not stored, so never resent, and
    /// its PUBACK is ignored (esp-mqtt's mqtt_enqueue ignores outbox_enqueue's failure).
    virtual void on_outbox_store_failed(uint16_t /*packet_id*/, size_t /*encoded_size*/) {}
    virtual void on_message(std::string_view /*topic*/, size_t /*payload_size*/) {}
    virtual void on_error(std::string_view /*text*/) {}
};

/// Memory for the client's outbox: esp-mqtt stores every QoS > 0 message it sends until its
/// PUBACK, in an outbox that belongs to the client and so outlives each connection (and this
/// session). The session reports its items here; the owner decides what they cost and when the
/// client's cleanup deletes expired ones. Packet ids are those of the current session.
class OutboxMemory {
  public:
    virtual ~OutboxMemory() = default;
    /// Stores a message of `encoded_size` bytes before its first write; false: no memory.
    virtual bool store(uint16_t packet_id, size_t encoded_size, clock::SimTime now) = 0;
    /// Its first write completed at `now`: esp-mqtt sets the item's tick then (a resend does
    /// not move it, so the expiry counts from the first transmission).
    virtual void transmitted(uint16_t packet_id, clock::SimTime now) = 0;
    /// Its PUBACK arrived: the item is deleted.
    virtual void acked(uint16_t packet_id) = 0;
    /// False once the cleanup has deleted the item (it is then no longer resent).
    [[nodiscard]] virtual bool holds(uint16_t packet_id) const = 0;
    /// The client task's cleanup, run at every iteration of its connected loop.
    virtual void delete_expired(clock::SimTime now) = 0;
};

enum class ConnectOutcome {
    kAccepted,
    kRefused,
    kTimeout,
    kClosed,
    kTransportError,
    kProtocolError,
    kCut, ///< the caller's stop time came before CONNACK (or before CONNECT was written)
};

struct ConnectResult {
    ConnectOutcome outcome;
    uint8_t return_code = 0; ///< CONNACK code when one arrived (0 accepted, 1-5 refused)
    bool session_present = false;
    std::string detail;
};

enum class StopReason {
    kDeadline,        ///< run_until's deadline was reached; the connection is still up, or
                      ///< a write was still in progress then (`detail` says which)
    kPingTimeout,     ///< no PINGRESP (see the keepalive rule above)
    kTransportClosed, ///< peer closed, or a read/write reported kClosed
    kTransportError,  ///< a read or write failed, or a write timed out
    kProtocolError,   ///< the server sent bytes the decoder or the session rejects
    kNotConnected,    ///< run_until called without an accepted connect()
    kActionDue,       ///< the wake time (set_wake) came; the session is still connected
    // Ends the owner gives a session it closes on purpose (never returned by the session):
    kAppStop, ///< the application stopped the client (DISCONNECT, then close)
    kAppDrop, ///< the application closed the transport without DISCONNECT
};

struct RunResult {
    StopReason reason;
    clock::SimTime at;
    std::string detail;
};

std::string_view to_string(StopReason reason);
std::string_view to_string(ConnectOutcome outcome);

struct SessionCounters {
    uint64_t publishes_sent = 0; ///< first transmissions only
    uint64_t publishes_resent = 0;
    uint64_t publishes_acked = 0;
    uint64_t outbox_store_failures = 0; ///< QoS 1 publishes sent without an outbox item
    uint64_t messages_received = 0;
    uint64_t pings_sent = 0;
    uint64_t pings_answered = 0;
};

class MqttSession {
  public:
    /// `transport`, `clock`, `observer` and `outbox_memory` must outlive the session; observer
    /// and outbox_memory may be null (no outbox accounting: every QoS 1 item fits).
    MqttSession(SessionConfig config, Transport& transport, const SessionClock& clock,
                SessionObserver* observer = nullptr, OutboxMemory* outbox_memory = nullptr);

    /// Sends CONNECT and waits up to network_timeout for CONNACK; on acceptance sends the
    /// configured SUBSCRIBE. Callable once per session. No wait goes past `stop_at` (the end
    /// of the run): one it cuts short gives kCut, not a failure.
    ConnectResult connect(std::optional<clock::SimTime> stop_at = std::nullopt);
    /// Runs the client loop until `deadline` or until the connection is lost (see StopReason).
    /// No write waits past `deadline` either. After any reason but kDeadline the session is dead
    /// and returns kNotConnected.
    RunResult run_until(clock::SimTime deadline);
    /// Sends DISCONNECT (the transport stays open; closing it is the owner's business).
    IoResult disconnect();

    /// When the owner wants its thread back: run_until asks `next_due` at every iteration of its
    /// loop and returns kActionDue (still connected) once now reaches the time it gives
    /// (nullopt: nothing due). So a time known before a wait starts is met exactly; one that
    /// appears during a wait is met at the end of that poll (at most poll_interval later).
    void set_wake(std::function<std::optional<clock::SimTime>()> next_due) {
        next_due_ = std::move(next_due);
    }
    // Application calls between run_until's (esp_mqtt_client_publish / _subscribe /
    // _unsubscribe on a connected client). nullopt: written; otherwise the write failed and
    // the session is dead, as if run_until had returned this result.
    std::optional<RunResult> publish(const std::string& topic, size_t payload_size, uint8_t qos);
    std::optional<RunResult> subscribe(const std::string& topic_filter, uint8_t qos);
    std::optional<RunResult> unsubscribe(const std::string& topic_filter);

    [[nodiscard]] const SessionCounters& counters() const { return counters_; }
    [[nodiscard]] size_t unacked_publishes() const { return outbox_.size(); }
    [[nodiscard]] bool connected() const { return connected_; }
    [[nodiscard]] std::optional<std::vector<uint8_t>> suback_codes() const { return suback_; }
    /// esp-mqtt's keepalive_tick: time of the last successful control-packet write.
    [[nodiscard]] clock::SimTime last_write() const { return keepalive_tick_; }

  private:
    struct Pending {
        uint16_t packet_id;
        std::vector<uint8_t> encoded;
        clock::SimTime last_sent;
    };
    struct Stop {
        StopReason reason;
        std::string detail;
    };

    std::optional<Stop> write_packet(const std::vector<uint8_t>& bytes, const char* what);
    std::optional<Stop> read_into_decoder(clock::SimDuration timeout, bool& got_bytes);
    std::optional<Stop> handle_packets();
    std::optional<Stop> publish_next();
    std::optional<Stop> publish_message(const std::string& topic, size_t payload_size, uint8_t qos,
                                        bool retain);
    std::optional<RunResult> app_write(std::optional<Stop> stop);
    std::optional<Stop> resend_due();
    std::optional<Stop> keepalive_check();
    uint16_t next_packet_id();
    RunResult finish(Stop stop);

    SessionConfig config_;
    Transport& transport_;
    const SessionClock& clock_;
    SessionObserver* observer_;
    SessionObserver null_observer_;
    OutboxMemory* outbox_memory_;
    MqttDecoder decoder_;

    bool connect_called_ = false;
    bool connected_ = false;
    bool wait_for_ping_resp_ = false;
    clock::SimTime keepalive_tick_{};
    clock::SimTime next_publish_{};
    std::optional<clock::SimTime> poll_end_; // set while the loop is in its poll wait
    std::optional<clock::SimTime> stop_at_;  // no wait goes past it (connect / run_until)
    std::function<std::optional<clock::SimTime>()> next_due_; // see set_wake
    uint16_t last_packet_id_ = 0;
    uint16_t subscribe_id_ = 0;
    uint64_t publish_seq_ = 0;
    std::deque<Pending> outbox_;
    std::optional<std::vector<uint8_t>> suback_;
    SessionCounters counters_;
};

} // namespace lwipsim::device
