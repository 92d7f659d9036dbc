#pragma once
// The device heap: one byte budget (the device's free heap at start) that lwIP, mbedTLS and the
// device application all allocate from, as on an ESP32. Past the budget an allocation fails
// (NULL) as it would on the device. Accounting is by subsystem; each block is charged what the
// device's allocator would take from its free heap for that request (BlockCost: header,
// alignment, smallest block, poisoning canaries).
//
// One simulated device per process, so the heap is a process-wide instance. Only simulated
// threads (one runs at a time) call into it; no locking is needed or done.

#include "sim/clock/sim_time.h"
#include "sim/heap/block_cost.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

namespace lwipsim::heap {

enum class Subsystem : uint8_t { kLwip, kMbedtls, kApp };
inline constexpr size_t kSubsystemCount = 3;
std::string_view subsystem_name(Subsystem s);

struct SubsystemStats {
    size_t in_use = 0; ///< bytes charged (BlockCost::charge) of live blocks
    size_t peak = 0;
    uint64_t allocs = 0;
    uint64_t frees = 0;
    uint64_t failures = 0;
};

/// Which allocations to fail on purpose (Seastar's fail_after, and "from time T").
struct FailureInjection {
    std::optional<uint64_t> fail_nth;        ///< the Nth allocation overall (1-based) fails
    std::optional<Subsystem> fail_subsystem; ///< every allocation of this subsystem fails...
    clock::SimTime fail_from{};              ///< ...from this time on
};

/// Told about every allocation, free and failure (probes use it, e.g. to see a PCB freed).
class HeapObserver {
  public:
    virtual ~HeapObserver() = default;
    virtual void on_alloc(Subsystem, const void* /*ptr*/, size_t /*size*/) {}
    virtual void on_free(Subsystem, const void* /*ptr*/, size_t /*size*/) {}
    virtual void on_failure(Subsystem, size_t /*size*/, bool /*injected*/) {}
};

class DeviceHeap {
  public:
    static DeviceHeap& instance();

    /// Sets the budget and what each block costs; only while nothing is allocated.
    void configure(size_t budget, BlockCost cost);
    /// Changes the budget at any time (not below what is in use): "free heap drops to N".
    void set_budget(size_t budget);
    void set_clock(std::function<clock::SimTime()> now) { now_ = std::move(now); }
    void set_failure_injection(FailureInjection f) { inject_ = f; }
    void set_observer(HeapObserver* o) { observer_ = o; }

    void* allocate(Subsystem s, size_t size);
    void* allocate_zeroed(Subsystem s, size_t count, size_t size);
    void release(void* ptr);

    [[nodiscard]] size_t budget() const { return budget_; }
    [[nodiscard]] size_t in_use() const { return in_use_; }
    [[nodiscard]] size_t free_bytes() const { return budget_ - in_use_; }
    [[nodiscard]] size_t min_free() const { return budget_ - peak_; }
    [[nodiscard]] uint64_t failures() const;
    [[nodiscard]] uint64_t allocation_count() const { return alloc_counter_; }
    [[nodiscard]] const SubsystemStats& stats(Subsystem s) const {
        return stats_[static_cast<size_t>(s)];
    }
    [[nodiscard]] const BlockCost& block_cost() const { return cost_; }
    /// Bytes the accounting charges for one live block (BlockCost::charge of its size).
    /// `ptr` must be what allocate() returned and not yet released (probes attributing heap to
    /// an owner, e.g. a PCB and its queued segments).
    [[nodiscard]] size_t charge_of(const void* ptr) const;
    /// Lowest and highest bytes in use since the previous call (or configure()).
    struct UseWindow {
        size_t min_used = 0, max_used = 0;
    };
    /// Returns the window and starts the next one at the current use. A sampler calls it at
    /// each sample, so a peak between two samples (a TLS handshake lasts milliseconds) is
    /// still seen.
    UseWindow take_use_window();
    /// The sum of the charged size of every live block, walked one by one (for cross-checks).
    [[nodiscard]] size_t sum_live_blocks() const;
    [[nodiscard]] size_t live_blocks() const;

  private:
    DeviceHeap() = default;
    bool should_fail(Subsystem s, size_t charge, bool& injected);

    size_t budget_ = 320 * 1024;
    BlockCost cost_;
    size_t in_use_ = 0;
    size_t peak_ = 0;
    UseWindow window_;
    uint64_t alloc_counter_ = 0;
    std::array<SubsystemStats, kSubsystemCount> stats_{};
    FailureInjection inject_;
    std::function<clock::SimTime()> now_;
    HeapObserver* observer_ = nullptr;
};

} // namespace lwipsim::heap

// C entry points for lwIP (mem_clib_*) and mbedTLS (platform calloc/free).
extern "C" {
void* lwipsim_lwip_malloc(size_t size);
void* lwipsim_lwip_calloc(size_t count, size_t size);
void lwipsim_lwip_free(void* ptr);
void* lwipsim_mbedtls_calloc(size_t count, size_t size);
void lwipsim_mbedtls_free(void* ptr);
}
