#include "sim/link/schedule.h"

#include <stdexcept>

namespace lwipsim::link {

using clock::SimDuration;
using clock::SimTime;

void Schedule::validate() const {
    if (start.since_start < SimDuration::zero()) {
        throw std::invalid_argument("start must not be negative");
    }
    if (duration && *duration < SimDuration::zero()) {
        throw std::invalid_argument("duration must not be negative");
    }
    if (repeat) {
        if (*repeat <= SimDuration::zero()) {
            throw std::invalid_argument("repeat period must be positive");
        }
        if (!duration) {
            throw std::invalid_argument("repeat needs a finite duration");
        }
        if (*duration > *repeat) {
            throw std::invalid_argument("duration must not exceed the repeat period");
        }
    }
}

std::optional<SimTime> Schedule::last_start(SimTime now) const {
    if (dormant || now < start) {
        return std::nullopt;
    }
    if (!repeat) {
        return start;
    }
    const auto periods = (now - start) / *repeat;
    return start + periods * *repeat;
}

bool Schedule::active(SimTime now) const {
    const auto s = last_start(now);
    return s && (!duration || now - *s < *duration);
}

std::optional<SimTime> Schedule::next_start(SimTime now) const {
    if (dormant) {
        return std::nullopt;
    }
    if (now < start) {
        return start;
    }
    if (!repeat) {
        return std::nullopt;
    }
    return *last_start(now) + *repeat;
}

} // namespace lwipsim::link
