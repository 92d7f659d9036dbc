#pragma once
// The run's link as the scenario describes it: the addresses on each link kind, the scenario's
// faults as the link builds them and their scheduled windows, and the far side of a TAP link.

#include "harness/runner/fault_triggers.h"
#include "harness/runner/recorder.h"
#include "harness/scenario/scenario.h"
#include "sim/link/frame.h"
#include "sim/link/link_builder.h"
#include "sim/link/slirp_gateway.h"

#include <nlohmann/json.hpp>

#include <memory>

namespace lwipsim::link {
class TapBackend;
}

namespace lwipsim::runner {

inline constexpr const char* kGatewayIp = "10.0.2.2"; // slirp maps it to the host's 127.0.0.1
// link.kind tap: the TAP's side in the namespace (gateway and broker host) and the device.
inline constexpr const char* kTapHostIp = "10.0.3.1";
inline constexpr const char* kTapDeviceIp = "10.0.3.15";
inline constexpr DeviceAddresses kSlirpAddresses{link::kSlirpDhcpStart, link::kSlirpGatewayIp};
inline constexpr DeviceAddresses kTapAddresses{0x0A00030F, 0x0A000301}; // 10.0.3.15, 10.0.3.1

/// The scenario's fault (loader model) as the link builder takes it; `names` resolves its
/// filter's "device" and "broker".
link::FaultSpec to_link_spec(const scenario::FaultSpec& f, const DeviceAddresses& names);

/// The timed faults' windows over the run, known up front from the schedule: summary.json's
/// `faults` entries ({name, type, windows}); records each window's fault_start and fault_end.
nlohmann::json fault_windows(const scenario::Scenario& sc, Recorder& rec);

/// link.kind tap: the kernel of a network namespace of our own plays the far side (a TAP at
/// 10.0.3.1/24, sim/link/tap_backend.h), and the managed broker runs inside that namespace.
/// Built before the broker, which must start in it, and destroyed after it. The namespace has
/// no route anywhere, so nothing but the broker can be reached: the external broker (on the
/// host's loopback) is refused (std::invalid_argument).
std::unique_ptr<link::TapBackend> make_tap_world(const scenario::Scenario& sc, link::Timer& timer,
                                                 link::FrameSink& downlink);

} // namespace lwipsim::runner
