#include "harness/runner/heap_cost.h"

namespace lwipsim::runner {

namespace {
heap::Poisoning poisoning(scenario::HeapPoisoning p) {
    switch (p) {
    case scenario::HeapPoisoning::kNone:
        return heap::Poisoning::kNone;
    case scenario::HeapPoisoning::kLight:
        return heap::Poisoning::kLight;
    case scenario::HeapPoisoning::kComprehensive:
        return heap::Poisoning::kComprehensive;
    }
    return heap::Poisoning::kNone;
}
} // namespace

heap::BlockCost block_cost(const scenario::HeapSettings& h) {
    if (h.allocator == scenario::HeapAllocator::kNone)
        return heap::BlockCost::flat(static_cast<size_t>(h.block_overhead)); // at most 1024
    return heap::BlockCost::esp_idf_v4_4(poisoning(h.poisoning), h.task_tracking);
}

} // namespace lwipsim::runner
