#pragma once
// Virtual time: a duration since the simulation began, in nanoseconds. Nothing under sim/
// reads the wall clock; every time a simulated component sees comes from the Scheduler.

#include <chrono>
#include <cstdint>

namespace lwipsim::clock {

using SimDuration = std::chrono::nanoseconds;

/// A point in simulated time: nanoseconds since the start of the run (never negative).
struct SimTime {
    SimDuration since_start{0};

    constexpr auto operator<=>(const SimTime&) const = default;
    constexpr SimTime operator+(SimDuration d) const { return SimTime{since_start + d}; }
    constexpr SimDuration operator-(SimTime other) const { return since_start - other.since_start; }
    [[nodiscard]] constexpr double seconds() const {
        return std::chrono::duration<double>(since_start).count();
    }
    [[nodiscard]] constexpr int64_t ns() const { return since_start.count(); }
};

constexpr SimDuration from_ms(int64_t ms) {
    return std::chrono::milliseconds(ms);
}
constexpr SimDuration from_seconds_f(double s) {
    return std::chrono::duration_cast<SimDuration>(std::chrono::duration<double>(s));
}

} // namespace lwipsim::clock
