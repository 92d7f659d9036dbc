// MQTT 3.1.1 codec against the OASIS standard: expected bytes are written out by hand from the
// standard's tables and field layouts, not produced by the encoder.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sim/device/mqtt_codec.h"

namespace lwipsim::device {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes bytes_of(std::string_view s) {
    return Bytes(s.begin(), s.end());
}

Bytes cat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const auto& p : parts)
        out.insert(out.end(), p.begin(), p.end());
    return out;
}

// Feeds everything and returns the single result that follows.
MqttDecoder::Result decode_one(const Bytes& in, size_t max = MqttDecoder::kDefaultMaxPacketSize) {
    MqttDecoder d(max);
    d.feed(in);
    return d.next();
}

DecodeErrorKind error_kind(const MqttDecoder::Result& r) {
    const auto* e = std::get_if<DecodeError>(&r);
    if (!e) {
        ADD_FAILURE() << "expected a DecodeError, got variant index " << r.index();
        return DecodeErrorKind::kMalformed;
    }
    EXPECT_FALSE(e->message.empty());
    return e->kind;
}

template <typename T> T packet_as(const MqttDecoder::Result& r) {
    const auto* p = std::get_if<ServerPacket>(&r);
    if (!p) {
        if (const auto* e = std::get_if<DecodeError>(&r))
            ADD_FAILURE() << e->message;
        ADD_FAILURE() << "no packet decoded";
        return T{};
    }
    const auto* t = std::get_if<T>(p);
    if (!t) {
        ADD_FAILURE() << "wrong packet type, index " << p->index();
        return T{};
    }
    return *t;
}

// Table 2.4 "Size of Remaining Length field" gives these boundary values and encodings.
struct RlVector {
    uint32_t value;
    Bytes encoded;
};
const RlVector kRlVectors[] = {
    {0, {0x00}},
    {127, {0x7F}},
    {128, {0x80, 0x01}},
    {16383, {0xFF, 0x7F}},
    {16384, {0x80, 0x80, 0x01}},
    {2097151, {0xFF, 0xFF, 0x7F}},
    {2097152, {0x80, 0x80, 0x80, 0x01}},
    {268435455, {0xFF, 0xFF, 0xFF, 0x7F}},
};

TEST(MqttCodec, RemainingLengthEncodesSpecTable) {
    for (const auto& v : kRlVectors) {
        Bytes out;
        append_remaining_length(out, v.value);
        EXPECT_EQ(out, v.encoded) << "value " << v.value;
    }
}

TEST(MqttCodec, RemainingLengthDecodesSpecTable) {
    for (const auto& v : kRlVectors) {
        const auto rl = decode_remaining_length(v.encoded);
        ASSERT_EQ(rl.status, RemainingLength::Status::kOk) << v.value;
        EXPECT_EQ(rl.value, v.value);
        EXPECT_EQ(rl.encoded_size, v.encoded.size());
        // Every proper prefix is incomplete, not wrong.
        for (size_t n = 0; n < v.encoded.size(); ++n) {
            EXPECT_EQ(decode_remaining_length({v.encoded.data(), n}).status,
                      RemainingLength::Status::kIncomplete);
        }
    }
}

TEST(MqttCodec, RemainingLengthRejectsFifthByteAndOverflow) {
    const Bytes five = {0xFF, 0xFF, 0xFF, 0xFF, 0x01};
    EXPECT_EQ(decode_remaining_length(five).status, RemainingLength::Status::kTooLong);
    Bytes out;
    EXPECT_THROW(append_remaining_length(out, 268435456u), EncodeError);
}

TEST(MqttCodec, ConnectMinimal) {
    ConnectOptions o;
    o.client_id = "c1";
    o.keepalive_s = 60;
    // 3.1.2: "MQTT", level 4, flags 0x02 (clean session), keepalive 0x003C; payload client id.
    // Remaining length = 10 (variable header) + 2 + 2 = 14.
    const Bytes expected = cat({{0x10, 14, 0x00, 0x04},
                                bytes_of("MQTT"),
                                {0x04, 0x02, 0x00, 0x3C},
                                {0x00, 0x02},
                                bytes_of("c1")});
    EXPECT_EQ(encode_connect(o), expected);
}

