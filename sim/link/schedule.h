#pragma once
// When a fault is active: from `start` for `duration` (or forever), optionally again every
// `repeat` after that start. Windows are half-open: [start, start + duration).

#include "sim/clock/sim_time.h"

#include <optional>

namespace lwipsim::link {

struct Schedule {
    clock::SimTime start{};
    std::optional<clock::SimDuration> duration; ///< nullopt: active until the run ends
    std::optional<clock::SimDuration> repeat;   ///< period between window starts
    /// Waiting for a trigger (a protocol event): never active until trigger() sets the start.
    bool dormant = false;

    /// Starts a dormant schedule at `at` (its first window begins then).
    void trigger(clock::SimTime at) {
        dormant = false;
        start = at;
    }

    /// Throws std::invalid_argument when negative times, a non-positive period, a repeat
    /// without a finite duration, or a duration longer than the period.
    void validate() const;
    [[nodiscard]] bool active(clock::SimTime now) const;
    /// Start of the most recent window that began at or before `now`, if any.
    [[nodiscard]] std::optional<clock::SimTime> last_start(clock::SimTime now) const;
    /// Start of the first window that begins strictly after `now`, if any.
    [[nodiscard]] std::optional<clock::SimTime> next_start(clock::SimTime now) const;
};

} // namespace lwipsim::link
