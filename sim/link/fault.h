#pragma once
// The fault pieces of the simulated link. Each one is a Stage (see stage.h) that, while its
// schedule is active, does one thing to the frames its direction and flow filter select, and
// passes every other frame on untouched at once. Every drop, alteration, delay and injection is
// reported to the link's AuditLog with the fault's name. Random decisions come from the fault's
// own generator, seeded from (scenario seed, fault name): same seed, same decisions.
//
// Ordering caveats (as on a real path): `delay` with jitter and `reorder` deliberately let later
// frames overtake earlier ones; `rate` queues only frames that arrive while it is active, so the
// first frames after its window can overtake ones still queued in it.
//
// Callers: the link builder creates these; everything runs on the simulation thread.

#include "sim/link/flow_filter.h"
#include "sim/link/link_model.h"
#include "sim/link/packet.h"
#include "sim/link/rng.h"
#include "sim/link/schedule.h"
#include "sim/link/stage.h"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace lwipsim::link {

enum class FaultDirection {
    kUp,
    kDown,
    kBoth,
};

/// What every fault has, whatever its type.
struct FaultCommon {
    std::string name;
    Schedule schedule;
    FaultDirection direction = FaultDirection::kBoth;
    FlowFilter filter;
    uint64_t seed = 0; ///< the fault's own seed, see derive_seed()
};

class Fault : public Stage {
  public:
    Fault(FaultCommon common, LinkContext ctx);
    void deliver(Frame frame) override;
    /// Called once after the link is wired, before traffic; faults with timed actions of their
    /// own (link_down) schedule them here.
    virtual void arm() {}

    /// Starts a fault built dormant (FaultSpec::dormant) at `at`: the scenario's event triggers.
    /// Arms it again, so faults with timed actions of their own schedule them from `at`.
    void trigger(clock::SimTime at) {
        common_.schedule.trigger(at);
        arm();
    }

    [[nodiscard]] const std::string& name() const { return common_.name; }
    [[nodiscard]] const FaultCommon& common() const { return common_; }

    /// The lookahead (Link::earliest_arrival): the earliest time a frame handed to this fault
    /// at `t` or later in direction `d` can leave it. Never earlier than `t`.
    [[nodiscard]] virtual clock::SimTime earliest_pass(Direction d, clock::SimTime t) const {
        (void)d;
        return t;
    }
    /// False when the fault only ever passes a frame on inside deliver() (drop, alter, pass),
    /// true when it may send one later from an event of its own (a delay, an injected RST).
    [[nodiscard]] virtual bool may_emit_later() const { return true; }

  protected:
    /// A frame this fault selected (direction and filter match) while its schedule is active.
    virtual void apply(Frame frame, clock::SimTime now) = 0;

    [[nodiscard]] bool direction_selected(Direction d) const;
    /// Direction, schedule and filter together (parses the frame only when the filter needs it).
    [[nodiscard]] bool selected(const Frame& frame, clock::SimTime now) const;
    void report(const Frame& frame, AuditAction action, std::string_view reason);
    void drop(const Frame& frame, std::string_view reason) {
        report(frame, AuditAction::kDropped, reason);
    }
    /// Passes the frame on at `when` (> now) instead of now.
    void forward_at(Frame frame, clock::SimTime when);

    FaultCommon common_;
    LinkContext ctx_;
    Rng rng_;
};

/// Drops every selected frame.
class Blackhole final : public Fault {
  public:
    using Fault::Fault;
    /// While a window is active and the fault takes every frame of `d`: the window's end.
    [[nodiscard]] clock::SimTime earliest_pass(Direction d, clock::SimTime t) const override;
    [[nodiscard]] bool may_emit_later() const override { return false; }

  protected:
    void apply(Frame frame, clock::SimTime now) override;
};

/// A NAT or firewall on the path that loses its state (a cellular hotspot re-attaching with a
/// new public address). TCP/UDP flows (direction-independent 5-tuples) that passed through
/// before a window starts are dead from then on, even after the window ends; while active,
/// every selected frame is dropped; flows first passing after a window ends work until the next
/// window starts. Non-TCP/UDP frames are only affected while active.
class NatReset final : public Fault {
  public:
    using Fault::Fault;
    void deliver(Frame frame) override;

  protected:
    void apply(Frame frame, clock::SimTime now) override;

  private:
    std::map<FlowKey, clock::SimTime> first_seen_; ///< flows that got through, and when first
};

/// Independent (Bernoulli) loss: each selected frame is dropped with probability p.
class Loss final : public Fault {
  public:
    Loss(FaultCommon common, LinkContext ctx, double p);

  protected:
    void apply(Frame frame, clock::SimTime now) override;

  private:
    double p_;
};

