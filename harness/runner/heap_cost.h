#pragma once
// The scenario's `heap` section turned into the device heap's per-block cost (BlockCost).

#include "harness/scenario/scenario.h"
#include "sim/heap/block_cost.h"

namespace lwipsim::runner {

/// allocator esp-idf-v4.4: ESP-IDF v4.4's heap with the scenario's poisoning and task
/// tracking; allocator none: each block costs its size plus `block_overhead`.
heap::BlockCost block_cost(const scenario::HeapSettings& h);

} // namespace lwipsim::runner
