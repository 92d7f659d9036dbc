#pragma once

// Shared fixtures for the broker integration tests: scratch folders and child guards that clean
// up even when an assertion fails half-way.

#include <chrono>
#include <filesystem>
#include <string>

#include <sys/types.h>

namespace lwipsim::broker::testing {

// A fresh folder under the system temp dir, removed (with contents) on destruction.
class TempDir {
  public:
    explicit TempDir(const std::string& tag);
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

// Stops (SIGTERM then SIGKILL) and reaps a child started by the test if it is still ours.
class ChildGuard {
  public:
    explicit ChildGuard(pid_t pid) : pid_(pid) {}
    ~ChildGuard();
    ChildGuard(const ChildGuard&) = delete;
    ChildGuard& operator=(const ChildGuard&) = delete;
    void release() { pid_ = -1; }

  private:
    pid_t pid_;
};

std::string read_text(const std::filesystem::path& path);

// Polls `path` until it contains `needle` or `timeout` (real time) passes.
bool wait_for_text(const std::filesystem::path& path, const std::string& needle,
                   std::chrono::milliseconds timeout);

bool proc_exists(pid_t pid);

} // namespace lwipsim::broker::testing
