#include "harness/report/gnuplot_run.h"

#include "harness/report/errors.h"
#include "harness/report/result_folder.h"

#include <chrono>
#include <system_error>
#include <thread>

namespace lwipsim::report {

namespace fs = std::filesystem;

// One plot takes gnuplot well under a second; the bound only keeps a hung gnuplot from
// hanging the CLI.
constexpr std::chrono::minutes kGnuplotTimeout{5};

void run_gnuplot(const fs::path& dir, const std::string& gnuplot, std::vector<GnuplotRun>& runs) {
    std::vector<std::thread> threads;
    for (GnuplotRun& run : runs) {
        threads.emplace_back([&dir, &gnuplot, &run] {
            try {
                host::CommandOptions io;
                io.cwd = dir;
                io.stdout_file = run.log;
                io.stderr_file = run.log;
                run.result =
                    host::run_command({gnuplot, run.script.filename().string()}, kGnuplotTimeout, io);
            } catch (...) {
                run.error = std::current_exception();
            }
        });
    }
    for (std::thread& t : threads)
        t.join();
    std::error_code ec;
    for (GnuplotRun& run : runs) {
        if (run.error)
            std::rethrow_exception(run.error);
        if (!run.result.success())
            throw ReportError(
                "gnuplot failed on " + run.main_script.string() + " (" +
                run.script.filename().string() + ", " +
                (run.result.timed_out ? std::string("timed out") : run.result.status.describe()) +
                "):\n" + read_text(run.log));
        for (const fs::path& o : run.outputs) {
            if (fs::file_size(o, ec) == 0 || ec)
                throw ReportError("gnuplot wrote no " + o.string() + " from " +
                                  run.script.string() + "\n" + read_text(run.log));
        }
    }
}

} // namespace lwipsim::report
