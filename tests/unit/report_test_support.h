#pragma once

// Synthetic result folders for the report tests: the files are written here, by hand, from the
// schema in docs/results.md, so the tests check the reader against the documented format and
// not against whatever the runner happens to write.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"

namespace lwipsim::report::test_support {

namespace fs = std::filesystem;

// A fresh directory under $TMPDIR (or /tmp), removed by the destructor.
class TempDir : public lwipsim::testing::TempDir {
  public:
    TempDir() : lwipsim::testing::TempDir("report") {}
};

inline void write_file(const fs::path& file, const std::string& text) {
    fs::create_directories(file.parent_path());
    std::ofstream out(file, std::ios::binary);
    out << text;
}

inline std::string read_file(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

struct SyntheticPcb {
    int id;
    int local_port;
    double opened, closed, freed; // < 0 means null
    const char* reason;           // nullptr means null
};

struct SyntheticRun {
    std::string variant = "linger_off";
    int rows = 50;            // timeseries.csv data rows
    double sim_time_s = 60.0; // virtual length; samples are spread evenly over it
    long budget = 120000;
    std::vector<SyntheticPcb> pcbs = {
        {1, 49152, 1.0, 10.0, 42.5, "retransmissions_exhausted"},
        {2, 49153, 11.0, 20.0, -1, nullptr},
        {3, 49154, 21.0, -1, -1, nullptr},
    };
};

inline std::string json_num_or_null(double v) {
    if (v < 0)
        return "null";
    std::ostringstream s;
    s << v;
    return s.str();
}

// Writes summary.json, timeseries.csv, events.jsonl and empty capture/log files.
inline void write_run_folder(const fs::path& dir, const SyntheticRun& r) {
    std::ostringstream pcbs;
    for (std::size_t i = 0; i < r.pcbs.size(); ++i) {
        const SyntheticPcb& p = r.pcbs[i];
        pcbs << (i ? ",\n" : "") << "{\"id\": " << p.id << ", \"local_port\": " << p.local_port
             << ", \"remote_port\": 8883, \"opened_at_s\": " << p.opened
             << ", \"closed_at_s\": " << json_num_or_null(p.closed)
             << ", \"freed_at_s\": " << json_num_or_null(p.freed)
             << ", \"free_reason\": " << (p.reason ? "\"" + std::string(p.reason) + "\"" : "null")
             << ", \"states\": [{\"state\": \"SYN_SENT\", \"at_s\": " << p.opened
             << "}, {\"state\": \"ESTABLISHED\", \"at_s\": " << p.opened + 0.1 << "}"
             << (p.closed >= 0
                     ? ", {\"state\": \"FIN_WAIT_1\", \"at_s\": " + json_num_or_null(p.closed) + "}"
                     : std::string())
             << "], \"retransmissions\": " << (p.closed >= 0 ? 12 : 0) << "}";
    }
    std::ostringstream summary;
    summary
        << "{\n\"status\": \"failed\", \"scenario\": \"hotspot_dropout\", \"variant\": \""
        << r.variant << "\", \"seed\": 42, \"sim_time_s\": " << r.sim_time_s
        << ", \"wall_time_s\": 1.25, \"profile\": \"esp-idf-v4.4\",\n"
        << "\"options\": {\"LWIP_SO_LINGER\": 0, \"TCP_MAXRTX\": 12, \"linger\": \"off\"},\n"
        << "\"heap\": {\"budget\": " << r.budget
        << ", \"baseline_free\": 110000, \"min_free\": 61000, \"final_free\": 64000, "
           "\"alloc_failures\": 2, \"by_subsystem\": {"
           "\"lwip\": {\"in_use\": 5800, \"peak\": 9000, \"allocs\": 420, \"failures\": 0}, "
           "\"mbedtls\": {\"in_use\": 40000, \"peak\": 42000, \"allocs\": 90, \"failures\": 2}, "
           "\"app\": {\"in_use\": 200, \"peak\": 300, \"allocs\": 5, \"failures\": 0}}},\n"
        << "\"pcbs\": [" << pcbs.str() << "],\n"
        << "\"app\": {\"connects\": 3, \"tls_handshakes_ok\": 3, \"tls_handshake_failures\": 1, "
           "\"ping_timeouts\": 2, \"publishes_sent\": 10, \"publishes_acked\": 8, "
           "\"messages_received\": 4},\n"
        << "\"time\": {\"mode\": \"virtual\", \"jumps\": 100, \"skipped_s\": 50.5, "
           "\"host_wait_s\": 0.2, \"jumps_with_host_pending\": 0},\n"
        << "\"faults\": [{\"name\": \"cellular_drop\", \"type\": \"blackhole\", \"windows\": [["
        << r.sim_time_s * 0.1 << ", " << r.sim_time_s * 0.3 << "]]}],\n"
        << "\"expectations\": [{\"metric\": \"heap.min_free\", \"op\": \">=\", \"value\": 70000, "
           "\"measured\": 61000, \"passed\": false}, {\"metric\": \"app.alloc_failures_tls\", "
           "\"op\": \"==\", \"value\": 0, \"measured\": 2, \"passed\": false}, "
           "{\"metric\": \"pcbs.max_close_to_free_s\", \"op\": \"<=\", \"value\": 60, "
           "\"measured\": 32.5, \"passed\": true}]\n}\n";
    write_file(dir / "summary.json", summary.str());

    std::ostringstream ts;
    ts << "t_s,free,used,lwip,mbedtls,app,min_free,alloc_failures,pcbs_live,SYN_SENT,ESTABLISHED,"
          "FIN_WAIT_1,FIN_WAIT_2,CLOSE_WAIT,CLOSING,LAST_ACK,TIME_WAIT\n";
    for (int i = 0; i < r.rows; ++i) {
        const double t = r.sim_time_s * i / (r.rows - 1);
        const long free = r.budget - 10000 - (i % 7) * 900 - i * 40;
        const int fin_wait_1 = i * 3 / r.rows; // 0, 1, 2 over the run
        ts << t << ',' << free << ',' << r.budget - free << ",5000,40000,200," << free << ','
           << (i > r.rows / 2 ? 2 : 0) << ',' << 1 + fin_wait_1 << ",0,1," << fin_wait_1
           << ",0,0,0,0,0\n";
    }
    write_file(dir / "timeseries.csv", ts.str());

    std::ostringstream ev;
    const double L = r.sim_time_s;
    ev << "{\"t_s\": " << L * 0.1 << ", \"type\": \"fault_start\", \"fault\": \"cellular_drop\"}\n"
       << "{\"t_s\": " << L * 0.2 << ", \"type\": \"app_close\", \"pcb\": 1}\n"
       << "{\"t_s\": " << L * 0.3 << ", \"type\": \"fault_end\", \"fault\": \"cellular_drop\"}\n"
       << "{\"t_s\": " << L * 0.35 << ", \"type\": \"mqtt_connected\"}\n"
       << "{\"t_s\": " << L * 0.6
       << ", \"type\": \"tls_handshake_failed\", \"error\": \"-0x7F00\"}\n"
       << "{\"t_s\": " << L * 0.61
       << ", \"type\": \"alloc_failure\", \"subsystem\": \"mbedtls\"}\n";
    write_file(dir / "events.jsonl", ev.str());
    for (const char* name :
         {"pcbs.csv", "device.pcap", "wire.pcap", "tls-keys.log", "broker.log", "run.log"})
        write_file(dir / name, "");
}

} // namespace lwipsim::report::test_support
