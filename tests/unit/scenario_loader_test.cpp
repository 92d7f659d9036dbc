// Loader behaviour: values land in the model in SI units (expected values by hand from the
// YAML text), variants and --set override at the YAML level in the documented order, the
// canonical YAML round-trips, and every scenario shipped in scenarios/ loads.
#include "harness/scenario/loader.h"
#include "harness/scenario/metrics.h"
#include "harness/scenario/scenario_error.h"
#include "harness/scenario/serialize.h"

#include <gtest/gtest.h>

#include <fstream>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace lwipsim::scenario;
using namespace std::chrono_literals;

namespace {

class TempDir {
  public:
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "scenario_test_XXXXXX").string();
        path_ = mkdtemp(tmpl.data());
    }
    ~TempDir() { fs::remove_all(path_); }
    fs::path write(const std::string& name, const std::string& text) const {
        std::ofstream(path_ / name) << text;
        return path_ / name;
    }
    const fs::path& path() const { return path_; }

  private:
    fs::path path_;
};

// Uses every section and key the language has.
const char* kFull = R"(description: everything at once
seed: 7
duration: 30min
profile: upstream-2.1.3
time: {mode: realtime, host_grace: 50ms}
lwip:
  tcp_maxrtx: 6
  tcp_synmaxrtx: 4
  tcp_rto_initial: 1500ms
  tcp_msl: 60s
  tcp_fin_wait_timeout: 20s
  so_linger_available: true
  keepalive: {enabled: true, idle: 2h, intvl: 75s, cnt: 9}
heap: {budget: 120KiB, block_overhead: 8B}
link: {kind: inmemory, latency: 40ms, rate: 1Mbit/s, queue_frames: 32, capture: on}
broker:
  mode: external
  host: 127.0.0.1
  port: 18883
  ca_file: ca.pem
  server_name: broker.test
  client_cert: client.pem
  client_key: client.key
app:
  client_id: dev-1
  keepalive: 60s
  clean_session: false
  publish: {topic: t/up, interval: 5s, size: 1KB, qos: 1}
  subscribe: {topic: t/down/#, qos: 2}
  reconnect_delay: 3s
  network_timeout: 8s
  linger: 10
  close_notify: yes
faults:
  - name: outage
    type: nat_reset
    at: 2min
    for: 5min
    every: 10min
    params: {rst_stale_flows: true}
  - type: burst_loss
    trigger: {event: nth_packet, count: 100, filter: {dst: broker, dport: 18883, proto: tcp}, delay: 1s}
    for: 30s
    direction: up
    filter: {src: 10.0.0.2, sport: 4000}
    params: {p: 1%, r: 0.25, loss_good: 0.001, loss_bad: 80%}
  - {name: slow, type: delay, at: 0s, for: 1min, params: {delay: 200ms, jitter: 50ms}}
  - {name: thin, type: rate, at: 0s, for: 1min, params: {rate: 100kbit/s}}
  - {name: shuffle, type: reorder, at: 0s, for: 1min, params: {probability: 5%, delay: 20ms}}
  - {name: twice, type: duplicate, at: 0s, for: 1min, params: {probability: 0.01}}
  - {name: flip, type: corrupt, at: 0s, for: 1min, params: {probability: 0.5%}}
  - {name: drop, type: loss, at: 0s, for: 1min, direction: down, params: {rate: 2%}}
  - {name: hole, type: blackhole, at: 1min, for: 10s}
  - {name: cable, type: link_down, at: 3min, for: 1s}
  - {name: kick, type: reset, trigger: {event: mqtt_connected, count: 2}, every: 5min}
sampling: {heap_interval: 250ms}
variants:
  - name: fast
    description: quicker retries
    set:
      lwip.tcp_maxrtx: 3
      faults.outage.for: 1min
  - name: abort
    set: {app.linger: 0}
expectations:
  - {metric: heap.min_free, op: ">=", value: 20KiB}
  - {metric: pcbs.max_close_to_free_s, op: "<", value: 1.5s, variants: [abort]}
  - {metric: app.connects, op: "!=", value: 0, variants: [base, fast]}
)";

