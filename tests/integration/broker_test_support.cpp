#include "tests/integration/broker_test_support.h"

#include <fstream>
#include <iterator>
#include <thread>

#include <unistd.h>

#include "sim/host/child_process.h"

namespace lwipsim::broker::testing {

TempDir::TempDir(const std::string& tag) {
    // The pid keeps parallel ctest runs (other engineers, other test binaries) apart.
    path_ = std::filesystem::temp_directory_path() /
            ("lwipsim-broker-" + tag + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

ChildGuard::~ChildGuard() {
    if (pid_ > 0) {
        try {
            host::stop_child(pid_, std::chrono::seconds(2));
        } catch (...) {
        }
    }
}

std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool wait_for_text(const std::filesystem::path& path, const std::string& needle,
                   std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (read_text(path).find(needle) != std::string::npos) {
            return true;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

bool proc_exists(pid_t pid) {
    return std::filesystem::exists("/proc/" + std::to_string(pid));
}

} // namespace lwipsim::broker::testing
