#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace lwipsim::host {

// One CPU for one worker process. The simulated threads, the scheduler and the managed broker
// on virtual time hand one baton around: only one of them runs at a time, so they lose nothing
// by sharing a CPU, and each hand-over then stays on it. Unpinned, the kernel wakes the next
// thread on the other (idle) CPU at almost every hand-over, and on a virtual machine that CPU
// first has to be woken from halt (docs/performance.md, "One CPU per worker"). Shadow, the
// network simulator that also runs real programs, pins for the same reason.
//
// Concurrent workers (`--jobs`, a parallel ctest) each claim a different CPU through a lock
// file per CPU held for the process's life (flock: the kernel drops it however the process
// ends). When every allowed CPU is claimed, or the caller already narrowed the process to one
// CPU (taskset), the worker is left where it is and the kernel balances it.
class CpuClaim {
  public:
    // Claims a free CPU among those this thread may run on and pins the calling thread to it.
    // Call it before the process starts other threads or children: they inherit the pin.
    // `lock_dir` is created when missing. nullopt, pinning nothing, when there is no CPU to
    // claim or the lock folder cannot be used; `why_not` then says why.
    static std::optional<CpuClaim> claim(const std::filesystem::path& lock_dir,
                                         std::string* why_not = nullptr);
    ~CpuClaim();
    CpuClaim(CpuClaim&& other) noexcept;
    CpuClaim& operator=(CpuClaim&& other) noexcept;
    CpuClaim(const CpuClaim&) = delete;
    CpuClaim& operator=(const CpuClaim&) = delete;

    int cpu() const { return cpu_; }

  private:
    CpuClaim(int cpu, int lock_fd) : cpu_(cpu), lock_fd_(lock_fd) {}
    int cpu_;
    int lock_fd_;
};

} // namespace lwipsim::host