TEST(MqttCodec, ConnectWithWillAndCredentials) {
    ConnectOptions o;
    o.client_id = "dev";
    o.keepalive_s = 120;
    o.clean_session = false;
    o.username = "u";
    o.password = Bytes{'p', 'w'};
    o.will = Will{"w/t", bytes_of("bye"), 1, true};
    // Flags: user 0x80 | password 0x40 | will retain 0x20 | will QoS 1 (0x08) | will 0x04 = 0xEC.
    // Payload order (3.1.3): client id, will topic, will message, user name, password.
    const Bytes body = cat({{0x00, 0x04},
                            bytes_of("MQTT"),
                            {0x04, 0xEC, 0x00, 0x78},
                            {0x00, 0x03},
                            bytes_of("dev"),
                            {0x00, 0x03},
                            bytes_of("w/t"),
                            {0x00, 0x03},
                            bytes_of("bye"),
                            {0x00, 0x01},
                            bytes_of("u"),
                            {0x00, 0x02},
                            bytes_of("pw")});
    const Bytes expected = cat({{0x10, static_cast<uint8_t>(body.size())}, body});
    EXPECT_EQ(encode_connect(o), expected);
}

TEST(MqttCodec, ConnectRejectsPasswordWithoutUser) {
    ConnectOptions o;
    o.client_id = "x";
    o.password = Bytes{'p'};
    EXPECT_THROW(encode_connect(o), EncodeError);
}

TEST(MqttCodec, ConnectRejectsOversizedClientId) {
    ConnectOptions o;
    o.client_id = std::string(65536, 'a');
    EXPECT_THROW(encode_connect(o), EncodeError);
}

TEST(MqttCodec, PublishQos1WithDup) {
    const Bytes payload = bytes_of("hi");
    PublishOptions o{"a/b", payload, 1, true, false, 10};
    // Byte 0: type 3, DUP 0x08, QoS1 0x02 -> 0x3A. Remaining: 2+3 topic, 2 id, 2 payload = 9.
    const Bytes expected = cat({{0x3A, 0x09, 0x00, 0x03}, bytes_of("a/b"), {0x00, 0x0A}, payload});
    EXPECT_EQ(encode_publish(o), expected);
}

TEST(MqttCodec, PublishQos0HasNoPacketId) {
    const Bytes payload = {0x01};
    PublishOptions o{"t", payload, 0, false, true, 0};
    EXPECT_EQ(encode_publish(o), (Bytes{0x31, 0x04, 0x00, 0x01, 't', 0x01}));
}

TEST(MqttCodec, PublishRejectsForbiddenCombinations) {
    const Bytes payload;
    EXPECT_THROW(encode_publish({"a/+", payload, 0, false, false, 0}), EncodeError);
    EXPECT_THROW(encode_publish({"", payload, 0, false, false, 0}), EncodeError);
    EXPECT_THROW(encode_publish({"a", payload, 0, true, false, 0}), EncodeError);
    EXPECT_THROW(encode_publish({"a", payload, 1, false, false, 0}), EncodeError);
    EXPECT_THROW(encode_publish({"a", payload, 0, false, false, 7}), EncodeError);
    EXPECT_THROW(encode_publish({"a", payload, 2, false, false, 7}), EncodeError);
}

