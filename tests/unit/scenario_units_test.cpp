// Unit vectors: expected values are the arithmetic of the unit definitions (SI prefixes are
// powers of 1000, IEC ones powers of 1024), worked out by hand.
#include "harness/scenario/units.h"

#include <gtest/gtest.h>

using namespace lwipsim::scenario;
using namespace std::chrono_literals;
using lwipsim::clock::SimDuration;

namespace {

template <typename T> T ok(const Parsed<T>& p) {
    if (auto* e = std::get_if<std::string>(&p))
        ADD_FAILURE() << "unexpected error: " << *e;
    return std::holds_alternative<T>(p) ? std::get<T>(p) : T{};
}
template <typename T> std::string err(const Parsed<T>& p) {
    if (!std::holds_alternative<std::string>(p)) {
        ADD_FAILURE() << "expected an error";
        return {};
    }
    return std::get<std::string>(p);
}

} // namespace

TEST(ScenarioUnits, Durations) {
    EXPECT_EQ(ok(parse_duration("500ms")), 500'000'000ns);
    EXPECT_EQ(ok(parse_duration("2s")), 2'000'000'000ns);
    EXPECT_EQ(ok(parse_duration("2min")), 120s);
    EXPECT_EQ(ok(parse_duration("1h")), 3600s);
    EXPECT_EQ(ok(parse_duration("1.5s")), 1500ms);
    EXPECT_EQ(ok(parse_duration("250us")), 250'000ns);
    EXPECT_EQ(ok(parse_duration("7ns")), 7ns);
    EXPECT_EQ(ok(parse_duration("0.1s")), 100ms); // 0.1 is inexact in binary; rounding fixes it
    EXPECT_EQ(ok(parse_duration("10 ms")), 10ms);
    EXPECT_EQ(ok(parse_duration("0")), 0ns);
}

TEST(ScenarioUnits, DurationErrorsNameAllowedUnits) {
    EXPECT_EQ(err(parse_duration("2sec")),
              "unknown unit 'sec' in duration '2sec' (allowed: ns, us, ms, s, min, h)");
    EXPECT_NE(err(parse_duration("5")).find("needs a unit"), std::string::npos);
    EXPECT_NE(err(parse_duration("-1s")).find("negative"), std::string::npos);
    EXPECT_NE(err(parse_duration("1e3ms")).find("unknown unit 'e3ms'"), std::string::npos);
    EXPECT_NE(err(parse_duration("ms")).find("expected duration"), std::string::npos);
    EXPECT_NE(err(parse_duration("4000000h")).find("too large"), std::string::npos);
}

TEST(ScenarioUnits, Sizes) {
    EXPECT_EQ(ok(parse_size("16KiB")), 16u * 1024u);
    EXPECT_EQ(ok(parse_size("1MiB")), 1048576u);
    EXPECT_EQ(ok(parse_size("1500B")), 1500u);
    EXPECT_EQ(ok(parse_size("2KB")), 2000u);
    // SI kilo (lowercase k) as Linux tools write it: 1000 B, like KB.
    EXPECT_EQ(ok(parse_size("16kB")), 16000u);
    EXPECT_EQ(ok(parse_size("1.5kB")), 1500u);
    EXPECT_EQ(ok(parse_size("1.5KiB")), 1536u);
    EXPECT_EQ(ok(parse_size("1GiB")), 1073741824u);
    EXPECT_NE(err(parse_size("1.3B")).find("not a whole number"), std::string::npos);
    EXPECT_NE(err(parse_size("16kb")).find("allowed: B, KB, kB, MB, GB, KiB, MiB, GiB"),
              std::string::npos);
}

TEST(ScenarioUnits, Rates) {
    EXPECT_EQ(ok(parse_rate("1Mbit/s")), 1'000'000u);
    EXPECT_EQ(ok(parse_rate("100kbit/s")), 100'000u);
    EXPECT_EQ(ok(parse_rate("2.5Gbit/s")), 2'500'000'000u);
    EXPECT_NE(err(parse_rate("1Mbps")).find("allowed: bit/s, kbit/s, Mbit/s, Gbit/s"),
              std::string::npos);
}

TEST(ScenarioUnits, Probabilities) {
    EXPECT_DOUBLE_EQ(ok(parse_probability("2%")), 0.02);
    EXPECT_DOUBLE_EQ(ok(parse_probability("0.02")), 0.02);
    EXPECT_DOUBLE_EQ(ok(parse_probability("100%")), 1.0);
    EXPECT_DOUBLE_EQ(ok(parse_probability("0")), 0.0);
    EXPECT_NE(err(parse_probability("1.5")).find("above 1"), std::string::npos);
    EXPECT_NE(err(parse_probability("101%")).find("above 1"), std::string::npos);
    EXPECT_NE(err(parse_probability("2x")).find("percentage"), std::string::npos);
}

TEST(ScenarioUnits, FormatPicksLargestExactUnitAndParsesBack) {
    EXPECT_EQ(format_duration(1500ms), "1500ms");
    EXPECT_EQ(format_duration(120s), "2min");
    EXPECT_EQ(format_duration(7200s), "2h");
    EXPECT_EQ(format_duration(1ns), "1ns");
    EXPECT_EQ(format_size(16384), "16KiB");
    EXPECT_EQ(format_size(2000), "2KB");
    EXPECT_EQ(format_size(1500), "1500B");
    EXPECT_EQ(format_rate(100000), "100kbit/s");
    for (SimDuration d :
         std::initializer_list<SimDuration>{0ns, 1ns, 999us, 1500ms, 61s, 3601s, 25h}) {
        EXPECT_EQ(ok(parse_duration(format_duration(d))), d);
    }
}
