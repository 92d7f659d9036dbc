#include "sim/link/fault.h"

#include <cmath>
#include <utility>

namespace lwipsim::link {

using clock::SimDuration;
using clock::SimTime;

Fault::Fault(FaultCommon common, LinkContext ctx)
    : common_(std::move(common)), ctx_(ctx), rng_(common_.seed) {}

bool Fault::direction_selected(Direction d) const {
    switch (common_.direction) {
    case FaultDirection::kBoth:
        return true;
    case FaultDirection::kUp:
        return d == Direction::kUp;
    case FaultDirection::kDown:
        return d == Direction::kDown;
    }
    return false;
}

bool Fault::selected(const Frame& frame, SimTime now) const {
    if (!direction_selected(frame.direction) || !common_.schedule.active(now)) {
        return false;
    }
    // Parsing is skipped for unfiltered faults: it is the common case and the hot path.
    return common_.filter.empty() || common_.filter.matches(parse_frame(frame.bytes));
}

void Fault::deliver(Frame frame) {
    const SimTime now = ctx_.timer.now();
    if (selected(frame, now)) {
        apply(std::move(frame), now);
    } else {
        forward(std::move(frame));
    }
}

void Fault::report(const Frame& frame, AuditAction action, std::string_view reason) {
    ctx_.audit.record(
        AuditEvent{frame.id, ctx_.timer.now(), common_.name, action, reason, frame.direction});
}

void Fault::forward_at(Frame frame, SimTime when) {
    ctx_.timer.at(when, [this, f = std::move(frame)]() mutable { forward(std::move(f)); });
}

// --- blackhole ---------------------------------------------------------------------------

void Blackhole::apply(Frame frame, SimTime /*now*/) {
    drop(frame, "blackhole");
}

SimTime Blackhole::earliest_pass(Direction d, SimTime t) const {
    const Schedule& sched = common_.schedule;
    if (!direction_selected(d) || !common_.filter.empty() || !sched.active(t))
        return t;
    if (!sched.duration)
        return SimTime{clock::SimDuration::max()}; // active until the run ends
    return *sched.last_start(t) + *sched.duration;
}

// --- nat_reset ---------------------------------------------------------------------------

void NatReset::deliver(Frame frame) {
    const SimTime now = ctx_.timer.now();
    if (!direction_selected(frame.direction)) {
        forward(std::move(frame));
        return;
    }
    const PacketInfo info = parse_frame(frame.bytes);
    if (!common_.filter.matches(info)) {
        forward(std::move(frame));
        return;
    }
    if (common_.schedule.active(now)) {
        apply(std::move(frame), now);
        return;
    }
    const auto key = flow_key(info);
    if (!key) {
        forward(std::move(frame));
        return;
    }
    const auto [it, inserted] = first_seen_.try_emplace(*key, now);
    // Dead if a window started after the flow first got through. Windows only move forward,
    // so once dead a flow stays dead.
    const auto window = common_.schedule.last_start(now);
    if (!inserted && window && it->second < *window) {
        drop(frame, "nat_reset_stale_flow");
        return;
    }
    forward(std::move(frame));
}

void NatReset::apply(Frame frame, SimTime /*now*/) {
    drop(frame, "nat_reset");
}

// --- loss --------------------------------------------------------------------------------

Loss::Loss(FaultCommon common, LinkContext ctx, double p) : Fault(std::move(common), ctx), p_(p) {}

void Loss::apply(Frame frame, SimTime /*now*/) {
    if (rng_.bernoulli(p_)) {
        drop(frame, "loss");
    } else {
        forward(std::move(frame));
    }
}

// --- burst_loss --------------------------------------------------------------------------

BurstLoss::BurstLoss(FaultCommon common, LinkContext ctx, Params params)
    : Fault(std::move(common), ctx), params_(params) {}

void BurstLoss::apply(Frame frame, SimTime /*now*/) {
    const bool met_bad = bad_;
    const bool lost = !rng_.bernoulli(met_bad ? params_.h : params_.k);
    // Always one draw for the transition, so the state sequence does not depend on the loss
    // parameters (k, h) — only on p, r and the seed.
    const double u = rng_.uniform01();
    bad_ = bad_ ? !(u < params_.r) : (u < params_.p);
    if (lost) {
        drop(frame, met_bad ? "burst_loss_bad" : "burst_loss_good");
    } else {
        forward(std::move(frame));
    }
}

// --- delay -------------------------------------------------------------------------------

Delay::Delay(FaultCommon common, LinkContext ctx, SimDuration fixed, SimDuration jitter)
    : Fault(std::move(common), ctx), fixed_(fixed), jitter_(jitter) {}

void Delay::apply(Frame frame, SimTime now) {
    SimDuration d = fixed_;
    if (jitter_ > SimDuration::zero()) {
        d += SimDuration(static_cast<int64_t>(rng_.below(static_cast<uint64_t>(jitter_.count()))));
    }
    if (d <= SimDuration::zero()) {
        forward(std::move(frame));
        return;
    }
    report(frame, AuditAction::kDelayed, "delay");
    forward_at(std::move(frame), now + d);
}

// --- rate --------------------------------------------------------------------------------

RateLimit::RateLimit(FaultCommon common, LinkContext ctx, double rate_bps, size_t queue_frames)
    : Fault(std::move(common), ctx), serializer_(rate_bps, queue_frames) {}

void RateLimit::apply(Frame frame, SimTime now) {
    const auto done = serializer_.admit(now, frame.bytes.size());
    if (!done) {
        drop(frame, "queue_full");
        return;
    }
    report(frame, AuditAction::kDelayed, "rate");
    forward_at(std::move(frame), *done);
}

// --- reorder -----------------------------------------------------------------------------

Reorder::Reorder(FaultCommon common, LinkContext ctx, double p, SimDuration extra)
    : Fault(std::move(common), ctx), p_(p), extra_(extra) {}

void Reorder::apply(Frame frame, SimTime now) {
    if (rng_.bernoulli(p_)) {
        report(frame, AuditAction::kDelayed, "reorder");
        forward_at(std::move(frame), now + extra_);
    } else {
        forward(std::move(frame));
    }
}

// --- duplicate ---------------------------------------------------------------------------

Duplicate::Duplicate(FaultCommon common, LinkContext ctx, double p)
    : Fault(std::move(common), ctx), p_(p) {}

void Duplicate::apply(Frame frame, SimTime /*now*/) {
    if (rng_.bernoulli(p_)) {
        report(frame, AuditAction::kDuplicated, "duplicate");
        forward(frame);
    }
    forward(std::move(frame));
}

// --- corrupt -----------------------------------------------------------------------------

Corrupt::Corrupt(FaultCommon common, LinkContext ctx, double p)
    : Fault(std::move(common), ctx), p_(p) {}

void Corrupt::apply(Frame frame, SimTime /*now*/) {
    if (frame.bytes.size() > kEthHeaderLen && rng_.bernoulli(p_)) {
        const uint64_t bits = (frame.bytes.size() - kEthHeaderLen) * 8;
        const uint64_t bit = rng_.below(bits);
        // bit < bits: the index is inside the frame, which size_t holds on every ABI.
        frame.bytes[static_cast<size_t>(kEthHeaderLen + bit / 8)] ^=
            static_cast<uint8_t>(1u << (bit % 8));
        report(frame, AuditAction::kCorrupted, "corrupt");
    }
    forward(std::move(frame));
}

// --- link_down ---------------------------------------------------------------------------

LinkDown::LinkDown(FaultCommon common, LinkContext ctx, LinkChange on_change)
    : Fault(std::move(common), ctx), on_change_(std::move(on_change)) {}

void LinkDown::deliver(Frame frame) {
    const SimTime now = ctx_.timer.now();
    if (common_.schedule.active(now)) {
        apply(std::move(frame), now);
    } else {
        forward(std::move(frame));
    }
}

void LinkDown::apply(Frame frame, SimTime /*now*/) {
    drop(frame, "link_down");
}

void LinkDown::arm() {
    const auto first = common_.schedule.active(ctx_.timer.now())
                           ? common_.schedule.last_start(ctx_.timer.now())
                           : common_.schedule.next_start(ctx_.timer.now());
    if (first) {
        ctx_.timer.at(std::max(*first, ctx_.timer.now()),
                      [this, at = *first] { window_start(at); });
    }
}

void LinkDown::window_start(SimTime at) {
    if (on_change_) {
        on_change_(false);
    }
    const auto& s = common_.schedule;
    if (s.duration) {
        ctx_.timer.at(at + *s.duration, [this] {
            if (on_change_) {
                on_change_(true);
            }
        });
    }
    if (const auto next = s.next_start(at)) {
        ctx_.timer.at(*next, [this, n = *next] { window_start(n); });
    }
}

// --- reset -------------------------------------------------------------------------------

namespace {

// Serial-number order (RFC 1982) of two TCP sequence numbers.
bool seq_after(uint32_t a, uint32_t b) {
    return static_cast<int32_t>(a - b) > 0;
}

void write32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
    for (size_t i = 0; i < 4; ++i)
        b[at + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}

} // namespace

void Reset::deliver(Frame frame) {
    const PacketInfo info = parse_frame(frame.bytes);
    const bool tcp =
        info.ipv4 && info.has_ports && info.protocol == static_cast<uint8_t>(IpProto::kTcp);
    if (!tcp) {
        forward(std::move(frame));
        return;
    }
    const auto it = flows_.find(*flow_key(info));
    const bool new_syn = (info.tcp_flags & (kTcpSyn | kTcpAck)) == kTcpSyn;
    if (frame.direction == Direction::kUp && it != flows_.end() && it->second.reset && !new_syn) {
        apply(std::move(frame), ctx_.timer.now());
        return;
    }
    track(frame, info);
    forward(std::move(frame));
}

void Reset::track(const Frame& frame, const PacketInfo& info) {
    const FlowKey key = *flow_key(info);
    if ((info.tcp_flags & kTcpRst) != 0) {
        flows_.erase(key); // ended by one of its ends
        return;
    }
    if (frame.direction == Direction::kDown) {
        auto it = flows_.find(key);
        if (it == flows_.end())
            return;
        const uint32_t end = info.tcp_seq + static_cast<uint32_t>(info.tcp_payload_len) +
                             ((info.tcp_flags & kTcpSyn) ? 1u : 0u) +
                             ((info.tcp_flags & kTcpFin) ? 1u : 0u);
        auto& next = it->second.down_next;
        if (!next || seq_after(end, *next))
            next = end;
        return;
    }
    if (!direction_selected(Direction::kUp) ||
        !(common_.filter.empty() || common_.filter.matches(info))) {
        return;
    }
    Flow& f = flows_[key];
    if ((info.tcp_flags & (kTcpSyn | kTcpAck)) == kTcpSyn)
        f = Flow{}; // a new connection on these ports
    f.last_up = frame.bytes;
}

void Reset::arm() {
    const SimTime now = ctx_.timer.now();
    const auto& s = common_.schedule;
    auto first = s.last_start(now);
    if (!first || *first < now)
        first = s.next_start(now);
    if (first)
        ctx_.timer.at(*first, [this, at = *first] { reset_flows(at); });
}

void Reset::reset_flows(SimTime at) {
    for (auto& [key, flow] : flows_) {
        if (flow.reset)
            continue;
        flow.reset = true;
        std::vector<uint8_t> basis = flow.last_up;
        const PacketInfo up = parse_frame(basis);
        // Answer the device's latest segment as if it acknowledged everything seen going down.
        if ((up.tcp_flags & kTcpAck) != 0 && flow.down_next &&
            seq_after(*flow.down_next, up.tcp_ack))
            write32(basis, up.ip_offset + up.ip_header_len + 8, *flow.down_next);
        inject_rst(basis, at);
    }
    if (const auto next = common_.schedule.next_start(at))
        ctx_.timer.at(*next, [this, n = *next] { reset_flows(n); });
}

void Reset::apply(Frame frame, SimTime now) {
    drop(frame, "reset");
    inject_rst(frame.bytes, now);
}

void Reset::inject_rst(const std::vector<uint8_t>& answering, SimTime now) {
    auto rst = build_tcp_rst(answering);
    if (!rst)
        return;
    Frame injected{std::move(*rst), Direction::kDown, ctx_.ids.next(), now};
    report(injected, AuditAction::kInjected, "reset");
    forward(std::move(injected));
}

} // namespace lwipsim::link
