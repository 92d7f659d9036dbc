#include "harness/runner/variant_run.h"

#include "harness/broker/errors.h"
#include "harness/broker/managed_broker.h"
#include "harness/broker/pki_cache.h"
#include "harness/probes/closed_pcb_heap.h"
#include "harness/probes/pcb_probe.h"
#include "harness/program/program_run.h"
#include "harness/runner/app_actions.h"
#include "harness/runner/broker_faults.h"
#include "harness/runner/broker_side.h"
#include "harness/runner/fault_triggers.h"
#include "harness/runner/heap_cost.h"
#include "harness/runner/heap_outbox.h"
#include "harness/runner/https_server.h"
#include "harness/runner/metrics_eval.h"
#include "harness/runner/recorder.h"
#include "harness/scenario/serialize.h"
#include "sim/clock/scheduler.h"
#include "sim/clock/sync.h"
#include "sim/device/mqtt_session.h"
#include "sim/device/tls_transport.h"
#include "sim/heap/device_heap.h"
#include "sim/host/errors.h"
#include "sim/host/vclock_peer.h"
#include "sim/link/link_builder.h"
#include "sim/link/slirp_gateway.h"
#include "sim/link/tap_backend.h"
#include "sim/port/lwip/device_stack.h"
#include "sim/port/mbedtls/mbedtls_platform.h"

#include "lwipsim_settings.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace lwipsim::runner {

namespace fs = std::filesystem;
using clock::Scheduler;
using clock::SimDuration;
using clock::SimTime;
using heap::DeviceHeap;
using heap::Subsystem;
using nlohmann::json;

namespace {

constexpr const char* kGatewayIp = "10.0.2.2"; // slirp maps it to the host's 127.0.0.1
// Where the device finds the managed broker on a slirp link (10.0.2.2:8883, MQTT over TLS's
// port), whatever free port it has on the host: the gateway maps one onto the other.
constexpr uint16_t kManagedBrokerPort = 8883;
// link.kind tap: the TAP's side in the namespace (gateway and broker host) and the device.
constexpr const char* kTapHostIp = "10.0.3.1";
constexpr const char* kTapHostCidr = "10.0.3.1/24";
constexpr const char* kTapDeviceIp = "10.0.3.15";
constexpr DeviceAddresses kSlirpAddresses{link::kSlirpDhcpStart, link::kSlirpGatewayIp};
constexpr DeviceAddresses kTapAddresses{0x0A00030F, 0x0A000301}; // 10.0.3.15, 10.0.3.1

double now_s() {
    return Scheduler::current().now().seconds();
}

class SchedulerTimer final : public link::Timer {
  public:
    [[nodiscard]] SimTime now() const override { return Scheduler::current().now(); }
    void at(SimTime when, std::function<void()> fn) override {
        Scheduler::current().at(when, std::move(fn));
    }
};

// Watches frames at the device's edge, parsed once here: RSTs the device sent for the PCB
// probe's rst_sent, every frame for nth_packet triggers. Passes them on unchanged.
class RstWatch final : public link::FrameSink {
  public:
    RstWatch(probes::PcbProbe& probe, FaultTriggers& triggers, bool sent)
        : probe_(probe), triggers_(triggers), sent_(sent) {}
    void set_next(link::FrameSink* next) { next_ = next; }
    void deliver(link::Frame frame) override {
        const link::PacketInfo info = link::parse_frame(frame.bytes);
        triggers_.on_frame(info);
        if (sent_ && info.ipv4 && info.protocol == static_cast<uint8_t>(link::IpProto::kTcp) &&
            info.has_ports && (info.tcp_flags & link::kTcpRst) != 0) {
            probe_.on_rst_sent(info.src_port);
        }
        next_->deliver(std::move(frame));
    }

