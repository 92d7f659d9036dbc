#pragma once

#include <filesystem>
#include <string>

#include "harness/broker/broker_endpoint.h"

namespace lwipsim::broker {

// A broker lwipsim does not start (already running elsewhere), described by the scenario or CLI.
struct ExternalBroker {
    std::string host;
    int port = 8883; // int, not uint16_t, so an out-of-range value from YAML can be reported
    std::filesystem::path ca_file;
    std::string server_name;           // empty: use host
    std::filesystem::path client_cert; // both or neither of client_cert / client_key
    std::filesystem::path client_key;

    // Check the description and turn it into an endpoint. Throws BrokerError naming the field
    // and the bad value: empty host, port outside 1..65535, missing or unreadable files,
    // client cert without key (or the reverse).
    BrokerEndpoint validate() const;
};

} // namespace lwipsim::broker
