#include "harness/scenario/units.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <optional>
#include <span>

namespace lwipsim::scenario {
namespace {

struct Unit {
    std::string_view name;
    double factor; // in the base unit (ns, bytes, bit/s)
};

constexpr std::array kDurationUnits{Unit{"ns", 1},  Unit{"us", 1e3},   Unit{"ms", 1e6},
                                    Unit{"s", 1e9}, Unit{"min", 60e9}, Unit{"h", 3600e9}};
// "kB" is the SI spelling (and what Linux tools such as /proc/meminfo and free write);
// "KB" is kept for authors used to it. Both are 1000 B; "kb" (kilobit) stays an error.
constexpr std::array kSizeUnits{
    Unit{"B", 1},    Unit{"KB", 1e3},     Unit{"kB", 1e3},        Unit{"MB", 1e6},
    Unit{"GB", 1e9}, Unit{"KiB", 1024.0}, Unit{"MiB", 1048576.0}, Unit{"GiB", 1073741824.0}};
constexpr std::array kRateUnits{Unit{"bit/s", 1}, Unit{"kbit/s", 1e3}, Unit{"Mbit/s", 1e6},
                                Unit{"Gbit/s", 1e9}};

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

template <size_t N> std::string unit_list(const std::array<Unit, N>& units) {
    std::string out;
    for (const Unit& u : units)
        out += (out.empty() ? "" : ", ") + std::string(u.name);
    return out;
}

struct Split {
    double number;
    std::string_view unit;
};

// Accepts only digits with an optional fraction: signs, exponents, "inf" and "nan" are all
// things a scenario author never means, so they are rejected rather than interpreted.
std::variant<Split, std::string> split_number(std::string_view text, std::string_view what) {
    std::string_view s = trim(text);
    if (s.empty())
        return "expected " + std::string(what) + ", got an empty value";
    if (s.front() == '-')
        return std::string(what) + " must not be negative: '" + std::string(s) + "'";
    size_t i = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9')
        ++i;
    size_t int_digits = i;
    size_t frac_digits = 0;
    if (i < s.size() && s[i] == '.') {
        ++i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
            ++i;
            ++frac_digits;
        }
    }
    if (int_digits == 0 && frac_digits == 0)
        return "expected " + std::string(what) + ", got '" + std::string(s) + "'";
    double value = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + i, value);
    if (ec != std::errc() || ptr != s.data() + i || !std::isfinite(value))
        return "number out of range in '" + std::string(s) + "'";
    return Split{value, trim(s.substr(i))};
}

template <size_t N>
std::variant<double, std::string> scaled(std::string_view text, std::string_view what,
                                         const std::array<Unit, N>& units) {
    auto split = split_number(text, what);
    if (auto* err = std::get_if<std::string>(&split))
        return *err;
    const Split& sp = std::get<Split>(split);
    if (sp.unit.empty()) {
        if (sp.number == 0)
            return 0.0;
        return std::string(what) + " '" + std::string(trim(text)) +
               "' needs a unit (one of: " + unit_list(units) + ")";
    }
    for (const Unit& u : units) {
        if (u.name == sp.unit)
            return sp.number * u.factor;
    }
    return "unknown unit '" + std::string(sp.unit) + "' in " + std::string(what) + " '" +
           std::string(trim(text)) + "' (allowed: " + unit_list(units) + ")";
}

std::variant<uint64_t, std::string> whole(std::variant<double, std::string> v,
                                          std::string_view text, std::string_view what) {
    if (auto* err = std::get_if<std::string>(&v))
        return *err;
    double x = std::get<double>(v);
    if (x >= 1.8e19)
        return std::string(what) + " '" + std::string(trim(text)) + "' is too large";
    double r = std::round(x);
    if (std::fabs(x - r) > 1e-6 * std::max(1.0, x))
        return std::string(what) + " '" + std::string(trim(text)) + "' is not a whole number";
    return static_cast<uint64_t>(r);
}

template <size_t N>
std::string format_exact(uint64_t value, const std::array<Unit, N>& units,
                         std::span<const size_t> preference) {
    if (value == 0)
        return "0" + std::string(units[0].name);
    for (size_t idx : preference) {
        auto f = static_cast<uint64_t>(units[idx].factor);
        if (value % f == 0)
            return std::to_string(value / f) + std::string(units[idx].name);
    }
    return std::to_string(value) + std::string(units[0].name);
}

} // namespace

Parsed<clock::SimDuration> parse_duration(std::string_view text) {
    auto v = scaled(text, "duration", kDurationUnits);
    if (auto* err = std::get_if<std::string>(&v))
        return *err;
    double ns = std::get<double>(v);
    // int64 nanoseconds cover about 292 years; anything near that is a typo.
    if (ns > 9.0e18)
        return "duration '" + std::string(trim(text)) + "' is too large";
    return clock::SimDuration(std::llround(ns));
}

Parsed<uint64_t> parse_size(std::string_view text) {
    auto v = whole(scaled(text, "size", kSizeUnits), text, "size (bytes)");
    if (auto* err = std::get_if<std::string>(&v))
        return *err;
    return std::get<uint64_t>(v);
}

Parsed<uint64_t> parse_rate(std::string_view text) {
    auto v = whole(scaled(text, "rate", kRateUnits), text, "rate (bit/s)");
    if (auto* err = std::get_if<std::string>(&v))
        return *err;
    return std::get<uint64_t>(v);
}

Parsed<double> parse_probability(std::string_view text) {
    auto split = split_number(text, "probability");
    if (auto* err = std::get_if<std::string>(&split))
        return *err;
    const Split& sp = std::get<Split>(split);
    double p = sp.number;
    if (sp.unit == "%") {
        p /= 100.0;
    } else if (!sp.unit.empty()) {
        return "probability '" + std::string(trim(text)) +
               "' must be a fraction like 0.02 or a percentage like 2%";
    }
    if (p > 1.0)
        return "probability '" + std::string(trim(text)) + "' is above 1 (100%)";
    return p;
}

std::string format_duration(clock::SimDuration d) {
    static constexpr std::array<size_t, 6> kPref{5, 4, 3, 2, 1, 0};
    if (d.count() < 0)
        return "-" + format_duration(-d);
    return format_exact(static_cast<uint64_t>(d.count()), kDurationUnits, kPref);
}

std::string format_size(uint64_t bytes) {
    static constexpr std::array<size_t, 6> kPref{7, 6, 5, 4, 3, 1};
    return format_exact(bytes, kSizeUnits, kPref);
}

std::string format_rate(uint64_t bits_per_second) {
    static constexpr std::array<size_t, 3> kPref{3, 2, 1};
    return format_exact(bits_per_second, kRateUnits, kPref);
}

} // namespace lwipsim::scenario
