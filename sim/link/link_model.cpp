#include "sim/link/link_model.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace lwipsim::link {

using clock::SimDuration;
using clock::SimTime;

Serializer::Serializer(double rate_bps, size_t queue_frames)
    : rate_bps_(rate_bps), queue_frames_(queue_frames) {
    if (queue_frames_ == 0) {
        throw std::invalid_argument("queue_frames must be at least 1");
    }
}

SimDuration Serializer::transmit_time(size_t bytes) const {
    if (rate_bps_ <= 0) {
        return SimDuration::zero();
    }
    // Rounded to the nanosecond: exact for the usual rates (bits * 1e9 / rate is an integer).
    const double ns = static_cast<double>(bytes) * 8.0 * 1e9 / rate_bps_;
    return SimDuration(std::llround(ns));
}

std::optional<SimTime> Serializer::admit(SimTime now, size_t bytes) {
    while (!in_flight_.empty() && in_flight_.front() <= now) {
        in_flight_.pop_front();
    }
    if (rate_bps_ <= 0) {
        return now; // nothing ever waits, so the queue cannot fill
    }
    if (in_flight_.size() >= queue_frames_) {
        return std::nullopt;
    }
    const SimTime done = std::max(now, busy_until_) + transmit_time(bytes);
    busy_until_ = done;
    in_flight_.push_back(done);
    return done;
}

LinkModel::LinkModel(std::string name, LinkParams params, Timer& timer, AuditLog& audit,
                     FrameSink* next)
    : name_(std::move(name)), params_(params), timer_(timer), audit_(audit), next_(next),
      serializer_(params.rate_bps, params.queue_frames) {
    if (params_.latency < SimDuration::zero()) {
        throw std::invalid_argument(name_ + ": latency must not be negative");
    }
}

void LinkModel::deliver(Frame frame) {
    const SimTime now = timer_.now();
    const auto sent = serializer_.admit(now, frame.bytes.size());
    if (!sent) {
        ++stats_.dropped_queue_full;
        audit_.record(
            AuditEvent{frame.id, now, name_, AuditAction::kDropped, "queue_full", frame.direction});
        return;
    }
    ++stats_.delivered;
    arrivals_.push_back(*sent + params_.latency);
    timer_.at(*sent + params_.latency, [this, f = std::move(frame)]() mutable {
        arrivals_.pop_front();
        next_->deliver(std::move(f));
    });
}

} // namespace lwipsim::link
