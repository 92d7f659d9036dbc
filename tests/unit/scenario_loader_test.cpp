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
  expect_reachable: no
app:
  client_id: dev-1
  keepalive: 60s
  clean_session: false
  username: dev
  password: "1234"
  will: {topic: t/status, payload: offline, qos: 1, retain: true}
  publish: {topic: t/up, interval: 5s, size: 1KB, qos: 1, retain: true}
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
    EXPECT_EQ(s.heap.allocator, HeapAllocator::kNone); // block_overhead is a flat cost
    EXPECT_EQ(s.link.rate, 1000000u);
    EXPECT_TRUE(s.link.capture);
    EXPECT_EQ(s.broker.mode, BrokerMode::kExternal);
    EXPECT_EQ(s.broker.port, 18883);
    EXPECT_EQ(fs::path(s.broker.ca_file), dir.path() / "ca.pem"); // relative to the file
    EXPECT_FALSE(s.broker.expect_reachable);
    EXPECT_FALSE(s.app.clean_session);
    ASSERT_TRUE(s.app.publish);
    EXPECT_EQ(s.app.publish->size, 1000u);
    EXPECT_TRUE(s.app.publish->retain);
    EXPECT_EQ(s.app.username, "dev");
    EXPECT_EQ(s.app.password, "1234");
    ASSERT_TRUE(s.app.will);
    EXPECT_EQ(s.app.will->topic, "t/status");
    EXPECT_EQ(s.app.will->payload, "offline");
    EXPECT_EQ(s.app.will->qos, 1u);
    EXPECT_TRUE(s.app.will->retain);
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
    // Columns within the --set text: the value "2sec" starts at column 15 (after the 13
    // characters of "app.keepalive" and the '='); key-path errors point at column 1.
    EXPECT_EQ(error_of("app.keepalive=2sec"),
              "--set 'app.keepalive=2sec': column 15: app.keepalive: unknown unit 'sec' in "
              "duration '2sec' (allowed: ns, us, ms, s, min, h)");
    EXPECT_EQ(error_of("app.linger"), "--set 'app.linger': column 1: expected key.path=value");
    EXPECT_EQ(error_of("faults.x.for=1s").rfind("--set 'faults.x.for=1s': column 1: ", 0), 0u);
    EXPECT_EQ(error_of("duration.x=1"), "--set 'duration.x=1': column 1: 'duration.x': duration "
                                        "is a single value, not a section");
    EXPECT_EQ(error_of("a..b=1"),
              "--set 'a..b=1': column 1: bad key path 'a..b' (expected words joined by dots)");
    // Inside a flow map the column is the offending node's own: the 7 of "qos: 7" is at
    // column 31 of "app.publish={topic: a/b, qos: 7}" (30 characters before it).
    EXPECT_EQ(
        error_of("app.publish={topic: a/b, qos: 7}")
            .rfind("--set 'app.publish={topic: a/b, qos: 7}': column 31: app.publish.qos:", 0),
        0u)
        << error_of("app.publish={topic: a/b, qos: 7}");
    // A single quote in the text is shell-quoted, so the message can be pasted back.
    EXPECT_EQ(error_of("app.client_id='ab").rfind("--set 'app.client_id='\\''ab': ", 0), 0u)
        << error_of("app.client_id='ab");
}

// A --set that makes a node of the file wrong is named, with the file position it conflicts
// with (it used to be reported as an error of the file alone).
TEST(ScenarioLoader, SetThatBreaksAFileNodeIsBlamed) {
    TempDir dir;
    fs::path f = dir.write("b.yaml", "duration: 1h\n"
                                     "faults:\n"
                                     "  - name: flap\n"
                                     "    type: blackhole\n"
                                     "    at: 10s\n"
                                     "    for: 5s\n"
                                     "    every: 20s\n");
    std::vector<std::string> sets{"app.keepalive=30s", "faults.flap.for=30s"};
    try {
        load_scenario(f, sets);
        FAIL() << "no error";
    } catch (const ScenarioError& e) {
        EXPECT_EQ(e.set_override(), "faults.flap.for=30s");
        // "every: 20s" is line 7; its value starts at column 12.
        EXPECT_EQ(std::string(e.what()),
                  "--set 'faults.flap.for=30s': conflicts with " + f.string() +
                      ":7:12: faults[0].every: 'every' (20s) must be longer than 'for' (30s)");
    }
    // The file's own error stays the file's, even with a --set given.
    fs::path g = dir.write("g.yaml", "duration: 1h\napp: {keepalive: 5parsecs}\n");
    std::vector<std::string> one{"app.linger=0"};
    try {
        load_scenario(g, one);
        FAIL() << "no error";
    } catch (const ScenarioError& e) {
        EXPECT_TRUE(e.set_override().empty()) << e.what();
        EXPECT_EQ(e.line(), 2);
    }
}