  private:
    probes::PcbProbe& probe_;
    FaultTriggers& triggers_;
    bool sent_;
    link::FrameSink* next_ = nullptr;
};

double ms(SimDuration d) {
    return std::chrono::duration<double, std::milli>(d).count();
}

// The scenario's fault (loader model) as the link builder takes it.
link::FaultSpec to_link_spec(const scenario::FaultSpec& f, const DeviceAddresses& names) {
    link::FaultSpec s;
    s.type = scenario::to_string(f.type);
    s.name = f.name;
    // A fault waiting for an event is built dormant; FaultTriggers starts it.
    s.dormant = !std::holds_alternative<SimDuration>(f.start);
    s.start = s.dormant ? SimTime{} : SimTime{std::get<SimDuration>(f.start)};
    s.duration = f.duration;
    s.repeat = f.every;
    s.direction = f.direction == scenario::Direction::kUp     ? link::FaultDirection::kUp
                  : f.direction == scenario::Direction::kDown ? link::FaultDirection::kDown
                                                              : link::FaultDirection::kBoth;
    s.filter = to_flow_filter(f.filter, names);
    std::visit(
        [&](const auto& p) {
            using P = std::decay_t<decltype(p)>;
            if constexpr (std::is_same_v<P, scenario::LossParams>)
                s.params["p"] = p.rate;
            if constexpr (std::is_same_v<P, scenario::BurstLossParams>) {
                s.params["p"] = p.p;
                s.params["r"] = p.r;
                s.params["k"] = 1.0 - p.loss_good;
                s.params["h"] = 1.0 - p.loss_bad;
            }
            if constexpr (std::is_same_v<P, scenario::DelayParams>) {
                s.params["delay_ms"] = ms(p.delay);
                s.params["jitter_ms"] = ms(p.jitter);
            }
            if constexpr (std::is_same_v<P, scenario::RateParams>)
                s.params["rate_bps"] = double(p.rate);
            if constexpr (std::is_same_v<P, scenario::ReorderParams>) {
                s.params["p"] = p.probability;
                s.params["delay_ms"] = ms(p.delay);
            }
            if constexpr (std::is_same_v<P, scenario::DuplicateParams>)
                s.params["p"] = p.probability;
            if constexpr (std::is_same_v<P, scenario::CorruptParams>)
                s.params["p"] = p.probability;
        },
        f.params);
    return s;
}

// Fault windows over the run, known up front from the schedule.
json fault_windows(const scenario::Scenario& sc, Recorder& rec) {
    json out = json::array();
    for (const auto& f : sc.faults) {
        if (!std::holds_alternative<SimDuration>(f.start))
            continue;
        json windows = json::array();
        SimDuration start = std::get<SimDuration>(f.start);
        SimDuration len = f.duration.value_or(SimDuration{0});
        for (; start < sc.duration; start += *f.every) {
            double a = SimTime{start}.seconds();
            double b = SimTime{std::min(start + len, sc.duration)}.seconds();
            windows.push_back({a, b});
            rec.event(a, "fault_start", {{"fault", f.name}});
            rec.event(b, "fault_end", {{"fault", f.name}});
            if (!f.every)
                break;
        }
        out.push_back(
            {{"name", f.name}, {"type", scenario::to_string(f.type)}, {"windows", windows}});
    }
    return out;
}

port::TcpSettings tcp_settings(const scenario::Scenario& sc) {
    port::TcpSettings t = port::profile_defaults();
    const auto& o = sc.lwip;
    auto to_ms = [](SimDuration d) {
        return static_cast<uint32_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
    };
    if (o.tcp_maxrtx)
        t.maxrtx = *o.tcp_maxrtx;
    if (o.tcp_synmaxrtx)
        t.synmaxrtx = *o.tcp_synmaxrtx;
    if (o.tcp_rto_initial)
        t.rto_initial_ms = to_ms(*o.tcp_rto_initial);
    if (o.tcp_msl)
        t.msl_ms = to_ms(*o.tcp_msl);
    if (o.tcp_fin_wait_timeout)
        t.fin_wait_timeout_ms = to_ms(*o.tcp_fin_wait_timeout);
    if (o.so_linger_available)
        t.so_linger_available = *o.so_linger_available;
    if (o.tcp_pcb_cap)
        t.pcb_cap = *o.tcp_pcb_cap;
    return t;
}

// Counts the MQTT session's events and writes them to the event log.
class AppObserver final : public device::SessionObserver, public device::SocketObserver {
  public:
    AppObserver(Recorder& rec, probes::PcbProbe& probe, FaultTriggers& triggers)
        : rec_(rec), probe_(probe), triggers_(triggers) {}
    void on_connected(bool session_present) override {
        ++connects;
        heap_at_connect.push_back(DeviceHeap::instance().in_use());
        rec_.event(now_s(), "mqtt_connected",
                   {{"heap_used", heap_at_connect.back()}, {"session_present", session_present}});
        triggers_.on_event(scenario::TriggerEvent::kMqttConnected);
    }
    void on_outbox_store_failed(uint16_t packet_id, size_t encoded_size) override {
        rec_.event(now_s(), "mqtt_outbox_store_failed",
                   {{"packet_id", packet_id},
                    {"size", encoded_size},
                    {"detail", "no device heap for the outbox item: sent, never resent"}});
    }
    void on_ping_timeout() override {
        ++ping_timeouts;
        rec_.event(now_s(), "ping_timeout");
    }
    void on_handshake_done(bool ok) override {
        ++(ok ? handshakes_ok : handshake_failures);
        rec_.event(now_s(), ok ? "tls_handshake_ok" : "tls_handshake_failed");
        if (ok)
            triggers_.on_event(scenario::TriggerEvent::kTlsHandshake);
    }
    void on_linger_result(int, bool ok, int err) override {
        if (!ok)
            rec_.event(now_s(), "linger_failed", {{"errno", err}});
    }
    void on_socket_closing(uint16_t local_port) override {
        probe_.on_app_close(local_port);
        rec_.event(now_s(), "app_close", {{"local_port", local_port}});
        triggers_.on_event(scenario::TriggerEvent::kAppClose);
    }
    uint64_t connects = 0, ping_timeouts = 0, handshakes_ok = 0, handshake_failures = 0;
    std::vector<size_t> heap_at_connect; ///< device heap in use at each CONNACK

  private:
    Recorder& rec_;
    probes::PcbProbe& probe_;
    FaultTriggers& triggers_;
};

class DeviceClock final : public device::SessionClock {
  public:
    [[nodiscard]] SimTime now() const override { return Scheduler::current().now(); }
};

struct BrokerTarget {
    uint16_t port = 0;
    std::string server_name, ca_pem, client_cert_pem, client_key_pem;
    std::string ip = kGatewayIp; ///< where the device connects
    /// The host's port behind `port` when the slirp gateway maps it (managed broker), else 0.
    uint16_t host_port = 0;
};

// The far side's downlink: the link's network side, known only once the link is built.
struct ForwardSink final : link::FrameSink {
    link::FrameSink* to = nullptr;
    void deliver(link::Frame f) override { to->deliver(std::move(f)); }
};

// link.kind tap: the kernel of a network namespace of our own plays the far side (a TAP at
// 10.0.3.1/24, sim/link/tap_backend.h), and the managed broker runs inside that namespace.
// Built before the broker, which must start in it, and destroyed after it. The namespace has
// no route anywhere, so nothing but the broker can be reached: the external broker (on the
// host's loopback) is refused.
std::unique_ptr<link::TapBackend> make_tap_world(const scenario::Scenario& sc, link::Timer& timer,
                                                 link::FrameSink& downlink) {
    if (sc.broker.mode != scenario::BrokerMode::kManaged) {
        throw std::invalid_argument("link.kind tap needs broker.mode managed: the broker must "
                                    "run inside the TAP's network namespace, which reaches "
                                    "nothing else (not even the host's loopback)");
    }
    link::TapOptions o;
    o.address = kTapHostCidr;
    return std::make_unique<link::TapBackend>(timer, downlink, o);
}

std::string read_text(const fs::path& p) {
    std::ifstream in(p);
    if (!in)
        throw std::runtime_error("cannot read " + p.string());
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

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
        c.publish_payload_size = app.publish->size;
        c.publish_qos = static_cast<uint8_t>(app.publish->qos);
        c.publish_retain = app.publish->retain;
    }
    if (app.subscribe) {
        c.subscribe_topic = app.subscribe->topic;
        c.subscribe_qos = static_cast<uint8_t>(app.subscribe->qos);
    }
    return c;
}

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

