#include "harness/runner/app_loop.h"

#include "harness/program/program_run.h"
#include "harness/runner/app_actions.h"
#include "harness/runner/broker_start.h"
#include "harness/runner/heap_outbox.h"
#include "harness/runner/run_state.h"
#include "sim/clock/scheduler.h"
#include "sim/clock/sync.h"
#include "sim/heap/device_heap.h"
#include "sim/port/mbedtls/mbedtls_platform.h"

#include <chrono>

namespace lwipsim::runner {

using clock::Scheduler;
using clock::SimDuration;
using clock::SimTime;
using heap::DeviceHeap;
using heap::Subsystem;
using nlohmann::json;

namespace {

class DeviceClock final : public device::SessionClock {
  public:
    [[nodiscard]] SimTime now() const override { return Scheduler::current().now(); }
};

device::SessionConfig session_config(const scenario::AppSettings& app) {
    device::SessionConfig c;
    c.client_id = app.client_id;
    c.keepalive_s = static_cast<uint16_t>(
        std::chrono::duration_cast<std::chrono::seconds>(app.keepalive).count());
    c.clean_session = app.clean_session;
    c.network_timeout = app.network_timeout;
    c.username = app.username;
    c.password = app.password;
    if (app.will) {
        c.will = device::Will{app.will->topic,
                              {app.will->payload.begin(), app.will->payload.end()},
                              static_cast<uint8_t>(app.will->qos),
                              app.will->retain};
    }
    if (app.publish) {
        c.publish_topic = app.publish->topic;
        c.publish_interval = app.publish->interval;
        // The loader caps it at MQTT's largest remaining length, which size_t holds in 32 bits.
        c.publish_payload_size = static_cast<size_t>(app.publish->size);
        c.publish_qos = static_cast<uint8_t>(app.publish->qos);
        c.publish_retain = app.publish->retain;
    }
    if (app.subscribe) {
        c.subscribe_topic = app.subscribe->topic;
        c.subscribe_qos = static_cast<uint8_t>(app.subscribe->qos);
    }
    return c;
}

const char* stage_text(device::OpenStage stage) {
    switch (stage) {
    case device::OpenStage::kConnect:
        return "TCP connect";
    case device::OpenStage::kHandshake:
        return "TLS handshake";
    default:
        return "opening the connection";
    }
}

// esp-mqtt's own buffers: esp_mqtt_client_init allocates the receive buffer (buffer_size) and
// the send buffer (out_buffer_size, or buffer_size when 0) once, for the client's whole life
// across reconnects. Only their memory is modelled (subsystem app of the device heap); like the
// client, they stay allocated until the device process ends. False: no heap for them.
bool allocate_client_buffers(const scenario::AppSettings& app) {
    auto& heap = DeviceHeap::instance();
    const uint64_t out = app.out_buffer_size != 0 ? app.out_buffer_size : app.buffer_size;
    void* in_buffer = heap.allocate(Subsystem::kApp, static_cast<size_t>(app.buffer_size));
    if (in_buffer == nullptr)
        return false;
    if (heap.allocate(Subsystem::kApp, static_cast<size_t>(out)) == nullptr) {
        heap.release(in_buffer);
        return false;
    }
    return true;
}

// esp-tls's settings for this run: the broker, the scenario's linger, keepalive and timeouts.
device::TlsOptions tls_options(const scenario::Scenario& sc, const BrokerTarget& broker) {
    device::TlsOptions o;
    o.ip = broker.ip;
    o.port = broker.port;
    o.server_name = broker.server_name;
    o.ca_pem = broker.ca_pem;
    o.client_cert_pem = broker.client_cert_pem;
    o.client_key_pem = broker.client_key_pem;
    o.close_notify = sc.app.close_notify;
    o.connect_timeout = sc.app.network_timeout;
    o.handshake_timeout = sc.app.network_timeout;
    // The run stops at its duration: a wait in progress then is cut.
    o.stop_at = SimTime{sc.duration};
    if (sc.lwip.keepalive.enabled.value_or(false)) {
        auto secs = [](const std::optional<SimDuration>& d) -> std::optional<int> {
            if (!d)
                return std::nullopt;
            return static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(*d).count());
        };
        o.keepalive.enabled = true;
        o.keepalive.idle_s = secs(sc.lwip.keepalive.idle);
        o.keepalive.interval_s = secs(sc.lwip.keepalive.intvl);
        if (sc.lwip.keepalive.cnt)
            o.keepalive.count = static_cast<int>(*sc.lwip.keepalive.cnt);
    }
    if (sc.app.linger) {
        o.linger.enabled = true;
        o.linger.seconds = static_cast<int>(
            std::chrono::duration_cast<std::chrono::seconds>(*sc.app.linger).count());
    }
    return o;
}

// The device application: connect, run MQTT until it fails, destroy like esp-tls, wait,
// reconnect — the field case's loop — until the run ends.
// Fills `totals` as it goes: the run may end while it is still blocked (see run_device).
void run_app(const scenario::Scenario& sc, const BrokerTarget& broker, AppObserver& obs,
             Recorder& rec, std::ofstream& keylog, AppTotals& totals, AppActions& actions) {
    auto& s = Scheduler::current();
    SimTime end{sc.duration};
    port::DeterministicRng rng(sc.seed);
    DeviceClock device_clock;
    double lost_at = -1; // when the last session was lost, until the next CONNACK; -1: none
    device::TlsOptions o = tls_options(sc, broker);
    auto write_key = [&](const std::string& line) { keylog << line << '\n'; };
    const bool client_ok = allocate_client_buffers(sc.app);
    // The client's outbox (QoS 1 messages until PUBACK); like the buffers it lives as long as
    // the client, across reconnects.
    HeapOutbox outbox([&rec](uint16_t packet_id, size_t size, SimTime sent_at) {
        rec.event(now_s(), "mqtt_outbox_expired",
                  {{"packet_id", packet_id}, {"size", size}, {"sent_at", sent_at.seconds()}});
    });
    if (!client_ok) {
        // esp_mqtt_client_init returns NULL: the application never gets a client.
        rec.event(now_s(), "mqtt_client_init_failed",
                  {{"detail", "no device heap for the client's buffers"}});
    }
    while (client_ok && s.now() < end) {
        device::OpenError err{};
        auto t = device::TlsTransport::open(o, rng, &obs, write_key, err);
        if (!t && err.cut) {
            totals.cut.push_back(stage_text(err.stage));
            break;
        }
        if (!t) {
            if (err.stage == device::OpenStage::kSocket)
                ++totals.socket_failures;
            rec.event(now_s(), "connect_failed",
                      {{"stage", static_cast<int>(err.stage)},
                       {"code", err.code},
                       {"detail", err.detail}});
        } else {
            outbox.begin_session();
            device::MqttSession session(session_config(sc.app), *t, device_clock, &obs, &outbox);
            auto c = session.connect(end);
            if (c.outcome == device::ConnectOutcome::kAccepted) {
                double gap = lost_at >= 0 ? now_s() - lost_at : 0;
                totals.max_reconnect_s = std::max(totals.max_reconnect_s.value_or(0), gap);
                lost_at = -1;
                double up_since = now_s();
                totals.live = &session;
                totals.live_since = up_since;
                auto r = actions.run_session(session, end);
                totals.live = nullptr;
                totals.connected_s += now_s() - up_since;
                if (r.reason == device::StopReason::kDeadline) {
                    if (!r.detail.empty())
                        totals.cut.push_back(r.detail); // a write the end interrupted
                    totals.publishes_unacked = session.unacked_publishes();
                } else {
                    if (r.reason != device::StopReason::kAppStop) // stopped on purpose: no loss
                        lost_at = now_s();
                    ++totals.disconnects;
                    rec.event(now_s(), "mqtt_disconnected",
                              {{"reason", std::string(device::to_string(r.reason))},
                               {"detail", r.detail}});
                }
            } else if (c.outcome == device::ConnectOutcome::kCut) {
                totals.cut.push_back("MQTT connect: " + c.detail);
            } else {
                json failed = {{"outcome", std::string(device::to_string(c.outcome))},
                               {"detail", c.detail}};
                if (c.outcome == device::ConnectOutcome::kRefused)
                    failed["return_code"] = c.return_code;
                rec.event(now_s(), "mqtt_connect_failed", std::move(failed));
            }
            totals.publishes_sent += session.counters().publishes_sent;
            totals.publishes_acked += session.counters().publishes_acked;
            totals.messages_received += session.counters().messages_received;
            totals.outbox_store_failures += session.counters().outbox_store_failures;
            totals.outbox_peak_bytes = outbox.peak_bytes();
            if (s.now() >= end) {
                // Still connected (or connecting) at the end: leave it open. The device process
                // ends with the run, so the transport is deliberately not destroyed (that would
                // close it).
                (void)t.release();
                break;
            }
            // A lingering close blocks and cannot be cut short.
            totals.blocked_in = "closing the socket (SO_LINGER)";
            t->destroy();
            totals.blocked_in = nullptr;
        }
        actions.wait(s.now() + sc.app.reconnect_delay, end); // app.actions run meanwhile
    }
    while (s.now() < end)
        actions.wait(end, end);
    if (lost_at >= 0)
        totals.max_reconnect_s = std::max(totals.max_reconnect_s.value_or(0), now_s() - lost_at);
    rec.event(now_s(), "run_end",
              {{"cut", totals.cut}, {"publishes_unacked", totals.publishes_unacked}});
}

} // namespace