Scenario load_full(TempDir& dir, std::span<const std::string> sets = {}) {
    dir.write("ca.pem", "x");
    dir.write("client.pem", "x");
    dir.write("client.key", "x");
    return load_scenario(dir.write("full.yaml", kFull), sets);
}

} // namespace

TEST(ScenarioLoader, FullScenarioValuesInSiUnits) {
    TempDir dir;
    Scenario s = load_full(dir);
    EXPECT_EQ(s.name, "full");
    EXPECT_EQ(s.seed, 7u);
    EXPECT_EQ(s.duration, 1800s);
    EXPECT_EQ(s.profile, Profile::kUpstream213);
    EXPECT_EQ(s.time.mode, TimeMode::kRealtime);
    EXPECT_EQ(s.time.host_grace, 50ms);
    EXPECT_EQ(s.lwip.tcp_maxrtx, 6u);
    EXPECT_EQ(s.lwip.tcp_rto_initial, 1500ms);
    EXPECT_EQ(s.lwip.keepalive.idle, 7200s);
    EXPECT_EQ(s.lwip.keepalive.cnt, 9u);
    EXPECT_EQ(s.heap.budget, 122880u); // 120 * 1024
    EXPECT_EQ(s.heap.block_overhead, 8u);
    EXPECT_EQ(s.link.rate, 1000000u);
    EXPECT_TRUE(s.link.capture);
    EXPECT_EQ(s.broker.mode, BrokerMode::kExternal);
    EXPECT_EQ(s.broker.port, 18883);
    EXPECT_EQ(fs::path(s.broker.ca_file), dir.path() / "ca.pem"); // relative to the file
    EXPECT_FALSE(s.app.clean_session);
    ASSERT_TRUE(s.app.publish);
    EXPECT_EQ(s.app.publish->size, 1000u);
    EXPECT_EQ(s.app.subscribe->qos, 2u);
    EXPECT_EQ(s.app.linger, SimDuration(10s));
    EXPECT_TRUE(s.app.close_notify);
    ASSERT_EQ(s.faults.size(), 11u);
    const FaultSpec& outage = s.faults[0];
    EXPECT_EQ(outage.type, FaultType::kNatReset);
    EXPECT_EQ(std::get<SimDuration>(outage.start), 120s);
    EXPECT_EQ(outage.duration, SimDuration(300s));
    EXPECT_EQ(outage.every, SimDuration(600s));
    EXPECT_TRUE(std::get<NatResetParams>(outage.params).rst_stale_flows);
    const FaultSpec& burst = s.faults[1];
    EXPECT_EQ(burst.name, "burst_loss_1"); // default: type + index
    const Trigger& t = std::get<Trigger>(burst.start);
    EXPECT_EQ(t.event, TriggerEvent::kNthPacket);
    EXPECT_EQ(t.count, 100u);
    EXPECT_EQ(t.filter.dport, 18883);
    EXPECT_EQ(t.delay, 1s);
    EXPECT_EQ(burst.direction, Direction::kUp);
    const auto& bl = std::get<BurstLossParams>(burst.params);
    EXPECT_DOUBLE_EQ(bl.p, 0.01);
    EXPECT_DOUBLE_EQ(bl.loss_bad, 0.8);
    EXPECT_EQ(std::get<RateParams>(s.faults[3].params).rate, 100000u);
    EXPECT_FALSE(s.faults[10].duration); // reset is instantaneous
    EXPECT_EQ(s.sampling.heap_interval, 250ms);
    ASSERT_EQ(s.expectations.size(), 3u);
    EXPECT_DOUBLE_EQ(s.expectations[0].value, 20480.0);
    EXPECT_DOUBLE_EQ(s.expectations[1].value, 1.5);
    EXPECT_EQ(variant_names(s), (std::vector<std::string>{"fast", "abort"}));
}

