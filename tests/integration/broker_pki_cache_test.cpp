// The PKI cache (harness/broker/pki_cache.h): made once, shared by concurrent workers, renewed
// half-way through its validity, never half-written. Certificates are checked with openssl.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "harness/broker/pki_cache.h"
#include "sim/host/child_process.h"
#include "tests/support/temp_dir.h"

namespace lwipsim::broker {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;
namespace fs = std::filesystem;
using Clock = std::chrono::system_clock;

std::string read_file(const fs::path& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::set<std::string> entries(const fs::path& dir) {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) {
        names.insert(e.path().filename().string());
    }
    return names;
}

// The first instant of a renewal period (periods are valid_days / 2 = 15 days long, counted
// from the epoch), so the test knows which later instants fall in the same period.
Clock::time_point period_start() {
    const auto days =
        std::chrono::duration_cast<std::chrono::days>(Clock::now().time_since_epoch());
    return Clock::time_point(std::chrono::days(days.count() / 15 * 15));
}

TEST(BrokerPkiCache, SecondUseTakesTheFirstPkiAndItVerifies) {
    TempDir cache("pki-cache");
    const auto first = cached_test_pki(cache.path(), {});
    ASSERT_TRUE(first.has_value());
    const std::string ca = read_file(first->ca_cert);
    const auto second = cached_test_pki(cache.path(), {});
    ASSERT_TRUE(second.has_value());
    EXPECT_EQ(second->ca_cert, first->ca_cert);
    EXPECT_EQ(read_file(second->ca_cert), ca) << "a second PKI was made";

    const auto verify = host::run_command({"openssl", "verify", "-CAfile", second->ca_cert.string(),
                                           "-purpose", "sslserver", second->server_cert.string()},
                                          30s);
    EXPECT_TRUE(verify.success()) << verify.output;
    EXPECT_EQ(fs::status(cache.path()).permissions() & fs::perms::all, fs::perms::owner_all)
        << "the cache holds private keys: 0700";
}

// The broker's and the device's clocks start at pki_made_at (docs/design.md, "A deterministic
// broker"): the same instant for every use of one cached PKI, and one at which openssl itself
// finds the server certificate valid (not before its notBefore).
TEST(BrokerPkiCache, MadeAtIsStableAndInsideTheValidity) {
    TempDir cache("pki-cache");
    const auto before = Clock::now();
    const auto first = cached_test_pki(cache.path(), {});
    ASSERT_TRUE(first.has_value());
    const auto made = pki_made_at(*first);
    EXPECT_GE(made, std::chrono::floor<std::chrono::seconds>(before));
    EXPECT_LE(made, Clock::now() + 1s);
    std::this_thread::sleep_for(1100ms); // a later use, in another second
    const auto second = cached_test_pki(cache.path(), {});
    ASSERT_TRUE(second.has_value());
    EXPECT_EQ(pki_made_at(*second), made);

    const auto at = [&](Clock::time_point t) {
        return host::run_command(
            {"openssl", "verify", "-attime",
             std::to_string(
                 std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count()),
             "-CAfile", first->ca_cert.string(), first->server_cert.string()},
            30s);
    };
    const auto valid = at(made);
    EXPECT_TRUE(valid.success()) << valid.output;
    // The check can fail: an hour earlier the certificate is not valid yet.
    EXPECT_FALSE(at(made - 1h).success());
}

TEST(BrokerPkiCache, ConcurrentWorkersEndWithOneEntryAndTheSameCa) {
    TempDir cache("pki-race");
    constexpr int kWorkers = 4;
    std::vector<std::string> cas(kWorkers);
    std::vector<std::thread> workers;
    for (int i = 0; i < kWorkers; ++i) {
        workers.emplace_back([&, i] {
            const auto pki = cached_test_pki(cache.path(), {});
            if (pki) {
                cas[i] = read_file(pki->ca_cert);
            }
        });
    }
    for (auto& w : workers) {
        w.join();
    }
    for (int i = 0; i < kWorkers; ++i) {
        EXPECT_FALSE(cas[i].empty()) << "worker " << i;
        EXPECT_EQ(cas[i], cas[0]) << "worker " << i << " got a PKI nobody else serves";
    }
    // One entry, and no scratch folder left behind by the workers that lost the race.
    EXPECT_EQ(entries(cache.path()).size(), 1U);
}

TEST(BrokerPkiCache, RenewedOnceHalfTheValidityHasPassed) {
    TempDir cache("pki-renew");
    PkiOptions options; // valid_days 30: renewal every 15 days
    const auto start = period_start();
    const auto made = cached_test_pki(cache.path(), options, start);
    const auto later = cached_test_pki(cache.path(), options, start + std::chrono::days(14));
    const auto renewed = cached_test_pki(cache.path(), options, start + std::chrono::days(15));
    ASSERT_TRUE(made && later && renewed);
    EXPECT_EQ(later->ca_cert, made->ca_cert);
    EXPECT_NE(renewed->ca_cert, made->ca_cert);
    EXPECT_NE(read_file(renewed->ca_cert), read_file(made->ca_cert));
}

TEST(BrokerPkiCache, DamagedEntryIsReplaced) {
    TempDir cache("pki-damaged");
    const auto made = cached_test_pki(cache.path(), {});
    ASSERT_TRUE(made.has_value());
    fs::remove(made->server_key);
    const auto again = cached_test_pki(cache.path(), {});
    ASSERT_TRUE(again.has_value());
    EXPECT_TRUE(fs::is_regular_file(again->server_key));
    const auto verify = host::run_command(
        {"openssl", "verify", "-CAfile", again->ca_cert.string(), again->server_cert.string()},
        30s);
    EXPECT_TRUE(verify.success()) << verify.output;
    EXPECT_EQ(entries(cache.path()).size(), 1U);
}

TEST(BrokerPkiCache, UnusableCacheLetsTheRunMakeItsOwn) {
    TempDir cache("pki-unusable");
    // mosquitto.conf cannot carry a path with a space.
    EXPECT_FALSE(cached_test_pki(cache.path() / "with space", {}).has_value());
    // A one-day certificate has no half-way point worth caching to.
    PkiOptions one_day;
    one_day.valid_days = 1;
    EXPECT_FALSE(cached_test_pki(cache.path(), one_day).has_value());
    // A file where the folder should be.
    std::ofstream(cache.path() / "file") << "x";
    EXPECT_FALSE(cached_test_pki(cache.path() / "file", {}).has_value());
}

TEST(BrokerPkiCache, DefaultFolderFollowsTheEnvironment) {
    const char* saved = std::getenv("LWIPSIM_CACHE_DIR");
    ::setenv("LWIPSIM_CACHE_DIR", "/some/where", 1);
    EXPECT_EQ(default_pki_cache_dir(), fs::path("/some/where"));
    if (saved != nullptr) {
        ::setenv("LWIPSIM_CACHE_DIR", saved, 1);
    } else {
        ::unsetenv("LWIPSIM_CACHE_DIR");
    }
}

} // namespace
} // namespace lwipsim::broker
