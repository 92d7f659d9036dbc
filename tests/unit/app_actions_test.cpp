// app.actions in the scenario language (issue 15): what the loader makes of each key (expected
// values by hand from the YAML text), the canonical YAML round trip, and the errors, each with
// file:line:col and, for a misspelt word, a suggestion.
#include "harness/scenario/loader.h"
#include "harness/scenario/scenario_error.h"
#include "harness/scenario/serialize.h"

#include <gtest/gtest.h>

using namespace lwipsim::scenario;
using namespace std::chrono_literals;

namespace {

const std::filesystem::path kFile = "/nonexistent/actions.yaml";

const char* kActions = R"(duration: 10min
app:
  actions:
    - {at: 2min, do: drop}
    - name: burst
      trigger: {event: mqtt_connected, count: 2, delay: 3s}
      every: 1min
      do: publish
      topic: dev/burst
      count: 20
      size: 1KiB
      qos: 1
      interval: 100ms
    - {at: 30s, do: subscribe, topic: dev/+/cmd, qos: 2}
    - {at: 40s, do: unsubscribe, topic: dev/+/cmd}
    - {at: 5min, do: stop}
    - {at: 6min, do: start}
    - {at: 7min, do: reconnect}
)";

TEST(AppActions, LoadedInSiUnits) {
    Scenario s = load_scenario_text(kActions, kFile);
    ASSERT_EQ(s.app.actions.size(), 7u);
    const AppAction& drop = s.app.actions[0];
    EXPECT_EQ(drop.kind, ActionKind::kDrop);
    EXPECT_EQ(drop.name, "drop_0");
    EXPECT_EQ(std::get<SimDuration>(drop.start), 120s);
    EXPECT_FALSE(drop.every.has_value());
    const AppAction& burst = s.app.actions[1];
    EXPECT_EQ(burst.kind, ActionKind::kPublish);
    EXPECT_EQ(burst.name, "burst");
    const auto& t = std::get<Trigger>(burst.start);
    EXPECT_EQ(t.event, TriggerEvent::kMqttConnected);
    EXPECT_EQ(t.count, 2u);
    EXPECT_EQ(t.delay, 3s);
    EXPECT_EQ(burst.every, SimDuration(60s));
    EXPECT_EQ(burst.topic, "dev/burst");
    EXPECT_EQ(burst.count, 20u);
    EXPECT_EQ(burst.size, 1024u);
    EXPECT_EQ(burst.qos, 1u);
    EXPECT_EQ(burst.interval, 100ms);
    EXPECT_EQ(s.app.actions[2].kind, ActionKind::kSubscribe);
    EXPECT_EQ(s.app.actions[2].qos, 2u);
    EXPECT_EQ(s.app.actions[3].topic, "dev/+/cmd");
    EXPECT_EQ(s.app.actions[6].name, "reconnect_6");
}

TEST(AppActions, RoundTripThroughCanonicalYaml) {
    Scenario a = load_scenario_text(kActions, kFile);
    Scenario b = load_scenario_text(to_yaml(a), kFile);
    b.source_text = a.source_text;
    EXPECT_EQ(a, b) << to_yaml(a);
    const auto j = to_json(a);
    EXPECT_EQ(j["app"]["actions"][1]["do"], "publish");
    EXPECT_DOUBLE_EQ(j["app"]["actions"][1]["interval"].get<double>(), 0.1);
    EXPECT_EQ(j["app"]["actions"][0]["at"], 120.0);
}

TEST(AppActions, OverriddenByNameWithSet) {
    const std::vector<std::string> sets{"app.actions.burst.count=5"};
    Scenario s = load_scenario_text(kActions, kFile, sets);
    EXPECT_EQ(s.app.actions[1].count, 5u);
}

std::string error_of(const std::string& yaml) {
    try {
        load_scenario_text(yaml, kFile);
    } catch (const ScenarioError& e) {
        return e.what();
    }
    return "no error";
}

TEST(AppActions, ErrorsSayWhereAndWhat) {
    EXPECT_EQ(
        error_of("duration: 1min\napp:\n  actions:\n    - {at: 1s, do: dorp}\n"),
        "/nonexistent/actions.yaml:4:20: error: app.actions[0].do: unknown value 'dorp' (expected "
        "one of: stop, start, reconnect, drop, publish, subscribe, unsubscribe) (did you "
        "mean 'drop'?)");
    EXPECT_EQ(error_of("duration: 1min\napp:\n  actions:\n    - {at: 1s, do: stop, topic: a}\n"),
              "/nonexistent/actions.yaml:4:26: error: 'topic' does not apply to 'do: stop' "
              "(app.actions[0])");
    EXPECT_EQ(
        error_of("duration: 1min\napp:\n  actions:\n    - {at: 1s, do: publish}\n"),
        "/nonexistent/actions.yaml:4:7: error: missing required key 'topic' in app.actions[0]");
    EXPECT_EQ(
        error_of("duration: 1min\napp:\n  actions:\n    - {at: 1s, do: publish, topic: a, "
                 "qos: 2}\n"),
        "/nonexistent/actions.yaml:4:44: error: app.actions[0].qos: 2 is out of range (0..1)");
    EXPECT_EQ(
        error_of("duration: 1min\napp:\n  actions:\n    - {at: 1s, do: publish, topic: a, "
                 "count: 3, interval: 10s, every: 20s}\n"),
        "/nonexistent/actions.yaml:4:71: error: app.actions[0].every: 'every' (20s) must be longer "
        "than the burst (20s)");
    EXPECT_EQ(error_of("duration: 1min\napp:\n  actions:\n    - {at: 1s, do: stop}\n    - {at: 2s, "
                       "do: start, name: stop_0}\n"),
              "/nonexistent/actions.yaml:5:7: error: duplicate action name 'stop_0'");
    EXPECT_EQ(error_of("duration: 1min\napp:\n  actions: {at: 1s}\n"),
              "/nonexistent/actions.yaml:3:12: error: app.actions: expected a list of actions, got "
              "a map");
}

} // namespace
