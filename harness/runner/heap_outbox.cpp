#include "harness/runner/heap_outbox.h"

#include "sim/heap/device_heap.h"

#include <algorithm>

namespace lwipsim::runner {

using heap::DeviceHeap;
using heap::Subsystem;

bool HeapOutbox::store(uint16_t packet_id, size_t encoded_size, clock::SimTime now) {
    auto& heap = DeviceHeap::instance();
    void* item = heap.allocate_zeroed(Subsystem::kApp, 1, kItemSize);
    if (item == nullptr)
        return false;
    void* message = heap.allocate(Subsystem::kApp, encoded_size);
    if (message == nullptr) {
        heap.release(item);
        return false;
    }
    items_.push_back(Item{session_, packet_id, encoded_size, now, item, message});
    bytes_ += kItemSize + encoded_size;
    peak_bytes_ = std::max(peak_bytes_, bytes_);
    return true;
}

std::vector<HeapOutbox::Item>::iterator HeapOutbox::find(uint16_t packet_id) {
    return std::find_if(items_.begin(), items_.end(), [&](const Item& i) {
        return i.session == session_ && i.packet_id == packet_id;
    });
}

std::vector<HeapOutbox::Item>::iterator HeapOutbox::erase(std::vector<Item>::iterator it) {
    auto& heap = DeviceHeap::instance();
    heap.release(it->message_block);
    heap.release(it->item_block);
    bytes_ -= kItemSize + it->size;
    return items_.erase(it);
}

void HeapOutbox::transmitted(uint16_t packet_id, clock::SimTime now) {
    if (auto it = find(packet_id); it != items_.end())
        it->tick = now;
}

void HeapOutbox::acked(uint16_t packet_id) {
    if (auto it = find(packet_id); it != items_.end())
        erase(it);
}

bool HeapOutbox::holds(uint16_t packet_id) const {
    return std::any_of(items_.begin(), items_.end(), [&](const Item& i) {
        return i.session == session_ && i.packet_id == packet_id;
    });
}

void HeapOutbox::delete_expired(clock::SimTime now) {
    // esp-mqtt: deleted when current_tick - tick > timeout (strictly).
    for (auto it = items_.begin(); it != items_.end();) {
        if (now - it->tick > kExpiry) {
            const Item gone = *it;
            it = erase(it);
            if (on_expired_)
                on_expired_(gone.packet_id, gone.size, gone.tick);
        } else {
            ++it;
        }
    }
}

} // namespace lwipsim::runner