HeapSample take_sample(const probes::PcbProbe& probe) {
    auto& h = DeviceHeap::instance();
    HeapSample sample{now_s(),
                      h.free_bytes(),
                      h.in_use(),
                      h.stats(Subsystem::kLwip).in_use,
                      h.stats(Subsystem::kMbedtls).in_use,
                      h.stats(Subsystem::kApp).in_use,
                      h.min_free(),
                      h.failures(),
                      probe.count_by_state()};
    auto window = h.take_use_window();
    sample.used_min = window.min_used;
    sample.used_max = window.max_used;
    sample.closed_pcb_heap = probes::closed_pcb_heap_by_state(probe);
    return sample;
}

void schedule_sampling(SimDuration interval, SimTime end, Recorder& rec, probes::PcbProbe& probe) {
    auto& s = Scheduler::current();
    for (SimTime t = s.now(); t <= end; t = t + interval) {
        s.at(t, [&rec, &probe] {
            rec.sample(take_sample(probe));
            // The accounting must equal the blocks actually alive, at every sample.
            auto& h = DeviceHeap::instance();
            if (size_t walked = h.sum_live_blocks(); walked != h.in_use()) {
                rec.event(now_s(), "heap_accounting_mismatch",
                          {{"accounted", h.in_use()}, {"live_blocks", walked}});
            }
        });
    }
}

json subsystem_json(Subsystem sub) {
    const auto& st = DeviceHeap::instance().stats(sub);
    return {
        {"in_use", st.in_use}, {"peak", st.peak}, {"allocs", st.allocs}, {"failures", st.failures}};
}

// An external broker nobody listens for is a machine problem, not a result: a run against it
// would "pass" with no connection at all. Tries what slirp's gateway will reach (127.0.0.1:port)
// once, with a real-time bound. Returns why it failed, or "" when something accepted.
std::string unreachable_reason(uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return std::string("socket: ") + std::strerror(errno);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int err = 0;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        err = errno;
        if (err == EINPROGRESS) {
            pollfd p{fd, POLLOUT, 0};
            constexpr int kWaitMs = 3000; // loopback answers at once; this only bounds a hang
            if (::poll(&p, 1, kWaitMs) != 1) {
                err = ETIMEDOUT;
            } else {
                socklen_t len = sizeof err;
                ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
            }
        }
    }
    ::close(fd);
    return err == 0 ? "" : std::strerror(err);
}

void check_external_broker(const scenario::BrokerSettings& b) {
    if (!b.expect_reachable)
        return;
    if (std::string why = unreachable_reason(b.port); !why.empty()) {
        const std::string port = std::to_string(b.port);
        throw broker::EnvironmentError("external broker " + b.host + ":" + port +
                                       " is not reachable (connecting to 127.0.0.1:" + port + ": " +
                                       why +
                                       "); start it, or set broker.expect_reachable: false if the "
                                       "scenario means the broker to be down");
    }
}

// Starts the managed broker (inside the TAP namespace when there is one) or describes the
// external one. The broker lives on the calling OS thread: PDEATHSIG follows that thread.
BrokerTarget start_broker(const scenario::Scenario& sc, const fs::path& run_dir,
                          link::TapBackend* tap, std::optional<broker::ManagedBroker>& managed,
                          host::VclockPeer* vclock) {
    BrokerTarget target;
    if (sc.broker.mode == scenario::BrokerMode::kManaged) {
        broker::ManagedBrokerOptions bo;
        bo.run_dir = run_dir;
        bo.persistence = sc.broker.persistence;
        if (vclock != nullptr) {
            bo.environment = vclock->environment();
            bo.command_prefix = vclock->command_prefix();
            if (tap == nullptr)
                bo.config_port = kManagedBrokerPort; // its log and TLS tickets name no host port
            // Its clock starts when its PKI was made: the same for every run on one cached PKI.
            bo.on_pki = [vclock](const broker::TestPki& pki) {
                vclock->set_epoch_realtime(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                               broker::pki_made_at(pki).time_since_epoch())
                                               .count());
            };
        }
        // The harness's subscriber to the device's will (broker_side.h) needs a listener it
        // can reach without TLS; only with the broker on virtual time are its receipt times exact.
        // In a TAP run the broker listens inside the namespace, out of the observer's reach.
        bo.plain_listener = vclock != nullptr && sc.app.will.has_value() && tap == nullptr;
        // RSA 2048, as most cloud brokers present: fixed-length signatures keep every TLS
        // record the same size run to run (EC signatures vary), so traces repeat exactly.
        bo.pki_options.key_type = broker::KeyType::kRsa2048;
        bo.pki_cache_dir = broker::default_pki_cache_dir(); // made once, not per run
        if (tap != nullptr) {
            bo.listen_address = kTapHostIp;
            // `ip netns exec` execs mosquitto (through setarch on virtual time).
            auto prefix = tap->netns_exec_prefix();
            prefix.insert(prefix.end(), bo.command_prefix.begin(), bo.command_prefix.end());
            bo.command_prefix = prefix;
        }
        managed.emplace(bo);
        target.port = managed->tls_port();
        if (tap == nullptr) {
            target.host_port = target.port;
            target.port = kManagedBrokerPort;
        }
        target.server_name = managed->server_name();
        target.ca_pem = read_text(managed->ca_file());
        if (tap != nullptr)
            target.ip = kTapHostIp;
        return target;
    }
    // The loader only accepts a loopback host: slirp's gateway 10.0.2.2 reaches it.
    check_external_broker(sc.broker);
    target.port = sc.broker.port;
    target.server_name = sc.broker.server_name;
    target.ca_pem = read_text(sc.broker.ca_file);
    if (!sc.broker.client_cert.empty()) {
        target.client_cert_pem = read_text(sc.broker.client_cert);
        target.client_key_pem = read_text(sc.broker.client_key);
    }
    return target;
}

