#pragma once
// What one allocation takes from the device's free heap: the requested bytes grown by the
// allocator's bookkeeping. A real heap spends more than it hands out (a header in front of each
// block, sizes rounded up to its alignment, a smallest block, heap-poisoning canaries), and the
// free heap a device reports drops by that larger figure; lwipsim's budget must drop by it too.
//
// charge(size) = max(round_up(size + per_request, alignment), min_block) + header
//
// Two models: flat (size + N, the user's `heap.block_overhead`) and ESP-IDF v4.4's heap
// (docs/fidelity.md, "ESP-IDF heap per-block cost", for the source of every constant).

#include <cstddef>

namespace lwipsim::heap {

/// ESP-IDF's "Heap corruption detection" (Kconfig choice HEAP_CORRUPTION_DETECTION).
enum class Poisoning { kNone, kLight, kComprehensive };

struct BlockCost {
    size_t per_request = 0; ///< bytes added to the request before rounding (poisoning canaries)
    size_t alignment = 1;   ///< block sizes are rounded up to a multiple of this (a power of 2)
    size_t min_block = 0;   ///< smallest block the allocator hands out, header not included
    size_t header = 0;      ///< bytes the allocator keeps per block outside its usable part

    /// Bytes a request of `size` takes from the free heap.
    [[nodiscard]] size_t charge(size_t size) const;

    /// Each block costs its size plus `overhead` bytes, no rounding.
    static BlockCost flat(size_t overhead);
    /// ESP-IDF v4.4 on a 32-bit ESP32: its TLSF heap (multi_heap.c), with heap poisoning's
    /// head and tail canaries and, with task tracking, the owning task's handle.
    static BlockCost esp_idf_v4_4(Poisoning poisoning, bool task_tracking);

    bool operator==(const BlockCost&) const = default;
};

} // namespace lwipsim::heap
