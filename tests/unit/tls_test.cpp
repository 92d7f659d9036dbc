// A real mbedTLS handshake over lwIP's loopback inside the simulated device, on virtual time:
// certificates generated at test time (openssl), verified by the client; an echo of data.
#include "harness/broker/test_pki.h"
#include "sim/clock/scheduler.h"
#include "sim/heap/device_heap.h"
#include "sim/port/lwip/device_stack.h"
#include "sim/port/mbedtls/mbedtls_platform.h"
#include "sim/device/device_errors.h"
#include "sim/device/tls_transport.h"
#include "tests/support/device_process.h"

#include "mbedtls/error.h"
#include "mbedtls/ssl.h"
#include "mbedtls/pk.h"
#include "mbedtls/x509_crt.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

extern "C" {
#include "lwip/sockets.h"
}

using namespace lwipsim;
using namespace std::chrono_literals;

namespace {

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

struct Pki {
    std::string ca, server_cert, server_key, other_ca;
};

Pki make_pki() {
    auto dir = std::filesystem::temp_directory_path() / ("lwipsim-tls-" + std::to_string(getpid()));
    auto pki = broker::generate_test_pki(dir / "a");
    auto other = broker::generate_test_pki(dir / "b");
    Pki out{read_file(pki.ca_cert), read_file(pki.server_cert), read_file(pki.server_key),
            read_file(other.ca_cert)};
    std::filesystem::remove_all(dir);
    return out;
}

// One TLS echo server connection on the device's loopback, in its own simulated thread.
void serve_one_echo(const Pki& pki, uint16_t port) {
    static port::DeterministicRng rng(99);
    int lfd = lwip_socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = lwip_htons(port);
    a.sin_addr.s_addr = lwip_htonl(0x7f000001);
    lwip_bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    lwip_listen(lfd, 1);
    int fd = lwip_accept(lfd, nullptr, nullptr);
    mbedtls_ssl_config conf;
    mbedtls_ssl_context ssl;
    mbedtls_x509_crt cert;
    mbedtls_pk_context key;
    mbedtls_ssl_config_init(&conf);
    mbedtls_ssl_init(&ssl);
    mbedtls_x509_crt_init(&cert);
    mbedtls_pk_init(&key);
    mbedtls_x509_crt_parse(&cert, reinterpret_cast<const unsigned char*>(pki.server_cert.c_str()),
                           pki.server_cert.size() + 1);
    mbedtls_pk_parse_key(&key, reinterpret_cast<const unsigned char*>(pki.server_key.c_str()),
                         pki.server_key.size() + 1, nullptr, 0);
    mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
                                MBEDTLS_SSL_PRESET_DEFAULT);
    mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, rng.context());
    mbedtls_ssl_conf_own_cert(&conf, &cert, &key);
    mbedtls_ssl_setup(&ssl, &conf);
    mbedtls_ssl_set_bio(&ssl, &fd, [](void* c, const unsigned char* b, size_t n) {
        return static_cast<int>(lwip_send(*static_cast<int*>(c), b, n, 0));
    }, [](void* c, unsigned char* b, size_t n) {
        return static_cast<int>(lwip_recv(*static_cast<int*>(c), b, n, 0));
    }, nullptr);
    if (mbedtls_ssl_handshake(&ssl) == 0) {
        unsigned char buf[256];
        int n = mbedtls_ssl_read(&ssl, buf, sizeof buf);
        if (n > 0) mbedtls_ssl_write(&ssl, buf, static_cast<size_t>(n));
    }
    mbedtls_ssl_free(&ssl);
    mbedtls_ssl_config_free(&conf);
    mbedtls_x509_crt_free(&cert);
    mbedtls_pk_free(&key);
    lwip_close(fd);
    lwip_close(lfd);
}

void start_device() {
    heap::DeviceHeap::instance().configure(512 * 1024, heap::BlockCost{});
    port::install_mbedtls_platform(std::time(nullptr));
    port::apply_tcp_settings(port::profile_defaults());
    port::start_stack(nullptr, {}, 7);
}

device::TlsOptions client_options(const std::string& ca) {
    device::TlsOptions o;
    o.ip = "127.0.0.1";
    o.port = 8883;
    o.server_name = broker::kDefaultServerName;
    o.ca_pem = ca;
    return o;
}

} // namespace

