#pragma once

#include <cstddef>
#include <functional>
#include <vector>

namespace lwipsim::report {

// Data reduction for plots of long runs (a day at 1 s sampling is 86,400 rows per variant): a
// picture only has so many pixel columns, so per column only the extremes can show.

// Indices of the rows to keep, ascending. The time range [t.front(), t.back()] is cut into
// `buckets` equal slices (one per pixel column); in each slice, for each series, the row with
// the lowest and the row with the highest value are kept, as are the first and the last row
// of the whole series, so every peak and every trough survives. A series with at most
// 2 * buckets rows is kept whole. `t` must be ascending; every series has t.size() values.
std::vector<std::size_t> keep_extremes(const std::vector<double>& t,
                                       const std::vector<std::vector<double>>& series,
                                       std::size_t buckets);

// Rows of a step series (values hold until the next row) that carry information: the first,
// the last, and each row where some value differs from the row before. Dropping the others
// changes nothing in a step plot. `row_equal(a, b)` compares rows a and b.
std::vector<std::size_t>
change_rows(std::size_t rows, const std::function<bool(std::size_t, std::size_t)>& row_equal);

} // namespace lwipsim::report
