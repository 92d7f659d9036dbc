#pragma once
// What one run observes, shared by the rooms of a run: the orchestration (variant_run.cpp) fills
// it while the device runs, the application (app_loop.h) adds its counts, and the results
// (run_results.h) read it when the results are written.

#include "harness/probes/pcb_probe.h"
#include "harness/program/program_run.h"
#include "harness/runner/app_actions.h"
#include "harness/runner/app_loop.h"
#include "harness/runner/fault_triggers.h"
#include "harness/runner/recorder.h"
#include "harness/scenario/scenario.h"
#include "sim/clock/scheduler.h"

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace lwipsim::host {
class VclockPeer;
}

namespace lwipsim::runner {

/// The run's current virtual time in seconds, what its events are stamped with. Only on a
/// simulated thread of the run's scheduler.
inline double now_s() {
    return clock::Scheduler::current().now().seconds();
}

// What one run observes, filled while the device runs and read when the results are written.
struct RunState {
    const scenario::Scenario& sc;
    std::filesystem::path dir; ///< the .partial folder
    DeviceAddresses names;     ///< what "device" and "broker" mean in filters, on this link
    Recorder rec;
    probes::PcbProbe probe;
    FaultTriggers triggers;
    AppActions actions;
    AppObserver obs;
    AppTotals totals;
    size_t baseline_free = 0;
    uint64_t frames_dropped = 0, frames_delivered = 0;
    std::vector<std::string> warnings;       ///< "check this before trusting the results"
    host::VclockPeer* broker_peer = nullptr; ///< the managed broker on virtual time, if it is
    const program::LoadedProgram* program = nullptr; ///< app.program, run instead of run_app
    std::unique_ptr<program::ProgramRun> program_run;
    std::map<std::string, std::string> program_info; ///< lwipsim_run_info (https_server's keys)

    /// Wires the probe's and the triggers' reports into `rec` and `warnings` (variant_run.cpp).
    RunState(const scenario::Scenario& s, std::filesystem::path d, DeviceAddresses n);
};

} // namespace lwipsim::runner