TEST(Tls, HandshakeWithVerifiedCertificateAndEchoOverLwipLoopback) {
    Pki pki = make_pki();
    lwipsim::testing::run_as_device([&] {
        start_device();
        auto& s = clock::Scheduler::current();
        auto& heap = heap::DeviceHeap::instance();
        s.spawn("tls-server", 5, [&] { serve_one_echo(pki, 8883); });
        s.sleep_for(1ms);
        port::DeterministicRng rng(1);
        device::OpenError err{};
        std::vector<std::string> keylog;
        size_t before = heap.stats(heap::Subsystem::kMbedtls).in_use;
        auto t = device::TlsTransport::open(client_options(pki.ca), rng, nullptr,
                                            [&](const std::string& l) { keylog.push_back(l); }, err);
        ASSERT_TRUE(t) << "stage " << static_cast<int>(err.stage) << ": " << err.detail;
        const std::string msg = "ping through TLS";
        auto w = t->write_all({reinterpret_cast<const uint8_t*>(msg.data()), msg.size()}, 5s);
        EXPECT_EQ(w.status, device::IoStatus::kOk);
        std::vector<uint8_t> buf(64);
        auto r = t->read_some(buf, 5s);
        ASSERT_EQ(r.status, device::IoStatus::kOk) << r.detail;
        EXPECT_EQ(std::string(buf.begin(), buf.begin() + static_cast<long>(r.bytes)), msg);
        // The client's share of mbedTLS memory is on the device heap, and both sides' records.
        EXPECT_GT(heap.stats(heap::Subsystem::kMbedtls).peak, before + 16384 + 4096);
        ASSERT_EQ(keylog.size(), 1u);
        EXPECT_EQ(keylog[0].rfind("CLIENT_RANDOM ", 0), 0u);
        EXPECT_EQ(keylog[0].size(), std::string("CLIENT_RANDOM ").size() + 64 + 1 + 96);
        std::printf("TLS heap: mbedtls peak %zu bytes (client+server in one device), in use "
                    "with session %zu\n", heap.stats(heap::Subsystem::kMbedtls).peak,
                    heap.stats(heap::Subsystem::kMbedtls).in_use);
        t->destroy();
    });
}

TEST(Tls, WrongCaFailsTheHandshakeWithAVerifyError) {
    Pki pki = make_pki();
    lwipsim::testing::run_as_device([&] {
        start_device();
        auto& s = clock::Scheduler::current();
        s.spawn("tls-server", 5, [&] { serve_one_echo(pki, 8883); });
        s.sleep_for(1ms);
        port::DeterministicRng rng(1);
        device::OpenError err{};
        auto t = device::TlsTransport::open(client_options(pki.other_ca), rng, nullptr, {}, err);
        EXPECT_FALSE(t);
        EXPECT_EQ(err.stage, device::OpenStage::kHandshake);
        EXPECT_EQ(err.code, MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) << err.detail;
    });
}

// No route to 10.1.2.3 (the device has only its loopback here): lwIP's tcp_connect returns
// ERR_RTE, which its sockets turn into EHOSTUNREACH (src/api/err.c), 113 on Linux
// (asm-generic/errno.h). The detail names it instead of printing the bare number.
TEST(Tls, ConnectFailureNamesTheErrno) {
    lwipsim::testing::run_as_device([&] {
        start_device();
        port::DeterministicRng rng(1);
        device::OpenError err{};
        auto o = client_options("unused");
        o.ip = "10.1.2.3";
        auto t = device::TlsTransport::open(o, rng, nullptr, {}, err);
        EXPECT_FALSE(t);
        EXPECT_EQ(err.stage, device::OpenStage::kConnect) << err.detail;
        EXPECT_EQ(err.code, EHOSTUNREACH) << err.detail;
        EXPECT_NE(err.detail.find("errno 113 EHOSTUNREACH"), std::string::npos) << err.detail;
        EXPECT_NE(err.detail.find("lwIP ERR_RTE"), std::string::npos) << err.detail;
    });
}

// MBEDTLS_NET_C is off, so mbedtls_strerror does not know the NET codes the device's BIO
// returns (that is where "UNKNOWN ERROR CODE (004E)" came from); the texts below are those of
// mbedtls/net_sockets.h and mbedtls/ssl.h.
TEST(Tls, ErrorTextsNameTlsAndSocketCodes) {
    char raw[160];
    mbedtls_strerror(device::kTlsSendFailed, raw, sizeof raw);
    EXPECT_NE(std::string(raw).find("UNKNOWN ERROR CODE"), std::string::npos) << raw;

    EXPECT_EQ(device::tls_error_text(device::kTlsSendFailed, ECONNRESET),
              "-0x004E NET - Sending information through the socket failed (errno 104 "
              "ECONNRESET (Connection reset by peer; lwIP ERR_RST: connection reset))");
    EXPECT_EQ(device::tls_error_text(device::kTlsRecvFailed),
              "-0x004C NET - Reading information from the socket failed");
    EXPECT_EQ(device::tls_error_text(-0x7780),
              "-0x7780 SSL - A fatal alert message was received from our peer");
    // A socket errno is only named for the NET codes it explains.
    EXPECT_EQ(device::tls_error_text(-0x7780, ECONNRESET).find("errno"), std::string::npos);
    EXPECT_EQ(device::errno_text(ENOTCONN),
              "errno 107 ENOTCONN (Transport endpoint is not connected; lwIP ERR_CONN or "
              "ERR_CLSD: not connected / connection closed)");
}
