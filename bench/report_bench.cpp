// report.html for a 24 h run sampled every second (86,401 samples, an outage every 6 min):
// prints how long writing the report with its interactive charts takes, the page's size, and
// how long plotting plus the report take (gnuplot). Figures, not a pass/fail timing.
// Usage: report_bench [FOLDER]   (default: a fresh folder under /tmp, removed afterwards)

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "harness/report/html_report.h"

namespace fs = std::filesystem;
using lwipsim::report::render_results;
using lwipsim::report::write_report;

namespace {

constexpr int kSeconds = 24 * 3600;
constexpr int kCycle = 360, kOutage = 180; // like the field case

void write_folder(const fs::path& dir) {
    fs::create_directories(dir);
    std::ofstream ts(dir / "timeseries.csv");
    ts << "t_s,free,used,lwip,mbedtls,app,min_free,alloc_failures,pcbs_live,SYN_SENT,"
          "ESTABLISHED,FIN_WAIT_1,FIN_WAIT_2,CLOSE_WAIT,CLOSING,LAST_ACK,TIME_WAIT,"
          "heap_used_min,heap_used_max\n";
    for (int t = 0; t <= kSeconds; ++t) {
        const bool out = t % kCycle >= 120 && t % kCycle < 120 + kOutage;
        const int lwip = 2000 + (t / kCycle % 3) * 1900, tls = out ? 0 : 32000;
        const int used = lwip + tls + 2048;
        ts << t << ',' << 43008 - used << ',' << used << ',' << lwip << ',' << tls << ",2048,"
           << 43008 - used << ",0," << 1 + t / kCycle % 3 << ",0," << (out ? 0 : 1) << ','
           << t / kCycle % 3 << ",0,0,0,0,0," << used << ',' << used << '\n';
    }
    std::ofstream ev(dir / "events.jsonl");
    for (int c = 0; c * kCycle < kSeconds; ++c) {
        const int start = c * kCycle + 120;
        ev << "{\"t_s\": " << start << ", \"type\": \"fault_start\", \"fault\": \"outage\"}\n"
           << "{\"t_s\": " << start + 30 << ", \"type\": \"app_close\"}\n"
           << "{\"t_s\": " << start + kOutage << ", \"type\": \"fault_end\", \"fault\": "
           << "\"outage\"}\n{\"t_s\": " << start + kOutage + 10 << ", \"type\": "
           << "\"mqtt_connected\"}\n";
    }
    std::ofstream s(dir / "summary.json");
    s << "{\"status\": \"passed\", \"scenario\": \"bench_24h\", \"variant\": \"base\", "
         "\"seed\": 1, \"sim_time_s\": "
      << kSeconds
      << ", \"wall_time_s\": 1, \"profile\": \"esp-idf-v4.4\", \"options\": {}, \"heap\": "
         "{\"budget\": 43008, \"baseline_free\": 40000, \"min_free\": 3000, \"final_free\": "
         "5000, \"alloc_failures\": 0, \"by_subsystem\": {}}, \"pcbs\": [], \"app\": {}, "
         "\"time\": {}, \"faults\": [{\"name\": \"outage\", \"type\": \"nat_reset\", "
         "\"windows\": [";
    for (int c = 0; c * kCycle < kSeconds; ++c)
        s << (c ? "," : "") << '[' << c * kCycle + 120 << ',' << c * kCycle + 120 + kOutage << ']';
    s << "]}], \"expectations\": []}\n";
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

} // namespace

int main(int argc, char** argv) {
    const bool own = argc < 2;
    const fs::path dir = own ? fs::temp_directory_path() / "lwipsim-report-bench" : argv[1];
    write_folder(dir);
    auto t0 = std::chrono::steady_clock::now();
    const fs::path page = write_report(dir);
    const double report_s = seconds_since(t0);
    std::printf("report.html (interactive charts, %d samples): %.2f s, %.1f MB\n", kSeconds + 1,
                report_s, static_cast<double>(fs::file_size(page)) / 1e6);
    t0 = std::chrono::steady_clock::now();
    render_results(dir);
    std::printf("plots (gnuplot, svg+png) + report.html: %.2f s\n", seconds_since(t0));
    if (own)
        fs::remove_all(dir);
    return 0;
}
