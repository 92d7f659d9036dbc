#include "sim/device/mqtt_codec.h"

#include <algorithm>
#include <iterator>
#include <string>

namespace lwipsim::device {

namespace {

constexpr uint8_t type_byte(PacketType t, uint8_t flags = 0) {
    return static_cast<uint8_t>((static_cast<uint8_t>(t) << 4) | (flags & 0x0F));
}

void append_u16(std::vector<uint8_t>& out, uint16_t v) {
    out.push_back(static_cast<uint8_t>(v >> 8));
    out.push_back(static_cast<uint8_t>(v & 0xFF));
}

// Length-prefixed field (section 1.5.3 strings and 3.1.3 binary data share this layout).
void append_field(std::vector<uint8_t>& out, std::span<const uint8_t> bytes, const char* what) {
    if (bytes.size() > 0xFFFF) {
        throw EncodeError(std::string(what) + " is " + std::to_string(bytes.size()) +
                          " bytes; MQTT fields hold at most 65535");
    }
    append_u16(out, static_cast<uint16_t>(bytes.size()));
    out.insert(out.end(), bytes.begin(), bytes.end());
}

std::span<const uint8_t> as_bytes(std::string_view s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

void append_string(std::vector<uint8_t>& out, std::string_view s, const char* what) {
    if (!is_valid_mqtt_utf8(s)) {
        throw EncodeError(std::string(what) + " is not valid MQTT UTF-8 (section 1.5.3)");
    }
    append_field(out, as_bytes(s), what);
}

// Fixed header + body, with the body's size as Remaining Length.
std::vector<uint8_t> frame(uint8_t first_byte, const std::vector<uint8_t>& body) {
    if (body.size() > kMaxRemainingLength) {
        throw EncodeError("packet body of " + std::to_string(body.size()) +
                          " bytes exceeds the Remaining Length maximum 268435455");
    }
    std::vector<uint8_t> out;
    out.reserve(body.size() + 5);
    out.push_back(first_byte);
    append_remaining_length(out, static_cast<uint32_t>(body.size()));
    out.insert(out.end(), body.begin(), body.end());
    return out;
}

void check_topic_name(std::string_view topic) {
    // [MQTT-4.7.3-1] non-empty; [MQTT-3.3.2-2] no wildcards in a PUBLISH topic name.
    if (topic.empty())
        throw EncodeError("PUBLISH topic name is empty");
    if (topic.find_first_of("+#") != std::string_view::npos) {
        throw EncodeError("PUBLISH topic name '" + std::string(topic) + "' contains a wildcard");
    }
}

uint16_t read_u16(const uint8_t* p) {
    return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

} // namespace

void append_remaining_length(std::vector<uint8_t>& out, uint32_t value) {
    if (value > kMaxRemainingLength) {
        throw EncodeError("Remaining Length " + std::to_string(value) + " exceeds 268435455");
    }
    // Section 2.2.3: 7 bits per byte, least significant group first, bit 7 = "more follows".
    do {
        auto byte = static_cast<uint8_t>(value % 128);
        value /= 128;
        if (value > 0)
            byte |= 0x80;
        out.push_back(byte);
    } while (value > 0);
}

RemainingLength decode_remaining_length(std::span<const uint8_t> bytes) {
    uint32_t value = 0;
    uint32_t multiplier = 1;
    for (size_t i = 0; i < 4; ++i) {
        if (i >= bytes.size())
            return {RemainingLength::Status::kIncomplete};
        value += (bytes[i] & 0x7Fu) * multiplier;
        if ((bytes[i] & 0x80) == 0)
            return {RemainingLength::Status::kOk, value, i + 1};
        multiplier *= 128;
    }
    // Four bytes all had the continuation bit: a fifth would be needed, which 2.2.3 forbids.
    return {RemainingLength::Status::kTooLong};
}

bool is_valid_mqtt_utf8(std::string_view s) {
    // RFC 3629 well-formedness (rejects overlong forms, surrogates, > U+10FFFF) plus MQTT's
    // ban on U+0000 [MQTT-1.5.3-2].
    size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<uint8_t>(s[i]);
        if (c == 0x00)
            return false;
        if (c < 0x80) {
            ++i;
            continue;
        }
        size_t len;
        uint32_t cp;
        uint32_t min;
        if ((c & 0xE0) == 0xC0) {
            len = 2, cp = c & 0x1Fu, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3, cp = c & 0x0Fu, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4, cp = c & 0x07u, min = 0x10000;
        } else {
            return false;
        }
        if (i + len > s.size())
            return false;
        for (size_t k = 1; k < len; ++k) {
            const auto cc = static_cast<uint8_t>(s[i + k]);
            if ((cc & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (cc & 0x3Fu);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

std::vector<uint8_t> encode_connect(const ConnectOptions& opts) {
    if (opts.password && !opts.username) {
        throw EncodeError("CONNECT with a password but no user name is forbidden [MQTT-3.1.2-22]");
    }
    if (opts.will && opts.will->qos > 2) {
        throw EncodeError("will QoS " + std::to_string(opts.will->qos) + " is not 0, 1 or 2");
    }
    std::vector<uint8_t> body;
    // Variable header (3.1.2): protocol name "MQTT", level 4, flags, keepalive.
    append_string(body, "MQTT", "protocol name");
    body.push_back(4);
    uint8_t flags = 0;
    if (opts.username)
        flags |= 0x80;
    if (opts.password)
        flags |= 0x40;
    if (opts.will) {
        flags |= 0x04;
        flags |= static_cast<uint8_t>(opts.will->qos << 3);
        if (opts.will->retain)
            flags |= 0x20;
    }
    if (opts.clean_session)
        flags |= 0x02;
    body.push_back(flags);
    append_u16(body, opts.keepalive_s);
    // Payload order is fixed by 3.1.3: client id, will topic, will message, user name, password.
    append_string(body, opts.client_id, "client identifier");
    if (opts.will) {
        append_string(body, opts.will->topic, "will topic");
        append_field(body, opts.will->payload, "will message");
    }
    if (opts.username)
        append_string(body, *opts.username, "user name");
    if (opts.password)
        append_field(body, *opts.password, "password");
    return frame(type_byte(PacketType::kConnect), body);
}

std::vector<uint8_t> encode_publish(const PublishOptions& opts) {
    check_topic_name(opts.topic);
    if (opts.qos > 1) {
        throw EncodeError("PUBLISH QoS " + std::to_string(opts.qos) + " unsupported (0 or 1)");
    }
    if (opts.qos == 0 && opts.dup)
        throw EncodeError("DUP set on a QoS 0 PUBLISH [MQTT-3.3.1-2]");
    if (opts.qos == 0 && opts.packet_id != 0) {
        throw EncodeError("QoS 0 PUBLISH must not carry a packet identifier [MQTT-2.3.1-5]");
    }
    if (opts.qos > 0 && opts.packet_id == 0) {
        throw EncodeError("QoS 1 PUBLISH needs a non-zero packet identifier [MQTT-2.3.1-1]");
    }
    std::vector<uint8_t> body;
    append_string(body, opts.topic, "topic name");
    if (opts.qos > 0)
        append_u16(body, opts.packet_id);
    body.insert(body.end(), opts.payload.begin(), opts.payload.end());
    uint8_t flags = static_cast<uint8_t>(opts.qos << 1);
    if (opts.dup)
        flags |= 0x08;
    if (opts.retain)
        flags |= 0x01;
    return frame(type_byte(PacketType::kPublish, flags), body);
}

std::vector<uint8_t> encode_puback(uint16_t packet_id) {
    if (packet_id == 0)
        throw EncodeError("PUBACK with packet identifier 0 [MQTT-2.3.1-1]");
    std::vector<uint8_t> body;
    append_u16(body, packet_id);
    return frame(type_byte(PacketType::kPubAck), body);
}

std::vector<uint8_t> encode_subscribe(uint16_t packet_id, std::span<const Subscription> subs) {
    if (packet_id == 0)
        throw EncodeError("SUBSCRIBE with packet identifier 0 [MQTT-2.3.1-1]");
    if (subs.empty())
        throw EncodeError("SUBSCRIBE without a topic filter [MQTT-3.8.3-3]");
    std::vector<uint8_t> body;
    append_u16(body, packet_id);
    for (const auto& s : subs) {
        if (s.topic_filter.empty())
            throw EncodeError("empty topic filter [MQTT-4.7.3-1]");
        if (s.qos > 2) {
            throw EncodeError("requested QoS " + std::to_string(s.qos) + " for '" + s.topic_filter +
                              "' is not 0, 1 or 2");
        }
        append_string(body, s.topic_filter, "topic filter");
        body.push_back(s.qos);
    }
    // Table 2.2: SUBSCRIBE's fixed-header flags are 0010 [MQTT-3.8.1-1].
    return frame(type_byte(PacketType::kSubscribe, 0x02), body);
}

std::vector<uint8_t> encode_unsubscribe(uint16_t packet_id, const std::string& topic_filter) {
    if (packet_id == 0)
        throw EncodeError("UNSUBSCRIBE with packet identifier 0 [MQTT-2.3.1-1]");
    if (topic_filter.empty())
        throw EncodeError("empty topic filter [MQTT-4.7.3-1]");
    std::vector<uint8_t> body;
    append_u16(body, packet_id);
    append_string(body, topic_filter, "topic filter");
    // Table 2.2: UNSUBSCRIBE's fixed-header flags are 0010 [MQTT-3.10.1-1].
    return frame(type_byte(PacketType::kUnsubscribe, 0x02), body);
}

std::vector<uint8_t> encode_pingreq() {
    return {type_byte(PacketType::kPingReq), 0x00};
}
std::vector<uint8_t> encode_disconnect() {
    return {type_byte(PacketType::kDisconnect), 0x00};
}

void set_dup_flag(std::vector<uint8_t>& encoded_publish) {
    if (encoded_publish.empty() ||
        (encoded_publish[0] >> 4) != static_cast<uint8_t>(PacketType::kPublish) ||
        (encoded_publish[0] & 0x06) == 0) {
        throw EncodeError("set_dup_flag needs an encoded PUBLISH with QoS > 0");
    }
    encoded_publish[0] |= 0x08;
}

// ---- decoder ------------------------------------------------------------------------------

std::string_view to_string(DecodeErrorKind kind) {
    switch (kind) {
    case DecodeErrorKind::kRemainingLengthTooLong:
        return "remaining-length-too-long";
    case DecodeErrorKind::kPacketTooLarge:
        return "packet-too-large";
    case DecodeErrorKind::kReservedType:
        return "reserved-type";
    case DecodeErrorKind::kUnsupportedType:
        return "unsupported-type";
    case DecodeErrorKind::kBadFlags:
        return "bad-flags";
    case DecodeErrorKind::kMalformed:
        return "malformed";
    case DecodeErrorKind::kBadUtf8:
        return "bad-utf8";
    }
    return "unknown";
}

MqttDecoder::MqttDecoder(size_t max_packet_size) : max_packet_size_(max_packet_size) {}

void MqttDecoder::feed(std::span<const uint8_t> bytes) {
    if (error_)
        return; // the stream is dead; do not grow a buffer nobody will read
    // Drop consumed bytes before growing so the buffer stays near one packet in size.
    if (read_pos_ > 0 && read_pos_ >= buffer_.size() / 2) {
        buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(read_pos_));
        stream_base_ += read_pos_;
        read_pos_ = 0;
    }
    buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
}

MqttDecoder::Result MqttDecoder::fail(DecodeErrorKind kind, std::string message) {
    error_ = DecodeError{kind, std::move(message), stream_base_ + read_pos_};
    return *error_;
}

namespace {

std::string hex(uint8_t b) {
    static constexpr char kDigits[] = "0123456789abcdef";
    return std::string("0x") + kDigits[b >> 4] + kDigits[b & 0x0F];
}

} // namespace

MqttDecoder::Result MqttDecoder::next() {
    if (error_)
        return *error_;
    const std::span<const uint8_t> avail(buffer_.data() + read_pos_, buffer_.size() - read_pos_);
    if (avail.empty())
        return std::monostate{};

    const uint8_t b0 = avail[0];
    const uint8_t type = b0 >> 4;
    const uint8_t flags = b0 & 0x0F;
    // Reject the type and flags from the first byte alone: no point waiting for a body that
    // can only be garbage.
    if (type == 0 || type == 15) {
        return fail(DecodeErrorKind::kReservedType, "reserved packet type " + std::to_string(type) +
                                                        " (first byte " + hex(b0) + ")");
    }
    const auto ptype = static_cast<PacketType>(type);
    switch (ptype) {
    case PacketType::kConnAck:
    case PacketType::kPubAck:
    case PacketType::kSubAck:
    case PacketType::kUnsubAck:
    case PacketType::kPingResp:
        if (flags != 0) {
            return fail(DecodeErrorKind::kBadFlags, "packet type " + std::to_string(type) +
                                                        " needs flags 0000, got " + hex(b0) +
                                                        " [MQTT-2.2.2-2]");
        }
        break;
    case PacketType::kPublish: {
        const uint8_t qos = (flags >> 1) & 0x03;
        if (qos == 3) {
            return fail(DecodeErrorKind::kBadFlags, "PUBLISH with QoS 3 [MQTT-3.3.1-4]");
        }
        if (qos == 0 && (flags & 0x08)) {
            return fail(DecodeErrorKind::kBadFlags, "PUBLISH QoS 0 with DUP set [MQTT-3.3.1-2]");
        }
        break;
    }
    default:
        return fail(DecodeErrorKind::kUnsupportedType,
                    "packet type " + std::to_string(type) +
                        " is not one a server sends to a QoS 0/1 client");
    }

    const RemainingLength rl = decode_remaining_length(avail.subspan(1));
    if (rl.status == RemainingLength::Status::kTooLong) {
        return fail(DecodeErrorKind::kRemainingLengthTooLong,
                    "Remaining Length continues past 4 bytes (section 2.2.3)");
    }
    if (rl.status == RemainingLength::Status::kIncomplete)
        return std::monostate{};
    const size_t header = 1 + rl.encoded_size;
    const size_t total = header + rl.value;
    if (total > max_packet_size_) {
        return fail(DecodeErrorKind::kPacketTooLarge, "packet of " + std::to_string(total) +
                                                          " bytes exceeds the maximum of " +
                                                          std::to_string(max_packet_size_));
    }
    if (avail.size() < total)
        return std::monostate{};

    const uint8_t* body = avail.data() + header;
    const size_t len = rl.value;
    auto exact = [&](size_t want, const char* name) -> std::optional<Result> {
        if (len != want) {
            return fail(DecodeErrorKind::kMalformed,
                        std::string(name) + " Remaining Length must be " + std::to_string(want) +
                            ", got " + std::to_string(len));
        }
        return std::nullopt;
    };
    auto nonzero_id = [&](uint16_t id, const char* name) -> std::optional<Result> {
        if (id == 0) {
            return fail(DecodeErrorKind::kMalformed,
                        std::string(name) + " with packet identifier 0 [MQTT-2.3.1-1]");
        }
        return std::nullopt;
    };

    ServerPacket packet;
    switch (ptype) {
    case PacketType::kConnAck: {
        if (auto e = exact(2, "CONNACK"))
            return *e;
        if (body[0] & 0xFE) {
            return fail(DecodeErrorKind::kMalformed, "CONNACK acknowledge flags " + hex(body[0]) +
                                                         " has reserved bits set [MQTT-3.2.2-1]");
        }
        ConnAck ack{(body[0] & 0x01) != 0, body[1]};
        if (ack.return_code != 0 && ack.session_present) {
            return fail(DecodeErrorKind::kMalformed,
                        "CONNACK refusal with Session Present set [MQTT-3.2.2-4]");
        }
        packet = ack;
        break;
    }
    case PacketType::kPubAck:
    case PacketType::kUnsubAck: {
        const char* name = ptype == PacketType::kPubAck ? "PUBACK" : "UNSUBACK";
        if (auto e = exact(2, name))
            return *e;
        const uint16_t id = read_u16(body);
        if (auto e = nonzero_id(id, name))
            return *e;
        if (ptype == PacketType::kPubAck) {
            packet = PubAck{id};
        } else {
            packet = UnsubAck{id};
        }
        break;
    }
    case PacketType::kPingResp:
        if (auto e = exact(0, "PINGRESP"))
            return *e;
        packet = PingResp{};
        break;
    case PacketType::kSubAck: {
        if (len < 3) {
            return fail(DecodeErrorKind::kMalformed,
                        "SUBACK needs a packet identifier and at least one return code, got " +
                            std::to_string(len) + " bytes");
        }
        SubAck ack;
        ack.packet_id = read_u16(body);
        if (auto e = nonzero_id(ack.packet_id, "SUBACK"))
            return *e;
        for (size_t i = 2; i < len; ++i) {
            const uint8_t rc = body[i];
            if (rc != 0x00 && rc != 0x01 && rc != 0x02 && rc != 0x80) {
                return fail(DecodeErrorKind::kMalformed,
                            "SUBACK return code " + hex(rc) + " is reserved [MQTT-3.9.3-2]");
            }
            ack.return_codes.push_back(rc);
        }
        packet = std::move(ack);
        break;
    }
    case PacketType::kPublish: {
        Publish pub;
        pub.qos = (flags >> 1) & 0x03;
        pub.dup = (flags & 0x08) != 0;
        pub.retain = (flags & 0x01) != 0;
        if (len < 2) {
            return fail(DecodeErrorKind::kMalformed, "PUBLISH too short for its topic length");
        }
        const size_t topic_len = read_u16(body);
        const size_t id_len = pub.qos > 0 ? 2 : 0;
        if (2 + topic_len + id_len > len) {
            return fail(DecodeErrorKind::kMalformed,
                        "PUBLISH topic length " + std::to_string(topic_len) +
                            (id_len ? " plus packet identifier" : "") + " overruns the " +
                            std::to_string(len) + "-byte packet");
        }
        pub.topic.assign(reinterpret_cast<const char*>(body + 2), topic_len);
        if (topic_len == 0) {
            return fail(DecodeErrorKind::kMalformed, "PUBLISH with empty topic [MQTT-4.7.3-1]");
        }
        if (!is_valid_mqtt_utf8(pub.topic)) {
            return fail(DecodeErrorKind::kBadUtf8, "PUBLISH topic is not valid MQTT UTF-8");
        }
        if (pub.topic.find_first_of("+#") != std::string::npos) {
            return fail(DecodeErrorKind::kMalformed,
                        "PUBLISH topic contains a wildcard [MQTT-3.3.2-2]");
        }
        size_t pos = 2 + topic_len;
        if (pub.qos > 0) {
            pub.packet_id = read_u16(body + pos);
            if (auto e = nonzero_id(pub.packet_id, "PUBLISH"))
                return *e;
            pos += 2;
        }
        pub.payload.assign(body + pos, body + len);
        packet = std::move(pub);
        break;
    }
    default:
        break; // unreachable: filtered by the type switch above
    }
    read_pos_ += total;
    if (read_pos_ == buffer_.size()) {
        stream_base_ += read_pos_;
        buffer_.clear();
        read_pos_ = 0;
    }
    return packet;
}

std::string connack_text(uint8_t return_code) {
    static constexpr const char* kText[] = {"accepted",
                                            "refused: unacceptable protocol version",
                                            "refused: identifier rejected",
                                            "refused: server unavailable",
                                            "refused: bad user name or password",
                                            "refused: not authorized"};
    const std::string text =
        return_code < std::size(kText) ? kText[return_code] : "refused: reserved code";
    return text + " (" + std::to_string(return_code) + ")";
}

} // namespace lwipsim::device
