#include "sim/port/mbedtls/mbedtls_platform.h"

#include "sim/clock/scheduler.h"
#include "sim/heap/device_heap.h"

#include "mbedtls/platform.h"
#include "mbedtls/platform_time.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace lwipsim::port {

namespace {
std::time_t g_epoch_at_start = 0;

mbedtls_time_t device_time(mbedtls_time_t* out) {
    auto t = static_cast<mbedtls_time_t>(g_epoch_at_start) +
             static_cast<mbedtls_time_t>(clock::Scheduler::current().now().seconds());
    if (out != nullptr)
        *out = t;
    return t;
}

// The DRBG's only entropy source: bytes derived from the seed (splitmix64), so nothing
// depends on the host.
int seed_entropy(void* ctx, unsigned char* out, size_t len) {
    auto* state = static_cast<uint64_t*>(ctx);
    for (size_t i = 0; i < len; ++i) {
        uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        out[i] = static_cast<unsigned char>(z ^ (z >> 31));
    }
    return 0;
}
} // namespace

void install_mbedtls_platform(std::time_t epoch_at_start) {
    g_epoch_at_start = epoch_at_start;
    mbedtls_platform_set_calloc_free(lwipsim_mbedtls_calloc, lwipsim_mbedtls_free);
    mbedtls_platform_set_time(device_time);
}

DeterministicRng::DeterministicRng(uint64_t seed) : seed_(seed) {
    mbedtls_ctr_drbg_init(&drbg_);
    static const char kPersonalization[] = "lwipsim-device";
    int rc = mbedtls_ctr_drbg_seed(&drbg_, seed_entropy, &seed_,
                                   reinterpret_cast<const unsigned char*>(kPersonalization),
                                   sizeof kPersonalization - 1);
    if (rc != 0) {
        std::fprintf(stderr, "lwipsim: mbedtls_ctr_drbg_seed failed: -0x%04x\n", -rc);
        std::abort();
    }
}

DeterministicRng::~DeterministicRng() {
    mbedtls_ctr_drbg_free(&drbg_);
}

} // namespace lwipsim::port
