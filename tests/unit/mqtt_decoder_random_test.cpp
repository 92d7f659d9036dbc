// Deterministic randomized coverage of the decoder (fixed seeds) so CI exercises it without
// clang's libFuzzer. Properties checked come from the decoder's contract and the standard, not
// from its own output: valid streams decode to exactly what was encoded however they are
// chunked; any stream ends in need-more or a DecodeError; decoded packets obey the standard's
// constraints; the buffer never holds more than was fed.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "sim/device/mqtt_codec.h"

namespace lwipsim::device {
namespace {

using Bytes = std::vector<uint8_t>;

struct Expected {
    Publish pub; // only PUBLISH packets are generated with known content; others are fixed
    int kind;    // 0 publish, 1 puback(id), 2 pingresp, 3 connack, 4 suback
    uint16_t id;
};

Bytes random_valid_stream(std::mt19937& rng, std::vector<Expected>& expected) {
    Bytes out;
    const int n = std::uniform_int_distribution<int>(1, 6)(rng);
    for (int i = 0; i < n; ++i) {
        const int kind = std::uniform_int_distribution<int>(0, 4)(rng);
        const auto id = static_cast<uint16_t>(std::uniform_int_distribution<int>(1, 65535)(rng));
        Expected e{{}, kind, id};
        Bytes pkt;
        switch (kind) {
        case 0: {
            const size_t tlen = std::uniform_int_distribution<size_t>(1, 20)(rng);
            for (size_t k = 0; k < tlen; ++k) {
                e.pub.topic.push_back(
                    static_cast<char>(std::uniform_int_distribution<int>('a', 'z')(rng)));
            }
            const size_t plen = std::uniform_int_distribution<size_t>(0, 400)(rng);
            for (size_t k = 0; k < plen; ++k) {
                e.pub.payload.push_back(static_cast<uint8_t>(rng()));
            }
            e.pub.qos = static_cast<uint8_t>(rng() % 2);
            e.pub.packet_id = e.pub.qos ? id : 0;
            e.pub.dup = e.pub.qos && (rng() % 2);
            e.pub.retain = rng() % 2;
            pkt = encode_publish(
                {e.pub.topic, e.pub.payload, e.pub.qos, e.pub.dup, e.pub.retain, e.pub.packet_id});
            break;
        }
        case 1:
            pkt = {0x40, 0x02, static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id)};
            break;
        case 2:
            pkt = {0xD0, 0x00};
            break;
        case 3:
            pkt = {0x20, 0x02, 0x00, 0x00};
            break;
        default:
            pkt = {0x90, 0x03, static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id), 0x01};
        }
        out.insert(out.end(), pkt.begin(), pkt.end());
        expected.push_back(std::move(e));
    }
    return out;
}

void check_invariants(const ServerPacket& p) {
    if (const auto* pub = std::get_if<Publish>(&p)) {
        EXPECT_FALSE(pub->topic.empty());
        EXPECT_TRUE(is_valid_mqtt_utf8(pub->topic));
        EXPECT_EQ(pub->topic.find_first_of("+#"), std::string::npos);
        EXPECT_LE(pub->qos, 2);
        EXPECT_EQ(pub->packet_id != 0, pub->qos > 0);
        if (pub->qos == 0) {
            EXPECT_FALSE(pub->dup);
        }
    } else if (const auto* ack = std::get_if<PubAck>(&p)) {
        EXPECT_NE(ack->packet_id, 0);
    } else if (const auto* sub = std::get_if<SubAck>(&p)) {
        EXPECT_NE(sub->packet_id, 0);
        EXPECT_FALSE(sub->return_codes.empty());
        for (auto rc : sub->return_codes)
            EXPECT_TRUE(rc <= 2 || rc == 0x80);
    } else if (const auto* ca = std::get_if<ConnAck>(&p)) {
        if (ca->return_code != 0) {
            EXPECT_FALSE(ca->session_present);
        }
    }
}

