#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lwipsim::report {

// In-memory view of one result folder as written by the runner (schema: docs/results.md).
// Only what plots and reports use is typed; display-only sections keep their keys in file
// order as (key, rendered value) pairs so the report shows exactly what the runner wrote.

struct SubsystemHeap {
    std::string name;                                            // "lwip", "mbedtls", "app"
    std::int64_t in_use = 0, peak = 0, allocs = 0, failures = 0; // bytes, bytes, count, count
};

struct HeapSummary {
    std::int64_t budget = 0, baseline_free = 0, min_free = 0, final_free = 0; // bytes
    std::int64_t alloc_failures = 0;
    bool unlimited = false; // no budget: `budget` is a stand-in, free bytes mean nothing
    [[nodiscard]] std::int64_t peak_used() const { return budget - min_free; }
    [[nodiscard]] std::int64_t final_used() const { return budget - final_free; }
    std::vector<SubsystemHeap> by_subsystem; // in file order
};

struct PcbStateChange {
    std::string state; // lwIP state name, e.g. "FIN_WAIT_1"
    double at_s = 0;   // virtual time
};

struct PcbRecord {
    std::int64_t id = 0;
    std::int64_t local_port = 0, remote_port = 0;
    double opened_at_s = 0;
    std::optional<double> closed_at_s; // the application's close call; nullopt: never closed
    std::optional<double> freed_at_s;  // lwIP freed the PCB; nullopt: alive at the end
    std::optional<std::string> free_reason;
    std::vector<PcbStateChange> states; // in time order
    std::int64_t retransmissions = 0;
};

struct FaultRecord {
    std::string name, type;
    std::vector<std::pair<double, double>> windows; // [start_s, end_s] in virtual time
};

struct Expectation {
    std::string metric, op;
    std::string value, measured; // rendered JSON values (strings without quotes)
    bool passed = false;
};

using KeyValues = std::vector<std::pair<std::string, std::string>>;

struct Summary {
    std::string status; // "passed" | "failed" | "error"
    std::string scenario, variant, profile;
    std::string abi; ///< device.abi ("ilp32" | "host"); empty in folders older than the key
    std::string seed; // rendered: seeds may exceed what a double holds
    double sim_time_s = 0, wall_time_s = 0;
    KeyValues options;
    HeapSummary heap;
    std::vector<PcbRecord> pcbs;
    KeyValues app;
    KeyValues time;
    std::vector<FaultRecord> faults;
    std::vector<Expectation> expectations;
};

// timeseries.csv columns, in the order the runner writes them. The first
// kRequiredTimeseriesColumns must be present; the rest were added later. A folder lacking
// heap_used_min/max reads them as `used` (no band: the samples are all that is known); one
// lacking the closed_pcb_heap columns reads them as NaN (not recorded, never 0).
inline constexpr std::size_t kTimeseriesColumnCount = 28;
inline constexpr std::size_t kRequiredTimeseriesColumns = 17;
inline constexpr std::array<std::string_view, kTimeseriesColumnCount> kTimeseriesColumns = {
    "t_s",
    "free",
    "used",
    "lwip",
    "mbedtls",
    "app",
    "min_free",
    "alloc_failures",
    "pcbs_live",
    "SYN_SENT",
    "ESTABLISHED",
    "FIN_WAIT_1",
    "FIN_WAIT_2",
    "CLOSE_WAIT",
    "CLOSING",
    "LAST_ACK",
    "TIME_WAIT",
    "heap_used_min",
    "heap_used_max",
    "closed_pcb_heap",
    "closed_pcb_heap_SYN_SENT",
    "closed_pcb_heap_ESTABLISHED",
    "closed_pcb_heap_FIN_WAIT_1",
    "closed_pcb_heap_FIN_WAIT_2",
    "closed_pcb_heap_CLOSE_WAIT",
    "closed_pcb_heap_CLOSING",
    "closed_pcb_heap_LAST_ACK",
    "closed_pcb_heap_TIME_WAIT"};
inline constexpr std::size_t kColTime = 0;
inline constexpr std::size_t kColFree = 1;
inline constexpr std::size_t kColUsed = 2;
// Lowest / highest bytes in use since the previous sample.
inline constexpr std::size_t kColUsedMin = 17;
inline constexpr std::size_t kColUsedMax = 18;
inline constexpr std::size_t kColPcbsLive = 8;
// Index of the first per-state PCB count column (SYN_SENT); kStateColumnCount follow in order.
inline constexpr std::size_t kFirstStateColumn = 9;
inline constexpr std::size_t kStateColumnCount = 8;
// Heap held by PCBs the application already closed: the total, then one column per state in
// the order of the count columns (kFirstClosedHeapColumn + k is the state of
// kFirstStateColumn + k). NaN when the folder predates them.
inline constexpr std::size_t kColClosedHeap = 19;
inline constexpr std::size_t kFirstClosedHeapColumn = 20;

using Sample = std::array<double, kTimeseriesColumnCount>; // indexed like kTimeseriesColumns

struct Event {
    double t_s = 0;
    std::string type;
    std::string fault; // "fault" member of fault_start / fault_end, else empty
};

struct RunResult {
    std::filesystem::path dir;
    Summary summary;
    std::vector<Sample> samples; // timeseries.csv rows, in file order
    std::vector<Event> events;   // events.jsonl lines, in file order

    // Virtual length of the run: sim_time_s, or the last sample/event if that is later.
    double run_length_s() const;
};

// Parsers; each throws ReportError naming the file (and line for CSV/JSONL).
Summary load_summary(const std::filesystem::path& file);
std::vector<Sample> load_timeseries(const std::filesystem::path& file);
std::vector<Event> load_events(const std::filesystem::path& file);

// Reads summary.json, timeseries.csv and events.jsonl of one variant's folder.
RunResult load_run(const std::filesystem::path& dir);

// True when dir holds a summary.json (one variant's result folder).
bool is_run_folder(const std::filesystem::path& dir);

// Whole-file text I/O for the report's outputs; ReportError naming the file on failure.
std::string read_text(const std::filesystem::path& file);
void write_text(const std::filesystem::path& file, const std::string& text);

// Subfolders of a multi-variant parent that are run folders, sorted by name. Empty when none.
std::vector<std::filesystem::path> variant_folders(const std::filesystem::path& parent);

// A sweep folder (docs/cli.md, `sweep`): sweep.json with one row per run, and one
// multi-variant parent folder per grid point.
struct SweepRow {
    std::string point; // point folder name, e.g. "app.linger=0,seed=2"
    std::string variant, status;
    std::string error; // why the run did not complete, empty otherwise
};
struct Sweep {
    std::string scenario;
    std::vector<SweepRow> rows; // in sweep.json order (grid order, then variant)
    // Point folders present, in grid order.
    std::vector<std::filesystem::path> points() const;
    std::filesystem::path dir;
};

// True when dir holds a sweep.json.
bool is_sweep_folder(const std::filesystem::path& dir);
// Reads dir/sweep.json; ReportError naming the file and JSON path when malformed.
Sweep load_sweep(const std::filesystem::path& dir);

} // namespace lwipsim::report
