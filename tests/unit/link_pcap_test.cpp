// PcapTap: written with virtual timestamps, read back with libpcap and (if present) tshark.
#include "sim/link/pcap_tap.h"
#include "tests/unit/link_test_support.h"

#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <unistd.h>

namespace lwipsim::link {
namespace {

using namespace test;

std::string temp_path(const std::string& stem) {
    return (std::filesystem::temp_directory_path() /
            (stem + "_" + std::to_string(::getpid()) + ".pcap"))
        .string();
}

struct Written {
    int64_t ns;
    std::vector<uint8_t> bytes;
};

std::vector<Written> write_sample(const std::string& path, ManualTimer& timer,
                                  RecordingSink& after) {
    PcapTap tap(path, timer);
    tap.set_next(Direction::kUp, &after);
    tap.set_next(Direction::kDown, &after);
    std::vector<Written> sent;
    const int64_t times[] = {0, 1, 1'500'000'123, 2'000'000'000, 61'000'000'999};
    for (size_t i = 0; i < std::size(times); ++i) {
        timer.advance_to(at_ns(times[i]));
        FrameSpec s;
        s.payload = 10 * i;
        Frame f{build_frame(s), i % 2 ? Direction::kDown : Direction::kUp, i + 1, timer.now()};
        sent.push_back({times[i], f.bytes});
        tap.deliver(std::move(f));
    }
    EXPECT_EQ(tap.frames_written(), std::size(times));
    tap.close();
    tap.close(); // idempotent
    return sent;
}

TEST(LinkPcap, ReadBackWithLibpcap) {
    ManualTimer timer;
    RecordingSink after(timer);
    const std::string path = temp_path("lwipsim_link_pcap");
    const auto sent = write_sample(path, timer, after);
    EXPECT_EQ(after.got.size(), sent.size()); // a tap passes everything on

    char err[PCAP_ERRBUF_SIZE];
    pcap_t* p =
        pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, err);
    ASSERT_NE(p, nullptr) << err;
    EXPECT_EQ(pcap_datalink(p), DLT_EN10MB);
    EXPECT_EQ(pcap_get_tstamp_precision(p), PCAP_TSTAMP_PRECISION_NANO);
    pcap_pkthdr* hdr = nullptr;
    const u_char* data = nullptr;
    size_t n = 0;
    while (pcap_next_ex(p, &hdr, &data) == 1) {
        ASSERT_LT(n, sent.size());
        const int64_t ns = static_cast<int64_t>(hdr->ts.tv_sec) * 1'000'000'000 + hdr->ts.tv_usec;
        EXPECT_EQ(ns, sent[n].ns);
        ASSERT_EQ(hdr->caplen, sent[n].bytes.size());
        EXPECT_EQ(hdr->len, sent[n].bytes.size());
        EXPECT_TRUE(std::equal(data, data + hdr->caplen, sent[n].bytes.begin()));
        ++n;
    }
    EXPECT_EQ(n, sent.size());
    pcap_close(p);
    std::filesystem::remove(path);
}

TEST(LinkPcap, TsharkReadsVirtualTimestamps) {
    const std::string tshark = LWIPSIM_TSHARK;
    if (tshark.empty()) {
        GTEST_SKIP() << "tshark not installed (package tshark)";
    }
    ManualTimer timer;
    RecordingSink after(timer);
    const std::string path = temp_path("lwipsim_link_tshark");
    const auto sent = write_sample(path, timer, after);
    const std::string cmd =
        tshark + " -r " + path + " -T fields -e frame.time_epoch -e frame.len 2>/dev/null";
    FILE* out = ::popen(cmd.c_str(), "r");
    ASSERT_NE(out, nullptr);
    char line[256];
    std::vector<std::string> lines;
    while (std::fgets(line, sizeof line, out) != nullptr) {
        lines.emplace_back(line);
    }
    EXPECT_EQ(::pclose(out), 0);
    ASSERT_EQ(lines.size(), sent.size());
    for (size_t i = 0; i < sent.size(); ++i) {
        // "<seconds>.<9 digits>\t<len>": compare as integers, not via double rounding.
        const auto dot = lines[i].find('.');
        const auto tab = lines[i].find('\t');
        ASSERT_NE(dot, std::string::npos) << lines[i];
        ASSERT_NE(tab, std::string::npos) << lines[i];
        const int64_t sec = std::stoll(lines[i].substr(0, dot));
        std::string frac = lines[i].substr(dot + 1, tab - dot - 1);
        frac.resize(9, '0');
        EXPECT_EQ(sec * 1'000'000'000 + std::stoll(frac), sent[i].ns) << lines[i];
        EXPECT_EQ(std::stoul(lines[i].substr(tab + 1)), sent[i].bytes.size());
    }
    std::filesystem::remove(path);
}

TEST(LinkPcap, UnwritablePathIsAClearError) {
    ManualTimer timer;
    try {
        PcapTap tap("/nonexistent-dir/x.pcap", timer);
        FAIL() << "expected PcapError";
    } catch (const PcapError& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/x.pcap"), std::string::npos);
    }
}

} // namespace
} // namespace lwipsim::link
