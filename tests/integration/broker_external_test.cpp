#include <fstream>

#include <gtest/gtest.h>

#include "harness/broker/errors.h"
#include "harness/broker/external_broker.h"
#include "tests/integration/broker_test_support.h"

namespace lwipsim::broker {
namespace {

using testing::TempDir;

class ExternalBrokerTest : public ::testing::Test {
  protected:
    void SetUp() override {
        ca_ = dir_.path() / "ca.crt";
        std::ofstream(ca_) << "not parsed here\n";
        cert_ = dir_.path() / "client.crt";
        std::ofstream(cert_) << "x\n";
        key_ = dir_.path() / "client.key";
        std::ofstream(key_) << "x\n";
        good_.host = "127.0.0.1";
        good_.port = 8883;
        good_.ca_file = ca_;
    }

    // Expects BrokerError whose message names `field`.
    static void expect_error(const ExternalBroker& broker, const std::string& field) {
        try {
            broker.validate();
            ADD_FAILURE() << "expected BrokerError mentioning " << field;
        } catch (const BrokerError& e) {
            EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
        }
    }

    TempDir dir_{"external"};
    std::filesystem::path ca_, cert_, key_;
    ExternalBroker good_;
};

TEST_F(ExternalBrokerTest, ValidDescriptionBecomesEndpointWithHostAsDefaultServerName) {
    const BrokerEndpoint endpoint = good_.validate();
    EXPECT_EQ(endpoint.host, "127.0.0.1");
    EXPECT_EQ(endpoint.port, 8883);
    EXPECT_EQ(endpoint.ca_file, ca_);
    EXPECT_EQ(endpoint.server_name, "127.0.0.1");
    EXPECT_TRUE(endpoint.client_cert.empty());

    ExternalBroker named = good_;
    named.server_name = "broker.lwipsim.test";
    named.client_cert = cert_;
    named.client_key = key_;
    const BrokerEndpoint mtls = named.validate();
    EXPECT_EQ(mtls.server_name, "broker.lwipsim.test");
    EXPECT_EQ(mtls.client_cert, cert_);
    EXPECT_EQ(mtls.client_key, key_);
}

TEST_F(ExternalBrokerTest, PortRangeEdges) {
    ExternalBroker b = good_;
    b.port = 1;
    EXPECT_EQ(b.validate().port, 1);
    b.port = 65535;
    EXPECT_EQ(b.validate().port, 65535);
    b.port = 0;
    expect_error(b, "port 0");
    b.port = 65536;
    expect_error(b, "port 65536");
    b.port = -1;
    expect_error(b, "port -1");
}

TEST_F(ExternalBrokerTest, RejectsMissingPiecesNamingTheField) {
    ExternalBroker b = good_;
    b.host.clear();
    expect_error(b, "host");

    b = good_;
    b.ca_file.clear();
    expect_error(b, "ca_file");

    b = good_;
    b.ca_file = dir_.path() / "nope.crt";
    expect_error(b, "nope.crt");

    b = good_;
    b.ca_file = dir_.path(); // a folder is not a CA file
    expect_error(b, "ca_file");

    b = good_;
    b.client_cert = cert_;
    expect_error(b, "client_key");

    b = good_;
    b.client_key = key_;
    expect_error(b, "client_cert");

    b = good_;
    b.client_cert = cert_;
    b.client_key = dir_.path() / "missing.key";
    expect_error(b, "missing.key");
}

} // namespace
} // namespace lwipsim::broker
