#pragma once
// The common shape of the link's middle pieces (fault boxes, pcap taps). A piece sits on both
// directions of the link at once — a frame's `direction` picks which neighbour it goes to next —
// so state that spans both directions (a NAT table, "the link is down", one capture file per
// tap) lives in one object:
//
//   device <-> [device tap] <-> fault 1 <-> ... <-> fault n <-> [wire tap] <-> LinkModel <-> far
//   side
//
// Up frames flow left to right, down frames right to left.

#include "sim/link/audit.h"
#include "sim/link/frame.h"

#include <array>
#include <cstdint>

namespace lwipsim::link {

/// Hands out frame ids, unique per link and increasing in creation order (frame.h). Frames a
/// fault injects take their ids from here too.
class FrameIds {
  public:
    uint64_t next() { return ++last_; }
    [[nodiscard]] uint64_t last() const { return last_; }

  private:
    uint64_t last_ = 0;
};

/// What every piece of one link shares. All three must outlive the pieces and every event the
/// pieces scheduled on the timer.
struct LinkContext {
    Timer& timer;
    AuditLog& audit;
    FrameIds& ids;
};

class Stage : public FrameSink {
  public:
    /// Where frames travelling in `d` go after this piece. Must be set before traffic.
    void set_next(Direction d, FrameSink* next) { next_[index(d)] = next; }
    [[nodiscard]] FrameSink* next(Direction d) const { return next_[index(d)]; }

  protected:
    void forward(Frame frame) { next_[index(frame.direction)]->deliver(std::move(frame)); }
    static constexpr size_t index(Direction d) { return d == Direction::kUp ? 0 : 1; }

  private:
    std::array<FrameSink*, 2> next_{};
};

} // namespace lwipsim::link
