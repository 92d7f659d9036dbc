// MqttSession against a scripted broker over an in-memory transport on a fake clock. Expected
// times follow from the esp-mqtt rules documented in sim/device/mqtt_session.h (1 s poll,
// strict "more than keepalive/2 since the last write"), worked out by hand in each test.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sim/device/mqtt_session.h"

namespace lwipsim::device {
namespace {

using Bytes = std::vector<uint8_t>;
using clock::from_ms;
using clock::SimDuration;
using clock::SimTime;

SimTime at_ms(int64_t ms) {
    return SimTime{} + from_ms(ms);
}

class FakeClock : public SessionClock {
  public:
    SimTime now() const override { return now_; }
    void advance_to(SimTime t) {
        ASSERT_GE(t, now_) << "fake clock must not go back";
        now_ = t;
    }

  private:
    SimTime now_{};
};

// One client-to-server packet as the broker saw it. Split with an independent reading of the
// fixed header (section 2.2), not with the library's decoder.
struct SeenPacket {
    SimTime at;
    uint8_t first_byte;
    Bytes body;
    [[nodiscard]] int type() const { return first_byte >> 4; }
};

class ScriptedBroker : public Transport {
  public:
    explicit ScriptedBroker(FakeClock& clock) : clock_(clock) {}

    // Reaction to each complete client packet; may call send()/close_at().
    std::function<void(const SeenPacket&, ScriptedBroker&)> on_packet;

    void send(SimTime at, Bytes bytes) { inbound_.emplace(at, std::move(bytes)); }
    void close_at(SimTime at) { close_at_ = at; }

    IoResult write_all(std::span<const uint8_t> data, SimDuration) override {
        if (close_at_ && clock_.now() >= *close_at_)
            return {IoStatus::kClosed, 0, 0, {}};
        pending_.insert(pending_.end(), data.begin(), data.end());
        split();
        return {IoStatus::kOk, data.size(), 0, {}};
    }

    IoResult read_some(std::span<uint8_t> buf, SimDuration timeout) override {
        const SimTime limit = clock_.now() + timeout;
        auto it = inbound_.begin();
        const bool data_due = it != inbound_.end() && it->first <= limit;
        const bool close_due = close_at_ && *close_at_ <= limit;
        if (close_due && (!data_due || *close_at_ < it->first)) {
            clock_.advance_to(std::max(clock_.now(), *close_at_));
            return {IoStatus::kClosed, 0, 0, {}};
        }
        if (!data_due) {
            clock_.advance_to(limit);
            return {IoStatus::kTimeout, 0, 0, {}};
        }
        clock_.advance_to(std::max(clock_.now(), it->first));
        Bytes& chunk = it->second;
        const size_t n = std::min(buf.size(), chunk.size());
        std::memcpy(buf.data(), chunk.data(), n);
        if (n == chunk.size()) {
            inbound_.erase(it);
        } else {
            chunk.erase(chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
        }
        return {IoStatus::kOk, n, 0, {}};
    }

    std::vector<SeenPacket> seen;

    [[nodiscard]] std::vector<SimTime> times_of(int type) const {
        std::vector<SimTime> out;
        for (const auto& p : seen) {
            if (p.type() == type)
                out.push_back(p.at);
        }
        return out;
    }

  private:
    void split() {
        for (;;) {
            if (pending_.size() < 2)
                return;
            size_t len = 0, mult = 1, i = 1;
            for (;; ++i) {
                if (i >= pending_.size())
                    return;
                len += (pending_[i] & 0x7Fu) * mult;
                mult *= 128;
                if (!(pending_[i] & 0x80))
                    break;
            }
            const size_t total = i + 1 + len;
            if (pending_.size() < total)
                return;
            SeenPacket p{clock_.now(), pending_[0],
                         Bytes(pending_.begin() + static_cast<std::ptrdiff_t>(i + 1),
                               pending_.begin() + static_cast<std::ptrdiff_t>(total))};
            pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(total));
            seen.push_back(p);
            if (on_packet)
                on_packet(seen.back(), *this);
        }
    }

