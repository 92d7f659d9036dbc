// Plot generation for a day-long run: three variants of a 24 h scenario sampled every second
// (86,400 timeseries rows each), written as result folders in the documented format
// (docs/results.md), then `plot_comparison` as `lwipsim plot` does it. Prints wall times for
// the whole comparison figure set with and without decimation, and per plot. Goal: a few
// seconds (issue 14). The data is synthetic but shaped like the field case: the free heap moves
// every second, reconnects every few minutes, closed PCBs pile up in FIN_WAIT_1.
//
// Usage: plot_bench [WORK_DIR]   (default: a fresh folder under $TMPDIR, removed at the end)

#include "harness/report/plots.h"
#include "harness/report/result_folder.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using lwipsim::report::PlotOptions;
using Clock = std::chrono::steady_clock;

constexpr int kSeconds = 24 * 3600;
constexpr long kBudget = 43008;

double since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// One variant's folder: `leak_every` reconnects leave a PCB in FIN_WAIT_1 (0: none).
void write_variant(const fs::path& dir, const std::string& variant, int leak_every) {
    fs::create_directories(dir);
    std::ofstream ts(dir / "timeseries.csv");
    ts << "t_s,free,used,lwip,mbedtls,app,min_free,alloc_failures,pcbs_live,SYN_SENT,ESTABLISHED,"
          "FIN_WAIT_1,FIN_WAIT_2,CLOSE_WAIT,CLOSING,LAST_ACK,TIME_WAIT,heap_used_min,"
          "heap_used_max,closed_pcb_heap,closed_pcb_heap_SYN_SENT,closed_pcb_heap_ESTABLISHED,"
          "closed_pcb_heap_FIN_WAIT_1,closed_pcb_heap_FIN_WAIT_2,closed_pcb_heap_CLOSE_WAIT,"
          "closed_pcb_heap_CLOSING,closed_pcb_heap_LAST_ACK,closed_pcb_heap_TIME_WAIT\n";
    std::ofstream ev(dir / "events.jsonl");
    std::string pcbs;
    unsigned x = 12345;
    long min_free = kBudget;
    int leaked = 0, id = 0;
    for (int t = 0; t <= kSeconds; ++t) {
        x = x * 1103515245u + 12345u;
        const int session = t / 300; // a reconnect every 5 min
        if (t % 300 == 0) {
            ++id;
            ev << "{\"t_s\":" << t << ",\"type\":\"pcb_opened\"}\n"
               << "{\"t_s\":" << t + 0.4 << ",\"type\":\"tls_handshake_ok\"}\n"
               << "{\"t_s\":" << t + 0.5 << ",\"type\":\"mqtt_connected\"}\n";
            if (t > 0)
                ev << "{\"t_s\":" << t << ",\"type\":\"app_close\"}\n";
            if (leak_every > 0 && session % leak_every == 0 && leaked < 8)
                ++leaked;
            const double opened = t;
            pcbs += std::string(pcbs.empty() ? "" : ",") + "{\"id\":" + std::to_string(id) +
                    ",\"local_port\":" + std::to_string(49152 + id % 16000) +
                    ",\"remote_port\":8883,\"opened_at_s\":" + std::to_string(opened) +
                    ",\"closed_at_s\":" + std::to_string(opened + 299) +
                    ",\"freed_at_s\":" + std::to_string(opened + 299.5) +
                    ",\"free_reason\":\"closed_normally\",\"states\":[{\"state\":\"SYN_SENT\","
                    "\"at_s\":" +
                    std::to_string(opened) +
                    "},{\"state\":\"ESTABLISHED\",\"at_s\":" + std::to_string(opened + 0.2) +
                    "}],\"retransmissions\":0}";
        }
        const long closed = 1888L * leaked;
        const long used = 30000 + closed + static_cast<long>((x >> 8) % 700);
        const long peak = used + (t % 300 == 1 ? 9000 : static_cast<long>((x >> 4) % 300));
        min_free = std::min(min_free, kBudget - peak);
        ts << t << ',' << kBudget - used << ',' << used << ",5000," << used - 5200 << ",200,"
           << min_free << ",0," << 1 + leaked << ",0,1," << leaked << ",0,0,0,0,0," << used - 50
           << ',' << peak << ',' << closed << ",0,0," << closed << ",0,0,0,0,0\n";
        if (t % 1800 == 600)
            ev << "{\"t_s\":" << t << ",\"type\":\"fault_start\",\"fault\":\"outage\"}\n"
               << "{\"t_s\":" << t + 180 << ",\"type\":\"fault_end\",\"fault\":\"outage\"}\n";
    }
    std::ofstream sum(dir / "summary.json");
    sum << "{\"status\":\"passed\",\"scenario\":\"day_long\",\"variant\":\"" << variant
        << "\",\"seed\":1,\"profile\":\"esp-idf-v4.4\",\"sim_time_s\":" << kSeconds
        << ",\"wall_time_s\":1,\"options\":{},\"heap\":{\"budget\":" << kBudget
        << ",\"baseline_free\":" << kBudget - 30000 << ",\"min_free\":" << min_free
        << ",\"final_free\":10000,\"alloc_failures\":0,\"by_subsystem\":{}},\"pcbs\":[" << pcbs
        << "],\"app\":{},\"time\":{},\"faults\":[],\"expectations\":[]}\n";
}