std::string load_error(const TempDir& dir, const std::string& text) {
    fs::path f = dir.write("s.yaml", text);
    try {
        load_scenario(f);
    } catch (const ScenarioError& e) {
        return e.what();
    }
    return "no error";
}

TEST(ScenarioLoader, SuggestionsPointTheRightWay) {
    TempDir dir;
    // heap.final_free is as far from heap.min_free as from heap.final_used (3 edits each);
    // the one that shares the start is what the author meant.
    std::string e = load_error(dir, "duration: 1h\nexpectations:\n"
                                    "  - {metric: heap.final_free, op: '<', value: 1}\n");
    EXPECT_NE(e.find("did you mean 'heap.final_used'?"), std::string::npos) << e;
    // A fault parameter next to `type:` belongs under params:, it is not a misspelt 'name'.
    e = load_error(dir, "duration: 1h\nfaults:\n  - type: loss\n    at: 1s\n    for: 1s\n"
                        "    rate: 5%\n");
    EXPECT_EQ(e.find("did you mean"), std::string::npos) << e;
    EXPECT_NE(e.find(":6:5: error: 'rate' is a fault parameter: put it under 'params:'"),
              std::string::npos)
        << e;
    EXPECT_NE(e.find("params: {rate: 5%}"), std::string::npos) << e;
}

