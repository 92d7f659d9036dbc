#include "sim/link/link_builder.h"

#include "sim/link/rng.h"

#include <cmath>
#include <set>

namespace lwipsim::link {

using clock::SimDuration;

namespace {

struct ParamDef {
    const char* key;
    std::optional<double> fallback; ///< nullopt: required
    double min;
    double max;
    bool min_exclusive = false;
    bool integer = false;
};

constexpr double kInf = HUGE_VAL;

struct TypeDef {
    const char* type;
    std::vector<ParamDef> params;
};

const std::vector<TypeDef>& type_defs() {
    static const std::vector<TypeDef> defs = {
        {"blackhole", {}},
        {"nat_reset", {}},
        {"loss", {{"p", std::nullopt, 0, 1}}},
        {"burst_loss",
         {{"p", std::nullopt, 0, 1},
          {"r", std::nullopt, 0, 1, true},
          {"k", 1.0, 0, 1},
          {"h", 0.0, 0, 1}}},
        {"delay", {{"delay_ms", std::nullopt, 0, kInf}, {"jitter_ms", 0.0, 0, kInf}}},
        {"rate",
         {{"rate_bps", std::nullopt, 0, kInf, true},
          {"queue_frames", 1000.0, 1, 1e9, false, true}}},
        {"reorder", {{"p", std::nullopt, 0, 1}, {"delay_ms", std::nullopt, 0, kInf, true}}},
        {"duplicate", {{"p", std::nullopt, 0, 1}}},
        {"corrupt", {{"p", std::nullopt, 0, 1}}},
        {"link_down", {}},
        {"reset", {}},
    };
    return defs;
}

std::string display_name(const FaultSpec& spec, size_t index) {
    return spec.name.empty() ? spec.type + "#" + std::to_string(index) : spec.name;
}

[[noreturn]] void fail(const FaultSpec& spec, size_t index, const std::string& what) {
    throw FaultSpecError("fault '" + display_name(spec, index) + "' (" + spec.type + "): " + what);
}

const TypeDef& type_def(const FaultSpec& spec, size_t index) {
    for (const auto& def : type_defs()) {
        if (spec.type == def.type) {
            return def;
        }
    }
    std::string known;
    for (const auto& def : type_defs()) {
        known += (known.empty() ? "" : ", ") + std::string(def.type);
    }
    fail(spec, index, "unknown fault type '" + spec.type + "' (expected one of: " + known + ")");
}

std::string format_range(const ParamDef& d) {
    std::string lo = (d.min_exclusive ? "(" : "[") + std::to_string(d.min);
    std::string hi = d.max == kInf ? "inf)" : std::to_string(d.max) + "]";
    return lo + ", " + hi;
}

/// All params of `spec`, defaults filled in, every key known and in range.
std::map<std::string, double> checked_params(const FaultSpec& spec, size_t index) {
    const TypeDef& def = type_def(spec, index);
    for (const auto& [key, value] : spec.params) {
        bool known = false;
        for (const auto& p : def.params) {
            known = known || key == p.key;
        }
        if (!known) {
            std::string allowed;
            for (const auto& p : def.params) {
                allowed += (allowed.empty() ? "" : ", ") + std::string(p.key);
            }
            fail(spec, index,
                 "unknown param '" + key + "' (allowed: " + (allowed.empty() ? "none" : allowed) +
                     ")");
        }
    }
    std::map<std::string, double> out;
    for (const auto& p : def.params) {
        const auto it = spec.params.find(p.key);
        if (it == spec.params.end()) {
            if (!p.fallback) {
                fail(spec, index, "missing required param '" + std::string(p.key) + "'");
            }
            out[p.key] = *p.fallback;
            continue;
        }
        const double v = it->second;
        const bool below = p.min_exclusive ? !(v > p.min) : !(v >= p.min);
        if (!std::isfinite(v) || below || v > p.max) {
            fail(spec, index,
                 "param '" + std::string(p.key) + "' = " + std::to_string(v) + " out of range " +
                     format_range(p));
        }
        if (p.integer && v != std::floor(v)) {
            fail(spec, index, "param '" + std::string(p.key) + "' must be a whole number");
        }
        out[p.key] = v;
    }
    return out;
}

// Rounded, not truncated: 0.3 ms must be 300000 ns, not 299999.
SimDuration ms(double v) {
    return SimDuration(std::llround(v * 1e6));
}

// A reset happens at instants: its windows have no length.
Schedule schedule_of(const FaultSpec& spec) {
    const bool instant = spec.type == "reset";
    return Schedule{spec.start, instant ? SimDuration::zero() : spec.duration, spec.repeat,
                    spec.dormant};
}

} // namespace

void validate_fault_spec(const FaultSpec& spec, size_t index) {
    (void)checked_params(spec, index);
    if (spec.type == "reset" && spec.duration && *spec.duration != SimDuration::zero()) {
        fail(spec, index, "a reset is instantaneous: it takes no duration");
    }
    const Schedule schedule = schedule_of(spec);
    try {
        schedule.validate();
    } catch (const std::invalid_argument& e) {
        fail(spec, index, std::string("schedule: ") + e.what());
    }
    if (spec.type == "link_down") {
        if (spec.dormant) {
            fail(spec, index, "link_down cannot wait for an event trigger yet; give it `at`");
        }
        if (spec.direction != FaultDirection::kBoth) {
            fail(spec, index, "direction must be 'both' (a link that is down carries nothing)");
        }
        if (!spec.filter.empty()) {
            fail(spec, index, "takes no filter (a link that is down carries nothing)");
        }
    }
    if (spec.type == "reset" && spec.direction == FaultDirection::kDown) {
        fail(spec, index, "direction must be 'up' or 'both' (it answers frames the device sends)");
    }
}

std::unique_ptr<Fault> make_fault(const FaultSpec& spec, size_t index, uint64_t seed,
                                  LinkContext ctx, const LinkHooks& hooks) {
    validate_fault_spec(spec, index);
    const auto params = checked_params(spec, index);
    const std::string name = display_name(spec, index);
    FaultCommon common{name, schedule_of(spec), spec.direction, spec.filter,
                       derive_seed(seed, name)};
    const std::string& t = spec.type;
    auto param = [&](const char* key) { return params.at(key); };
    if (t == "blackhole") {
        return std::make_unique<Blackhole>(std::move(common), ctx);
    }
    if (t == "nat_reset") {
        return std::make_unique<NatReset>(std::move(common), ctx);
    }
    if (t == "loss") {
        return std::make_unique<Loss>(std::move(common), ctx, param("p"));
    }
    if (t == "burst_loss") {
        return std::make_unique<BurstLoss>(
            std::move(common), ctx,
            BurstLoss::Params{param("p"), param("r"), param("k"), param("h")});
    }
    if (t == "delay") {
        return std::make_unique<Delay>(std::move(common), ctx, ms(param("delay_ms")),
                                       ms(param("jitter_ms")));
    }
    if (t == "rate") {
        return std::make_unique<RateLimit>(std::move(common), ctx, param("rate_bps"),
                                           static_cast<size_t>(param("queue_frames")));
    }
    if (t == "reorder") {
        return std::make_unique<Reorder>(std::move(common), ctx, param("p"), ms(param("delay_ms")));
    }
    if (t == "duplicate") {
        return std::make_unique<Duplicate>(std::move(common), ctx, param("p"));
    }
    if (t == "corrupt") {
        return std::make_unique<Corrupt>(std::move(common), ctx, param("p"));
    }
    if (t == "link_down") {
        return std::make_unique<LinkDown>(std::move(common), ctx, hooks.on_link_change);
    }
    if (t == "reset") {
        return std::make_unique<Reset>(std::move(common), ctx);
    }
    // type_def() already rejected unknown types; reaching here means the table and this
    // dispatch disagree.
    fail(spec, index, "internal error: no constructor for this type");
}

Link::Link(Timer& timer, AuditLog& audit) : timer_(timer), ctx_{timer, audit, ids_} {}

void Link::Entry::deliver(Frame frame) {
    frame.direction = direction_;
    frame.id = link_.ids_.next();
    frame.created_at = link_.timer_.now();
    next->deliver(std::move(frame));
}

clock::SimTime Link::earliest_network_arrival(std::optional<clock::SimTime> next_event) const {
    const clock::SimTime never{clock::SimDuration::max()};
    clock::SimTime best = up_->next_arrival().value_or(never);
    if (!next_event)
        return best;
    // Entry points: the device (0) and the piece after each fault that may emit later.
    for (size_t entry = 0; entry <= faults_.size(); ++entry) {
        if (entry > 0 && !faults_[entry - 1]->may_emit_later())
            continue;
        clock::SimTime t = *next_event;
        for (size_t k = entry; k < faults_.size() && t < never; ++k)
            t = faults_[k]->earliest_pass(Direction::kUp, t);
        if (t.since_start < never.since_start - up_->latency())
            best = std::min(best, t + up_->latency());
    }
    return best;
}

void Link::close() {
    if (device_tap_) {
        device_tap_->close();
    }
    if (wire_tap_) {
        wire_tap_->close();
    }
}

std::unique_ptr<Link> build_link(const LinkConfig& config, const std::vector<FaultSpec>& specs,
                                 Timer& timer, AuditLog& audit, LinkEndpoints ends,
                                 LinkHooks hooks) {
    if (ends.to_device == nullptr || ends.to_network == nullptr) {
        throw std::invalid_argument("build_link: both link endpoints must be set");
    }
    std::unique_ptr<Link> link(new Link(timer, audit));

    std::set<std::string> names;
    for (size_t i = 0; i < specs.size(); ++i) {
        auto fault = make_fault(specs[i], i, config.seed, link->ctx_, hooks);
        if (!names.insert(fault->name()).second) {
            fail(specs[i], i, "duplicate fault name (names must be unique: they seed the RNG)");
        }
        link->faults_.push_back(std::move(fault));
    }
    link->up_ = std::make_unique<LinkModel>("wire_up", config.up, timer, audit, ends.to_network);
    link->down_ = std::make_unique<LinkModel>("wire_down", config.down, timer, audit, nullptr);
    if (!config.device_pcap.empty()) {
        link->device_tap_ =
            std::make_unique<PcapTap>(config.device_pcap, timer, config.pcap_epoch_offset_ns);
    }
    if (!config.wire_pcap.empty()) {
        link->wire_tap_ =
            std::make_unique<PcapTap>(config.wire_pcap, timer, config.pcap_epoch_offset_ns);
    }

    // The middle of the chain, device side first.
    std::vector<Stage*> chain;
    if (link->device_tap_) {
        chain.push_back(link->device_tap_.get());
    }
    for (auto& f : link->faults_) {
        chain.push_back(f.get());
    }
    if (link->wire_tap_) {
        chain.push_back(link->wire_tap_.get());
    }
    for (size_t i = 0; i < chain.size(); ++i) {
        chain[i]->set_next(Direction::kUp, i + 1 < chain.size()
                                               ? chain[i + 1]
                                               : static_cast<FrameSink*>(link->up_.get()));
        chain[i]->set_next(Direction::kDown, i > 0 ? chain[i - 1] : ends.to_device);
    }
    link->from_device_.next =
        chain.empty() ? static_cast<FrameSink*>(link->up_.get()) : chain.front();
    link->from_network_.next = link->down_.get();
    link->down_->set_next(chain.empty() ? ends.to_device : chain.back());

    for (auto& f : link->faults_) {
        f->arm();
    }
    return link;
}

} // namespace lwipsim::link