void AppObserver::on_connected(bool session_present) {
    ++connects;
    heap_at_connect.push_back(DeviceHeap::instance().in_use());
    rec_.event(now_s(), "mqtt_connected",
               {{"heap_used", heap_at_connect.back()}, {"session_present", session_present}});
    triggers_.on_event(scenario::TriggerEvent::kMqttConnected);
}

void AppObserver::on_outbox_store_failed(uint16_t packet_id, size_t encoded_size) {
    rec_.event(now_s(), "mqtt_outbox_store_failed",
               {{"packet_id", packet_id},
                {"size", encoded_size},
                {"detail", "no device heap for the outbox item: sent, never resent"}});
}

void AppObserver::on_ping_timeout() {
    ++ping_timeouts;
    rec_.event(now_s(), "ping_timeout");
}

void AppObserver::on_handshake_done(bool ok) {
    ++(ok ? handshakes_ok : handshake_failures);
    rec_.event(now_s(), ok ? "tls_handshake_ok" : "tls_handshake_failed");
    if (ok)
        triggers_.on_event(scenario::TriggerEvent::kTlsHandshake);
}

void AppObserver::on_linger_result(int, bool ok, int err) {
    if (!ok)
        rec_.event(now_s(), "linger_failed", {{"errno", err}});
}

