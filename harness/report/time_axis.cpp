#include "harness/report/time_axis.h"

namespace lwipsim::report {

TimeUnit choose_time_unit(double run_length_s) {
    if (run_length_s <= kMaxSecondsAxis)
        return {"s", 1.0};
    if (run_length_s <= kMaxMinutesAxis)
        return {"min", 60.0};
    return {"h", 3600.0};
}

std::string time_axis_label(const TimeUnit& unit) {
    return "virtual time [" + unit.name + "]";
}

} // namespace lwipsim::report