TEST(ScenarioLoader, YamlSyntaxErrorsSayWhatToWrite) {
    TempDir dir;
    // `op: >=` unquoted: '>' starts a folded block scalar (YAML 1.2, 8.1.3).
    std::string e = load_error(dir, "duration: 1h\nexpectations:\n  - metric: heap.min_free\n"
                                    "    op: >=\n    value: 1\n");
    EXPECT_NE(e.find(":4:9: error: YAML syntax: quote it: op: '>='"), std::string::npos) << e;
    // Tabs may not indent (YAML 1.2, 6.1).
    e = load_error(dir, "duration: 1h\napp:\n\tkeepalive: 30s\n");
    EXPECT_NE(e.find(":3:1: error: YAML syntax: tab in the indentation: YAML does not allow "
                     "tabs for indentation; use spaces"),
              std::string::npos)
        << e;
    // The same in a --set value: ">=" starts at column 19 of "expectations.0.op=>=".
    fs::path f = dir.write("ok.yaml", "duration: 1h\n");
    std::vector<std::string> sets{"expectations.0.op=>="};
    try {
        load_scenario(f, sets);
        FAIL() << "no error";
    } catch (const ScenarioError& ex) {
        EXPECT_EQ(std::string(ex.what()).rfind("--set 'expectations.0.op=>=': column 19: value "
                                               "is not valid YAML: quote it: ",
                                               0),
                  0u)
            << ex.what();
    }
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

// Found by fuzzing: a will without a payload was written back as an empty payload, which the
// loader then refused; MQTT 3.1.1 (3.1.3.3) allows a zero-length will message.
TEST(ScenarioLoader, WillWithoutPayloadRoundTrips) {
    const std::filesystem::path file = "/nonexistent/will.yaml";
    Scenario a = load_scenario_text("duration: 1min\napp:\n  will:\n    topic: dev/will\n", file);
    ASSERT_TRUE(a.app.will.has_value());
    EXPECT_EQ(a.app.will->payload, "");
    Scenario b = load_scenario_text(to_yaml(a), file);
    b.source_text = a.source_text;
    EXPECT_EQ(a, b);
}

// The heap's per-block cost follows the profile unless the scenario says otherwise
// (docs/scenarios.md, `heap`): ESP-IDF's heap for the ESP-IDF profile, none for upstream lwIP;
// a block_overhead is the user's own flat cost. Each resolved form loads again as it is.
// Loads "duration: 1h" + `text`, and checks that the resolved scenario written back as YAML
// loads as the same scenario.
Scenario load_round_trip(const std::string& text) {
    const std::filesystem::path file = "/nonexistent/round_trip.yaml";
    Scenario a = load_scenario_text("duration: 1h\n" + text, file);
    Scenario b = load_scenario_text(to_yaml(a), file);
    b.source_text = a.source_text;
    EXPECT_EQ(a, b) << to_yaml(a);
    return a;
}

TEST(ScenarioLoader, HeapAllocatorFollowsTheProfile) {
    auto load = [](const std::string& text) { return load_round_trip(text).heap; };
    HeapSettings h = load("");
    EXPECT_EQ(h.allocator, HeapAllocator::kEspIdfV44);
    EXPECT_EQ(h.poisoning, HeapPoisoning::kNone); // ESP-IDF's Kconfig default
    EXPECT_FALSE(h.task_tracking);
    h = load("profile: upstream-2.1.3\n");
    EXPECT_EQ(h.allocator, HeapAllocator::kNone);
    EXPECT_EQ(h.block_overhead, 0u);
    h = load("heap: {block_overhead: 16B}\n");
    EXPECT_EQ(h.allocator, HeapAllocator::kNone);
    EXPECT_EQ(h.block_overhead, 16u);
    h = load("profile: upstream-2.1.3\nheap: {allocator: esp-idf-v4.4, poisoning: light}\n");
    EXPECT_EQ(h.allocator, HeapAllocator::kEspIdfV44);
    EXPECT_EQ(h.poisoning, HeapPoisoning::kLight);
    h = load("heap: {poisoning: comprehensive, task_tracking: true}\n");
    EXPECT_EQ(h.poisoning, HeapPoisoning::kComprehensive);
    EXPECT_TRUE(h.task_tracking);
    h = load("heap: {allocator: none}\n");
    EXPECT_EQ(h.allocator, HeapAllocator::kNone);
    EXPECT_EQ(h.block_overhead, 0u);
}

// The device ABI: the esp-idf-v4.4 profile is an ESP32 (32-bit) unless the scenario asks for
// the host's sizes; the upstream profile has only the host build. Each form reloads the same.
TEST(ScenarioLoader, AbiFollowsTheProfile) {
    auto load = [](const std::string& text) { return load_round_trip(text).abi; };
    EXPECT_EQ(load(""), Abi::kIlp32);
    EXPECT_EQ(load("abi: host\n"), Abi::kHost);
    EXPECT_EQ(load("profile: upstream-2.1.3\n"), Abi::kHost);
    EXPECT_EQ(load("profile: upstream-2.1.3\nabi: host\n"), Abi::kHost);
    EXPECT_EQ(to_json(load_round_trip(""))["abi"], "ilp32");
}

TEST(ScenarioLoader, JsonInSiUnits) {
    TempDir dir;
    Scenario s = resolve_variant(load_full(dir), "abort");
    nlohmann::json j = to_json(s);
    EXPECT_EQ(j["variant"], "abort");
    EXPECT_DOUBLE_EQ(j["duration"].get<double>(), 1800.0);
    EXPECT_DOUBLE_EQ(j["time"]["host_grace"].get<double>(), 0.05);
    EXPECT_EQ(j["heap"]["budget"].get<uint64_t>(), 122880u);
    EXPECT_EQ(j["heap"]["allocator"], "none");
    EXPECT_EQ(j["heap"]["block_overhead"].get<uint64_t>(), 8u);
    EXPECT_EQ(j["link"]["rate"].get<uint64_t>(), 1000000u);
    EXPECT_DOUBLE_EQ(j["app"]["linger"].get<double>(), 0.0);
    EXPECT_EQ(j["app"]["password"], "(set)") << "results never show the password";
    EXPECT_EQ(j["app"]["will"]["topic"], "t/status");
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

// Broker faults (issue 13) take no direction or filter, and the canonical YAML leaves
// those keys out: it must load back to the same scenario, persistence included.
TEST(ScenarioLoader, BrokerFaultsRoundTripAndAreNotLinkFaults) {
    const std::filesystem::path file = "/nonexistent/broker_faults.yaml";
    Scenario a = load_scenario_text("duration: 10min\n"
                                    "broker: {persistence: true}\n"
                                    "faults:\n"
                                    "  - {type: broker_stop, at: 1min, for: 2min,"
                                    " params: {signal: kill}}\n"
                                    "  - {type: broker_restart, at: 5min, every: 2min}\n"
                                    "  - {type: broker_pause, trigger: {event: mqtt_connected},"
                                    " for: 30s}\n",
                                    file);
    ASSERT_EQ(a.faults.size(), 3u);
    EXPECT_EQ(a.faults[0].type, FaultType::kBrokerStop);
    EXPECT_EQ(a.faults[0].params, FaultParams{BrokerStopParams{true}});
    EXPECT_EQ(a.faults[1].params, FaultParams{BrokerStopParams{false}}); // term by default
    EXPECT_EQ(a.faults[1].type, FaultType::kBrokerRestart);
    EXPECT_FALSE(a.faults[1].duration.has_value()); // instantaneous, like reset
    EXPECT_EQ(a.faults[2].type, FaultType::kBrokerPause);
    EXPECT_TRUE(a.broker.persistence);
    for (const auto& f : a.faults)
        EXPECT_TRUE(is_broker_fault(f.type)) << f.name;
    EXPECT_FALSE(is_broker_fault(FaultType::kReset));
    const std::string text = to_yaml(a);
    EXPECT_EQ(text.find("direction"), std::string::npos) << text;
    Scenario b = load_scenario_text(text, file);
    b.source_text = a.source_text;
    EXPECT_EQ(a, b) << text;
}