    FakeClock& clock_;
    std::multimap<SimTime, Bytes> inbound_;
    std::optional<SimTime> close_at_;
    Bytes pending_;
};

constexpr int kConnect = 1, kPublish = 3, kPubAck = 4, kSubscribe = 8, kPingReq = 12,
              kDisconnect = 14;
const Bytes kConnAckOk = {0x20, 0x02, 0x00, 0x00};
const Bytes kPingResp = {0xD0, 0x00};

uint16_t publish_id(const SeenPacket& p) {
    const size_t tlen = static_cast<size_t>((p.body[0] << 8) | p.body[1]);
    return static_cast<uint16_t>((p.body[2 + tlen] << 8) | p.body[3 + tlen]);
}

struct CountingObserver : SessionObserver {
    int connected = 0, pings = 0, ping_timeouts = 0, sent = 0, acked = 0, messages = 0, errors = 0;
    std::vector<std::pair<std::string, size_t>> received;
    void on_connected(bool) override { ++connected; }
    void on_ping_sent() override { ++pings; }
    void on_ping_timeout() override { ++ping_timeouts; }
    void on_publish_sent(uint16_t, uint8_t) override { ++sent; }
    void on_publish_acked(uint16_t) override { ++acked; }
    void on_message(std::string_view t, size_t n) override {
        ++messages;
        received.emplace_back(std::string(t), n);
    }
    void on_error(std::string_view) override { ++errors; }
};

// Answers CONNECT with CONNACK(code) at once; optionally PINGREQ with PINGRESP after `ping_delay`.
struct Fixture {
    FakeClock clock;
    ScriptedBroker broker{clock};
    CountingObserver obs;
    uint8_t connack_code = 0;
    bool answer_pings = true;
    SimDuration ping_delay{0};
    bool ack_publishes = true;
    bool ack_only_dup = false;

