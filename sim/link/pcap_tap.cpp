#include "sim/link/pcap_tap.h"

#include <pcap/pcap.h>

#include <algorithm>

namespace lwipsim::link {

namespace {
constexpr int kSnapLen = 65535;
}

PcapTap::PcapTap(const std::string& path, Timer& timer, int64_t epoch_offset_ns)
    : path_(path), timer_(timer), epoch_offset_ns_(epoch_offset_ns) {
    handle_ =
        pcap_open_dead_with_tstamp_precision(DLT_EN10MB, kSnapLen, PCAP_TSTAMP_PRECISION_NANO);
    if (handle_ == nullptr) {
        throw PcapError("pcap tap " + path + ": pcap_open_dead failed");
    }
    dumper_ = pcap_dump_open(handle_, path.c_str());
    if (dumper_ == nullptr) {
        const std::string why = pcap_geterr(handle_);
        pcap_close(handle_);
        handle_ = nullptr;
        throw PcapError("pcap tap " + path + ": cannot open for writing: " + why);
    }
}

PcapTap::~PcapTap() {
    // A destructor must not throw; callers who care about the final flush call close().
    if (dumper_ != nullptr) {
        pcap_dump_close(dumper_);
    }
    if (handle_ != nullptr) {
        pcap_close(handle_);
    }
}

void PcapTap::deliver(Frame frame) {
    if (dumper_ != nullptr) {
        const int64_t ts = epoch_offset_ns_ + timer_.now().ns();
        pcap_pkthdr hdr{};
        // With nanosecond precision libpcap stores tv_usec as nanoseconds.
        hdr.ts.tv_sec = static_cast<time_t>(ts / 1'000'000'000);
        hdr.ts.tv_usec = static_cast<suseconds_t>(ts % 1'000'000'000);
        hdr.len = static_cast<bpf_u_int32>(frame.bytes.size());
        hdr.caplen = static_cast<bpf_u_int32>(std::min<size_t>(frame.bytes.size(), kSnapLen));
        pcap_dump(reinterpret_cast<u_char*>(dumper_), &hdr, frame.bytes.data());
        ++written_;
    }
    forward(std::move(frame));
}

void PcapTap::close() {
    if (dumper_ == nullptr) {
        return;
    }
    const int flushed = pcap_dump_flush(dumper_);
    pcap_dump_close(dumper_);
    dumper_ = nullptr;
    pcap_close(handle_);
    handle_ = nullptr;
    if (flushed != 0) {
        throw PcapError("pcap tap " + path_ + ": flush failed");
    }
}

} // namespace lwipsim::link
