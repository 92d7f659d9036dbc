#pragma once
// Assembles one simulated link from plain fault specs (what the scenario loader produces):
//
//   device <-> [device tap] <-> faults in spec order <-> [wire tap] <-> LinkModel <-> far side
//
// Up frames (device -> network) meet the faults in spec order, down frames in reverse; each
// direction has its own LinkModel (latency, rate, queue). The device tap sees what the device
// sent and what finally reached it; the wire tap sees what the faults let through.
//
// Fault types and their params (times in milliseconds, probabilities in [0, 1]):
//   blackhole   —
//   nat_reset   —
//   loss        p
//   burst_loss  p, r (> 0), k = 1, h = 0       (Gilbert-Elliott, see BurstLoss)
//   delay       delay_ms, jitter_ms = 0
//   rate        rate_bps (> 0), queue_frames = 1000
//   reorder     p, delay_ms (> 0)
//   duplicate   p
//   corrupt     p
//   link_down   —   (direction must be both, no filter)
//   reset       —   (direction up or both; acts on up TCP frames)

#include "sim/link/fault.h"
#include "sim/link/link_model.h"
#include "sim/link/pcap_tap.h"
#include "sim/link/stage.h"

#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace lwipsim::link {

struct FaultSpec {
    std::string type; ///< one of the types listed above
    std::string name; ///< unique per link; empty = "<type>#<index>"; seeds the fault's RNG
    clock::SimTime start{};
    std::optional<clock::SimDuration> duration; ///< nullopt: until the run ends
    std::optional<clock::SimDuration> repeat;   ///< period between window starts
    FaultDirection direction = FaultDirection::kBoth;
    FlowFilter filter;
    std::map<std::string, double> params;
    /// Waits for Fault::trigger() instead of starting at `start` (not for link_down, whose
    /// edges are scheduled when the link is built).
    bool dormant = false;
};

/// A spec that cannot be built; the message names the fault, and the key when there is one.
class FaultSpecError : public std::invalid_argument {
  public:
    using std::invalid_argument::invalid_argument;
};

struct LinkConfig {
    LinkParams up;           ///< device -> network wire
    LinkParams down;         ///< network -> device wire
    uint64_t seed = 0;       ///< the scenario seed; each fault derives its own from it
    std::string device_pcap; ///< empty: no device-side tap
    std::string wire_pcap;   ///< empty: no wire-side tap
    int64_t pcap_epoch_offset_ns = 0;
};

struct LinkEndpoints {
    FrameSink* to_device = nullptr;  ///< receives down frames (the device's netif input)
    FrameSink* to_network = nullptr; ///< receives up frames (gateway / broker side)
};

struct LinkHooks {
    LinkDown::LinkChange on_link_change; ///< link_down windows; may be empty
};

/// Throws FaultSpecError if `spec` (at position `index`) cannot be built. Lets a loader check
/// specs before any simulation object exists.
void validate_fault_spec(const FaultSpec& spec, size_t index);

/// One fault from its spec; `seed` is the scenario seed. Throws FaultSpecError.
std::unique_ptr<Fault> make_fault(const FaultSpec& spec, size_t index, uint64_t seed,
                                  LinkContext ctx, const LinkHooks& hooks = {});

/// A built link. Owns every piece; must outlive the timer events its pieces scheduled.
class Link {
  public:
    /// Where the device hands its frames; stamps direction kUp, a fresh id and created_at.
    FrameSink& from_device() { return from_device_; }
    /// Where the far side hands frames for the device; stamps kDown, id and created_at.
    FrameSink& from_network() { return from_network_; }

    [[nodiscard]] const std::vector<std::unique_ptr<Fault>>& faults() const { return faults_; }
    [[nodiscard]] const LinkModel& model(Direction d) const {
        return d == Direction::kUp ? *up_ : *down_;
    }
    /// The lookahead for the far side (Scheduler::set_peer_lookahead): the earliest time an up
    /// frame can reach it, given that nothing on the device's side runs before `next_event`
    /// (nullopt: nothing is scheduled). Frames on the wire count at their arrival; a frame sent
    /// later passes every fault after its entry point (the device, or a fault that may emit
    /// later) and the wire's latency. SimDuration::max() when no frame can come.
    [[nodiscard]] clock::SimTime
    earliest_network_arrival(std::optional<clock::SimTime> next_event) const;
    [[nodiscard]] PcapTap* device_tap() const { return device_tap_.get(); }
    [[nodiscard]] PcapTap* wire_tap() const { return wire_tap_.get(); }
    [[nodiscard]] FrameIds& ids() { return ids_; }
    /// Flushes and closes the pcap taps (throws PcapError if a flush fails).
    void close();

    Link(const Link&) = delete;
    Link& operator=(const Link&) = delete;

  private:
    friend std::unique_ptr<Link> build_link(const LinkConfig&, const std::vector<FaultSpec>&,
                                            Timer&, AuditLog&, LinkEndpoints, LinkHooks);
    class Entry final : public FrameSink {
      public:
        Entry(Link& link, Direction d) : link_(link), direction_(d) {}
        void deliver(Frame frame) override;
        FrameSink* next = nullptr;

      private:
        Link& link_;
        Direction direction_;
    };
    Link(Timer& timer, AuditLog& audit);

    Timer& timer_;
    FrameIds ids_;
    LinkContext ctx_;
    Entry from_device_{*this, Direction::kUp};
    Entry from_network_{*this, Direction::kDown};
    std::unique_ptr<PcapTap> device_tap_;
    std::unique_ptr<PcapTap> wire_tap_;
    std::vector<std::unique_ptr<Fault>> faults_;
    std::unique_ptr<LinkModel> up_;
    std::unique_ptr<LinkModel> down_;
};

/// Builds and wires a link, then arms its faults. Throws FaultSpecError (bad spec, duplicate
/// name), PcapError (tap file cannot be opened) or std::invalid_argument (bad LinkParams).
std::unique_ptr<Link> build_link(const LinkConfig& config, const std::vector<FaultSpec>& specs,
                                 Timer& timer, AuditLog& audit, LinkEndpoints ends,
                                 LinkHooks hooks = {});

} // namespace lwipsim::link
