#include "harness/broker/external_broker.h"

#include <unistd.h>

#include "harness/broker/errors.h"

namespace lwipsim::broker {
namespace {

void check_readable_file(const char* field, const std::filesystem::path& path) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
        throw BrokerError("external broker: " + std::string(field) + " '" + path.string() +
                          "' does not exist or is not a regular file");
    }
    if (::access(path.c_str(), R_OK) != 0) {
        throw BrokerError("external broker: " + std::string(field) + " '" + path.string() +
                          "' is not readable");
    }
}

} // namespace

BrokerEndpoint ExternalBroker::validate() const {
    if (host.empty()) {
        throw BrokerError("external broker: host is empty");
    }
    if (port < 1 || port > 65535) {
        throw BrokerError("external broker: port " + std::to_string(port) +
                          " out of range 1..65535");
    }
    if (ca_file.empty()) {
        throw BrokerError("external broker: ca_file is required (TLS is always verified)");
    }
    check_readable_file("ca_file", ca_file);
    if (client_cert.empty() != client_key.empty()) {
        throw BrokerError("external broker: client_cert and client_key must be given together "
                          "(got only " +
                          std::string(client_cert.empty() ? "client_key" : "client_cert") + ")");
    }
    if (!client_cert.empty()) {
        check_readable_file("client_cert", client_cert);
        check_readable_file("client_key", client_key);
    }
    BrokerEndpoint endpoint;
    endpoint.host = host;
    endpoint.port = static_cast<std::uint16_t>(port);
    endpoint.ca_file = ca_file;
    endpoint.server_name = server_name.empty() ? host : server_name;
    endpoint.client_cert = client_cert;
    endpoint.client_key = client_key;
    return endpoint;
}

} // namespace lwipsim::broker
