#include "sim/device/tls_transport.h"
#include "sim/device/device_errors.h"

#include "sim/clock/scheduler.h"
#include "sim/port/mbedtls/mbedtls_platform.h"

#include "mbedtls/error.h"
#include "mbedtls/ssl.h"
#include "mbedtls/x509_crt.h"

extern "C" {
#include "lwip/sockets.h"
}

#include <cstdio>

namespace lwipsim::device {

struct TlsTransport::Impl {
    int fd = -1;
    /// Sends block no later than this (SO_SNDTIMEO set per send, as esp-tls sets it from
    /// network_timeout); unset: no bound.
    std::optional<clock::SimTime> send_deadline;
    int socket_errno = 0;    ///< errno of the BIO's last failed send/recv
    uint16_t local_port = 0; ///< kept: after an abort the socket no longer knows it
    bool close_notify = false;
    bool tls_ready = false;
    SocketObserver* observer = nullptr;
    KeyLogSink keylog;
    mbedtls_ssl_context ssl;
    mbedtls_ssl_config conf;
    mbedtls_x509_crt ca;
    mbedtls_x509_crt client_cert;
    mbedtls_pk_context client_key;

    Impl() {
        mbedtls_ssl_init(&ssl);
        mbedtls_ssl_config_init(&conf);
        mbedtls_x509_crt_init(&ca);
        mbedtls_x509_crt_init(&client_cert);
        mbedtls_pk_init(&client_key);
    }
    void free_tls() {
        mbedtls_ssl_free(&ssl);
        mbedtls_ssl_config_free(&conf);
        mbedtls_x509_crt_free(&ca);
        mbedtls_x509_crt_free(&client_cert);
        mbedtls_pk_free(&client_key);
        tls_ready = false;
    }
};

namespace {

constexpr clock::SimDuration kLwipTick = std::chrono::milliseconds(1); ///< lwIP's timeout unit

// SO_RCVTIMEO / SO_SNDTIMEO in whole milliseconds, rounded down so a wait never outlasts
// `timeout`.
void set_timeout(int fd, int option, clock::SimDuration timeout) {
    auto ms = std::chrono::floor<std::chrono::milliseconds>(timeout).count();
    if (ms <= 0)
        ms = 1; // lwIP: 0 means block forever; a poll is one millisecond
    timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
    lwip_setsockopt(fd, SOL_SOCKET, option, &tv, sizeof tv);
}

void set_recv_timeout(int fd, clock::SimDuration timeout) {
    set_timeout(fd, SO_RCVTIMEO, timeout);
}

// A blocking send, as esp-tls's, that waits for room in the send buffer (writing as it frees)
// but no later than the write's deadline: SO_SNDTIMEO is set to what is left of it on each call,
// since mbedTLS may call again after a partial send. lwIP notices the timeout when it next
// services the write (an ACK, or its poll timer: up to TCP_SLOW_INTERVAL * 2 = 1 s later).
// Less than lwIP's 1 ms tick left: WANT_WRITE without sending; write_all then times out.
// The BIO keeps the socket's errno behind a NET failure: mbedTLS passes only its own code on,
// and "send failed" says little without "ECONNRESET".
int bio_send(void* ctx, const unsigned char* buf, size_t len) {
    auto* t = static_cast<TlsTransport::Impl*>(ctx);
    if (t->send_deadline) {
        const auto left = *t->send_deadline - clock::Scheduler::current().now();
        if (left < kLwipTick)
            return MBEDTLS_ERR_SSL_WANT_WRITE;
        set_timeout(t->fd, SO_SNDTIMEO, left);
    }
    ssize_t n = lwip_send(t->fd, buf, len, 0);
    if (n >= 0)
        return static_cast<int>(n);
    if (errno == EWOULDBLOCK || errno == EAGAIN)
        return MBEDTLS_ERR_SSL_WANT_WRITE;
    t->socket_errno = errno;
    return kTlsSendFailed;
}

int bio_recv(void* ctx, unsigned char* buf, size_t len) {
    auto* impl = static_cast<TlsTransport::Impl*>(ctx);
    ssize_t n = lwip_recv(impl->fd, buf, len, 0);
    if (n > 0)
        return static_cast<int>(n);
    if (n == 0)
        return MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY; // orderly EOF from TCP
    if (errno == EWOULDBLOCK || errno == EAGAIN)
        return MBEDTLS_ERR_SSL_TIMEOUT;
    impl->socket_errno = errno;
    return kTlsRecvFailed;
}

int export_keys(void* ctx, const unsigned char* master, const unsigned char*, size_t, size_t,
                size_t, const unsigned char client_random[32], const unsigned char[32],
                mbedtls_tls_prf_types) {
    auto* impl = static_cast<TlsTransport::Impl*>(ctx);
    if (!impl->keylog)
        return 0;
    std::string line = "CLIENT_RANDOM ";
    char hex[3];
    for (int i = 0; i < 32; ++i) {
        std::snprintf(hex, sizeof hex, "%02x", client_random[i]);
        line += hex;
    }
    line += ' ';
    for (int i = 0; i < 48; ++i) {
        std::snprintf(hex, sizeof hex, "%02x", master[i]);
        line += hex;
    }
    impl->keylog(line);
    return 0;
}

timeval to_timeval(clock::SimDuration d) {
    // Whole milliseconds (lwIP's unit), rounded down, so a wait never outlasts `d`.
    auto ms = std::chrono::floor<std::chrono::milliseconds>(d).count();
    if (ms < 0)
        ms = 0;
    return timeval{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
}

// Non-blocking connect bounded by `timeout`, as esp-tls does; returns 0 or an errno.
int connect_with_timeout(int fd, const TlsOptions& o, clock::SimDuration timeout) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = lwip_htons(o.port);
    if (lwip_inet_pton(AF_INET, o.ip.c_str(), &a.sin_addr) != 1)
        return EINVAL;
    int flags = lwip_fcntl(fd, F_GETFL, 0);
    lwip_fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    int rc = lwip_connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    if (rc != 0 && errno != EINPROGRESS)
        return errno;
    if (rc != 0) {
        fd_set wfds;
        FD_ZERO(&wfds);
        FD_SET(fd, &wfds);
        timeval tv = to_timeval(timeout);
        int n = lwip_select(fd + 1, nullptr, &wfds, nullptr, &tv);
        if (n == 0)
            return ETIMEDOUT;
        if (n < 0)
            return errno;
        int so_error = 0;
        socklen_t len = sizeof so_error;
        lwip_getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
        if (so_error != 0)
            return so_error;
    }
    lwip_fcntl(fd, F_SETFL, flags);
    return 0;
}

int setup_tls(TlsTransport::Impl& t, const TlsOptions& o, port::DeterministicRng& rng) {
    int rc = mbedtls_ssl_config_defaults(&t.conf, MBEDTLS_SSL_IS_CLIENT,
                                         MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
    if (rc != 0)
        return rc;
    // mbedtls_x509_crt_parse needs the terminating NUL counted for PEM.
    rc = mbedtls_x509_crt_parse(&t.ca, reinterpret_cast<const unsigned char*>(o.ca_pem.c_str()),
                                o.ca_pem.size() + 1);
    if (rc != 0)
        return rc;
    mbedtls_ssl_conf_ca_chain(&t.conf, &t.ca, nullptr);
    mbedtls_ssl_conf_authmode(&t.conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_rng(&t.conf, mbedtls_ctr_drbg_random, rng.context());
    mbedtls_ssl_conf_export_keys_ext_cb(&t.conf, export_keys, &t);
    if (!o.client_cert_pem.empty()) {
        rc = mbedtls_x509_crt_parse(
            &t.client_cert, reinterpret_cast<const unsigned char*>(o.client_cert_pem.c_str()),
            o.client_cert_pem.size() + 1);
        if (rc == 0) {
            rc = mbedtls_pk_parse_key(
                &t.client_key, reinterpret_cast<const unsigned char*>(o.client_key_pem.c_str()),
                o.client_key_pem.size() + 1, nullptr, 0);
        }
        if (rc == 0)
            rc = mbedtls_ssl_conf_own_cert(&t.conf, &t.client_cert, &t.client_key);
        if (rc != 0)
            return rc;
    }
    rc = mbedtls_ssl_setup(&t.ssl, &t.conf);
    if (rc != 0)
        return rc;
    rc = mbedtls_ssl_set_hostname(&t.ssl, o.server_name.c_str());
    if (rc != 0)
        return rc;
    mbedtls_ssl_set_bio(&t.ssl, &t, bio_send, bio_recv, nullptr);
    t.tls_ready = true;
    return 0;
}

int handshake(TlsTransport::Impl& t, clock::SimDuration timeout) {
    auto& s = clock::Scheduler::current();
    auto deadline = s.now() + timeout;
    t.send_deadline = deadline;
    for (;;) {
        auto left = deadline - s.now();
        if (left <= clock::SimDuration::zero())
            return MBEDTLS_ERR_SSL_TIMEOUT;
        if (left < kLwipTick) { // lwIP cannot wait less than a tick: give up at the deadline
            s.sleep_for(left);
            return MBEDTLS_ERR_SSL_TIMEOUT;
        }
        set_recv_timeout(t.fd, left);
        int rc = mbedtls_ssl_handshake(&t.ssl);
        if (rc == 0)
            return 0;
        if (rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE)
            return rc;
    }
}

} // namespace

// SO_KEEPALIVE and the TCP_KEEP* options, as esp-tls sets them; returns 0 or an errno.
int set_keepalive(int fd, const TcpKeepalive& k) {
    int on = 1;
    if (lwip_setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on) != 0)
        return errno;
    auto set = [fd](int name, const std::optional<int>& v) {
        return !v || lwip_setsockopt(fd, IPPROTO_TCP, name, &*v, sizeof *v) == 0;
    };
    if (!set(TCP_KEEPIDLE, k.idle_s) || !set(TCP_KEEPINTVL, k.interval_s) ||
        !set(TCP_KEEPCNT, k.count)) {
        return errno;
    }
    return 0;
}

int set_linger(int fd, const Linger& linger) {
    if (!lwipsim_so_linger_available)
        return ENOPROTOOPT; // as lwip_setsockopt without LWIP_SO_LINGER
    struct linger l {
        linger.enabled ? 1 : 0, linger.seconds
    };
    if (lwip_setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l) != 0)
        return errno;
    return 0;
}

TlsTransport::TlsTransport(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TlsTransport::~TlsTransport() {
    destroy();
}

std::unique_ptr<TlsTransport> TlsTransport::open(const TlsOptions& o, port::DeterministicRng& rng,
                                                 SocketObserver* observer, const KeyLogSink& keylog,
                                                 OpenError& error) {
    auto impl = std::make_unique<Impl>();
    impl->observer = observer;
    impl->keylog = keylog;
    impl->close_notify = o.close_notify;
    auto fail = [&](OpenStage stage, int code, std::string detail) {
        error = OpenError{stage, code, std::move(detail)};
        TlsTransport doomed(std::move(impl));
        doomed.destroy();
        return nullptr;
    };
    impl->fd = lwip_socket(AF_INET, SOCK_STREAM, 0);
    if (impl->fd < 0) {
        // ENOBUFS: no heap for the netconn; ENFILE: every socket slot taken (e.g. leaked by
        // closes that returned EWOULDBLOCK, see tests/unit/linger_test.cpp).
        int err = errno;
        return fail(OpenStage::kSocket, err, "lwip_socket failed: " + errno_text(err));
    }
    if (o.linger.enabled) {
        int err = set_linger(impl->fd, o.linger);
        if (observer != nullptr)
            observer->on_linger_result(impl->fd, err == 0, err);
        // esp-tls users log and carry on when the option is missing; so does the device here.
    }
    if (o.keepalive.enabled) {
        if (int err = set_keepalive(impl->fd, o.keepalive); err != 0) {
            return fail(OpenStage::kSocket, err,
                        "setting TCP keepalive failed: " + errno_text(err));
        }
    }
    // A wait the run's end cuts short is no failure of the device: it is reported as cut.
    auto& sched = clock::Scheduler::current();
    bool cut_short = false;
    auto bounded = [&](clock::SimDuration want) {
        const auto left = o.stop_at ? *o.stop_at - sched.now() : want;
        cut_short = left < want;
        return cut_short ? std::max(left, clock::SimDuration::zero()) : want;
    };
    auto cut = [&](OpenStage stage, int code, const std::string& detail) {
        fail(stage, code, "cut by the end of the run (" + detail + ")");
        error.cut = true;
        return nullptr;
    };
    if (int err = connect_with_timeout(impl->fd, o, bounded(o.connect_timeout)); err != 0) {
        std::string detail = "connect failed: " + errno_text(err);
        if (err == ETIMEDOUT && cut_short)
            return cut(OpenStage::kConnect, err, detail);
        return fail(OpenStage::kConnect, err, detail);
    }
    {
        sockaddr_in a{};
        socklen_t len = sizeof a;
        if (lwip_getsockname(impl->fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
            impl->local_port = lwip_ntohs(a.sin_port);
        }
    }
    if (int rc = setup_tls(*impl, o, rng); rc != 0) {
        return fail(OpenStage::kTlsSetup, rc, tls_error_text(rc, impl->socket_errno));
    }
    int rc = handshake(*impl, bounded(o.handshake_timeout));
    impl->send_deadline.reset();
    if (rc == MBEDTLS_ERR_SSL_TIMEOUT && cut_short)
        return cut(OpenStage::kHandshake, rc, tls_error_text(rc, impl->socket_errno));
    if (observer != nullptr)
        observer->on_handshake_done(rc == 0);
    if (rc != 0)
        return fail(OpenStage::kHandshake, rc, tls_error_text(rc, impl->socket_errno));
    error = OpenError{OpenStage::kDone, 0, {}};
    return std::unique_ptr<TlsTransport>(new TlsTransport(std::move(impl)));
}

IoResult TlsTransport::write_all(std::span<const uint8_t> data, clock::SimDuration timeout) {
    auto& s = clock::Scheduler::current();
    const auto deadline = s.now() + timeout;
    impl_->send_deadline = deadline; // bio_send's bound
    size_t done = 0;
    while (done < data.size()) {
        const auto left = deadline - s.now();
        if (left < kLwipTick) {
            // The send buffer stayed full (the peer acknowledges nothing) until the deadline.
            if (left > clock::SimDuration::zero())
                s.sleep_for(left);
            impl_->send_deadline.reset();
            return {IoStatus::kTimeout, done, 0, "write timed out: the send buffer stayed full"};
        }
        int rc = mbedtls_ssl_write(&impl_->ssl, data.data() + done, data.size() - done);
        if (rc > 0) {
            done += static_cast<size_t>(rc);
        } else if (rc != MBEDTLS_ERR_SSL_WANT_WRITE && rc != MBEDTLS_ERR_SSL_WANT_READ) {
            impl_->send_deadline.reset();
            return {IoStatus::kError, done, rc, tls_error_text(rc, impl_->socket_errno)};
        }
    }
    impl_->send_deadline.reset();
    return {IoStatus::kOk, done, 0, {}};
}

IoResult TlsTransport::read_some(std::span<uint8_t> buf, clock::SimDuration timeout) {
    // lwIP's receive timeout counts whole milliseconds (0 blocks forever). Below one, read what
    // is there without waiting, then sleep the rest exactly: a read never outlasts its timeout.
    const bool below_tick = timeout < kLwipTick;
    const int flags = lwip_fcntl(impl_->fd, F_GETFL, 0);
    if (below_tick)
        lwip_fcntl(impl_->fd, F_SETFL, flags | O_NONBLOCK);
    else
        set_recv_timeout(impl_->fd, timeout);
    int rc = mbedtls_ssl_read(&impl_->ssl, buf.data(), buf.size());
    if (below_tick)
        lwip_fcntl(impl_->fd, F_SETFL, flags);
    if (rc > 0)
        return {IoStatus::kOk, static_cast<size_t>(rc), 0, {}};
    if (rc == 0 || rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
        return {IoStatus::kClosed, 0, 0, "peer closed"};
    if (rc == MBEDTLS_ERR_SSL_TIMEOUT || rc == MBEDTLS_ERR_SSL_WANT_READ) {
        if (below_tick && timeout > clock::SimDuration::zero())
            clock::Scheduler::current().sleep_for(timeout);
        return {IoStatus::kTimeout, 0, 0, {}};
    }
    return {IoStatus::kError, 0, rc, tls_error_text(rc, impl_->socket_errno)};
}

void TlsTransport::destroy() {
    if (!impl_)
        return;
    if (impl_->tls_ready && impl_->close_notify)
        mbedtls_ssl_close_notify(&impl_->ssl);
    impl_->free_tls();
    if (impl_->fd >= 0) {
        if (impl_->observer != nullptr)
            impl_->observer->on_socket_closing(local_port());
        lwip_shutdown(impl_->fd, SHUT_RDWR);
        lwip_close(impl_->fd);
        impl_->fd = -1;
    }
}

int TlsTransport::fd() const {
    return impl_ ? impl_->fd : -1;
}

uint16_t TlsTransport::local_port() const {
    return impl_ ? impl_->local_port : 0;
}

} // namespace lwipsim::device
