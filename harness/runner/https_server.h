#pragma once
// `https_server` (docs/programs.md): a host HTTPS server for device programs, started and
// stopped by the harness like the managed broker. Debian's `openssl s_server -WWW` on
// 127.0.0.1 at a free port (the device reaches it as 10.0.2.2:port through slirp), with the
// managed broker's certificate, serving one seeded file `ota.bin` from run_dir/www. It runs on
// the wall clock (the run's broker then does too: time.host_grace covers both).

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>

namespace lwipsim::runner {

struct HttpsServerOptions {
    std::filesystem::path run_dir;   ///< www/ and https_server.log go here
    std::filesystem::path cert, key; ///< the managed broker's server certificate and key
    uint64_t size = 0;               ///< bytes of ota.bin
    uint64_t seed = 0;               ///< its content (std::mt19937_64 bytes)
};

/// Starts the server in the constructor (returns once it listens); the destructor stops it by
/// its pid (SIGTERM, then SIGKILL). The child dies with the constructing thread (PDEATHSIG).
/// Throws host::EnvironmentError without openssl, std::runtime_error when it does not start.
class HttpsFileServer {
  public:
    explicit HttpsFileServer(const HttpsServerOptions& options);
    ~HttpsFileServer();
    HttpsFileServer(const HttpsFileServer&) = delete;
    HttpsFileServer& operator=(const HttpsFileServer&) = delete;

    void stop(); ///< idempotent
    [[nodiscard]] uint16_t port() const { return port_; }
    [[nodiscard]] const std::string& path() const { return path_; }     ///< "/ota.bin"
    [[nodiscard]] const std::string& sha256() const { return sha256_; } ///< lowercase hex
    [[nodiscard]] uint64_t size() const { return size_; }
    [[nodiscard]] pid_t pid() const { return pid_; }

  private:
    uint16_t port_ = 0;
    std::string path_ = "/ota.bin";
    std::string sha256_;
    uint64_t size_ = 0;
    pid_t pid_ = -1;
};

} // namespace lwipsim::runner