    Fixture() {
        broker.on_packet = [this](const SeenPacket& p, ScriptedBroker& b) {
            if (p.type() == kConnect) {
                b.send(clock.now(), {0x20, 0x02, 0x00, connack_code});
            } else if (p.type() == kPingReq && answer_pings) {
                b.send(clock.now() + ping_delay, kPingResp);
            } else if (p.type() == kPublish && ((p.first_byte >> 1) & 3) == 1 && ack_publishes) {
                const bool dup = (p.first_byte & 0x08) != 0;
                if (!ack_only_dup || dup) {
                    const uint16_t id = publish_id(p);
                    b.send(clock.now(),
                           {0x40, 0x02, static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id)});
                }
            }
        };
    }
};

SessionConfig base_config(uint16_t keepalive_s) {
    SessionConfig c;
    c.client_id = "dev-1";
    c.keepalive_s = keepalive_s;
    return c;
}

TEST(MqttSession, ConnAckRefusalIsReportedWithCode) {
    Fixture f;
    f.connack_code = 5; // not authorized
    MqttSession s(base_config(120), f.broker, f.clock, &f.obs);
    const auto r = s.connect();
    EXPECT_EQ(r.outcome, ConnectOutcome::kRefused);
    EXPECT_EQ(r.return_code, 5);
    EXPECT_EQ(r.detail, "CONNACK refused: not authorized (5)"); // MQTT 3.1.1 table 3.1
    EXPECT_FALSE(s.connected());
    EXPECT_EQ(f.obs.connected, 0);
    EXPECT_EQ(s.run_until(at_ms(10'000)).reason, StopReason::kNotConnected);
    // The CONNECT carried protocol level 4 and the keepalive 120 = 0x0078 (3.1.2).
    ASSERT_EQ(f.broker.seen.size(), 1u);
    const Bytes& body = f.broker.seen[0].body;
    EXPECT_EQ(body[6], 4);
    EXPECT_EQ(body[8], 0x00);
    EXPECT_EQ(body[9], 0x78);
}

TEST(MqttSession, ConnAckTimeoutAfterNetworkTimeout) {
    Fixture f;
    f.broker.on_packet = nullptr; // silent broker
    auto cfg = base_config(120);
    cfg.network_timeout = from_ms(10'000);
    MqttSession s(cfg, f.broker, f.clock, &f.obs);
    EXPECT_EQ(s.connect().outcome, ConnectOutcome::kTimeout);
    EXPECT_EQ(f.clock.now(), at_ms(10'000));
}

TEST(MqttSession, NonConnAckFirstIsProtocolError) {
    Fixture f;
    f.broker.on_packet = [](const SeenPacket&, ScriptedBroker& b) { b.send({}, kPingResp); };
    MqttSession s(base_config(120), f.broker, f.clock, &f.obs);
    EXPECT_EQ(s.connect().outcome, ConnectOutcome::kProtocolError);
}

TEST(MqttSession, Qos1PublishesAreAcked) {
    Fixture f;
    auto cfg = base_config(120);
    cfg.publish_interval = from_ms(5'000);
    cfg.publish_qos = 1;
    cfg.publish_payload_size = 100;
    MqttSession s(cfg, f.broker, f.clock, &f.obs);
    ASSERT_EQ(s.connect().outcome, ConnectOutcome::kAccepted);
    const auto r = s.run_until(at_ms(30'000));
    EXPECT_EQ(r.reason, StopReason::kDeadline);
    // Connected at 0; publishes at 5, 10, 15, 20, 25 s (30 s is the deadline itself).
    EXPECT_EQ(f.broker.times_of(kPublish),
              (std::vector<SimTime>{at_ms(5000), at_ms(10000), at_ms(15000), at_ms(20000),
                                    at_ms(25000)}));
    EXPECT_EQ(s.counters().publishes_sent, 5u);
    EXPECT_EQ(s.counters().publishes_acked, 5u);
    EXPECT_EQ(f.obs.acked, 5);
    EXPECT_EQ(s.unacked_publishes(), 0u);
    // Body = topic field (2 + 17) + packet id (2) + payload (100).
    EXPECT_EQ(f.broker.seen[1].body.size(), 2u + 17u + 2u + 100u);
    // Distinct non-zero packet identifiers.
    std::vector<uint16_t> ids;
    for (const auto& p : f.broker.seen) {
        if (p.type() == kPublish)
            ids.push_back(publish_id(p));
    }
    std::sort(ids.begin(), ids.end());
    EXPECT_EQ(std::adjacent_find(ids.begin(), ids.end()), ids.end());
    EXPECT_NE(ids.front(), 0);
}

TEST(MqttSession, UnackedQos1IsResentWithDup) {
    Fixture f;
    f.ack_only_dup = true;
    auto cfg = base_config(120);
    cfg.publish_interval = from_ms(5'000);
    cfg.publish_qos = 1;
    cfg.resend_timeout = from_ms(1'000);
    MqttSession s(cfg, f.broker, f.clock, &f.obs);
    ASSERT_EQ(s.connect().outcome, ConnectOutcome::kAccepted);
    EXPECT_EQ(s.run_until(at_ms(9'000)).reason, StopReason::kDeadline);
    // Loop iterations at whole seconds; publish at 5 s. At 6 s its age is 1 s, not more than
    // resend_timeout; at 7 s it is 2 s, so the resend goes out at 7 s and is acked.
    const auto pubs = [&] {
        std::vector<SeenPacket> v;
        for (const auto& p : f.broker.seen) {
            if (p.type() == kPublish)
                v.push_back(p);
        }
        return v;
    }();
    ASSERT_EQ(pubs.size(), 2u);
    EXPECT_EQ(pubs[0].at, at_ms(5'000));
    EXPECT_EQ(pubs[0].first_byte, 0x32); // QoS 1, no DUP
    EXPECT_EQ(pubs[1].at, at_ms(7'000));
    EXPECT_EQ(pubs[1].first_byte, 0x3A);   // DUP set
    EXPECT_EQ(pubs[1].body, pubs[0].body); // same id, same payload
    EXPECT_EQ(s.counters().publishes_sent, 1u);
    EXPECT_EQ(s.counters().publishes_resent, 1u);
    EXPECT_EQ(s.counters().publishes_acked, 1u);
}

// Records what the session asks of its outbox memory; `room` items fit, then stores fail.
struct RecordingOutbox : OutboxMemory {
    size_t room = 100;
    std::map<uint16_t, std::pair<size_t, SimTime>> items; // id -> (encoded size, tick)
    std::vector<uint16_t> acked_ids;
    bool store(uint16_t id, size_t size, SimTime now) override {
        if (items.size() >= room)
            return false;
        items[id] = {size, now};
        return true;
    }
    void transmitted(uint16_t id, SimTime now) override { items.at(id).second = now; }
    void acked(uint16_t id) override {
        acked_ids.push_back(id);
        items.erase(id);
    }
    [[nodiscard]] bool holds(uint16_t id) const override { return items.count(id) != 0; }
    void delete_expired(SimTime) override {}
};

struct FailCountingObserver : CountingObserver {
    std::vector<size_t> failed_sizes;
    void on_outbox_store_failed(uint16_t, size_t size) override { failed_sizes.push_back(size); }
};

TEST(MqttSession, Qos1ItemStoredWithItsEncodedSizeUntilPubAck) {
    Fixture f;
    f.ack_only_dup = true; // the first send stays unacked; the resend at 7 s is acked
    auto cfg = base_config(120);
    cfg.publish_interval = from_ms(5'000);
    cfg.publish_qos = 1;
    cfg.publish_payload_size = 100;
    RecordingOutbox outbox;
    MqttSession s(cfg, f.broker, f.clock, &f.obs, &outbox);
    ASSERT_EQ(s.connect().outcome, ConnectOutcome::kAccepted);
    EXPECT_EQ(s.run_until(at_ms(6'500)).reason, StopReason::kDeadline);
    // Fixed header (1) + remaining length (1) + topic field (2 + 17) + packet id (2) + 100.
    ASSERT_EQ(outbox.items.size(), 1u);
    EXPECT_EQ(outbox.items.begin()->second,
              std::make_pair(size_t{1 + 1 + 2 + 17 + 2 + 100}, at_ms(5'000)));
    // The resend at 7 s (DUP) does not move the tick; its PUBACK deletes the item.
    EXPECT_EQ(s.run_until(at_ms(9'000)).reason, StopReason::kDeadline);
    EXPECT_EQ(s.counters().publishes_resent, 1u);
    EXPECT_TRUE(outbox.items.empty());
    ASSERT_EQ(outbox.acked_ids.size(), 1u);
}

TEST(MqttSession, PublishWithoutOutboxMemoryIsSentButNeverResent) {
    Fixture f;
    f.ack_only_dup = true; // only resends are acked: the unstored one never is
    FailCountingObserver obs;
    auto cfg = base_config(120);
    cfg.publish_interval = from_ms(5'000);
    cfg.publish_qos = 1;
    cfg.publish_payload_size = 10;
    RecordingOutbox outbox;
    outbox.room = 1;
    MqttSession s(cfg, f.broker, f.clock, &obs, &outbox);
    ASSERT_EQ(s.connect().outcome, ConnectOutcome::kAccepted);
    EXPECT_EQ(s.run_until(at_ms(6'500)).reason, StopReason::kDeadline);
    ASSERT_EQ(outbox.items.size(), 1u); // the 5 s publish, stored and sent
    outbox.room = 0;
    EXPECT_EQ(s.run_until(at_ms(14'000)).reason, StopReason::kDeadline);
    // 7 s: the first one resent and acked. 10 s: no room; written all the same (esp-mqtt's
    // mqtt_enqueue ignores the failure) but never resent, so never acked here.
    EXPECT_EQ(s.counters().publishes_sent, 2u);
    EXPECT_EQ(s.counters().outbox_store_failures, 1u);
    EXPECT_EQ(s.counters().publishes_resent, 1u);
    EXPECT_EQ(s.counters().publishes_acked, 1u);
    EXPECT_EQ(obs.failed_sizes, (std::vector<size_t>{1 + 1 + 2 + 17 + 2 + 10}));
    EXPECT_EQ(f.broker.times_of(kPublish),
              (std::vector<SimTime>{at_ms(5'000), at_ms(7'000), at_ms(10'000)}));
}

TEST(MqttSession, ItemDeletedByTheCleanupIsNotResent) {
    Fixture f;
    f.ack_publishes = false;
    auto cfg = base_config(120);
    cfg.publish_interval = from_ms(5'000);
    cfg.publish_qos = 1;
    RecordingOutbox outbox;
    MqttSession s(cfg, f.broker, f.clock, &f.obs, &outbox);
    ASSERT_EQ(s.connect().outcome, ConnectOutcome::kAccepted);
    EXPECT_EQ(s.run_until(at_ms(5'500)).reason, StopReason::kDeadline);
    ASSERT_EQ(outbox.items.size(), 1u);
    outbox.items.clear(); // as the owner's cleanup would after OUTBOX_EXPIRED_TIMEOUT_MS
    EXPECT_EQ(s.run_until(at_ms(9'500)).reason, StopReason::kDeadline);
    EXPECT_EQ(s.counters().publishes_resent, 0u);
    EXPECT_EQ(s.unacked_publishes(), 0u);
}

TEST(MqttSession, PingScheduleWhenIdle) {
    Fixture f;
    MqttSession s(base_config(10), f.broker, f.clock, &f.obs);
    ASSERT_EQ(s.connect().outcome, ConnectOutcome::kAccepted);
    EXPECT_EQ(s.run_until(at_ms(20'000)).reason, StopReason::kDeadline);
    // K/2 = 5 s. Last write (CONNECT) at 0; iterations at 0,1,..; 5 s is not "more than", so the
    // PINGREQ goes at 6 s; the PINGRESP arrives at once; next at 12 s, then 18 s.
    EXPECT_EQ(f.broker.times_of(kPingReq),
              (std::vector<SimTime>{at_ms(6000), at_ms(12000), at_ms(18000)}));
    EXPECT_EQ(s.counters().pings_sent, 3u);
    EXPECT_EQ(s.counters().pings_answered, 3u);
    EXPECT_EQ(f.obs.pings, 3);
}

TEST(MqttSession, PingResponseDelayShiftsThePollPhase) {
    Fixture f;
    f.ping_delay = from_ms(200);
    MqttSession s(base_config(10), f.broker, f.clock, &f.obs);
    ASSERT_EQ(s.connect().outcome, ConnectOutcome::kAccepted);
    EXPECT_EQ(s.run_until(at_ms(20'000)).reason, StopReason::kDeadline);
    // PINGREQ at 6 s; PINGRESP at 6.2 s wakes the poll, so iterations run at 6.2, 7.2, ...;
    // 11.2 s is 5.2 s after the PINGREQ -> next PINGREQ; likewise 16.4 s.
    EXPECT_EQ(f.broker.times_of(kPingReq),
              (std::vector<SimTime>{at_ms(6000), at_ms(11200), at_ms(16400)}));
}

TEST(MqttSession, MissingPingRespAbortsAtEspMqttTime) {
    Fixture f;
    f.answer_pings = false;
    MqttSession s(base_config(120), f.broker, f.clock, &f.obs);
    ASSERT_EQ(s.connect().outcome, ConnectOutcome::kAccepted);
    const auto r = s.run_until(at_ms(3'600'000));
    // K = 120 s, K/2 = 60 s: PINGREQ at the first 1 s iteration past 60 s (61 s); abort at the
    // first iteration more than 60 s after the PINGREQ: 122 s.
    EXPECT_EQ(r.reason, StopReason::kPingTimeout);
    EXPECT_EQ(r.at, at_ms(122'000));
    EXPECT_EQ(f.broker.times_of(kPingReq), (std::vector<SimTime>{at_ms(61'000)}));
    EXPECT_EQ(f.obs.ping_timeouts, 1);
    EXPECT_FALSE(s.connected());
    EXPECT_EQ(s.run_until(at_ms(3'600'000)).reason, StopReason::kNotConnected);
}

TEST(MqttSession, FrequentPublishesSuppressPingsAsInEspMqtt) {
    Fixture f;
    f.answer_pings = false;
    auto cfg = base_config(10);
    cfg.publish_interval = from_ms(4'000); // < K/2, so keepalive_tick never ages past 5 s
    MqttSession s(cfg, f.broker, f.clock, &f.obs);
    ASSERT_EQ(s.connect().outcome, ConnectOutcome::kAccepted);
    EXPECT_EQ(s.run_until(at_ms(60'000)).reason, StopReason::kDeadline);
    EXPECT_EQ(s.counters().pings_sent, 0u);
    EXPECT_EQ(s.counters().publishes_sent, 14u); // 4, 8, ..., 56 s
}

TEST(MqttSession, IncomingQos1GetsPubAck) {
    Fixture f;
    auto cfg = base_config(120);
    cfg.subscribe_topic = "cmd/#";
    cfg.subscribe_qos = 1;
    MqttSession s(cfg, f.broker, f.clock, &f.obs);
    ASSERT_EQ(s.connect().outcome, ConnectOutcome::kAccepted);
    ASSERT_EQ(f.broker.seen.size(), 2u);
    EXPECT_EQ(f.broker.seen[1].first_byte, 0x82); // SUBSCRIBE
    const uint16_t sub_id =
        static_cast<uint16_t>((f.broker.seen[1].body[0] << 8) | f.broker.seen[1].body[1]);
    f.broker.send(at_ms(500), {0x90, 0x03, static_cast<uint8_t>(sub_id >> 8),
                               static_cast<uint8_t>(sub_id), 0x01});
    // QoS 1 PUBLISH "cmd/a", id 0x0102, payload "xyz"; then QoS 0 "cmd/b" with 1-byte payload.
    f.broker.send(at_ms(2'500),
                  {0x32, 0x0C, 0x00, 0x05, 'c', 'm', 'd', '/', 'a', 0x01, 0x02, 'x', 'y', 'z'});
    f.broker.send(at_ms(3'000), {0x30, 0x08, 0x00, 0x05, 'c', 'm', 'd', '/', 'b', '!'});
    EXPECT_EQ(s.run_until(at_ms(5'000)).reason, StopReason::kDeadline);
    ASSERT_TRUE(s.suback_codes());
    EXPECT_EQ(*s.suback_codes(), (Bytes{0x01}));
    EXPECT_EQ(s.counters().messages_received, 2u);
    EXPECT_EQ(f.obs.received,
              (std::vector<std::pair<std::string, size_t>>{{"cmd/a", 3}, {"cmd/b", 1}}));
    const auto acks = f.broker.times_of(kPubAck);
    ASSERT_EQ(acks, (std::vector<SimTime>{at_ms(2'500)}));
    for (const auto& p : f.broker.seen) {
        if (p.type() == kPubAck) {
            EXPECT_EQ(p.body, (Bytes{0x01, 0x02}));
        }
    }
}

TEST(MqttSession, TransportCloseStopsTheLoop) {
    Fixture f;
    MqttSession s(base_config(120), f.broker, f.clock, &f.obs);
    ASSERT_EQ(s.connect().outcome, ConnectOutcome::kAccepted);
    f.broker.close_at(at_ms(3'300));
    const auto r = s.run_until(at_ms(10'000));
    EXPECT_EQ(r.reason, StopReason::kTransportClosed);
    EXPECT_EQ(r.at, at_ms(3'300));
}

TEST(MqttSession, GarbageFromServerIsProtocolError) {
    Fixture f;
    MqttSession s(base_config(120), f.broker, f.clock, &f.obs);
    ASSERT_EQ(s.connect().outcome, ConnectOutcome::kAccepted);
    f.broker.send(at_ms(1'500), {0xF0, 0x00});
    const auto r = s.run_until(at_ms(10'000));
    EXPECT_EQ(r.reason, StopReason::kProtocolError);
    EXPECT_EQ(r.at, at_ms(1'500));
    EXPECT_NE(r.detail.find("reserved"), std::string::npos) << r.detail;
    EXPECT_GE(f.obs.errors, 1);
}

TEST(MqttSession, RunUntilInSlicesMatchesOneRun) {
    // Stopping at deadlines must not change the schedule (the lead runs sessions in slices).
    Fixture a, b;
    a.ping_delay = b.ping_delay = from_ms(300);
    MqttSession sa(base_config(10), a.broker, a.clock);
    MqttSession sb(base_config(10), b.broker, b.clock);
    ASSERT_EQ(sa.connect().outcome, ConnectOutcome::kAccepted);
    ASSERT_EQ(sb.connect().outcome, ConnectOutcome::kAccepted);
    sa.run_until(at_ms(40'000));
    for (int64_t t = 700; t <= 40'000; t += 700)
        sb.run_until(at_ms(std::min<int64_t>(t, 40'000)));
    sb.run_until(at_ms(40'000));
    EXPECT_EQ(a.broker.times_of(kPingReq), b.broker.times_of(kPingReq));
    EXPECT_GE(a.broker.times_of(kPingReq).size(), 6u);
}

TEST(MqttSession, DisconnectSendsPacket) {
    Fixture f;
    MqttSession s(base_config(120), f.broker, f.clock, &f.obs);
    ASSERT_EQ(s.connect().outcome, ConnectOutcome::kAccepted);
    EXPECT_EQ(s.disconnect().status, IoStatus::kOk);
    ASSERT_EQ(f.broker.seen.back().type(), kDisconnect);
    EXPECT_EQ(f.broker.seen.back().first_byte, 0xE0);
    EXPECT_TRUE(f.broker.seen.back().body.empty());
    EXPECT_FALSE(s.connected());
}

// The end of the run (stop time) cuts a wait short; that is not a failure of the session.
TEST(MqttSession, ConnAckWaitIsCutAtTheStopTime) {
    Fixture f;
    f.broker.on_packet = nullptr; // silent broker
    auto cfg = base_config(120);
    cfg.network_timeout = from_ms(10'000);
    MqttSession s(cfg, f.broker, f.clock, &f.obs);
    EXPECT_EQ(s.connect(at_ms(3'000)).outcome, ConnectOutcome::kCut);
    EXPECT_EQ(f.clock.now(), at_ms(3'000)); // not network_timeout later
    EXPECT_EQ(f.obs.errors, 0);
}

// A transport whose writes cannot complete before `stalled_until` (a full send buffer): they
// use up their whole timeout and report kTimeout, as TlsTransport::write_all does.
class StallingBroker : public ScriptedBroker {
  public:
    explicit StallingBroker(FakeClock& clock) : ScriptedBroker(clock), clock_(clock) {}
    std::optional<SimTime> stalled_until;
    std::vector<SimDuration> write_timeouts;
    IoResult write_all(std::span<const uint8_t> data, SimDuration timeout) override {
        if (stalled_until && clock_.now() + timeout < *stalled_until) {
            write_timeouts.push_back(timeout);
            clock_.advance_to(clock_.now() + timeout);
            return {IoStatus::kTimeout, 0, 0, "stalled"};
        }
        return ScriptedBroker::write_all(data, timeout);
    }

  private:
    FakeClock& clock_;
};

TEST(MqttSession, WriteTimeoutAbortsButTheDeadlineOnlyCuts) {
    // Publish due 1 s after CONNACK; its write cannot complete. network_timeout 10 s.
    auto cfg = base_config(0);
    cfg.network_timeout = from_ms(10'000);
    cfg.publish_interval = from_ms(1'000);
    for (const bool end_first : {false, true}) {
        SCOPED_TRACE(end_first ? "run ends at 5 s" : "run ends at 60 s");
        FakeClock clock;
        StallingBroker broker(clock);
        broker.on_packet = [&clock](const SeenPacket& p, ScriptedBroker& b) {
            if (p.type() == kConnect)
                b.send(clock.now(), kConnAckOk);
        };
        CountingObserver obs;
        MqttSession s(cfg, broker, clock, &obs);
        ASSERT_EQ(s.connect().outcome, ConnectOutcome::kAccepted);
        broker.stalled_until = at_ms(1'000'000);
        const auto r = s.run_until(at_ms(end_first ? 5'000 : 60'000));
        if (end_first) {
            // The write gets what is left of the run (4 s), and its timeout is a cut.
            EXPECT_EQ(r.reason, StopReason::kDeadline);
            EXPECT_EQ(r.at, at_ms(5'000));
            EXPECT_EQ(r.detail, "cut while writing PUBLISH");
            EXPECT_EQ(broker.write_timeouts, (std::vector<SimDuration>{from_ms(4'000)}));
            EXPECT_EQ(obs.errors, 0);
        } else {
            // esp-mqtt: a write not done within network_timeout aborts: 1 s + 10 s.
            EXPECT_EQ(r.reason, StopReason::kTransportError);
            EXPECT_EQ(r.at, at_ms(11'000));
            EXPECT_EQ(broker.write_timeouts, (std::vector<SimDuration>{from_ms(10'000)}));
            EXPECT_EQ(obs.errors, 1);
        }
    }
}

// Issue 15 (app.actions): the wake hook gives the owner its thread back at exactly the due time,
// mid-poll, with the session still connected; an application publish and unsubscribe then go
// out at that instant and the loop carries on.
TEST(MqttSession, WakeHookReturnsAtTheDueTimeAndAppCallsWrite) {
    Fixture f;
    MqttSession s(base_config(120), f.broker, f.clock, &f.obs);
    ASSERT_EQ(s.connect().outcome, ConnectOutcome::kAccepted);
    std::optional<SimTime> due = at_ms(2'500); // between the 1 s polls at 2 s and 3 s
    s.set_wake([&due] { return due; });
    const auto r = s.run_until(at_ms(10'000));
    EXPECT_EQ(r.reason, StopReason::kActionDue);
    EXPECT_EQ(r.at, at_ms(2'500));
    EXPECT_TRUE(s.connected());
    due.reset();
    EXPECT_EQ(s.publish("app/burst", 10, 1), std::nullopt);
    EXPECT_EQ(s.unsubscribe("app/in"), std::nullopt);
    EXPECT_EQ(s.run_until(at_ms(10'000)).reason, StopReason::kDeadline);
    ASSERT_EQ(f.broker.times_of(kPublish), (std::vector<SimTime>{at_ms(2'500)}));
    // UNSUBSCRIBE is type 10 with flags 0010 [MQTT-3.10.1-1]: first byte 0xA2.
    const auto unsub = std::find_if(f.broker.seen.begin(), f.broker.seen.end(),
                                    [](const SeenPacket& p) { return p.type() == 10; });
    ASSERT_NE(unsub, f.broker.seen.end());
    EXPECT_EQ(unsub->first_byte, 0xA2);
    EXPECT_EQ(unsub->at, at_ms(2'500));
    // Body: packet id (2 bytes), then the filter as a UTF-8 string: length 6, "app/in".
    EXPECT_EQ(unsub->body.size(), 2u + 2u + 6u);
    EXPECT_EQ(std::string(unsub->body.begin() + 4, unsub->body.end()), "app/in");
    EXPECT_EQ(f.obs.acked, 1); // the QoS 1 publish was acknowledged like a periodic one
}

TEST(MqttSession, AppCallsOnAClosedSessionAreRefused) {
    Fixture f;
    MqttSession s(base_config(120), f.broker, f.clock, &f.obs);
    const auto r = s.publish("app/burst", 10, 0);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->reason, StopReason::kNotConnected);
    EXPECT_TRUE(f.broker.seen.empty());
}

} // namespace
} // namespace lwipsim::device