/// Gilbert-Elliott burst loss, a two-state Markov chain stepped once per selected frame.
/// Parameters (the names used in scenarios and in the literature, e.g. RFC 8868 / netem):
///   p = P(good -> bad), r = P(bad -> good),
///   k = P(frame survives | good)  (loss in good state is 1 - k, default k = 1),
///   h = P(frame survives | bad)   (loss in bad state is 1 - h, default h = 0).
/// A frame's fate is decided by the state it meets; then the chain steps. The chain starts in
/// the good state. Mean time in bad = 1/r frames; stationary loss =
///   p/(p+r) * (1-h) + r/(p+r) * (1-k).
class BurstLoss final : public Fault {
  public:
    struct Params {
        double p = 0;
        double r = 1;
        double k = 1;
        double h = 0;
    };
    BurstLoss(FaultCommon common, LinkContext ctx, Params params);

  protected:
    void apply(Frame frame, clock::SimTime now) override;

  private:
    Params params_;
    bool bad_ = false;
};

/// Delays each selected frame by fixed + U[0, jitter). With jitter larger than the gap
/// between frames this reorders them, as a real jittery path does.
class Delay final : public Fault {
  public:
    Delay(FaultCommon common, LinkContext ctx, clock::SimDuration fixed, clock::SimDuration jitter);

  protected:
    void apply(Frame frame, clock::SimTime now) override;

  private:
    clock::SimDuration fixed_;
    clock::SimDuration jitter_;
};

/// A bottleneck while active: selected frames are serialized at rate_bps behind each other in a
/// queue of queue_frames frames; frames beyond it are dropped ("queue_full").
class RateLimit final : public Fault {
  public:
    RateLimit(FaultCommon common, LinkContext ctx, double rate_bps, size_t queue_frames);

  protected:
    void apply(Frame frame, clock::SimTime now) override;

  private:
    Serializer serializer_;
};

/// With probability p a selected frame is held back by `extra` so frames behind it overtake it.
class Reorder final : public Fault {
  public:
    Reorder(FaultCommon common, LinkContext ctx, double p, clock::SimDuration extra);

  protected:
    void apply(Frame frame, clock::SimTime now) override;

  private:
    double p_;
    clock::SimDuration extra_;
};

/// With probability p a selected frame is sent twice, back to back. The copy keeps the
/// original's id: it is the same frame seen twice, as on a real link.
class Duplicate final : public Fault {
  public:
    Duplicate(FaultCommon common, LinkContext ctx, double p);

  protected:
    void apply(Frame frame, clock::SimTime now) override;

  private:
    double p_;
};

/// With probability p flips one random bit of a selected frame past the Ethernet header (IP
/// and TCP checksums then catch it at the receiver). Frames with nothing past the Ethernet
/// header pass untouched.
class Corrupt final : public Fault {
  public:
    Corrupt(FaultCommon common, LinkContext ctx, double p);

  protected:
    void apply(Frame frame, clock::SimTime now) override;

  private:
    double p_;
};

/// The device's link goes down (Wi-Fi lost): `on_change(false)` at each window start and
/// `on_change(true)` at each window end, called from timer events (the lead wires these to
/// netif_set_link_down/up). While down every frame in both directions is dropped, whatever
/// the direction setting and filter.
class LinkDown final : public Fault {
  public:
    using LinkChange = std::function<void(bool link_up)>;
    LinkDown(FaultCommon common, LinkContext ctx, LinkChange on_change);
    void deliver(Frame frame) override;
    void arm() override;

  protected:
    void apply(Frame frame, clock::SimTime now) override;

  private:
    void window_start(clock::SimTime at);
    LinkChange on_change_;
};

/// A middlebox that kills the TCP connections passing through it, at an instant: at each window
/// start of its schedule (windows have no length; `for` does not apply) it sends the device a RST
/// for every TCP flow it has seen going up (direction and filter select them) and not seen end
/// in a RST. Flows that first pass after that instant are not touched.
///
/// The RST carries the sequence number the device most likely expects next: the larger of the
/// device's last acknowledgement and the end of the last segment seen going down. lwIP (RFC 5961)
/// takes a RST only with exactly that number and answers one that is merely in its window with a
/// challenge ACK; a reset flow is therefore dead for good: any later frame the device sends on it
/// is dropped and answered with a RST built from that frame (RFC 793 "Reset Generation"), which
/// carries the exact number. A new SYN on the same ports starts a new, live flow.
class Reset final : public Fault {
  public:
    using Fault::Fault;
    void deliver(Frame frame) override;
    void arm() override;

  protected:
    /// A frame the device sent on a flow that was reset: dropped, answered with a RST.
    void apply(Frame frame, clock::SimTime now) override;

  private:
    struct Flow {
        std::vector<uint8_t> last_up;      ///< the device's latest segment on it
        std::optional<uint32_t> down_next; ///< sequence number after the latest down segment
        bool reset = false;
    };
    void track(const Frame& frame, const PacketInfo& info);
    void reset_flows(clock::SimTime at);
    void inject_rst(const std::vector<uint8_t>& answering, clock::SimTime now);

    std::map<FlowKey, Flow> flows_;
};

} // namespace lwipsim::link
