#include "harness/report/decimate.h"

#include <algorithm>

namespace lwipsim::report {

std::vector<std::size_t> keep_extremes(const std::vector<double>& t,
                                       const std::vector<std::vector<double>>& series,
                                       std::size_t buckets) {
    const std::size_t n = t.size();
    std::vector<std::size_t> all(n);
    for (std::size_t i = 0; i < n; ++i)
        all[i] = i;
    if (buckets == 0 || n <= 2 * buckets)
        return all;
    const double t0 = t.front();
    const double span = t.back() - t0;
    auto bucket_of = [&](std::size_t i) {
        if (span <= 0)
            return std::size_t{0};
        const auto b = static_cast<std::size_t>((t[i] - t0) / span * static_cast<double>(buckets));
        return std::min(b, buckets - 1);
    };
    std::vector<bool> keep(n, false);
    keep.front() = keep.back() = true;
    for (const std::vector<double>& v : series) {
        std::size_t start = 0;
        while (start < n) {
            const std::size_t b = bucket_of(start);
            std::size_t lo = start, hi = start, i = start;
            for (; i < n && bucket_of(i) == b; ++i) {
                if (v[i] < v[lo])
                    lo = i;
                if (v[i] > v[hi])
                    hi = i;
            }
            keep[lo] = keep[hi] = true;
            start = i;
        }
    }
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < n; ++i)
        if (keep[i])
            out.push_back(i);
    return out;
}

std::vector<std::size_t>
change_rows(std::size_t rows, const std::function<bool(std::size_t, std::size_t)>& row_equal) {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < rows; ++i) {
        if (i == 0 || i + 1 == rows || !row_equal(i, i - 1))
            out.push_back(i);
    }
    return out;
}

} // namespace lwipsim::report
