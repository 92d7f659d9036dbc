#pragma once
// Parsing of the unit-carrying values of the scenario language. Each function takes the text
// of one YAML scalar and returns the SI value, or an error message that names the allowed
// units (the loader adds the position). Numbers are plain decimals ("1.5"), never signed;
// a space between number and unit is allowed. Bare numbers need a unit, except 0.
//   durations:     ns us ms s min h            -> nanoseconds (rounded to the nearest ns)
//   sizes:         B KB MB GB (1000^n), KiB MiB GiB (1024^n) -> whole bytes
//   rates:         bit/s kbit/s Mbit/s Gbit/s (1000^n)        -> whole bit/s
//   probabilities: "2%" or "0.02", within 0..1

#include "sim/clock/sim_time.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace lwipsim::scenario {

template <typename T> using Parsed = std::variant<T, std::string>; ///< value or error message

Parsed<clock::SimDuration> parse_duration(std::string_view text);
Parsed<uint64_t> parse_size(std::string_view text);
Parsed<uint64_t> parse_rate(std::string_view text);
Parsed<double> parse_probability(std::string_view text);

/// Canonical text that parses back to exactly the same value ("1500ms", "2min", "16KiB",
/// "100kbit/s"); used by to_yaml() and in messages.
std::string format_duration(clock::SimDuration d);
std::string format_size(uint64_t bytes);
std::string format_rate(uint64_t bits_per_second);

} // namespace lwipsim::scenario
