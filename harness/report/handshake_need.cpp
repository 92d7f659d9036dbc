#include "harness/report/handshake_need.h"

#include <algorithm>

namespace lwipsim::report {

std::vector<HandshakePeak> handshake_peaks(const RunResult& run) {
    std::vector<HandshakePeak> out;
    const std::vector<Sample>& rows = run.samples;
    auto first_row_after = [&](double t) { // first row with t_s > t
        return std::upper_bound(rows.begin(), rows.end(), t,
                                [](double v, const Sample& s) { return v < s[kColTime]; });
    };
    double t0 = -1;
    for (const Event& e : run.events) {
        if (e.type == "pcb_opened")
            t0 = e.t_s;
        if (e.type != "tls_handshake_ok" || t0 < 0)
            continue;
        auto begin = first_row_after(t0);
        if (begin == rows.begin())
            continue; // no sample before the connection: nothing to measure from
        const double used_before = (*(begin - 1))[kColUsed];
        // Rows covering (t0, t_ok]: up to and including the first row at or after t_ok.
        auto end = std::lower_bound(rows.begin(), rows.end(), e.t_s,
                                    [](const Sample& s, double v) { return s[kColTime] < v; });
        if (end == rows.end())
            continue; // the run ended before a sample covered the handshake
        double peak = used_before;
        for (auto it = begin; it <= end; ++it)
            peak = std::max(peak, (*it)[kColUsedMax]);
        const double budget = (*end)[kColFree] + (*end)[kColUsed];
        out.push_back({e.t_s, budget - peak, peak - used_before});
    }
    return out;
}

std::optional<double> handshake_need(const std::vector<RunResult>& runs) {
    std::optional<double> need;
    for (const RunResult& run : runs)
        for (const HandshakePeak& p : handshake_peaks(run))
            need = std::max(need.value_or(0), p.need);
    return need;
}

} // namespace lwipsim::report