TEST(MqttCodec, SmallPackets) {
    EXPECT_EQ(encode_puback(0x1234), (Bytes{0x40, 0x02, 0x12, 0x34}));
    EXPECT_EQ(encode_pingreq(), (Bytes{0xC0, 0x00}));
    EXPECT_EQ(encode_disconnect(), (Bytes{0xE0, 0x00}));
    const Subscription sub{"t/#", 1};
    // SUBSCRIBE flags must be 0010 (3.8.1): 0x82.
    EXPECT_EQ(encode_subscribe(1, {&sub, 1}),
              cat({{0x82, 0x08, 0x00, 0x01, 0x00, 0x03}, bytes_of("t/#"), {0x01}}));
    EXPECT_THROW(encode_puback(0), EncodeError);
    EXPECT_THROW(encode_subscribe(1, {}), EncodeError);
}

TEST(MqttCodec, SetDupFlag) {
    const Bytes payload = bytes_of("x");
    auto p = encode_publish({"t", payload, 1, false, false, 3});
    set_dup_flag(p);
    EXPECT_EQ(p[0], 0x3A);
    auto q0 = encode_publish({"t", payload, 0, false, false, 0});
    EXPECT_THROW(set_dup_flag(q0), EncodeError);
}

TEST(MqttCodec, DecodesConnAckVariants) {
    auto a = packet_as<ConnAck>(decode_one({0x20, 0x02, 0x00, 0x00}));
    EXPECT_FALSE(a.session_present);
    EXPECT_EQ(a.return_code, 0);
    auto b = packet_as<ConnAck>(decode_one({0x20, 0x02, 0x01, 0x00}));
    EXPECT_TRUE(b.session_present);
    auto c = packet_as<ConnAck>(decode_one({0x20, 0x02, 0x00, 0x05}));
    EXPECT_EQ(c.return_code, 5); // 5 = not authorized (table 3.1)
}

TEST(MqttCodec, DecodesAcksAndPingResp) {
    EXPECT_EQ(packet_as<PubAck>(decode_one({0x40, 0x02, 0xAB, 0xCD})).packet_id, 0xABCD);
    EXPECT_EQ(packet_as<UnsubAck>(decode_one({0xB0, 0x02, 0x00, 0x07})).packet_id, 7);
    auto s = packet_as<SubAck>(decode_one({0x90, 0x04, 0x00, 0x01, 0x01, 0x80}));
    EXPECT_EQ(s.packet_id, 1);
    EXPECT_EQ(s.return_codes, (Bytes{0x01, 0x80}));
    auto r = decode_one({0xD0, 0x00});
    ASSERT_TRUE(std::holds_alternative<ServerPacket>(r));
    EXPECT_TRUE(std::holds_alternative<PingResp>(std::get<ServerPacket>(r)));
}

TEST(MqttCodec, PublishRoundTripByteByByte) {
    // A server's PUBLISH has the client's layout (3.3), so the encoder's output is a valid input.
    Bytes payload(300, 0);
    for (size_t i = 0; i < payload.size(); ++i)
        payload[i] = static_cast<uint8_t>(i * 7);
    const auto wire = encode_publish({"sensors/é/1", payload, 1, true, true, 513});
    ASSERT_EQ(wire[1], 0x80 | ((wire.size() - 3) & 0x7F)); // 2-byte remaining length (> 127)
    MqttDecoder d;
    for (size_t i = 0; i + 1 < wire.size(); ++i) {
        d.feed({&wire[i], 1});
        ASSERT_TRUE(std::holds_alternative<std::monostate>(d.next())) << "early at byte " << i;
    }
    d.feed({&wire.back(), 1});
    const auto p = packet_as<Publish>(d.next());
    EXPECT_EQ(p.topic, "sensors/é/1");
    EXPECT_EQ(p.payload, payload);
    EXPECT_EQ(p.qos, 1);
    EXPECT_TRUE(p.dup);
    EXPECT_TRUE(p.retain);
    EXPECT_EQ(p.packet_id, 513);
    EXPECT_EQ(d.buffered(), 0u);
}

