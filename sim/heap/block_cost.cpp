#include "sim/heap/block_cost.h"

#include <algorithm>

namespace lwipsim::heap {

size_t BlockCost::charge(size_t size) const {
    size_t wanted = size + per_request;
    size_t rounded = (wanted + alignment - 1) / alignment * alignment;
    return std::max(rounded, min_block) + header;
}

BlockCost BlockCost::flat(size_t overhead) {
    return BlockCost{.header = overhead};
}

// Sources: ESP-IDF tag v4.4.4 (the field device's release; v4.4 has the same allocator),
// components/heap. docs/fidelity.md cites each file and line. On the ESP32 (Xtensa, 32-bit)
// size_t and pointers are 4 bytes.
BlockCost BlockCost::esp_idf_v4_4(Poisoning poisoning, bool task_tracking) {
    constexpr size_t kWord = 4;
    BlockCost c;
    // TLSF: a used block keeps only its size field (block_header_overhead = sizeof(size_t));
    // requests are rounded up to ALIGN_SIZE = 1 << 2 and to at least block_size_min =
    // sizeof(block_header_t) - sizeof(pointer) = 16 - 4 (adjust_request_size). Since v4.4.2
    // multi_heap_malloc lowers the free heap by the block's size plus that header.
    c.header = kWord;
    c.alignment = kWord;
    c.min_block = 4 * kWord - kWord;
    if (poisoning != Poisoning::kNone) {
        // multi_heap_poisoning.c asks TLSF for size + POISON_OVERHEAD: poison_head_t (a
        // 32-bit canary, the task handle with HEAP_TASK_TRACKING, a size_t) and poison_tail_t
        // (a 32-bit canary). Light and comprehensive differ in fill patterns, not in size.
        c.per_request = 2 * kWord + (task_tracking ? kWord : 0) + kWord;
    }
    return c;
}

} // namespace lwipsim::heap