// The managed broker on the run's virtual time (time.broker_clock: virtual), on a slirp link or
// inside a TAP run's namespace: the clock page it shares with this worker, made before the
// broker starts. External brokers keep the wall clock and time.host_grace (docs/design.md).
void make_broker_clock(const scenario::Scenario& sc, const fs::path& run_dir,
                       std::optional<host::VclockPeer>& vclock) {
    // https_server runs on the wall clock: the broker then does too (one peer per schedule).
    if (sc.broker.mode != scenario::BrokerMode::kManaged || sc.https_server ||
        sc.time.broker_clock != scenario::BrokerClock::kVirtual ||
        sc.time.mode != scenario::TimeMode::kVirtual)
        return;
    const auto library = host::VclockPeer::find_library();
    if (!library) {
        throw host::EnvironmentError(
            "liblwipsim_vclock.so (the broker's virtual clock) is neither next to the lwipsim "
            "executable nor named by $LWIPSIM_VCLOCK_LIBRARY; rebuild, or set "
            "time.broker_clock: wall");
    }
    host::VclockOptions vo;
    vo.page_file = run_dir / "broker.clock";
    vo.library = *library;
    vo.seed = sc.seed; // the broker's randomness and pid (docs/design.md, deterministic broker)
    // A whole second: broker.log's stamps (whole seconds) then read floor(virtual time).
    vo.epoch_realtime_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(
            std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now())
                .time_since_epoch())
            .count();
    vclock.emplace(vo);
}

// The wall-clock date of virtual 0 on the device (mbedTLS puts it in every ClientHello): with
// the managed broker the instant its PKI was made, as for the broker's clock, so two runs of one
// seed repeat; with an external broker the real start (its certificates' validity is unknown).
std::time_t device_epoch(const std::optional<broker::ManagedBroker>& managed) {
    if (!managed)
        return std::time(nullptr);
    return std::chrono::system_clock::to_time_t(broker::pki_made_at(managed->pki()));
}

HttpsServerOptions https_options(const scenario::Scenario& sc, const fs::path& run_dir,
                                 const broker::TestPki& pki) {
    HttpsServerOptions o;
    o.run_dir = run_dir;
    o.cert = pki.server_cert;
    o.key = pki.server_key;
    o.size = sc.https_server->size;
    o.seed = sc.seed;
    return o;
}

Scheduler& create_scheduler(const scenario::Scenario& sc) {
    clock::SchedulerOptions so;
    so.mode = sc.time.mode == scenario::TimeMode::kRealtime ? clock::TimeMode::kRealtime
                                                            : clock::TimeMode::kVirtual;
    so.host_grace = std::chrono::duration_cast<std::chrono::milliseconds>(sc.time.host_grace);
    return Scheduler::create(so);
}

// Frames dropped or changed by faults go to events.jsonl.
class AuditToRecorder final : public link::AuditLog {
  public:
    explicit AuditToRecorder(Recorder& rec) : rec_(rec) {}
    void record(const link::AuditEvent& e) override {
        if (e.action == link::AuditAction::kDropped)
            ++dropped;
        rec_.event(e.at.seconds(), "frame_" + std::string(link::to_string(e.action)),
                   {{"frame", e.frame_id},
                    {"by", std::string(e.piece)},
                    {"reason", std::string(e.reason)},
                    {"dir", e.direction == link::Direction::kUp ? "up" : "down"}});
    }
    uint64_t dropped = 0;

  private:
    Recorder& rec_;
};

// What one run observes, filled while the device runs and read when the results are written.
struct RunState {
    const scenario::Scenario& sc;
    fs::path dir;          ///< the .partial folder
    DeviceAddresses names; ///< what "device" and "broker" mean in filters, on this link
    Recorder rec;
    probes::PcbProbe probe;
    FaultTriggers triggers;
    AppActions actions;
    AppObserver obs;
    AppTotals totals;
    size_t baseline_free = 0;
    uint64_t frames_dropped = 0, frames_delivered = 0;
    std::vector<std::string> warnings;       ///< "check this before trusting the results"
    host::VclockPeer* broker_peer = nullptr; ///< the managed broker on virtual time, if it is
    const program::LoadedProgram* program = nullptr; ///< app.program, run instead of run_app
    std::unique_ptr<program::ProgramRun> program_run;
    std::map<std::string, std::string> program_info; ///< lwipsim_run_info (https_server's keys)

    RunState(const scenario::Scenario& s, fs::path d, DeviceAddresses n)
        : sc(s), dir(std::move(d)), names(n),
          probe([this](const probes::PcbRecord& r, const std::string& what) {
              rec.event(now_s(), what,
                        {{"pcb", r.id},
                         {"local_port", r.local_port},
                         {"state", r.states.empty() ? "" : r.states.back().state},
                         {"reason", r.free_reason},
                         {"rst_sent", r.rst_sent ? json(*r.rst_sent) : json(nullptr)}});
          }),
          triggers(s, n, rec), actions(s, n, rec), obs(rec, probe, triggers) {
        triggers.add_listener(&actions);
        probe.set_failure_sink([this](Subsystem sub, size_t size, bool injected) {
            rec.event(now_s(), "alloc_failure",
                      {{"subsystem", std::string(heap::subsystem_name(sub))},
                       {"size", size},
                       {"injected", injected}});
        });
        probe.set_warning_sink([this](const std::string& message) {
            rec.event(now_s(), "warning", {{"message", message}});
            warnings.push_back(message);
        });
    }
};

// The application runs in a simulated thread of its own, and this one ends the run at its
// duration. run_app cuts its own waits there; a call it cannot cut (a lingering close) is left
// in progress, parked, as are lwIP's threads.
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

