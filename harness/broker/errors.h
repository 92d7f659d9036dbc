#pragma once

#include <stdexcept>
#include <string>

namespace lwipsim::broker {

// The machine lacks something the run needs (mosquitto, openssl). The CLI maps this to exit code 3.
class EnvironmentError : public std::runtime_error {
  public:
    explicit EnvironmentError(const std::string& what) : std::runtime_error(what) {}
};

// The broker, the PKI or an external broker description is wrong or failed at run time
// (bad option, openssl failed, broker did not come up). The message carries the context
// (command, exit status, log tail).
class BrokerError : public std::runtime_error {
  public:
    explicit BrokerError(const std::string& what) : std::runtime_error(what) {}
};

} // namespace lwipsim::broker
