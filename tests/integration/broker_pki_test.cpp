// The test PKI is checked with openssl's own verify and x509 printers (an independent reader),
// not with the code that generated it.
#include <gtest/gtest.h>

#include "harness/broker/errors.h"
#include "harness/broker/test_pki.h"
#include "sim/host/child_process.h"
#include "tests/integration/broker_test_support.h"

namespace lwipsim::broker {
namespace {

using namespace std::chrono_literals;
using host::CommandResult;
using host::run_command;
using testing::TempDir;

CommandResult openssl(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"openssl"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, 30s);
}

TEST(BrokerPki, ServerCertVerifiesAgainstCaAndCarriesNamesAndP256) {
    TempDir dir("pki");
    const TestPki pki = generate_test_pki(dir.path() / "pki");
    EXPECT_EQ(pki.server_name, "broker.lwipsim.test");
    EXPECT_TRUE(pki.client_cert.empty());

    const auto verify = openssl({"verify", "-CAfile", pki.ca_cert.string(), "-purpose", "sslserver",
                                 pki.server_cert.string()});
    EXPECT_TRUE(verify.success()) << verify.output;

    const auto san =
        openssl({"x509", "-in", pki.server_cert.string(), "-noout", "-ext", "subjectAltName"});
    ASSERT_TRUE(san.success()) << san.output;
    EXPECT_NE(san.output.find("DNS:broker.lwipsim.test"), std::string::npos) << san.output;
    EXPECT_NE(san.output.find("IP Address:127.0.0.1"), std::string::npos) << san.output;

    for (const auto& cert : {pki.ca_cert, pki.server_cert}) {
        const auto text = openssl({"x509", "-in", cert.string(), "-noout", "-text"});
        ASSERT_TRUE(text.success()) << text.output;
        // P-256 is named prime256v1 in OpenSSL's output.
        EXPECT_NE(text.output.find("prime256v1"), std::string::npos) << cert;
    }
    // The server key must be the one in the certificate: compare public keys.
    const auto cert_pub = openssl({"x509", "-in", pki.server_cert.string(), "-noout", "-pubkey"});
    const auto key_pub = openssl({"pkey", "-in", pki.server_key.string(), "-pubout"});
    ASSERT_TRUE(cert_pub.success() && key_pub.success());
    EXPECT_EQ(cert_pub.output, key_pub.output);
}

TEST(BrokerPki, CustomServerNameAndClientCert) {
    TempDir dir("pki-client");
    PkiOptions options;
    options.server_name = "mqtt.example.test";
    options.make_client_cert = true;
    const TestPki pki = generate_test_pki(dir.path(), options);

    const auto san =
        openssl({"x509", "-in", pki.server_cert.string(), "-noout", "-ext", "subjectAltName"});
    EXPECT_NE(san.output.find("DNS:mqtt.example.test"), std::string::npos) << san.output;

    ASSERT_FALSE(pki.client_cert.empty());
    const auto verify = openssl({"verify", "-CAfile", pki.ca_cert.string(), "-purpose", "sslclient",
                                 pki.client_cert.string()});
    EXPECT_TRUE(verify.success()) << verify.output;
    // A client certificate must not pass as a server certificate (extendedKeyUsage clientAuth).
    const auto as_server = openssl({"verify", "-CAfile", pki.ca_cert.string(), "-purpose",
                                    "sslserver", pki.client_cert.string()});
    EXPECT_FALSE(as_server.success()) << as_server.output;
}

TEST(BrokerPki, CertificateFromAnotherRunDoesNotVerify) {
    TempDir dir("pki-two");
    const TestPki a = generate_test_pki(dir.path() / "a");
    const TestPki b = generate_test_pki(dir.path() / "b");
    const auto verify = openssl({"verify", "-CAfile", a.ca_cert.string(), b.server_cert.string()});
    EXPECT_FALSE(verify.success()) << verify.output;
}

TEST(BrokerPki, RejectsBadOptionsWithContext) {
    TempDir dir("pki-bad");
    PkiOptions options;
    options.server_name = "bad name/with\nnewline";
    try {
        generate_test_pki(dir.path(), options);
        FAIL() << "expected BrokerError";
    } catch (const BrokerError& e) {
        EXPECT_NE(std::string(e.what()).find("server name"), std::string::npos) << e.what();
    }
    options = {};
    options.valid_days = 0;
    EXPECT_THROW(generate_test_pki(dir.path(), options), BrokerError);
}

TEST(BrokerPki, MissingOpensslIsAnEnvironmentError) {
    TempDir dir("pki-noenv");
    TempDir empty("pki-emptypath");
    const std::string saved = std::getenv("PATH") != nullptr ? std::getenv("PATH") : "";
    ::setenv("PATH", empty.path().c_str(), 1);
    struct RestorePath {
        std::string value;
        ~RestorePath() { ::setenv("PATH", value.c_str(), 1); }
    } restore{saved};
    try {
        generate_test_pki(dir.path());
        FAIL() << "expected EnvironmentError";
    } catch (const EnvironmentError& e) {
        EXPECT_NE(std::string(e.what()).find("openssl"), std::string::npos) << e.what();
    }
}

} // namespace
} // namespace lwipsim::broker