// CPU seconds of this process and of its finished children (gnuplot) so far: on a loaded
// machine wall time says little, CPU time says what the work costs.
double cpu_s(int who) {
    rusage u{};
    getrusage(who, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct Cost {
    double wall, self_cpu, gnuplot_cpu;
};

Cost plot_once(const fs::path& parent, PlotOptions opt) {
    fs::remove_all(parent / "plots");
    const auto t0 = Clock::now();
    const double self0 = cpu_s(RUSAGE_SELF), kids0 = cpu_s(RUSAGE_CHILDREN);
    lwipsim::report::plot_comparison(parent, opt);
    return {since(t0), cpu_s(RUSAGE_SELF) - self0, cpu_s(RUSAGE_CHILDREN) - kids0};
}

void print(const char* what, const Cost& c) {
    std::printf("%-58s %6.2f s wall, CPU %5.2f s lwipsim + %5.2f s gnuplot\n", what, c.wall,
                c.self_cpu, c.gnuplot_cpu);
}

} // namespace

int main(int argc, char** argv) {
    const char* tmp = std::getenv("TMPDIR");
    const fs::path work = argc > 1 ? fs::path(argv[1])
                                   : fs::path(tmp ? tmp : "/tmp") /
                                         ("lwipsim-plot-bench-" + std::to_string(::getpid()));
    const auto t0 = Clock::now();
    write_variant(work / "linger_off", "linger_off", 3);
    write_variant(work / "linger_0", "linger_0", 0);
    write_variant(work / "linger_10s", "linger_10s", 12);
    std::printf("3 variants x %d rows written in %.2f s (%s)\n", kSeconds + 1, since(t0),
                work.c_str());
    const auto t1 = Clock::now();
    for (const char* v : {"linger_off", "linger_0", "linger_10s"})
        (void)lwipsim::report::load_run(work / v);
    std::printf("loading the three folders: %.2f s\n", since(t1));

    PlotOptions all;
    print("all 4 plots, SVG + PNG, decimated, gnuplot in parallel:", plot_once(work, all));
    PlotOptions raw = all;
    raw.decimate = false;
    print("same without decimation:", plot_once(work, raw));
    for (const std::string name : {"heap", "closed_pcb_heap", "pcb_timeline", "pcb_states"}) {
        PlotOptions one = all;
        one.heap = name == "heap";
        one.closed_pcb_heap = name == "closed_pcb_heap";
        one.pcb_timeline = name == "pcb_timeline";
        one.pcb_states = name == "pcb_states";
        print(("  " + name + " alone (loading included):").c_str(), plot_once(work, one));
    }
    if (argc <= 1)
        fs::remove_all(work);
    return 0;
}
