#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace lwipsim::broker {

// Where a device connects to reach an MQTT broker over TLS, and what it needs to trust it.
// Produced by ManagedBroker::endpoint() and ExternalBroker::validate(); consumed by the device
// side.
struct BrokerEndpoint {
    std::string host;              // numeric address or name to connect to, e.g. "127.0.0.1"
    std::uint16_t port = 0;        // TLS listener port
    std::filesystem::path ca_file; // PEM CA that signed the server certificate
    std::string server_name;       // name checked against the server certificate (and sent as SNI)
    std::filesystem::path client_cert; // PEM client certificate for mutual TLS; empty when unused
    std::filesystem::path client_key;  // PEM key of client_cert; empty when unused
};

} // namespace lwipsim::broker
