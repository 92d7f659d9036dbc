#pragma once
// esp-mqtt's outbox on the device heap. Source read: espressif/esp-mqtt at commit 001dc1a95eac
// (the one docs and mqtt_session.h cite): lib/mqtt_outbox.c outbox_enqueue, mqtt_client.c
// mqtt_enqueue, is_valid_mqtt_msg, mqtt_delete_expired_messages, esp_mqtt_client_publish.
//  * Each QoS > 0 message is stored before its first write with two allocations: a calloc of an
//    outbox_item_t and a malloc of a copy of the whole encoded message. If either fails the
//    message is still written, only not stored (mqtt_enqueue ignores the failure).
//  * The item's tick is set when the first write completes; resends do not move it.
//  * PUBACK deletes the item (is_valid_mqtt_msg -> outbox_delete): both blocks are freed.
//  * At every iteration of the client task's CONNECTED branch (after receiving), items whose
//    tick is more than OUTBOX_EXPIRED_TIMEOUT_MS = 30 s old (mqtt_config.h default) are deleted.
//    While disconnected nothing deletes them (esp-mqtt also does it in a publish call made while
//    disconnected; lwipsim's application publishes only while connected).
//  * The outbox belongs to the client, so it lives across reconnects.
//
// outbox_item_t { char* buffer; int len; int msg_id; int msg_type; int msg_qos;
//                 outbox_tick_t tick; pending_state_t pending; STAILQ_ENTRY next; }
// on a 32-bit ESP32 (4-byte pointers, int and enum; outbox_tick_t is a 64-bit long long,
// 8-byte aligned): 5 x 4 = 20, pad 4 -> tick at 24, 8 -> pending at 32, 4 -> next at 36, 4
// -> 40 bytes (a multiple of 8: no tail padding). kItemSize = 40.
//
// What lwipsim does not model: the resend of these items after a reconnect (each session starts
// with an empty resend queue; an item of a lost session waits here until the first connected
// cleanup 30 s after its tick deletes it).

#include "sim/clock/sim_time.h"
#include "sim/device/mqtt_session.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace lwipsim::runner {

class HeapOutbox final : public device::OutboxMemory {
  public:
    static constexpr size_t kItemSize = 40; ///< sizeof(outbox_item_t) on an ESP32, see above
    static constexpr clock::SimDuration kExpiry = clock::from_ms(30000);

    /// Told of each item the cleanup deletes: its packet id, encoded size and tick (when it
    /// was first sent). esp-mqtt can post MQTT_EVENT_DELETED for it.
    using ExpiredHook = std::function<void(uint16_t, size_t, clock::SimTime)>;
    explicit HeapOutbox(ExpiredHook on_expired = {}) : on_expired_(std::move(on_expired)) {}
    HeapOutbox(const HeapOutbox&) = delete;
    HeapOutbox& operator=(const HeapOutbox&) = delete;
    /// Frees nothing: like the client's buffers, the items still held when the run ends stay
    /// allocated (the device process ends with the run), so the final heap shows them.
    ~HeapOutbox() override = default;

    /// A new session numbers its packets from 1 again: items of earlier sessions keep their
    /// memory but can no longer be acknowledged.
    void begin_session() { ++session_; }

    bool store(uint16_t packet_id, size_t encoded_size, clock::SimTime now) override;
    void transmitted(uint16_t packet_id, clock::SimTime now) override;
    void acked(uint16_t packet_id) override;
    [[nodiscard]] bool holds(uint16_t packet_id) const override;
    void delete_expired(clock::SimTime now) override;

    /// Bytes held (messages + items, without the heap's per-block overhead) and their peak.
    [[nodiscard]] size_t bytes() const { return bytes_; }
    [[nodiscard]] size_t peak_bytes() const { return peak_bytes_; }

  private:
    struct Item {
        uint64_t session;
        uint16_t packet_id;
        size_t size; ///< encoded message bytes
        clock::SimTime tick;
        void* item_block;
        void* message_block;
    };
    std::vector<Item>::iterator find(uint16_t packet_id);
    std::vector<Item>::iterator erase(std::vector<Item>::iterator it);

    ExpiredHook on_expired_;
    std::vector<Item> items_;
    uint64_t session_ = 0;
    size_t bytes_ = 0;
    size_t peak_bytes_ = 0;
};

} // namespace lwipsim::runner
