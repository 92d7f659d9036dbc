#pragma once
// The scenario model: what one experiment run needs to know, after loading, variant
// resolution and validation. Plain data in SI units: durations as clock::SimDuration,
// sizes in bytes, rates in bit/s, probabilities in 0..1. Produced by
// harness/scenario/loader.h; the YAML layout and every default are documented in
// docs/scenarios.md. Equality is member-wise (used by the round-trip test and by callers that
// compare resolved runs).

#include "sim/clock/sim_time.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace lwipsim::scenario {

using clock::SimDuration;

enum class TimeMode { kVirtual, kRealtime };
/// The managed broker's clock: the run's virtual time (liblwipsim_vclock.so) or the wall clock.
enum class BrokerClock { kVirtual, kWall };

struct TimeSettings {
    TimeMode mode = TimeMode::kVirtual;
    /// Managed broker only (slirp link or TAP namespace); external brokers stay on the wall clock.
    BrokerClock broker_clock = BrokerClock::kVirtual;
    /// Wall-clock time the scheduler may hold virtual time still for a pending host reply.
    SimDuration host_grace = std::chrono::milliseconds(20);
    bool operator==(const TimeSettings&) const = default;
};

enum class Profile { kEspIdfV44, kUpstream213 };
/// The device's structure sizes: ilp32 runs lwIP, mbedTLS, the app and the heap in the 32-bit
/// build (`lwipsim-ilp32`, 4-byte pointers as on an ESP32); host in the 64-bit one.
enum class Abi { kIlp32, kHost };

struct KeepaliveOverrides {
    std::optional<bool> enabled;
    std::optional<SimDuration> idle;
    std::optional<SimDuration> intvl;
    std::optional<uint32_t> cnt;
    bool operator==(const KeepaliveOverrides&) const = default;
};

/// lwIP options that replace the profile's value; an empty optional keeps the profile's.
struct LwipOverrides {
    std::optional<uint32_t> tcp_maxrtx;
    std::optional<uint32_t> tcp_synmaxrtx;
    std::optional<SimDuration> tcp_rto_initial;
    std::optional<SimDuration> tcp_msl;
    std::optional<SimDuration> tcp_fin_wait_timeout;
    std::optional<bool> so_linger_available;
    std::optional<uint32_t> tcp_pcb_cap; ///< live TCP PCBs before the oldest closing is killed
    KeepaliveOverrides keepalive;
    bool operator==(const LwipOverrides&) const = default;
};

/// Whose per-block cost the device heap charges (docs/fidelity.md).
enum class HeapAllocator { kEspIdfV44, kNone };
/// ESP-IDF's heap poisoning level (Kconfig HEAP_CORRUPTION_DETECTION).
enum class HeapPoisoning { kNone, kLight, kComprehensive };

/// Resolved by the loader: `allocator` is the profile's unless the scenario names one.
struct HeapSettings {
    std::optional<uint64_t> budget; ///< bytes; empty = unlimited (measure only)
    HeapAllocator allocator = HeapAllocator::kEspIdfV44;
    uint64_t block_overhead = 0; ///< allocator none: bytes charged per block on top of its size
    HeapPoisoning poisoning = HeapPoisoning::kNone; ///< allocator esp-idf-v4.4 only
    bool task_tracking = false;                     ///< HEAP_TASK_TRACKING; needs poisoning
    bool operator==(const HeapSettings&) const = default;
};

enum class LinkKind { kInMemory, kTap };

struct LinkSettings {
    LinkKind kind = LinkKind::kInMemory;
    SimDuration latency = std::chrono::milliseconds(10); ///< one way, each direction
    std::optional<uint64_t> rate;                        ///< bit/s; empty = unlimited
    uint32_t queue_frames = 64; ///< frames queued per direction before tail drop
    bool capture = false;       ///< write a pcap of the link
    bool operator==(const LinkSettings&) const = default;
};