// Feeds `stream` in random chunks; returns decoded packets, or stops at the first error.
std::vector<ServerPacket> feed_chunked(std::mt19937& rng, const Bytes& stream, size_t max,
                                       bool& errored) {
    MqttDecoder d(max);
    std::vector<ServerPacket> out;
    errored = false;
    size_t pos = 0;
    while (pos < stream.size() && !errored) {
        const size_t n =
            std::min(stream.size() - pos, std::uniform_int_distribution<size_t>(1, 64)(rng));
        d.feed({stream.data() + pos, n});
        pos += n;
        EXPECT_LE(d.buffered(), pos);
        // Each next() that yields a packet consumes >= 2 bytes, so this bound is generous.
        for (size_t guard = 0; guard <= stream.size(); ++guard) {
            auto r = d.next();
            if (std::holds_alternative<std::monostate>(r))
                break;
            if (auto* e = std::get_if<DecodeError>(&r)) {
                EXPECT_FALSE(e->message.empty());
                EXPECT_LT(e->stream_offset, stream.size());
                errored = true;
                break;
            }
            out.push_back(std::get<ServerPacket>(std::move(r)));
            check_invariants(out.back());
        }
    }
    return out;
}

TEST(MqttDecoderRandom, ValidStreamsDecodeExactlyHoweverChunked) {
    std::mt19937 rng(20240611);
    for (int iter = 0; iter < 2000; ++iter) {
        std::vector<Expected> expected;
        const Bytes stream = random_valid_stream(rng, expected);
        bool errored = false;
        const auto got = feed_chunked(rng, stream, MqttDecoder::kDefaultMaxPacketSize, errored);
        ASSERT_FALSE(errored) << "iteration " << iter;
        ASSERT_EQ(got.size(), expected.size()) << "iteration " << iter;
        for (size_t i = 0; i < got.size(); ++i) {
            switch (expected[i].kind) {
            case 0: {
                const auto& p = std::get<Publish>(got[i]);
                EXPECT_EQ(p.topic, expected[i].pub.topic);
                EXPECT_EQ(p.payload, expected[i].pub.payload);
                EXPECT_EQ(p.qos, expected[i].pub.qos);
                EXPECT_EQ(p.dup, expected[i].pub.dup);
                EXPECT_EQ(p.retain, expected[i].pub.retain);
                EXPECT_EQ(p.packet_id, expected[i].pub.packet_id);
                break;
            }
            case 1:
                EXPECT_EQ(std::get<PubAck>(got[i]).packet_id, expected[i].id);
                break;
            case 2:
                EXPECT_TRUE(std::holds_alternative<PingResp>(got[i]));
                break;
            case 3:
                EXPECT_EQ(std::get<ConnAck>(got[i]).return_code, 0);
                break;
            default:
                EXPECT_EQ(std::get<SubAck>(got[i]).packet_id, expected[i].id);
            }
        }
    }
}

TEST(MqttDecoderRandom, MutatedAndRandomBuffersNeverBreakTheContract) {
    std::mt19937 rng(7);
    int errors = 0;
    int packets = 0;
    for (int iter = 0; iter < 4000; ++iter) {
        Bytes stream;
        if (iter % 4 == 0) {
            stream.resize(std::uniform_int_distribution<size_t>(0, 300)(rng));
            for (auto& b : stream)
                b = static_cast<uint8_t>(rng());
        } else {
            std::vector<Expected> ignored;
            stream = random_valid_stream(rng, ignored);
            const int flips = std::uniform_int_distribution<int>(1, 4)(rng);
            for (int f = 0; f < flips; ++f) {
                auto& b = stream[std::uniform_int_distribution<size_t>(0, stream.size() - 1)(rng)];
                b = static_cast<uint8_t>(rng() % 3 == 0 ? rng() : b ^ (1u << (rng() % 8)));
            }
            if (rng() % 3 == 0)
                stream.resize(stream.size() / 2);
        }
        const size_t max = (iter % 5 == 0) ? 64 : MqttDecoder::kDefaultMaxPacketSize;
        bool errored = false;
        const auto got = feed_chunked(rng, stream, max, errored);
        errors += errored ? 1 : 0;
        packets += static_cast<int>(got.size());
    }
    // Both outcomes must actually occur, or the mutations are not exercising anything.
    EXPECT_GT(errors, 500);
    EXPECT_GT(packets, 1000);
}

} // namespace
} // namespace lwipsim::device
