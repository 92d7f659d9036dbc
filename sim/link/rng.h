#pragma once
// Deterministic random numbers for the link's faults. Each fault owns one generator, seeded
// from (scenario seed, fault name), so adding or reordering faults does not change another
// fault's decisions, and the same seed gives the same decisions on every machine. Written here
// rather than using <random> distributions, whose output differs between standard libraries.

#include <cstdint>
#include <string_view>

namespace lwipsim::link {

/// SplitMix64 (Steele, Lea, Flood 2014): one 64-bit add and a mixing function per draw; passes
/// BigCrush, which is plenty for drop decisions, and is cheap enough for the hot path.
class Rng {
  public:
    explicit Rng(uint64_t seed) : state_(seed) {}

    uint64_t next_u64() {
        state_ += 0x9E3779B97F4A7C15ULL;
        return mix(state_);
    }
    /// Uniform in [0, 1) with 53 bits of precision.
    double uniform01() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
    /// True with probability p; p <= 0 never, p >= 1 always.
    bool bernoulli(double p) { return uniform01() < p; }
    /// Uniform integer in [0, n), n > 0 (multiply-shift; bias is below 2^-32 for our n).
    uint64_t below(uint64_t n) { return mul_high(next_u64(), n); }

    /// The high 64 bits of the 128-bit product a * b, from 32-bit halves: the 32-bit device
    /// build (issue 16) has no unsigned __int128, and both builds must draw the same numbers.
    static constexpr uint64_t mul_high(uint64_t a, uint64_t b) {
        const uint64_t a_lo = a & 0xFFFFFFFFu, a_hi = a >> 32;
        const uint64_t b_lo = b & 0xFFFFFFFFu, b_hi = b >> 32;
        const uint64_t lo_lo = a_lo * b_lo, hi_lo = a_hi * b_lo;
        const uint64_t lo_hi = a_lo * b_hi, hi_hi = a_hi * b_hi;
        const uint64_t middle = (lo_lo >> 32) + (hi_lo & 0xFFFFFFFFu) + lo_hi;
        return hi_hi + (hi_lo >> 32) + (middle >> 32);
    }

    static constexpr uint64_t mix(uint64_t z) {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }

  private:
    uint64_t state_;
};

/// The seed of the generator a named fault owns: FNV-1a of the name, mixed with the scenario
/// seed so that nearby scenario seeds still give unrelated streams.
constexpr uint64_t derive_seed(uint64_t scenario_seed, std::string_view fault_name) {
    uint64_t h = 0xCBF29CE484222325ULL;
    for (char c : fault_name) {
        h ^= static_cast<uint8_t>(c);
        h *= 0x100000001B3ULL;
    }
    return Rng::mix(Rng::mix(scenario_seed) ^ h);
}

} // namespace lwipsim::link