enum class BrokerMode { kManaged, kExternal };

struct BrokerSettings {
    BrokerMode mode = BrokerMode::kManaged;
    // External only. Paths are absolute (resolved against the scenario file's folder).
    std::string host;
    uint16_t port = 8883;
    std::string ca_file;
    std::string server_name;
    std::string client_cert;
    std::string client_key;
    /// false: the scenario means the broker to be down or unreachable, so the run does not
    /// check before it starts that something listens at host:port (an environment error).
    bool expect_reachable = true;
    /// Managed only: mosquitto runs with `persistence true` (a database in the run folder), so
    /// retained messages and persistent sessions survive a broker_stop / broker_restart.
    bool persistence = false;
    bool operator==(const BrokerSettings&) const = default;
};

struct PublishSettings {
    std::string topic;
    SimDuration interval = std::chrono::seconds(10);
    uint64_t size = 64; ///< payload bytes
    uint32_t qos = 0;
    bool retain = false;
    bool operator==(const PublishSettings&) const = default;
};

/// The MQTT last will the broker publishes when the device's connection ends without a
/// DISCONNECT (MQTT 3.1.1 3.1.2.5).
struct WillSettings {
    std::string topic;
    std::string payload;
    uint32_t qos = 0;
    bool retain = false;
    bool operator==(const WillSettings&) const = default;
};

struct SubscribeSettings {
    std::string topic;
    uint32_t qos = 0;
    bool operator==(const SubscribeSettings&) const = default;
};

/// `app.program`: the user's own device code (a shared object, docs/programs.md) run instead of
/// the built-in MQTT client, with `app.args` as its key/values.
struct ProgramSettings {
    std::string path; ///< resolved against the scenario's folder
    std::vector<std::pair<std::string, std::string>> args;
    bool operator==(const ProgramSettings&) const = default;
};

/// `https_server`: a host HTTPS server the harness starts for device programs (openssl
/// s_server -WWW on loopback with the managed broker's certificate), serving one file.
struct HttpsServerSettings {
    uint64_t size = 512 * 1024; ///< bytes of the served file (seeded, so it repeats)
    bool operator==(const HttpsServerSettings&) const = default;
};

/// What an app action does (docs/scenarios.md, app.actions), as esp-mqtt's API calls it.
enum class ActionKind { kStop, kStart, kReconnect, kDrop, kPublish, kSubscribe, kUnsubscribe };

struct AppAction;

struct AppSettings {
    std::optional<ProgramSettings> program;
    std::string client_id = "lwipsim-device";
    SimDuration keepalive = std::chrono::seconds(120);
    bool clean_session = true;
    std::optional<std::string> username;
    std::optional<std::string> password; ///< needs username (MQTT 3.1.1 [MQTT-3.1.2-22])
    std::optional<WillSettings> will;
    std::optional<PublishSettings> publish;
    std::optional<SubscribeSettings> subscribe;
    SimDuration reconnect_delay = std::chrono::seconds(10);
    SimDuration network_timeout = std::chrono::seconds(10);
    /// SO_LINGER: empty = not set (off); 0 = abort on close (RST); N = linger N whole seconds.
    std::optional<SimDuration> linger;
    bool close_notify = false; ///< send a TLS close_notify before closing
    /// esp-mqtt's receive and send buffers (buffer_size, out_buffer_size; 0 = buffer_size),
    /// allocated once at client init from the device heap (subsystem app).
    uint64_t buffer_size = 1024;
    uint64_t out_buffer_size = 0;
    /// Scripted calls of the application on the client, in file order (app.actions).
    std::vector<AppAction> actions;
    bool operator==(const AppSettings&) const;
};

enum class FaultType {
    kBlackhole,
    kNatReset,
    kLoss,
    kBurstLoss,
    kDelay,
    kRate,
    kReorder,
    kDuplicate,
    kCorrupt,
    kLinkDown,
    kReset,
    // Faults of the managed broker itself (harness/runner/broker_faults.h), not of the link.
    kBrokerStop,
    kBrokerRestart,
    kBrokerPause,
};

