#pragma once
// The run's broker, started before the device: the managed mosquitto (on the run's virtual
// clock when it can be, inside the namespace on a TAP link) or the external one, checked
// reachable first; where the device finds it; and what the managed broker's side of the results
// (broker_side.h) reads.

#include "harness/broker/managed_broker.h"
#include "harness/runner/broker_side.h"
#include "harness/runner/link_setup.h"
#include "harness/scenario/scenario.h"
#include "sim/host/vclock_peer.h"

#include <cstdint>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>

namespace lwipsim::link {
class TapBackend;
}

namespace lwipsim::runner {

struct RunState;

/// Where and how the device reaches the broker.
struct BrokerTarget {
    uint16_t port = 0;
    std::string server_name, ca_pem, client_cert_pem, client_key_pem;
    std::string ip = kGatewayIp; ///< where the device connects
    /// The host's port behind `port` when the slirp gateway maps it (managed broker), else 0.
    uint16_t host_port = 0;
};

/// Starts the managed broker (inside the TAP namespace when there is one) or describes the
/// external one. The broker lives on the calling OS thread: PDEATHSIG follows that thread.
/// Throws broker::EnvironmentError when an external broker expected up is not reachable.
BrokerTarget start_broker(const scenario::Scenario& sc, const std::filesystem::path& run_dir,
                          link::TapBackend* tap, std::optional<broker::ManagedBroker>& managed,
                          host::VclockPeer* vclock);

/// The managed broker on the run's virtual time (time.broker_clock: virtual), on a slirp link or
/// inside a TAP run's namespace: the clock page it shares with this worker, made before the
/// broker starts. External brokers keep the wall clock and time.host_grace (docs/design.md).
/// Leaves `vclock` empty when the broker keeps the wall clock.
void make_broker_clock(const scenario::Scenario& sc, const std::filesystem::path& run_dir,
                       std::optional<host::VclockPeer>& vclock);

/// The wall-clock date of virtual 0 on the device (mbedTLS puts it in every ClientHello): with
/// the managed broker the instant its PKI was made, as for the broker's clock, so two runs of one
/// seed repeat; with an external broker the real start (its certificates' validity is unknown).
std::time_t device_epoch(const std::optional<broker::ManagedBroker>& managed);

/// The broker's log read into the run, and the observer of the device's will (on virtual time).
/// Its warnings go to `st`.
BrokerSideOptions broker_side_options(const scenario::Scenario& sc,
                                      const broker::ManagedBroker& managed, RunState& st);

} // namespace lwipsim::runner