// app.program: the user's device program runs instead of the built-in client, until the end.
void run_program_until_end(const BrokerTarget& broker, RunState& st, std::ofstream& keylog) {
    port::DeterministicRng rng(st.sc.seed);
    program::ProgramWorld world{st.rec,
                                tls_options(st.sc, broker),
                                rng,
                                &st.obs,
                                [&keylog](const std::string& line) { keylog << line << '\n'; },
                                st.dir / "program.log",
                                st.program_info,
                                [&st](const std::string& name) {
                                    st.triggers.on_program_event(name);
                                }};
    world.info["broker.ip"] = broker.ip;
    world.info["broker.port"] = std::to_string(broker.port);
    world.info["broker.server_name"] = broker.server_name;
    st.program_run =
        std::make_unique<program::ProgramRun>(*st.program, *st.sc.app.program, std::move(world));
    st.program_run->run_until(SimTime{st.sc.duration});
    st.rec.event(now_s(), "run_end", {{"cut", json::array()}, {"publishes_unacked", 0}});
}

// The simulated device's whole life, on the calling simulated thread: link and far side, lwIP,
// probes, then the application until the run's end.
void run_device(RunState& st, const BrokerTarget& target, SchedulerTimer& timer,
                ForwardSink& far_down, link::TapBackend* tap) {
    const auto& sc = st.sc;
    auto& sched = Scheduler::current();
    AuditToRecorder audit(st.rec);
    RstWatch rst_up(st.probe, st.triggers, true), rst_down(st.probe, st.triggers, false);
    port::LinkNetif netif(&rst_up);
    rst_down.set_next(&netif);
    // The far side: the TAP backend built before the broker, or the slirp gateway.
    std::optional<link::SlirpGateway> slirp;
    if (tap == nullptr) {
        slirp.emplace(timer, far_down, [&st](const link::ContainmentEvent& e) {
            st.rec.event(now_s(), "contained", {{"reason", e.reason}});
        });
    }
    link::FrameSink& far_side = tap ? static_cast<link::FrameSink&>(*tap) : *slirp;
    clock::HostIo& host_io = tap ? static_cast<clock::HostIo&>(*tap) : *slirp;
    link::LinkConfig lc;
    lc.up.latency = lc.down.latency = sc.link.latency;
    lc.up.rate_bps = lc.down.rate_bps = static_cast<double>(sc.link.rate.value_or(0));
    lc.seed = sc.seed;
    lc.device_pcap = (st.dir / "device.pcap").string();
    lc.wire_pcap = (st.dir / "wire.pcap").string();
    std::vector<link::FaultSpec> specs;
    for (const auto& f : sc.faults)
        if (!scenario::is_broker_fault(f.type)) // broker faults act on mosquitto (broker_faults.h)
            specs.push_back(to_link_spec(f, st.names));
    link::LinkHooks hooks;
    hooks.on_link_change = [&netif](bool up) { netif.set_link_up(up); };
    auto lnk = link::build_link(lc, specs, timer, audit, {&rst_down, &far_side}, hooks);
    st.triggers.bind(lnk.get());
    rst_up.set_next(&lnk->from_device());
    far_down.to = &lnk->from_network();
    sched.add_host_io(&host_io);
    if (slirp && target.host_port != 0)
        slirp->map_tcp_port(target.port, target.host_port);
    if (tap != nullptr && st.broker_peer != nullptr) {
        // The kernel in the namespace is the broker's only input: wake it after every frame
        // written to the TAP. No lookahead: the kernel's own timers (real time) may act on the
        // broker's sockets at any moment (docs/design.md, "The TAP link").
        host::VclockPeer* peer = st.broker_peer;
        tap->set_host_written_hook([peer, &sched] { peer->wake(sched.now()); });
    }
    if (slirp && st.broker_peer != nullptr) {
        host::VclockPeer* peer = st.broker_peer;
        slirp->set_host_written_hook([peer, &sched] { peer->wake(sched.now()); });
        // The broker's lookahead: only slirp writes to its sockets, after a frame from the
        // link or in one of its own timers (docs/design.md, "Lookahead"). A broker fault acts
        // on the process from a worker event (timed or triggered), so with broker faults in
        // the scenario the grant ends at the worker's next event: the broker never runs past
        // the instant it is stopped or frozen.
        const bool broker_faults = std::any_of(st.sc.faults.begin(), st.sc.faults.end(),
                                               [](const auto& f) { return scenario::is_broker_fault(f.type); });
        sched.set_peer_lookahead([link = lnk.get(), gw = &*slirp,
                                  broker_faults](std::optional<SimTime> next) {
            SimTime grant = link->earliest_network_arrival(next);
            if (const std::optional<SimTime> own = gw->next_own_event())
                grant = std::min(grant, *own);
            if (broker_faults && next)
                grant = std::min(grant, *next);
            return grant;
        });
        // The broker sees the device (10.0.2.15:port) as its peer, not the gateway's host port.
        slirp->set_connection_hook([peer](uint16_t host_port, uint32_t ip, uint16_t port) {
            peer->name_peer(host_port, ip, port);
        });
    }

    port::NetifConfig nc;
    if (tap != nullptr) {
        nc.ip = kTapDeviceIp;
        nc.gateway = kTapHostIp;
    }
    port::start_stack(&netif, nc, sc.seed);
    st.probe.install();
    st.baseline_free = DeviceHeap::instance().free_bytes();
    schedule_sampling(sc.sampling.heap_interval, SimTime{sc.duration}, st.rec, st.probe);
    std::ofstream keylog(st.dir / "tls-keys.log");
    if (st.program != nullptr)
        run_program_until_end(target, st, keylog);
    else
        run_app_until_end(sc, target, st, keylog);
    // Heap use after the last sample still belongs on the plot (its lowest free point).
    auto tail = DeviceHeap::instance().take_use_window();
    st.rec.extend_last_sample(tail.min_used, tail.max_used);
    st.frames_delivered = lnk->model(link::Direction::kUp).stats().delivered +
                          lnk->model(link::Direction::kDown).stats().delivered;
    st.frames_dropped = audit.dropped;
    sched.set_peer_lookahead({});
    lnk->close();
    sched.remove_host_io(&host_io);
    far_down.to = nullptr;
}

