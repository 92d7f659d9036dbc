#include "harness/runner/https_server.h"

#include "harness/broker/managed_broker.h"
#include "sim/host/child_process.h"

#include <mbedtls/sha256.h>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace lwipsim::runner {

namespace fs = std::filesystem;

namespace {

std::string hex(const unsigned char* bytes, size_t n) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (size_t i = 0; i < n; ++i) {
        out += digits[bytes[i] >> 4];
        out += digits[bytes[i] & 15];
    }
    return out;
}

// The served file: `size` seeded bytes, so every run of a seed serves the same image.
std::string write_image(const fs::path& file, uint64_t size, uint64_t seed) {
    std::vector<unsigned char> data(static_cast<size_t>(size)); // the loader caps it at 64 MiB
    std::mt19937_64 rng(seed);
    for (auto& b : data)
        b = static_cast<unsigned char>(rng());
    std::ofstream(file, std::ios::binary)
        .write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(size));
    unsigned char digest[32];
    mbedtls_sha256_ret(data.data(), data.size(), digest, 0);
    return hex(digest, sizeof digest);
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

} // namespace

HttpsFileServer::HttpsFileServer(const HttpsServerOptions& o) : size_(o.size) {
    const fs::path www = o.run_dir / "www";
    fs::create_directories(www);
    sha256_ = write_image(www / "ota.bin", o.size, o.seed);
    const fs::path log = o.run_dir / "https_server.log";
    int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log_fd < 0)
        throw std::runtime_error("https_server: cannot open " + log.string());
    port_ = broker::pick_free_port();
    // -WWW serves files relative to the working directory: `env -C` sets it and execs openssl,
    // so the pid (and PDEATHSIG) we hold are the server's.
    pid_ = host::spawn_child({"env", "-C", www.string(), "openssl", "s_server", "-WWW", "-accept",
                              "127.0.0.1:" + std::to_string(port_), "-cert", o.cert.string(),
                              "-key", o.key.string()},
                             log_fd);
    ::close(log_fd);
    // s_server prints ACCEPT once it listens.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (read_file(log).find("ACCEPT") == std::string::npos) {
        if (host::child_has_exited(pid_) || std::chrono::steady_clock::now() > deadline) {
            stop();
            throw std::runtime_error("https_server: openssl s_server did not start on port " +
                                     std::to_string(port_) + "; " + log.string() + ":\n" +
                                     read_file(log));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

HttpsFileServer::~HttpsFileServer() {
    stop();
}

void HttpsFileServer::stop() {
    if (pid_ <= 0)
        return;
    const pid_t pid = pid_;
    pid_ = -1;
    host::stop_child(pid, std::chrono::seconds(2));
}

} // namespace lwipsim::runner
