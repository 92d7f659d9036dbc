#pragma once
// One direction of the wire itself: a sender's queue, serialization at a fixed bit rate, and
// propagation latency. Frames are delivered to the far side at
//   arrival = max(now, previous frame's end of transmission) + bytes * 8 / rate + latency,
// so frames queue behind each other and never reorder. Frame size counts the Ethernet frame as
// given (header + payload, no preamble, FCS or inter-frame gap): 1500 bytes at 1 Mbit/s take
// exactly 12 ms.

#include "sim/clock/sim_time.h"
#include "sim/link/audit.h"
#include "sim/link/frame.h"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>

namespace lwipsim::link {

/// Transmission-queue arithmetic shared by LinkModel and the `rate` fault.
class Serializer {
  public:
    /// rate_bps <= 0 means no serialization delay; queue_frames (>= 1) counts every frame not
    /// yet fully transmitted, the one on the wire included.
    Serializer(double rate_bps, size_t queue_frames);
    /// When a frame of `bytes` handed over at `now` has been fully transmitted, or nothing if
    /// the queue is full (the frame is dropped). Calls must come with non-decreasing `now`.
    [[nodiscard]] std::optional<clock::SimTime> admit(clock::SimTime now, size_t bytes);
    [[nodiscard]] clock::SimDuration transmit_time(size_t bytes) const;

  private:
    double rate_bps_;
    size_t queue_frames_;
    clock::SimTime busy_until_{};
    std::deque<clock::SimTime> in_flight_; ///< end-of-transmission times, increasing
};

struct LinkParams {
    clock::SimDuration latency{0}; ///< one-way propagation delay
    double rate_bps = 0;           ///< bit/s; 0 = unlimited
    size_t queue_frames = 1000;    ///< like Linux's default txqueuelen
};

struct LinkModelStats {
    uint64_t delivered = 0;
    uint64_t dropped_queue_full = 0;
};

/// One direction of the wire. Delivers to `next` from Timer::at events at arrival time.
/// `name` ("wire_up"/"wire_down") identifies it in the audit log. Timer, audit log and next
/// must outlive it; it must outlive the events it scheduled.
class LinkModel final : public FrameSink {
  public:
    LinkModel(std::string name, LinkParams params, Timer& timer, AuditLog& audit,
              FrameSink* next = nullptr);
    void set_next(FrameSink* next) { next_ = next; }
    void deliver(Frame frame) override;
    [[nodiscard]] const LinkModelStats& stats() const { return stats_; }
    /// When the next frame already on this wire reaches `next`; nullopt when none is.
    [[nodiscard]] std::optional<clock::SimTime> next_arrival() const {
        return arrivals_.empty() ? std::nullopt : std::optional(arrivals_.front());
    }
    [[nodiscard]] clock::SimDuration latency() const { return params_.latency; }

  private:
    std::string name_;
    LinkParams params_;
    Timer& timer_;
    AuditLog& audit_;
    FrameSink* next_;
    Serializer serializer_;
    LinkModelStats stats_;
    std::deque<clock::SimTime> arrivals_; ///< of the frames on the wire; never reorder
};

} // namespace lwipsim::link