// heap.max_drift_after_reconnect: how far the heap in use at a CONNACK strays from the first
// session's, at the same point of its life; null without a second session to compare.
std::optional<double> max_drift(const std::vector<size_t>& heap_at_connect) {
    if (heap_at_connect.size() < 2)
        return std::nullopt;
    double worst = 0;
    for (size_t used : heap_at_connect) {
        worst = std::max(worst, std::abs(static_cast<double>(used) -
                                         static_cast<double>(heap_at_connect.front())));
    }
    return worst;
}

MeasuredRun measured_run(const RunState& st) {
    const auto& heap = DeviceHeap::instance();
    const double duration_s = SimTime{st.sc.duration}.seconds();
    MeasuredRun m;
    m.heap_budget = heap.budget();
    m.min_free = heap.min_free();
    m.final_used = heap.in_use();
    m.alloc_failures = heap.failures();
    m.pcbs = &st.probe.records();
    m.samples = &st.rec.samples();
    m.connects = st.obs.connects;
    m.disconnects = st.totals.disconnects;
    m.handshakes_ok = st.obs.handshakes_ok;
    m.handshake_failures = st.obs.handshake_failures;
    m.publishes_acked = st.totals.publishes_acked;
    m.socket_failures = st.totals.socket_failures;
    m.max_reconnect_s = st.totals.max_reconnect_s;
    m.connected_fraction = st.totals.connected_s / duration_s;
    m.messages_received = st.totals.messages_received;
    m.frames_dropped = st.frames_dropped;
    m.frames_delivered = st.frames_delivered;
    m.rst_sent = st.probe.rsts_sent();
    m.max_drift_after_reconnect = max_drift(st.obs.heap_at_connect);
    if (st.program_run) {
        m.builtin_app = false;
        m.program_events = &st.program_run->event_counts();
    }
    m.duration_s = duration_s;
    return m;
}

// Which build ran the device: its structure sizes, and whether an emulator ran it (a kernel
// without 32-bit support runs lwipsim-ilp32 under qemu-i386; harness/cli/cli_common.cpp).
json device_json() {
    const char* emulator = std::getenv("LWIPSIM_DEVICE_EMULATOR");
    return {{"abi", sizeof(void*) == 4 ? "ilp32" : "host"},
            {"pointer_bytes", sizeof(void*)},
            {"emulator", emulator != nullptr ? json(emulator) : json(nullptr)}};
}

json options_json(const scenario::Scenario& sc) {
    // Each heap key is null where the allocator has no such setting.
    const bool esp_idf_heap = sc.heap.allocator == scenario::HeapAllocator::kEspIdfV44;
    return {{"tcp_maxrtx", lwipsim_tcp_maxrtx},
            {"tcp_synmaxrtx", lwipsim_tcp_synmaxrtx},
            {"tcp_rto_initial_ms", lwipsim_tcp_rto_initial_ms},
            {"tcp_msl_ms", lwipsim_tcp_msl_ms},
            {"tcp_fin_wait_timeout_ms", lwipsim_tcp_fin_wait_timeout_ms},
            {"so_linger_available", lwipsim_so_linger_available != 0},
            {"tcp_pcb_cap", lwipsim_tcp_pcb_cap},
            {"linger_s", sc.app.linger ? json(SimTime{*sc.app.linger}.seconds()) : json(nullptr)},
            {"heap_allocator", scenario::to_string(sc.heap.allocator)},
            {"heap_block_overhead", esp_idf_heap ? json(nullptr) : json(sc.heap.block_overhead)},
            {"heap_poisoning", esp_idf_heap ? json(to_string(sc.heap.poisoning)) : json(nullptr)},
            {"heap_task_tracking", esp_idf_heap ? json(sc.heap.task_tracking) : json(nullptr)}};
}

json heap_json(const RunState& st) {
    const auto& heap = DeviceHeap::instance();
    return {{"budget", heap.budget()},
            // No budget in the scenario: `budget` is a stand-in far above any device, so the
            // free figures say nothing; readers show used/peak instead.
            {"unlimited", !st.sc.heap.budget.has_value()},
            {"peak_used", heap.budget() - heap.min_free()},
            {"baseline_free", st.baseline_free},
            {"min_free", heap.min_free()},
            {"final_free", heap.free_bytes()},
            {"alloc_failures", heap.failures()},
            {"by_subsystem",
             {{"lwip", subsystem_json(Subsystem::kLwip)},
              {"mbedtls", subsystem_json(Subsystem::kMbedtls)},
              {"app", subsystem_json(Subsystem::kApp)}}}};
}

json app_json(const RunState& st) {
    const auto& t = st.totals;
    return {{"connects", st.obs.connects},
            {"tls_handshakes_ok", st.obs.handshakes_ok},
            {"tls_handshake_failures", st.obs.handshake_failures},
            {"ping_timeouts", st.obs.ping_timeouts},
            {"publishes_sent", t.publishes_sent},
            {"publishes_acked", t.publishes_acked},
            {"messages_received", t.messages_received},
            {"socket_failures", t.socket_failures},
            {"max_reconnect_s", t.max_reconnect_s ? json(*t.max_reconnect_s) : json(nullptr)},
            {"connected_fraction", t.connected_s / SimTime{st.sc.duration}.seconds()},
            {"cut_at_end", t.cut},
            {"publishes_unacked_at_end", t.publishes_unacked},
            {"outbox_store_failures", t.outbox_store_failures},
            {"outbox_peak_bytes", t.outbox_peak_bytes}};
}

