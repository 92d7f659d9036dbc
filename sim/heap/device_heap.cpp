#include "sim/heap/device_heap.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

namespace lwipsim::heap {

namespace {
// Every block carries a header with its size and owner, so release() needs no lookup and
// live blocks can be walked for the accounting cross-check.
struct alignas(std::max_align_t) BlockHeader {
    BlockHeader* prev;
    BlockHeader* next;
    size_t size;
    Subsystem subsystem;
};
BlockHeader* g_live = nullptr;

[[noreturn]] void heap_corrupt(const char* what) {
    std::fprintf(stderr, "lwipsim: device heap invariant broken: %s\n", what);
    std::abort();
}
} // namespace

std::string_view subsystem_name(Subsystem s) {
    switch (s) {
    case Subsystem::kLwip:
        return "lwip";
    case Subsystem::kMbedtls:
        return "mbedtls";
    case Subsystem::kApp:
        return "app";
    }
    return "?";
}

DeviceHeap& DeviceHeap::instance() {
    static DeviceHeap heap;
    return heap;
}

void DeviceHeap::configure(size_t budget, BlockCost cost) {
    if (in_use_ != 0)
        heap_corrupt("configure() while blocks are live");
    budget_ = budget;
    cost_ = cost;
    peak_ = 0;
    window_ = {};
    alloc_counter_ = 0;
    stats_ = {};
}

void DeviceHeap::set_budget(size_t budget) {
    if (budget < in_use_)
        heap_corrupt("budget below what is in use");
    budget_ = budget;
}

DeviceHeap::UseWindow DeviceHeap::take_use_window() {
    UseWindow w = window_;
    window_ = {in_use_, in_use_};
    return w;
}

uint64_t DeviceHeap::failures() const {
    uint64_t n = 0;
    for (const auto& s : stats_)
        n += s.failures;
    return n;
}

bool DeviceHeap::should_fail(Subsystem s, size_t charge, bool& injected) {
    injected = false;
    if (inject_.fail_nth && *inject_.fail_nth == alloc_counter_)
        injected = true;
    if (inject_.fail_subsystem && *inject_.fail_subsystem == s && now_ &&
        now_() >= inject_.fail_from) {
        injected = true;
    }
    return injected || charge > budget_ - in_use_;
}

void* DeviceHeap::allocate(Subsystem s, size_t size) {
    auto& st = stats_[static_cast<size_t>(s)];
    ++alloc_counter_;
    size_t charge = cost_.charge(size);
    bool injected = false;
    if (should_fail(s, charge, injected)) {
        ++st.failures;
        if (observer_ != nullptr)
            observer_->on_failure(s, size, injected);
        return nullptr;
    }
    auto* h = static_cast<BlockHeader*>(std::malloc(sizeof(BlockHeader) + size));
    if (h == nullptr)
        throw std::bad_alloc();
    h->size = size;
    h->subsystem = s;
    h->prev = nullptr;
    h->next = g_live;
    if (g_live != nullptr)
        g_live->prev = h;
    g_live = h;
    in_use_ += charge;
    if (in_use_ > peak_)
        peak_ = in_use_;
    window_.max_used = std::max(window_.max_used, in_use_);
    st.in_use += charge;
    if (st.in_use > st.peak)
        st.peak = st.in_use;
    ++st.allocs;
    void* ptr = h + 1;
    if (observer_ != nullptr)
        observer_->on_alloc(s, ptr, size);
    return ptr;
}

void* DeviceHeap::allocate_zeroed(Subsystem s, size_t count, size_t size) {
    if (size != 0 && count > SIZE_MAX / size)
        return nullptr;
    void* p = allocate(s, count * size);
    if (p != nullptr)
        std::memset(p, 0, count * size);
    return p;
}

void DeviceHeap::release(void* ptr) {
    if (ptr == nullptr)
        return;
    auto* h = static_cast<BlockHeader*>(ptr) - 1;
    auto& st = stats_[static_cast<size_t>(h->subsystem)];
    size_t charge = cost_.charge(h->size);
    if (st.in_use < charge || in_use_ < charge)
        heap_corrupt("free of more than is in use");
    // The observer sees the block while it is still intact (a PCB probe reads its fields).
    if (observer_ != nullptr)
        observer_->on_free(h->subsystem, ptr, h->size);
    st.in_use -= charge;
    in_use_ -= charge;
    window_.min_used = std::min(window_.min_used, in_use_);
    ++st.frees;
    if (h->prev != nullptr)
        h->prev->next = h->next;
    else
        g_live = h->next;
    if (h->next != nullptr)
        h->next->prev = h->prev;
    std::free(h);
}

size_t DeviceHeap::charge_of(const void* ptr) const {
    return cost_.charge((static_cast<const BlockHeader*>(ptr) - 1)->size);
}

size_t DeviceHeap::sum_live_blocks() const {
    size_t sum = 0;
    for (const BlockHeader* h = g_live; h != nullptr; h = h->next)
        sum += cost_.charge(h->size);
    return sum;
}

size_t DeviceHeap::live_blocks() const {
    size_t n = 0;
    for (const BlockHeader* h = g_live; h != nullptr; h = h->next)
        ++n;
    return n;
}

} // namespace lwipsim::heap

using lwipsim::heap::DeviceHeap;
using lwipsim::heap::Subsystem;

extern "C" {
void* lwipsim_lwip_malloc(size_t size) {
    return DeviceHeap::instance().allocate(Subsystem::kLwip, size);
}
void* lwipsim_lwip_calloc(size_t count, size_t size) {
    return DeviceHeap::instance().allocate_zeroed(Subsystem::kLwip, count, size);
}
void lwipsim_lwip_free(void* ptr) {
    DeviceHeap::instance().release(ptr);
}
void* lwipsim_mbedtls_calloc(size_t count, size_t size) {
    return DeviceHeap::instance().allocate_zeroed(Subsystem::kMbedtls, count, size);
}
void lwipsim_mbedtls_free(void* ptr) {
    DeviceHeap::instance().release(ptr);
}
}
