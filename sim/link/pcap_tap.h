#pragma once
// A capture point on the link: passes every frame on unchanged and writes it to a pcap file
// stamped with virtual time (Timer::now()), in nanosecond-resolution pcap format so that no two
// simulated instants collapse into one timestamp. Wireshark/tshark read it directly. Both
// directions go into the same file, as on a real interface capture.

#include "sim/link/stage.h"

#include <cstdint>
#include <stdexcept>
#include <string>

struct pcap;
struct pcap_dumper;

namespace lwipsim::link {

class PcapError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

class PcapTap final : public Stage {
  public:
    /// Opens (truncates) `path`; throws PcapError naming the path on failure. Timestamps are
    /// `epoch_offset_ns` + virtual time (default: the run starts at 1970-01-01T00:00:00Z).
    PcapTap(const std::string& path, Timer& timer, int64_t epoch_offset_ns = 0);
    ~PcapTap() override;
    PcapTap(const PcapTap&) = delete;
    PcapTap& operator=(const PcapTap&) = delete;

    void deliver(Frame frame) override;
    /// Flushes and closes the file; later frames still pass through but are not written.
    /// Throws PcapError if the final flush fails. Idempotent.
    void close();
    [[nodiscard]] uint64_t frames_written() const { return written_; }
    [[nodiscard]] const std::string& path() const { return path_; }

  private:
    std::string path_;
    Timer& timer_;
    int64_t epoch_offset_ns_;
    pcap* handle_ = nullptr;
    pcap_dumper* dumper_ = nullptr;
    uint64_t written_ = 0;
};

} // namespace lwipsim::link