// `broker_clock`: the managed broker's clock as run ("virtual" or "wall"), null otherwise.
json time_json(const Scheduler& sched, const char* broker_clock) {
    auto ts = sched.stats();
    const auto& first = ts.first_jump_with_host_pending;
    return {{"mode", sched.options().mode == clock::TimeMode::kVirtual ? "virtual" : "realtime"},
            {"broker_clock", broker_clock != nullptr ? json(broker_clock) : json(nullptr)},
            {"broker_deadlines", ts.peer_deadlines},
            {"jumps", ts.jumps},
            {"skipped_s", std::chrono::duration<double>(ts.skipped).count()},
            {"host_wait_s", ts.host_wait_s},
            {"jumps_with_host_pending", ts.jumps_with_host_pending},
            {"first_jump_with_host_pending_s", first ? json(first->seconds()) : json(nullptr)}};
}

// The broker runs in real time. A reply that came within host_grace is delivered at the virtual
// instant its request arrived, so the trace does not depend on the host's speed; once virtual
// time moved on while a reply was still due, what the device saw next depended on when the host
// answered. A broker on virtual time (`broker_virtual`) answers before time moves on, or not at
// all (a QoS 0 PUBLISH), so there the count means nothing for repeatability. Returns why this
// run is not guaranteed to repeat, or nullopt when it is.
std::optional<std::string> not_repeatable_reason(const scenario::Scenario& sc,
                                                 const Scheduler& sched, bool broker_virtual) {
    if (sc.time.mode == scenario::TimeMode::kRealtime)
        return "not repeatable: time.mode realtime follows the wall clock";
    if (sc.link.kind == scenario::LinkKind::kTap)
        return "not guaranteed to repeat: with link.kind tap the namespace's kernel runs its "
               "own timers in real time";
    const auto ts = sched.stats();
    if (broker_virtual || ts.jumps_with_host_pending == 0)
        return std::nullopt;
    char from[32];
    std::snprintf(from, sizeof from, "%.3f", ts.first_jump_with_host_pending->seconds());
    return "not guaranteed to repeat with the same seed: virtual time moved on " +
           std::to_string(ts.jumps_with_host_pending) +
           " times while the broker (which runs in real time) still owed a reply "
           "(time.jumps_with_host_pending), the first at " +
           std::string(from) +
           " s; from there on, results depend on how fast the host answered (a larger "
           "time.host_grace makes it rarer)";
}

std::string broker_line(const BrokerTarget& target, const json& link_info) {
    if (link_info.is_null()) {
        const uint16_t host_port = target.host_port != 0 ? target.host_port : target.port;
        return "broker 127.0.0.1:" + std::to_string(host_port) +
               " as 10.0.2.2:" + std::to_string(target.port) + " (" + target.server_name + ")";
    }
    return "broker " + std::string(kTapHostIp) + ":" + std::to_string(target.port) + " (" +
           target.server_name + ", pid " + link_info["broker_pid"].dump() +
           ") over TAP in network namespace " + link_info["netns"].get<std::string>() +
           ", device " + kTapDeviceIp;
}

// Writes every result file into the .partial folder (the caller renames it when complete).
void write_results(const RunState& st, const json& summary, const BrokerTarget& target,
                   const json& link_info) {
    const auto& sc = st.sc;
    std::ofstream(st.dir / "summary.json") << summary.dump(2) << '\n';
    st.rec.write_events(st.dir / "events.jsonl");
    st.rec.write_run_log(st.dir / "run.log",
                         {"scenario " + sc.name + " (" + sc.source_path + ")",
                          "variant " + summary["variant"].get<std::string>() + ", seed " +
                              std::to_string(sc.seed) + ", profile " + port::profile_name(),
                          broker_line(target, link_info)},
                         {"status " + summary["status"].get<std::string>() + ", " +
                              std::to_string(summary["sim_time_s"].get<double>()) +
                              " s simulated in " +
                              std::to_string(summary["wall_time_s"].get<double>()) + " s wall, " +
                              summary["time"]["jumps"].dump() + " time jumps",
                          summary["repeatable"].get<bool>()
                              ? "repeatable: same scenario and seed give the same trace"
                              : "warning: " + summary["not_repeatable_reason"].get<std::string>()});
    st.rec.write_timeseries(st.dir / "timeseries.csv");
    Recorder::write_pcbs_csv(st.dir / "pcbs.csv", st.probe.records());
}

// The broker's log read into the run, and the observer of the device's will (on virtual time).
BrokerSideOptions broker_side_options(const scenario::Scenario& sc,
                                      const broker::ManagedBroker& managed, RunState& st) {
    BrokerSideOptions o;
    o.log = managed.log_path();
    o.plain_port = managed.plain_port();
    if (sc.app.will)
        o.observe_topic = sc.app.will->topic;
    o.peer = st.broker_peer;
    o.warn = [&st](const std::string& message) {
        st.rec.event(now_s(), "warning", {{"message", message}});
        st.warnings.push_back(message);
    };
    if (o.plain_port && sc.app.client_id == BrokerObserver::kClientId) {
        o.plain_port.reset(); // the two would take each other's session over
        const std::string why = "no subscriber observes the will: the device's client id is the "
                                "harness observer's own, '" + sc.app.client_id + "'";
        st.rec.event(0.0, "warning", {{"message", why}}); // before the run: virtual 0
        st.warnings.push_back(why);
    }
    return o;
}

} // namespace

