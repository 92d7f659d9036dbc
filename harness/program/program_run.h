#pragma once
// The user's device program (app.program, docs/programs.md): a shared object loaded into the
// worker and run as simulated threads on the device, in place of the built-in MQTT client.
// The C API it calls (include/lwipsim/*.h) is implemented in program_api.cpp and
// freertos_api.cpp on top of the ProgramRun in progress.

#include "harness/program/program_watchdog.h"
#include "harness/runner/recorder.h"
#include "harness/scenario/scenario.h"
#include "sim/clock/scheduler.h"
#include "sim/device/tls_transport.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

struct lwipsim_args;

namespace lwipsim::program {

/// The program's shared object, opened with every symbol resolved (RTLD_NOW).
class LoadedProgram {
  public:
    /// Throws std::invalid_argument (exit 2) when the file cannot be loaded, needs a symbol
    /// lwipsim does not provide (named in the message), or has no lwipsim_program_main.
    static LoadedProgram load(const std::string& path);
    using MainFn = int (*)(const lwipsim_args*);
    [[nodiscard]] MainFn main() const { return main_; }
    [[nodiscard]] const std::string& path() const { return path_; }
    /// How long virtual time may stand still while the program runs (LWIPSIM_PROGRAM_STALL_S).
    [[nodiscard]] std::chrono::seconds stall_limit() const { return stall_limit_; }

  private:
    LoadedProgram(std::string path, MainFn entry, std::chrono::seconds stall_limit)
        : path_(std::move(path)), main_(entry), stall_limit_(stall_limit) {}
    std::string path_;
    MainFn main_;
    std::chrono::seconds stall_limit_;
};

/// What the program's helpers reach in this run.
struct ProgramWorld {
    runner::Recorder& rec;
    device::TlsOptions tls; ///< the run's broker, with the scenario's linger/keepalive/timeouts
    port::DeterministicRng& rng;
    device::SocketObserver* observer; ///< stamps close times for the PCB probe
    device::KeyLogSink keylog;
    std::filesystem::path log_file;          ///< program.log
    std::map<std::string, std::string> info; ///< lwipsim_run_info's keys and values
    /// Told of every lwipsim_event (program_event triggers); may be empty.
    std::function<void(const std::string&)> on_event;
};

/// One run of the program: its threads, events, device-heap blocks and how it ended.
class ProgramRun {
  public:
    ProgramRun(const LoadedProgram& program, const scenario::ProgramSettings& settings,
               ProgramWorld world);
    ~ProgramRun();
    ProgramRun(const ProgramRun&) = delete;
    ProgramRun& operator=(const ProgramRun&) = delete;

    /// Starts the program's main thread and returns at `end` (on the calling simulated
    /// thread), then judges how the program ended.
    void run_until(clock::SimTime end);
    /// Why the run fails because of the program; nullopt when it did not fail.
    [[nodiscard]] const std::optional<std::string>& failure() const { return failure_; }
    /// summary.json "program".
    [[nodiscard]] nlohmann::json summary() const;
    [[nodiscard]] const std::map<std::string, uint64_t>& event_counts() const { return events_; }

    /// The run in progress (for the C API); aborts with a message when there is none.
    static ProgramRun& current();

    // --- used by the C API ---
    void spawn(const std::string& name, int priority, std::function<void()> body);
    /// A task ended with vTaskDelete(NULL): parked for good, not alive (hang, leak checks).
    void mark_deleted(const clock::SimThread* thread);
    void fail(const std::string& why); ///< the first failure is kept
    void event(const char* name, const char* detail);
    void log_line(int level, const char* tag, const std::string& text);
    void* allocate(size_t size);
    void release(void* ptr);
    [[nodiscard]] const ProgramWorld& world() const { return world_; }
    [[nodiscard]] clock::SimTime end() const { return end_; }

  private:
    void judge_end(bool main_returned);

    const LoadedProgram& program_;
    const scenario::ProgramSettings& settings_;
    ProgramWorld world_;
    std::ofstream log_;
    clock::SimTime end_{};
    std::vector<const clock::SimThread*> threads_;
    std::set<const clock::SimThread*> deleted_;
    std::map<std::string, uint64_t> events_;
    std::unordered_map<void*, size_t> blocks_; ///< the program's live device-heap blocks
    std::optional<int> exit_code_;
    std::string state_ = "not started"; ///< returned | running_at_end | hung
    std::optional<std::string> failure_;
    std::unique_ptr<StallWatchdog> watchdog_; ///< while run_until runs
};

} // namespace lwipsim::program