void AppObserver::on_socket_closing(uint16_t local_port) {
    probe_.on_app_close(local_port);
    rec_.event(now_s(), "app_close", {{"local_port", local_port}});
    triggers_.on_event(scenario::TriggerEvent::kAppClose);
}

void run_app_until_end(const scenario::Scenario& sc, const BrokerTarget& broker, RunState& st,
                       std::ofstream& keylog) {
    auto& sched = Scheduler::current();
    const SimTime end{sc.duration};
    clock::Semaphore app_done(0, "application finished");
    sched.spawn("app", 5, [&] {
        run_app(sc, broker, st.obs, st.rec, keylog, st.totals, st.actions);
        app_done.signal();
    });
    // The second wait lets whatever else is due at `end` itself (the application's own
    // deadlines there, scheduled before it) run first.
    if (app_done.wait(end) || app_done.wait(end))
        return;
    auto& t = st.totals;
    if (t.live != nullptr) { // what the session did so far counts
        t.connected_s += now_s() - t.live_since;
        t.publishes_sent += t.live->counters().publishes_sent;
        t.publishes_acked += t.live->counters().publishes_acked;
        t.messages_received += t.live->counters().messages_received;
        t.publishes_unacked = t.live->unacked_publishes();
    }
    // A blocked write notices its (end-bounded) send timeout only at lwIP's next poll.
    t.cut.push_back(t.blocked_in ? t.blocked_in
                    : t.live     ? "MQTT session I/O (a write lwIP had not yet timed out)"
                                 : "application call");
    st.rec.event(now_s(), "run_end",
                 {{"cut", st.totals.cut}, {"publishes_unacked", st.totals.publishes_unacked}});
}

void run_program_until_end(const BrokerTarget& broker, RunState& st, std::ofstream& keylog) {
    port::DeterministicRng rng(st.sc.seed);
    program::ProgramWorld world{
        st.rec,
        tls_options(st.sc, broker),
        rng,
        &st.obs,
        [&keylog](const std::string& line) { keylog << line << '\n'; },
        st.dir / "program.log",
        st.program_info,
        [&st](const std::string& name) { st.triggers.on_program_event(name); }};
    world.info["broker.ip"] = broker.ip;
    world.info["broker.port"] = std::to_string(broker.port);
    world.info["broker.server_name"] = broker.server_name;
    st.program_run =
        std::make_unique<program::ProgramRun>(*st.program, *st.sc.app.program, std::move(world));
    st.program_run->run_until(SimTime{st.sc.duration});
    st.rec.event(now_s(), "run_end", {{"cut", json::array()}, {"publishes_unacked", 0}});
}

} // namespace lwipsim::runner
