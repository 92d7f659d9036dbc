#pragma once

#include <string>

namespace lwipsim::report {

// Unit of the time axis of every plot of a run, chosen from the run's virtual length so tick
// labels stay short: seconds up to 3 min, minutes up to 3 h, hours beyond.
struct TimeUnit {
    std::string name;        // "s", "min" or "h"; shown in the axis label
    double seconds_per_unit; // 1, 60 or 3600
};

inline constexpr double kMaxSecondsAxis = 180.0;   // 3 min
inline constexpr double kMaxMinutesAxis = 10800.0; // 3 h

TimeUnit choose_time_unit(double run_length_s);

// "virtual time [min]"
std::string time_axis_label(const TimeUnit& unit);

} // namespace lwipsim::report