/// True for broker_stop, broker_restart and broker_pause: they act on the managed mosquitto
/// process, so they take no direction, filter or params and need broker.mode managed.
bool is_broker_fault(FaultType t);
/// True for the types that happen at an instant and take no `for` (reset, broker_restart).
bool is_instantaneous(FaultType t);

enum class Direction { kUp, kDown, kBoth }; ///< up = device -> network

/// Which frames a fault (or an nth_packet trigger) applies to; empty fields match anything.
/// Addresses are dotted IPv4 or one of the names "device", "broker".
struct PacketFilter {
    std::string src;
    std::string dst;
    std::optional<uint16_t> sport;
    std::optional<uint16_t> dport;
    std::string proto; ///< "tcp", "udp", "icmp", "arp" or empty (any)
    bool operator==(const PacketFilter&) const = default;
};

enum class TriggerEvent { kMqttConnected, kTlsHandshake, kAppClose, kNthPacket, kProgramEvent };

struct Trigger {
    TriggerEvent event = TriggerEvent::kMqttConnected;
    uint32_t count = 1;   ///< fire on the count-th occurrence (1 = the first)
    PacketFilter filter;  ///< nth_packet only
    SimDuration delay{0}; ///< start this long after the event
    std::string name;     ///< program_event only: the lwipsim_event name it counts
    bool operator==(const Trigger&) const = default;
};

/// One scripted application call (app.actions): when, and what. The publish fields apply to
/// kPublish, topic and qos to kSubscribe, topic to kUnsubscribe.
struct AppAction {
    ActionKind kind = ActionKind::kDrop;
    std::string name; ///< unique among the actions; defaults to "<do>_<index>"
    /// An absolute time since the run began, or an event trigger (as a fault's start).
    std::variant<SimDuration, Trigger> start = SimDuration{0};
    std::optional<SimDuration> every; ///< repeat period; empty = once
    std::string topic;
    uint32_t qos = 0;
    uint64_t count = 1;      ///< publish: messages in the burst
    uint64_t size = 64;      ///< publish: payload bytes
    SimDuration interval{0}; ///< publish: between the burst's messages; 0 = back to back
    bool operator==(const AppAction&) const = default;
};

struct NatResetParams {
    /// What the NAT does with frames of flows it forgot: silently drop (true to the field
    /// case) or answer with a TCP RST.
    bool rst_stale_flows = false;
    bool operator==(const NatResetParams&) const = default;
};
struct LossParams {
    double rate = 0;
    bool operator==(const LossParams&) const = default;
};
/// Gilbert-Elliott: p = P(good->bad), r = P(bad->good), loss in each state.
struct BurstLossParams {
    double p = 0;
    double r = 1;
    double loss_good = 0; ///< 1 - k
    double loss_bad = 1;  ///< 1 - h
    bool operator==(const BurstLossParams&) const = default;
};
struct DelayParams {
    SimDuration delay{0};
    SimDuration jitter{0};
    bool operator==(const DelayParams&) const = default;
};
struct RateParams {
    uint64_t rate = 0; ///< bit/s
    bool operator==(const RateParams&) const = default;
};
struct ReorderParams {
    double probability = 0;
    SimDuration delay{0}; ///< how long a reordered frame is held back
    bool operator==(const ReorderParams&) const = default;
};
struct DuplicateParams {
    double probability = 0;
    bool operator==(const DuplicateParams&) const = default;
};
struct CorruptParams {
    double probability = 0;
    bool operator==(const CorruptParams&) const = default;
};

/// broker_stop / broker_restart: how mosquitto is stopped.
struct BrokerStopParams {
    /// false: SIGTERM, a clean stop (a persistent broker saves its database); true: SIGKILL, a
    /// crash (nothing saved since the last autosave).
    bool kill = false;
    bool operator==(const BrokerStopParams&) const = default;
};