TEST(ScenarioLoader, VariantsAndSetOverridesApplyInOrder) {
    TempDir dir;
    Scenario base = load_full(dir);
    Scenario fast = resolve_variant(base, "fast");
    EXPECT_EQ(fast.applied_variant, "fast");
    EXPECT_EQ(fast.lwip.tcp_maxrtx, 3u);
    EXPECT_EQ(fast.faults[0].duration, SimDuration(60s)); // picked by name
    EXPECT_EQ(fast.app.linger, SimDuration(10s));         // untouched
    Scenario abort = resolve_variant(base, "abort");
    EXPECT_EQ(abort.app.linger, SimDuration(0s));
    EXPECT_TRUE(applies_to(abort.expectations[1], abort));
    EXPECT_FALSE(applies_to(abort.expectations[2], abort));
    EXPECT_TRUE(applies_to(base.expectations[2], base));

    // --set comes after the variant: it wins, and resolve_variant keeps it.
    std::vector<std::string> sets{"lwip.tcp_maxrtx=5", "faults.0.every=20min", "app.linger=off"};
    Scenario with_sets = load_full(dir, sets);
    Scenario fast2 = resolve_variant(with_sets, "fast");
    EXPECT_EQ(fast2.lwip.tcp_maxrtx, 5u);
    EXPECT_EQ(fast2.faults[0].every, SimDuration(1200s));
    EXPECT_EQ(fast2.faults[0].duration, SimDuration(60s));
    EXPECT_FALSE(fast2.app.linger);
    EXPECT_EQ(fast2.set_overrides, sets);
}

