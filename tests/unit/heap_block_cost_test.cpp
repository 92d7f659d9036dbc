// What one allocation takes from the device heap. Every expected value is worked out by hand
// from ESP-IDF v4.4.4's components/heap on a 32-bit ESP32 (4-byte size_t and pointers):
//   TLSF (heap_tlsf.c adjust_request_size, heap_tlsf_config.h, heap_tlsf_block_functions.h):
//     block = max(round_up(request, 4), 12)     ALIGN_SIZE = 4; block_size_min = 16 - 4
//     the free heap drops by block + 4          multi_heap_malloc_impl: block size plus
//                                               tlsf_alloc_overhead() = sizeof(size_t)
//   poisoning (multi_heap_poisoning.c): request + POISON_OVERHEAD, which is
//     head canary 4 + alloc_size 4 + tail canary 4 = 12, plus a 4-byte task handle with
//     HEAP_TASK_TRACKING; light and comprehensive use the same layout.
#include "sim/heap/block_cost.h"
#include "sim/heap/device_heap.h"

#include <gtest/gtest.h>

using lwipsim::heap::BlockCost;
using lwipsim::heap::DeviceHeap;
using lwipsim::heap::Poisoning;
using lwipsim::heap::Subsystem;

TEST(BlockCost, EspIdfWithoutPoisoning) {
    BlockCost c = BlockCost::esp_idf_v4_4(Poisoning::kNone, false);
    EXPECT_EQ(c.charge(1), 16u);  // 1 -> 4 -> min 12, + 4
    EXPECT_EQ(c.charge(12), 16u); // exactly the smallest block, + 4
    EXPECT_EQ(c.charge(13), 20u); // 13 -> 16, + 4
    EXPECT_EQ(c.charge(16), 20u); // already a multiple of 4
    EXPECT_EQ(c.charge(17), 24u); // 17 -> 20, + 4
    EXPECT_EQ(c.charge(40), 44u); // esp-mqtt's outbox_item_t
    EXPECT_EQ(c.charge(4096), 4100u);
    EXPECT_EQ(c.charge(4097), 4104u); // 4097 -> 4100, + 4
}

TEST(BlockCost, EspIdfPoisoningAddsTwelveBytesBeforeRounding) {
    for (Poisoning p : {Poisoning::kLight, Poisoning::kComprehensive}) {
        BlockCost c = BlockCost::esp_idf_v4_4(p, false);
        EXPECT_EQ(c.charge(1), 20u);      // 1 + 12 = 13 -> 16, + 4
        EXPECT_EQ(c.charge(4), 20u);      // 4 + 12 = 16, + 4
        EXPECT_EQ(c.charge(13), 32u);     // 13 + 12 = 25 -> 28, + 4
        EXPECT_EQ(c.charge(4096), 4112u); // 4096 + 12 = 4108, + 4
    }
}

TEST(BlockCost, EspIdfTaskTrackingAddsTheTaskHandle) {
    BlockCost c = BlockCost::esp_idf_v4_4(Poisoning::kLight, true);
    EXPECT_EQ(c.charge(1), 24u);      // 1 + 16 = 17 -> 20, + 4
    EXPECT_EQ(c.charge(13), 36u);     // 13 + 16 = 29 -> 32, + 4
    EXPECT_EQ(c.charge(4096), 4116u); // 4096 + 16 = 4112, + 4
}

TEST(BlockCost, FlatIsSizePlusOverhead) {
    EXPECT_EQ(BlockCost::flat(0).charge(13), 13u);
    EXPECT_EQ(BlockCost::flat(8).charge(13), 21u);
    EXPECT_EQ(BlockCost{}.charge(1), 1u);
}

// The device heap charges the model's figure: free heap, the minimum, the per-subsystem
// accounting and charge_of all move by it, and a request fails when its charge (not its
// size) is over what is free.
TEST(DeviceHeapCharge, FreeHeapDropsByTheEspIdfCharge) {
    auto& heap = DeviceHeap::instance();
    heap.configure(1000, BlockCost::esp_idf_v4_4(Poisoning::kNone, false));
    void* a = heap.allocate(Subsystem::kApp, 13); // 20
    void* b = heap.allocate(Subsystem::kLwip, 1); // 16
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(heap.free_bytes(), 1000u - 20u - 16u);
    EXPECT_EQ(heap.charge_of(a), 20u);
    EXPECT_EQ(heap.stats(Subsystem::kApp).in_use, 20u);
    EXPECT_EQ(heap.sum_live_blocks(), 36u);
    heap.release(a);
    heap.release(b);
    EXPECT_EQ(heap.free_bytes(), 1000u);
    EXPECT_EQ(heap.min_free(), 1000u - 36u);

    heap.configure(20, BlockCost::esp_idf_v4_4(Poisoning::kNone, false));
    EXPECT_EQ(heap.allocate(Subsystem::kApp, 17), nullptr) << "17 B costs 24 B";
    void* c = heap.allocate(Subsystem::kApp, 16); // exactly 20
    EXPECT_NE(c, nullptr);
    EXPECT_EQ(heap.free_bytes(), 0u);
    heap.release(c);
}