/// monostate for types without parameters (blackhole, link_down, reset, broker_pause).
using FaultParams =
    std::variant<std::monostate, NatResetParams, LossParams, BurstLossParams, DelayParams,
                 RateParams, ReorderParams, DuplicateParams, CorruptParams, BrokerStopParams>;

struct FaultSpec {
    FaultType type = FaultType::kBlackhole;
    std::string name; ///< unique within the scenario; defaults to "<type>_<index>"
    /// Start: an absolute time since the run began, or an event trigger.
    std::variant<SimDuration, Trigger> start = SimDuration{0};
    /// How long each occurrence lasts; empty only for instantaneous types (reset).
    std::optional<SimDuration> duration;
    /// Repeat period, measured start to start; empty = once. Always > duration.
    std::optional<SimDuration> every;
    Direction direction = Direction::kBoth;
    PacketFilter filter;
    FaultParams params;
    bool operator==(const FaultSpec&) const = default;
};

struct SamplingSettings {
    SimDuration heap_interval = std::chrono::seconds(1);
    bool operator==(const SamplingSettings&) const = default;
};

struct Variant {
    std::string name;
    std::string description;
    /// Key path (as in the YAML / --set) -> value as YAML text, in file order.
    std::vector<std::pair<std::string, std::string>> set;
    bool operator==(const Variant&) const = default;
};

enum class CompareOp { kLess, kLessEqual, kEqual, kGreaterEqual, kGreater, kNotEqual };

struct Expectation {
    std::string metric; ///< one of known_metrics() (harness/scenario/metrics.h)
    CompareOp op = CompareOp::kLess;
    double value = 0; ///< in the metric's unit: bytes, seconds or a count
    /// Variants this applies to ("base" = the scenario without a variant); empty = all.
    std::vector<std::string> variants;
    bool operator==(const Expectation&) const = default;
};

struct Scenario {
    std::string name; ///< the file stem
    std::string description;
    uint64_t seed = 1;
    SimDuration duration{0};
    TimeSettings time;
    Profile profile = Profile::kEspIdfV44;
    Abi abi = Abi::kIlp32; ///< the loader's default follows the profile (docs/scenarios.md)
    LwipOverrides lwip;
    HeapSettings heap;
    LinkSettings link;
    BrokerSettings broker;
    AppSettings app;
    std::optional<HttpsServerSettings> https_server;
    std::vector<FaultSpec> faults;
    SamplingSettings sampling;
    std::vector<Variant> variants;         ///< all variants the file defines
    std::vector<Expectation> expectations; ///< all; see applies_to() for the active ones

    // How this Scenario was resolved (not part of the YAML).
    std::string source_path;                ///< the file it was loaded from
    std::string source_text;                ///< its YAML text, for resolve_variant()
    std::string applied_variant;            ///< empty = base
    std::vector<std::string> set_overrides; ///< --set texts applied after the variant

    bool operator==(const Scenario&) const = default;
};

/// True if `e` is checked for a run of `s` (its applied_variant, or "base").
bool applies_to(const Expectation& e, const Scenario& s);

// Names as written in YAML, for messages and serialisation.
const char* to_string(TimeMode v);
const char* to_string(BrokerClock v);
const char* to_string(Profile v);
const char* to_string(Abi v);
const char* to_string(HeapAllocator v);
const char* to_string(HeapPoisoning v);
const char* to_string(LinkKind v);
const char* to_string(BrokerMode v);
const char* to_string(FaultType v);
const char* to_string(Direction v);
const char* to_string(TriggerEvent v);
/// A device program's event name (lwipsim_event, trigger `name`): 1..64 letters, digits, '_',
/// '.', '-'.
bool is_event_name(std::string_view name);
const char* to_string(ActionKind v);
const char* to_string(CompareOp v);

} // namespace lwipsim::scenario