TEST(ScenarioLoader, SetCreatesMissingSectionsAndReportsItsOwnErrors) {
    TempDir dir;
    fs::path f = dir.write("tiny.yaml", "duration: 1h\n");
    std::vector<std::string> sets{"link.latency=5ms", "app.publish={topic: a/b, qos: 1}"};
    Scenario s = load_scenario(f, sets);
    EXPECT_EQ(s.link.latency, 5ms);
    ASSERT_TRUE(s.app.publish);
    EXPECT_EQ(s.app.publish->topic, "a/b");
    EXPECT_EQ(s.app.publish->qos, 1u);

    auto error_of = [&](std::string set) {
        std::vector<std::string> v{set};
        try {
            load_scenario(f, v);
        } catch (const ScenarioError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_EQ(error_of("app.keepalive=2sec"),
              "--set app.keepalive=2sec: app.keepalive: unknown unit 'sec' in duration '2sec' "
              "(allowed: ns, us, ms, s, min, h)");
    EXPECT_EQ(error_of("app.linger"), "--set app.linger: expected key.path=value");
    EXPECT_EQ(error_of("faults.x.for=1s").rfind("--set faults.x.for=1s: ", 0), 0u);
    EXPECT_EQ(error_of("duration.x=1"),
              "--set duration.x=1: 'duration.x': duration is a single value, not a section");
    EXPECT_EQ(error_of("a..b=1"),
              "--set a..b=1: bad key path 'a..b' (expected words joined by dots)");
}

TEST(ScenarioLoader, UnknownVariantNamesTheKnownOnes) {
    TempDir dir;
    Scenario base = load_full(dir);
    try {
        resolve_variant(base, "fats");
        FAIL() << "no error";
    } catch (const ScenarioError& e) {
        EXPECT_EQ(e.message(),
                  "unknown variant 'fats' (did you mean 'fast'?) (variants: fast, abort)");
    }
}

TEST(ScenarioLoader, RoundTripThroughCanonicalYaml) {
    TempDir dir;
    Scenario a = load_full(dir);
    std::string text = to_yaml(a);
    TempDir dir2;
    Scenario b = load_scenario(dir2.write("full.yaml", text));
    // How-it-was-resolved fields differ by construction; everything else must not.
    b.source_path = a.source_path;
    b.source_text = a.source_text;
    EXPECT_EQ(a, b) << text;
    for (const std::string& v : variant_names(a)) {
        Scenario va = resolve_variant(a, v);
        Scenario vb = resolve_variant(b, v);
        vb.source_path = va.source_path;
        vb.source_text = va.source_text;
        EXPECT_EQ(va, vb) << v;
    }
}

// Found by fuzzing (issue 11): a run shorter than the default 1 s sampling period wrote back
// `heap_interval: 1s`, which its own range (1ms..duration) then refused.
TEST(ScenarioLoader, ShortRunSamplesWithinItsDuration) {
    const std::filesystem::path file = "/nonexistent/short.yaml";
    Scenario a = load_scenario_text("duration: 200ms\n", file);
    EXPECT_EQ(a.sampling.heap_interval, 200ms);
    Scenario b = load_scenario_text(to_yaml(a), file);
    b.source_text = a.source_text;
    EXPECT_EQ(a, b);
    EXPECT_EQ(load_scenario_text("duration: 1h\n", file).sampling.heap_interval, 1s);
}

TEST(ScenarioLoader, JsonInSiUnits) {
    TempDir dir;
    Scenario s = resolve_variant(load_full(dir), "abort");
    nlohmann::json j = to_json(s);
    EXPECT_EQ(j["variant"], "abort");
    EXPECT_DOUBLE_EQ(j["duration"].get<double>(), 1800.0);
    EXPECT_DOUBLE_EQ(j["time"]["host_grace"].get<double>(), 0.05);
    EXPECT_EQ(j["heap"]["budget"].get<uint64_t>(), 122880u);
    EXPECT_EQ(j["link"]["rate"].get<uint64_t>(), 1000000u);
    EXPECT_DOUBLE_EQ(j["app"]["linger"].get<double>(), 0.0);
    EXPECT_DOUBLE_EQ(j["faults"][0]["every"].get<double>(), 600.0);
    EXPECT_DOUBLE_EQ(j["faults"][1]["params"]["p"].get<double>(), 0.01);
    EXPECT_TRUE(j["faults"][10]["for"].is_null());
    EXPECT_EQ(j["expectations"][1]["active"], true);
    EXPECT_EQ(j["expectations"][2]["active"], false);
}

TEST(ScenarioLoader, SyntaxErrorCarriesPosition) {
    TempDir dir;
    // Line 2: a second ':' at column 7 where a value must end.
    fs::path f = dir.write("broken.yaml", "duration: 1h\napp: a: b\n");
    try {
        load_scenario(f);
        FAIL() << "no error";
    } catch (const ScenarioError& e) {
        EXPECT_NE(e.message().find("YAML syntax"), std::string::npos) << e.what();
        EXPECT_EQ(e.line(), 2);
        EXPECT_EQ(e.column(), 7);
    }
}

TEST(ScenarioLoader, MetricListHasUniqueNames) {
    auto metrics = known_metrics();
    ASSERT_FALSE(metrics.empty());
    for (size_t i = 0; i < metrics.size(); ++i) {
        EXPECT_EQ(find_metric(metrics[i].name), &metrics[i]);
    }
    EXPECT_EQ(find_metric("pcbs.nope"), nullptr);
    EXPECT_NE(find_metric("pcbs.max_close_to_free_s"), nullptr);
    EXPECT_NE(find_metric("heap.min_free"), nullptr);
    EXPECT_NE(find_metric("app.tls_handshake_failures"), nullptr);
}

TEST(ScenarioLoader, FieldCaseMatchesTheFieldReport) {
    Scenario s = load_scenario(fs::path(LWIPSIM_SOURCE_DIR) / "scenarios/field_case.yaml");
    EXPECT_EQ(s.profile, Profile::kEspIdfV44);
    EXPECT_EQ(s.app.keepalive, 120s); // FIELD_CASE.md: esp-mqtt default
    EXPECT_FALSE(s.app.close_notify);
    EXPECT_EQ(variant_names(s), (std::vector<std::string>{"linger_off", "linger_0", "linger_10s"}));
    EXPECT_FALSE(resolve_variant(s, "linger_off").app.linger);
    EXPECT_EQ(resolve_variant(s, "linger_0").app.linger, SimDuration(0s));
    EXPECT_EQ(resolve_variant(s, "linger_10s").app.linger, SimDuration(10s));
}

TEST(ScenarioLoader, EveryShippedScenarioLoadsWithAllVariants) {
    size_t count = 0;
    for (const auto& e : fs::directory_iterator(fs::path(LWIPSIM_SOURCE_DIR) / "scenarios")) {
        if (e.path().extension() != ".yaml")
            continue;
        SCOPED_TRACE(e.path().string());
        ++count;
        EXPECT_NO_THROW({
            Scenario s = load_scenario(e.path());
            EXPECT_EQ(s.name, e.path().stem().string());
            EXPECT_GT(s.duration, SimDuration{0});
        });
    }
    EXPECT_GE(count, 1u);
}
