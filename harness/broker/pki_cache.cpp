#include "harness/broker/pki_cache.h"

#include "harness/broker/errors.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>

namespace lwipsim::broker {
namespace {

namespace fs = std::filesystem;

std::optional<fs::path> env_path(const char* name) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') {
        return std::nullopt;
    }
    return fs::path(value);
}

// Days between renewals: a cached certificate always has at least half its validity left.
int renewal_days(const PkiOptions& options) {
    return options.valid_days / 2;
}

// One folder name per set of options and renewal period, readable by a person who looks in
// the cache (names were checked to be DNS names, so they are safe in a file name).
std::string entry_name(const PkiOptions& options, std::chrono::system_clock::time_point now) {
    const auto days = std::chrono::duration_cast<std::chrono::days>(now.time_since_epoch()).count();
    const auto period = days / renewal_days(options);
    return std::string("pki-v1-") + (options.key_type == KeyType::kRsa2048 ? "rsa2048" : "p256") +
           "-" + options.server_name + "-" +
           (options.make_client_cert ? "client-" + options.client_name : std::string("noclient")) +
           "-" + std::to_string(options.valid_days) + "d-p" + std::to_string(period);
}

TestPki relocate(const TestPki& pki, const fs::path& dir) {
    auto moved = [&](const fs::path& p) { return p.empty() ? p : dir / p.filename(); };
    TestPki out = pki;
    out.ca_cert = moved(pki.ca_cert);
    out.ca_key = moved(pki.ca_key);
    out.server_cert = moved(pki.server_cert);
    out.server_key = moved(pki.server_key);
    out.client_cert = moved(pki.client_cert);
    out.client_key = moved(pki.client_key);
    return out;
}

// The paths a complete entry holds (generate_test_pki's file names).
TestPki expected_entry(const fs::path& dir, const PkiOptions& options) {
    TestPki pki;
    pki.server_name = options.server_name;
    pki.ca_cert = dir / "ca.crt";
    pki.ca_key = dir / "ca.key";
    pki.server_cert = dir / "server.crt";
    pki.server_key = dir / "server.key";
    if (options.make_client_cert) {
        pki.client_cert = dir / "client.crt";
        pki.client_key = dir / "client.key";
    }
    return pki;
}

bool complete(const TestPki& pki) {
    std::error_code ec;
    for (const fs::path* p : {&pki.ca_cert, &pki.ca_key, &pki.server_cert, &pki.server_key,
                              &pki.client_cert, &pki.client_key}) {
        if (!p->empty() && !fs::is_regular_file(*p, ec)) {
            return false;
        }
    }
    return true;
}

// The cache holds private keys: a folder of ours, mode 0700, or none at all.
bool usable_folder(const fs::path& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    struct stat st {};
    if (ec || ::stat(dir.c_str(), &st) != 0 || st.st_uid != ::geteuid()) {
        return false;
    }
    return ::chmod(dir.c_str(), 0700) == 0;
}

} // namespace

std::optional<fs::path> default_pki_cache_dir() {
    if (auto dir = env_path("LWIPSIM_CACHE_DIR")) {
        return *dir;
    }
    if (auto dir = env_path("XDG_CACHE_HOME")) {
        return *dir / "lwipsim";
    }
    if (auto home = env_path("HOME")) {
        return *home / ".cache" / "lwipsim";
    }
    return std::nullopt;
}

std::optional<TestPki> cached_test_pki(const fs::path& cache_dir, const PkiOptions& options,
                                       std::chrono::system_clock::time_point now) {
    const fs::path dir = fs::absolute(cache_dir);
    if (renewal_days(options) < 1 || dir.string().find_first_of(" \t\r\n") != std::string::npos ||
        !usable_folder(dir)) {
        return std::nullopt;
    }
    const fs::path entry = dir / entry_name(options, now);
    const TestPki cached = expected_entry(entry, options);
    if (complete(cached)) {
        return cached;
    }
    std::string scratch = (dir / ".making-XXXXXX").string();
    if (::mkdtemp(scratch.data()) == nullptr) {
        return std::nullopt;
    }
    std::error_code ec;
    if (fs::exists(entry, ec)) {
        // Damaged by hand (entries only ever appear whole): move it aside atomically, so a
        // worker that is reading a good entry of the same name is never cut off half-way.
        fs::rename(entry, fs::path(scratch) / "damaged", ec);
    }
    try {
        const TestPki made = generate_test_pki(fs::path(scratch) / "pki", options);
        // rename() of a folder is atomic; when another worker's entry landed first it fails
        // (ENOTEMPTY/EEXIST) and that entry, made from the same options, is used instead.
        std::error_code lost_race;
        fs::rename(fs::path(scratch) / "pki", entry, lost_race);
        fs::remove_all(scratch, ec);
        return lost_race ? cached : relocate(made, entry);
    } catch (...) {
        fs::remove_all(scratch, ec);
        throw;
    }
}

std::chrono::system_clock::time_point pki_made_at(const TestPki& pki) {
    struct stat st {};
    if (::stat(pki.server_cert.c_str(), &st) != 0) {
        throw BrokerError("cannot read the time of " + pki.server_cert.string() + ": " +
                          std::strerror(errno));
    }
    const auto seconds = st.st_mtim.tv_sec + (st.st_mtim.tv_nsec > 0 ? 1 : 0);
    return std::chrono::system_clock::time_point(std::chrono::seconds(seconds));
}

} // namespace lwipsim::broker
