#pragma once

#include <stdexcept>
#include <string>

#include "sim/host/errors.h"

namespace lwipsim::broker {

// The machine lacks something the run needs (mosquitto, openssl). The CLI maps this to exit code 3.
// The same type as host::EnvironmentError, which running those programs throws.
using EnvironmentError = host::EnvironmentError;

// The broker, the PKI or an external broker description is wrong or failed at run time
// (bad option, openssl failed, broker did not come up). The message carries the context
// (command, exit status, log tail).
class BrokerError : public std::runtime_error {
  public:
    explicit BrokerError(const std::string& what) : std::runtime_error(what) {}
};

} // namespace lwipsim::broker
