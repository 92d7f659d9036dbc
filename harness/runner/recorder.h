#pragma once
// Collects what a run measured (events, heap samples) and writes the result files.
// Format: docs/results.md.

#include "harness/probes/pcb_probe.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace lwipsim::runner {

struct HeapSample {
    double t_s;
    size_t free, used, lwip, mbedtls, app, min_free;
    uint64_t alloc_failures;
    std::map<std::string, int> pcbs_by_state;
    /// Lowest and highest bytes in use since the previous sample: what happened between
    /// samples (a handshake's peak) is not lost to the sampling interval.
    size_t used_min = 0, used_max = 0;
    /// Heap held by PCBs the application already closed, by TCP state (closed_pcb_heap.h).
    std::map<std::string, size_t> closed_pcb_heap{};
};

class Recorder {
  public:
    void event(double t_s, const std::string& type,
               nlohmann::json fields = nlohmann::json::object());
    void sample(const HeapSample& s) { samples_.push_back(s); }
    /// Widens the last sample's min/max by what the heap did after it, until the run ended.
    void extend_last_sample(size_t used_min, size_t used_max);
    [[nodiscard]] const std::vector<HeapSample>& samples() const { return samples_; }
    [[nodiscard]] size_t count(const std::string& type) const;

    void write_events(const std::filesystem::path& file) const;
    /// run.log: a human-readable account, every line stamped with simulated time; frame-level
    /// events are left to events.jsonl.
    void write_run_log(const std::filesystem::path& file, const std::vector<std::string>& header,
                       const std::vector<std::string>& footer) const;
    void write_timeseries(const std::filesystem::path& file) const;
    static void write_pcbs_csv(const std::filesystem::path& file,
                               const std::vector<probes::PcbRecord>& pcbs);
    static nlohmann::json pcbs_json(const std::vector<probes::PcbRecord>& pcbs);

  private:
    [[nodiscard]] std::vector<const nlohmann::json*> in_time_order(bool with_frames) const;
    std::vector<nlohmann::json> events_;
    std::vector<HeapSample> samples_;
};

} // namespace lwipsim::runner
