#include "harness/runner/link_setup.h"

#include "sim/link/tap_backend.h"

#include <chrono>

namespace lwipsim::runner {

using clock::SimDuration;
using clock::SimTime;
using nlohmann::json;

namespace {

// The TAP's side in the namespace (kTapHostIp) with its network's prefix.
constexpr const char* kTapHostCidr = "10.0.3.1/24";

double ms(SimDuration d) {
    return std::chrono::duration<double, std::milli>(d).count();
}

} // namespace

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

} // namespace lwipsim::runner
