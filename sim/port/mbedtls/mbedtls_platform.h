#pragma once
// mbedTLS bound to the simulated device: its heap, its clock and a seeded random generator.

#include <cstdint>
#include <ctime>

#include "mbedtls/ctr_drbg.h"

namespace lwipsim::port {

/// Routes mbedTLS's calloc/free to the device heap and its time() to the device clock:
/// `epoch_at_start` (Unix seconds the harness chose at run start) plus virtual time.
/// Certificate validity is checked against that clock.
void install_mbedtls_platform(std::time_t epoch_at_start);

/// A CTR-DRBG seeded only from the scenario seed: the device's TLS randoms repeat run to run.
class DeterministicRng {
  public:
    explicit DeterministicRng(uint64_t seed);
    ~DeterministicRng();
    DeterministicRng(const DeterministicRng&) = delete;
    DeterministicRng& operator=(const DeterministicRng&) = delete;
    mbedtls_ctr_drbg_context* context() { return &drbg_; }

  private:
    mbedtls_ctr_drbg_context drbg_;
    uint64_t seed_;
};

} // namespace lwipsim::port