TEST(MqttCodec, SeveralPacketsInOneChunk) {
    const Bytes stream = {0x20, 0x02, 0x00, 0x00, 0xD0, 0x00, 0x30, 0x04,
                          0x00, 0x01, 'x',  'y',  0x40, 0x02, 0x00};
    MqttDecoder d;
    d.feed(stream);
    packet_as<ConnAck>(d.next());
    EXPECT_TRUE(std::holds_alternative<PingResp>(std::get<ServerPacket>(d.next())));
    auto p = packet_as<Publish>(d.next());
    EXPECT_EQ(p.topic, "x");
    EXPECT_EQ(p.payload, (Bytes{'y'}));
    EXPECT_EQ(p.packet_id, 0);
    EXPECT_TRUE(std::holds_alternative<std::monostate>(d.next())); // PUBACK lacks one byte
    EXPECT_EQ(d.buffered(), 3u);
    d.feed(Bytes{0x09});
    EXPECT_EQ(packet_as<PubAck>(d.next()).packet_id, 9);
}

TEST(MqttCodecMalformed, RemainingLengthFiveBytes) {
    EXPECT_EQ(error_kind(decode_one({0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01})),
              DecodeErrorKind::kRemainingLengthTooLong);
}

TEST(MqttCodecMalformed, PacketTooLargeDetectedFromHeaderAlone) {
    // Remaining length 200 announced, only the header present: the limit of 100 must fire
    // without waiting for (or buffering) the body.
    const auto r = decode_one({0x30, 0xC8, 0x01}, 100);
    EXPECT_EQ(error_kind(r), DecodeErrorKind::kPacketTooLarge);
    // Exactly at the limit is fine: 2-byte header + 98 = 100.
    Bytes ok = {0x30, 98, 0x00, 0x01, 't'};
    ok.resize(100, 0x55);
    EXPECT_EQ(packet_as<Publish>(decode_one(ok, 100)).payload.size(), 95u);
}

TEST(MqttCodecMalformed, BadFlags) {
    EXPECT_EQ(error_kind(decode_one({0x21, 0x02, 0x00, 0x00})), DecodeErrorKind::kBadFlags);
    EXPECT_EQ(error_kind(decode_one({0x42, 0x02, 0x00, 0x01})), DecodeErrorKind::kBadFlags);
    EXPECT_EQ(error_kind(decode_one({0x36, 0x03, 0x00, 0x01, 'a'})), DecodeErrorKind::kBadFlags);
    EXPECT_EQ(error_kind(decode_one({0x38, 0x03, 0x00, 0x01, 'a'})), DecodeErrorKind::kBadFlags);
}

TEST(MqttCodecMalformed, ReservedAndUnsupportedTypes) {
    EXPECT_EQ(error_kind(decode_one({0x00, 0x00})), DecodeErrorKind::kReservedType);
    EXPECT_EQ(error_kind(decode_one({0xF0, 0x00})), DecodeErrorKind::kReservedType);
    EXPECT_EQ(error_kind(decode_one({0x10, 0x00})), DecodeErrorKind::kUnsupportedType);
    EXPECT_EQ(error_kind(decode_one({0x62, 0x02, 0x00, 0x01})), DecodeErrorKind::kUnsupportedType);
    EXPECT_EQ(error_kind(decode_one({0xC0, 0x00})), DecodeErrorKind::kUnsupportedType);
}

TEST(MqttCodecMalformed, TruncatedAndOverlongFields) {
    // Topic length 5 in a 3-byte body.
    EXPECT_EQ(error_kind(decode_one({0x30, 0x03, 0x00, 0x05, 'a'})), DecodeErrorKind::kMalformed);
    // QoS 1 PUBLISH with room for the topic but not the packet identifier.
    EXPECT_EQ(error_kind(decode_one({0x32, 0x04, 0x00, 0x02, 'a', 'b'})),
              DecodeErrorKind::kMalformed);
    EXPECT_EQ(error_kind(decode_one({0x20, 0x03, 0x00, 0x00, 0x00})), DecodeErrorKind::kMalformed);
    EXPECT_EQ(error_kind(decode_one({0x20, 0x01, 0x00})), DecodeErrorKind::kMalformed);
    EXPECT_EQ(error_kind(decode_one({0xD0, 0x01, 0x00})), DecodeErrorKind::kMalformed);
    EXPECT_EQ(error_kind(decode_one({0x90, 0x02, 0x00, 0x01})), DecodeErrorKind::kMalformed);
    EXPECT_EQ(error_kind(decode_one({0x30, 0x01, 0x00})), DecodeErrorKind::kMalformed);
}

