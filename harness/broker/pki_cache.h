#pragma once

#include <chrono>
#include <filesystem>
#include <optional>

#include "harness/broker/test_pki.h"

namespace lwipsim::broker {

// Test PKIs kept between runs. Making an RSA 2048 PKI costs openssl most of a short run's CPU
// (three key generations), and nothing in a run needs fresh keys: the serials are fixed and
// the keys are throw-away. So one PKI per set of options is made once and reused until it is
// half-way through its validity, when the next one is made.

// $LWIPSIM_CACHE_DIR, else $XDG_CACHE_HOME/lwipsim, else $HOME/.cache/lwipsim; nullopt when
// none of them is set (e.g. a service user without a home), in which case runs make their own.
std::optional<std::filesystem::path> default_pki_cache_dir();

// The cached PKI for `options` in `cache_dir`, made there first when missing or due for
// renewal at `now`. Safe against concurrent workers: each makes its PKI in a private folder and
// renames it into place; a worker that loses the race takes the winner's. Returns nullopt when
// the cache cannot be used (folder not creatable or not ours, a path mosquitto.conf cannot
// carry, valid_days < 2); the caller then makes a PKI for the run alone. Errors of openssl
// itself are thrown as by generate_test_pki.
std::optional<TestPki>
cached_test_pki(const std::filesystem::path& cache_dir, const PkiOptions& options,
                std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// When `pki` was made: its server certificate file's modification time, rounded up to the whole
// second, so never before the certificate's notBefore (openssl stamps the second it signs, then
// writes the file). The same for every run that uses one cached PKI: the broker's virtual
// clock starts there, so its log stamps repeat and its certificates are valid (docs/design.md).
// Throws BrokerError when the file cannot be read.
std::chrono::system_clock::time_point pki_made_at(const TestPki& pki);

} // namespace lwipsim::broker
