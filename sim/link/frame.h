#pragma once
// An Ethernet frame on the simulated link, and the interfaces the link's stackable pieces
// share (see smoltcp's Device wrappers): every piece is a FrameSink that passes frames on to
// the next sink, possibly later, altered, or not at all.

#include "sim/clock/sim_time.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace lwipsim::link {

enum class Direction {
    kUp,   ///< device -> network (what the device sends)
    kDown, ///< network -> device (what the device receives)
};

struct Frame {
    std::vector<uint8_t> bytes; ///< a whole Ethernet II frame, no FCS
    Direction direction = Direction::kUp;
    uint64_t id = 0;               ///< unique per link, in creation order
    clock::SimTime created_at{};   ///< when the sender handed it to the link
};

class FrameSink {
  public:
    virtual ~FrameSink() = default;
    /// Takes a frame at the current virtual time.
    virtual void deliver(Frame frame) = 0;
};

/// Virtual time as the link sees it: passed in, never read from a global clock. The
/// simulation binds it to the Scheduler; unit tests use a manual event queue.
class Timer {
  public:
    virtual ~Timer() = default;
    [[nodiscard]] virtual clock::SimTime now() const = 0;
    /// Runs `fn` at `when` (>= now()); equal times run in call order.
    virtual void at(clock::SimTime when, std::function<void()> fn) = 0;
};

} // namespace lwipsim::link
