#pragma once
// TLS over lwIP sockets, as ESP-IDF's esp-tls does it: lwip_socket, optional SO_LINGER right
// after creation, a non-blocking connect bounded by a timeout, an mbedTLS handshake with CA
// verification and SNI, reads and writes with timeouts, and esp-tls's destroy order (free the
// TLS context, shutdown(SHUT_RDWR), close; no close_notify unless asked). Every byte mbedTLS and
// lwIP allocate comes from the device heap. Call only from one simulated thread.

#include "sim/clock/sim_time.h"
#include "sim/device/transport.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lwipsim::port {
class DeterministicRng;
}

namespace lwipsim::device {

/// SO_LINGER as the scenario sets it: off (not set), or {1, seconds} (0 = abort with RST).
struct Linger {
    bool enabled = false;
    int seconds = 0;
};

/// TCP keepalive on the socket, as esp-tls's keep_alive_cfg sets it (empty fields: lwIP's
/// defaults, TCP_KEEPIDLE_DEFAULT 2 h and so on).
struct TcpKeepalive {
    bool enabled = false;
    std::optional<int> idle_s, interval_s, count;
};

struct TlsOptions {
    std::string ip; ///< IPv4 address to connect to (as seen from the device)
    uint16_t port = 0;
    std::string server_name; ///< SNI and the name checked against the certificate
    std::string ca_pem;      ///< trusted CA, PEM text (parsed per connection, as esp-tls does)
    std::string client_cert_pem, client_key_pem; ///< optional mutual TLS
    Linger linger;
    TcpKeepalive keepalive;
    bool close_notify = false; ///< send close_notify before closing (esp-tls does not)
    clock::SimDuration connect_timeout = clock::from_ms(10000);
    clock::SimDuration handshake_timeout = clock::from_ms(10000);
    /// The run ends here: no connect or handshake wait goes past it. A wait it cuts short is
    /// reported with OpenError::cut, not as a failure.
    std::optional<clock::SimTime> stop_at;
};

/// What happened while opening, for the application's counters and the event log.
enum class OpenStage { kSocket, kLinger, kConnect, kTlsSetup, kHandshake, kDone };

struct OpenError {
    OpenStage stage;
    int code;           ///< errno (lwIP) or mbedTLS error code
    std::string detail; ///< human-readable, mbedtls_strerror text for TLS errors
    bool cut = false;   ///< the run ended (TlsOptions::stop_at) before the stage could finish
};

/// Told about socket lifecycle steps (the PCB probe uses these to stamp close times).
class SocketObserver {
  public:
    virtual ~SocketObserver() = default;
    /// The application closes the socket bound to `local_port` (esp-tls destroy).
    virtual void on_socket_closing(uint16_t /*local_port*/) {}
    virtual void on_linger_result(int /*fd*/, bool /*ok*/, int /*err*/) {}
    virtual void on_handshake_done(bool /*ok*/) {}
};

/// Writes NSS key log lines ("CLIENT_RANDOM <client random> <master secret>").
using KeyLogSink = std::function<void(const std::string& line)>;

class TlsTransport : public Transport {
  public:
    ~TlsTransport() override;
    /// Opens a connection or returns why it failed (everything allocated is released).
    static std::unique_ptr<TlsTransport> open(const TlsOptions& options,
                                              port::DeterministicRng& rng, SocketObserver* observer,
                                              const KeyLogSink& keylog, OpenError& error);

    /// esp_transport_write with a timeout: a blocking send that waits for room in the send
    /// buffer, bounded by SO_SNDTIMEO as esp-tls sets it, here what is left of `timeout`. Gives
    /// up with kTimeout once the timeout has passed, even part way through (the caller aborts
    /// the connection then, as esp-mqtt does). lwIP notices an expired send timeout when it
    /// next services the write: on an ACK, or at its poll timer (up to 1 s later).
    IoResult write_all(std::span<const uint8_t> data, clock::SimDuration timeout) override;
    IoResult read_some(std::span<uint8_t> buf, clock::SimDuration timeout) override;
    /// esp-tls's esp_tls_conn_destroy. Idempotent; also done by the destructor.
    void destroy();
    [[nodiscard]] int fd() const;
    [[nodiscard]] uint16_t local_port() const;

    struct Impl;

  private:
    explicit TlsTransport(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

/// Sets SO_LINGER as the device would; fails with ENOPROTOOPT when the run says the option is
/// not compiled in (LWIP_SO_LINGER=0 on the device). Returns 0 or an errno.
int set_linger(int fd, const Linger& linger);

} // namespace lwipsim::device