RunOutcome run_variant(const scenario::Scenario& sc, const fs::path& out_dir) {
    // A program that cannot load fails here, before anything is started or written.
    std::optional<program::LoadedProgram> loaded;
    if (sc.app.program)
        loaded = program::LoadedProgram::load(sc.app.program->path);
    fs::path partial = out_dir;
    partial += ".partial";
    fs::remove_all(partial);
    fs::create_directories(partial);
    auto wall_start = std::chrono::steady_clock::now();

    // Timer and far-side downlink outlive the TAP backend, which outlives the broker.
    SchedulerTimer timer;
    ForwardSink far_down;
    std::unique_ptr<link::TapBackend> tap;
    if (sc.link.kind == scenario::LinkKind::kTap)
        tap = make_tap_world(sc, timer, far_down);
    std::optional<broker::ManagedBroker> managed;
    // Declared after the broker: destroyed (detached) first, so a stop's SIGTERM finds it in
    // a real wait.
    std::optional<host::VclockPeer> vclock;
    make_broker_clock(sc, partial, vclock);
    BrokerTarget target =
        start_broker(sc, partial, tap.get(), managed, vclock ? &*vclock : nullptr);

    auto& heap = DeviceHeap::instance();
    // No budget: only measured (the loader caps a budget to what this build's size_t holds).
    heap.configure(static_cast<size_t>(sc.heap.budget.value_or(SIZE_MAX)), block_cost(sc.heap));
    port::install_mbedtls_platform(device_epoch(managed));
    port::apply_tcp_settings(tcp_settings(sc));
    auto& sched = create_scheduler(sc);
    heap.set_clock([&sched] { return sched.now(); });

    RunState st(sc, partial, tap ? kTapAddresses : kSlirpAddresses);
    st.program = loaded ? &*loaded : nullptr;
    std::optional<HttpsFileServer> https;
    if (sc.https_server)
        https.emplace(https_options(sc, partial, managed->pki()));
    if (https) {
        st.program_info = {{"https.port", std::to_string(https->port())},
                           {"https.path", https->path()},
                           {"https.size", std::to_string(https->size())},
                           {"https.sha256", https->sha256()}};
    }
    if (vclock) {
        vclock->require_attached(managed->pid()); // exit 3 when LD_PRELOAD was ignored
        vclock->watch(managed->pid());
        st.broker_peer = &*vclock;
        sched.set_host_peer(&*vclock);
    }
    json faults = fault_windows(sc, st.rec);
    std::optional<BrokerSide> broker_side;
    if (managed)
        broker_side.emplace(st.rec, broker_side_options(sc, *managed, st));
    BrokerFaults broker_faults(sc, managed ? &*managed : nullptr, vclock ? &*vclock : nullptr,
                               st.rec, [&st](const std::string& message) {
                                   st.rec.event(now_s(), "warning", {{"message", message}});
                                   st.warnings.push_back(message);
                               });
    st.triggers.bind_broker([&](size_t i, SimTime t) { broker_faults.start(i, t); });
    // This OS thread waits in run() (keeping the broker's PDEATHSIG parent alive).
    sched.run("run", 5, [&] {
        if (broker_side)
            broker_side->attach(sched);
        broker_faults.schedule_timed();
        run_device(st, target, timer, far_down, tap.get());
        if (broker_side)
            broker_side->detach(sched);
    });
    broker_faults.finish();

    const pid_t broker_pid = managed ? managed->pid() : -1;
    const bool broker_virtual = static_cast<bool>(vclock);
    const char* broker_clock = managed ? (broker_virtual ? "virtual" : "wall") : nullptr;
    sched.set_host_peer(nullptr);
    if (vclock && managed)
        managed->signal_stop(); // before the detach: docs/design.md, "Stopping"
    if (vclock)
        vclock->detach();
    if (managed)
        managed->stop();
    json https_info = nullptr;
    if (https) {
        https_info = {{"port", https->port()},
                      {"pid", https->pid()},
                      {"path", https->path()},
                      {"size", https->size()},
                      {"sha256", https->sha256()}};
        https->stop();
    }
    vclock.reset(); // removes its page before the results folder is renamed
    json link_info = nullptr;
    if (tap) {
        // The broker is gone; deleting the namespace now removes the TAP with it.
        link_info = {{"kind", "tap"},
                     {"netns", tap->netns()},
                     {"host_ip", kTapHostIp},
                     {"device_ip", kTapDeviceIp},
                     {"broker_pid", broker_pid},
                     {"tap_frames_written", tap->frames_written()},
                     {"tap_frames_read", tap->frames_read()},
                     {"tap_write_errors", tap->write_errors()}};
        tap.reset();
    }

    MeasuredRun measured = measured_run(st);
    measured.broker = broker_side ? &broker_side->counts() : nullptr;
    json expectations = evaluate_expectations(sc, measured);
    const program::ProgramRun* prog = st.program_run.get();
    bool passed = prog == nullptr || !prog->failure();
    for (const auto& e : expectations)
        passed = passed && e["passed"].get<bool>();
    for (const auto& f : st.triggers.fired())
        faults.push_back(f);
    const auto not_repeatable = not_repeatable_reason(sc, sched, broker_virtual);
    json summary = {
        {"status", passed ? "passed" : "failed"},
        {"repeatable", !not_repeatable},
        {"not_repeatable_reason", not_repeatable ? json(*not_repeatable) : json(nullptr)},
        {"scenario", sc.name},
        {"variant", sc.applied_variant.empty() ? "base" : sc.applied_variant},
        {"seed", sc.seed},
        {"sim_time_s", sched.now().seconds()},
        {"wall_time_s",
         std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count()},
        {"profile", port::profile_name()},
        {"device", device_json()},
        {"options", options_json(sc)},
        {"heap", heap_json(st)},
        {"pcbs", Recorder::pcbs_json(st.probe.records())},
        {"app", app_json(st)},
        {"time", time_json(sched, broker_clock)},
        {"broker", broker_side ? broker_side->summary_json() : BrokerSide::unmeasured_json()},
        {"faults", faults},
        {"expectations", expectations},
        {"metrics", metrics_json(measured_run(st))},
        {"warnings", st.warnings},
        {"scenario_resolved", scenario::to_json(sc)},
    };
    if (!link_info.is_null())
        summary["link"] = link_info;
    if (!https_info.is_null())
        summary["https_server"] = https_info;
    if (prog != nullptr) {
        summary["program"] = prog->summary();
        summary["app"] = {{"program", sc.app.program->path}}; // the built-in client did not run
    }
    write_results(st, summary, target, link_info);
    fs::remove_all(out_dir);
    fs::rename(partial, out_dir);
    RunOutcome outcome{passed, out_dir, {}, std::nullopt};
    if (not_repeatable)
        outcome.warnings.push_back(*not_repeatable);
    if (prog != nullptr && prog->failure())
        outcome.failure = "device program: " + *prog->failure();

    return outcome;
}

} // namespace lwipsim::runner