TEST(MqttCodecMalformed, BadValues) {
    EXPECT_EQ(error_kind(decode_one({0x40, 0x02, 0x00, 0x00})), DecodeErrorKind::kMalformed);
    EXPECT_EQ(error_kind(decode_one({0x90, 0x03, 0x00, 0x01, 0x03})), DecodeErrorKind::kMalformed);
    EXPECT_EQ(error_kind(decode_one({0x20, 0x02, 0x02, 0x00})), DecodeErrorKind::kMalformed);
    EXPECT_EQ(error_kind(decode_one({0x20, 0x02, 0x01, 0x04})), DecodeErrorKind::kMalformed);
    EXPECT_EQ(error_kind(decode_one({0x30, 0x02, 0x00, 0x00})), DecodeErrorKind::kMalformed);
    EXPECT_EQ(error_kind(decode_one({0x30, 0x03, 0x00, 0x01, '#'})), DecodeErrorKind::kMalformed);
    EXPECT_EQ(error_kind(decode_one({0x32, 0x05, 0x00, 0x01, 'a', 0x00, 0x00})),
              DecodeErrorKind::kMalformed);
    // C0 80 is an overlong encoding of U+0000.
    EXPECT_EQ(error_kind(decode_one({0x30, 0x04, 0x00, 0x02, 0xC0, 0x80})),
              DecodeErrorKind::kBadUtf8);
}

TEST(MqttCodecMalformed, ErrorIsStickyAndLocated) {
    MqttDecoder d;
    d.feed(Bytes{0xD0, 0x00, 0xD0, 0x00, 0xF0, 0x00, 0xD0, 0x00});
    EXPECT_TRUE(std::holds_alternative<ServerPacket>(d.next()));
    EXPECT_TRUE(std::holds_alternative<ServerPacket>(d.next()));
    auto r = d.next();
    ASSERT_TRUE(std::holds_alternative<DecodeError>(r));
    EXPECT_EQ(std::get<DecodeError>(r).stream_offset, 4u);
    d.feed(Bytes{0xD0, 0x00});
    EXPECT_TRUE(std::holds_alternative<DecodeError>(d.next()));
    EXPECT_TRUE(d.failed());
}

TEST(MqttCodec, Utf8Rules) {
    EXPECT_TRUE(is_valid_mqtt_utf8("plain/ascii"));
    EXPECT_TRUE(is_valid_mqtt_utf8("\xC3\xA9"));         // U+00E9
    EXPECT_TRUE(is_valid_mqtt_utf8("\xF0\x9F\x98\x80")); // U+1F600
    EXPECT_FALSE(is_valid_mqtt_utf8(std::string_view("a\0b", 3)));
    EXPECT_FALSE(is_valid_mqtt_utf8("\xED\xA0\x80"));     // U+D800 surrogate [MQTT-1.5.3-1]
    EXPECT_FALSE(is_valid_mqtt_utf8("\xF4\x90\x80\x80")); // > U+10FFFF
    EXPECT_FALSE(is_valid_mqtt_utf8("\xE0\x80\xAF"));     // overlong '/'
    EXPECT_FALSE(is_valid_mqtt_utf8("\xC3"));             // truncated
    EXPECT_FALSE(is_valid_mqtt_utf8("\x80"));             // stray continuation
}

} // namespace
} // namespace lwipsim::device
