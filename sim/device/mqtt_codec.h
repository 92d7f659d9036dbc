#pragma once
// MQTT 3.1.1 wire format (OASIS Standard, 29 October 2014) for the client side: encoders for the
// packets a client sends and an incremental decoder for the packets a server sends. Section and
// conformance numbers ([MQTT-x.y.z-n]) refer to that standard.
//
// The decoder never trusts the peer: every length is checked against the bytes present and
// against a configurable maximum packet size before anything is buffered or copied, and every
// violation becomes a typed DecodeError with a message, never an exception or a crash.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace lwipsim::device {

/// Control packet types, fixed header bits 7-4 (section 2.2.1).
enum class PacketType : uint8_t {
    kConnect = 1,
    kConnAck = 2,
    kPublish = 3,
    kPubAck = 4,
    kPubRec = 5,
    kPubRel = 6,
    kPubComp = 7,
    kSubscribe = 8,
    kSubAck = 9,
    kUnsubscribe = 10,
    kUnsubAck = 11,
    kPingReq = 12,
    kPingResp = 13,
    kDisconnect = 14,
};

/// Largest value the 4-byte Remaining Length can carry (section 2.2.3).
inline constexpr uint32_t kMaxRemainingLength = 268'435'455;

/// Thrown by the encoders when asked to build a packet the standard forbids (e.g. a PUBLISH topic
/// with a wildcard). That is a caller bug or bad configuration, not a network event.
class EncodeError : public std::invalid_argument {
  public:
    using std::invalid_argument::invalid_argument;
};

// ---- encoding -----------------------------------------------------------------------------

/// Appends the Remaining Length encoding of `value` (1-4 bytes). Throws EncodeError if
/// value > kMaxRemainingLength.
void append_remaining_length(std::vector<uint8_t>& out, uint32_t value);

struct Will {
    std::string topic;
    std::vector<uint8_t> payload;
    uint8_t qos = 0; ///< 0..2
    bool retain = false;
};

struct ConnectOptions {
    std::string client_id;
    uint16_t keepalive_s = 120; ///< 0 disables keepalive (section 3.1.2.10)
    bool clean_session = true;
    std::optional<std::string> username;
    std::optional<std::vector<uint8_t>> password; ///< needs username [MQTT-3.1.2-22]
    std::optional<Will> will;
};

std::vector<uint8_t> encode_connect(const ConnectOptions& opts);

struct PublishOptions {
    std::string_view topic;
    std::span<const uint8_t> payload;
    uint8_t qos = 0;  ///< 0 or 1 (this client does not implement QoS 2)
    bool dup = false; ///< only with qos 1 [MQTT-3.3.1-2]
    bool retain = false;
    uint16_t packet_id = 0; ///< non-zero iff qos > 0 [MQTT-2.3.1-1]
};

std::vector<uint8_t> encode_publish(const PublishOptions& opts);
std::vector<uint8_t> encode_puback(uint16_t packet_id);

struct Subscription {
    std::string topic_filter;
    uint8_t qos = 0; ///< requested maximum QoS, 0..2
};
/// At least one subscription [MQTT-3.8.3-3]; packet id non-zero.
std::vector<uint8_t> encode_subscribe(uint16_t packet_id, std::span<const Subscription> subs);
/// One topic filter [MQTT-3.10.3-2]; packet id non-zero.
std::vector<uint8_t> encode_unsubscribe(uint16_t packet_id, const std::string& topic_filter);
std::vector<uint8_t> encode_pingreq();
std::vector<uint8_t> encode_disconnect();

/// Sets the DUP flag in an already encoded QoS>0 PUBLISH (byte 0, bit 3), as a resend needs.
void set_dup_flag(std::vector<uint8_t>& encoded_publish);

// ---- decoding -----------------------------------------------------------------------------

struct ConnAck {
    bool session_present = false;
    uint8_t return_code = 0; ///< 0 accepted, 1-5 refused (table 3.1)
};
/// A CONNACK return code as text, after MQTT 3.1.1 table 3.1: "accepted (0)",
/// "refused: not authorized (5)"; codes 6-255 (reserved) are "refused: reserved code (N)".
std::string connack_text(uint8_t return_code);
struct Publish {
    std::string topic;
    std::vector<uint8_t> payload;
    uint8_t qos = 0;
    bool dup = false;
    bool retain = false;
    uint16_t packet_id = 0; ///< 0 for QoS 0
};
struct PubAck {
    uint16_t packet_id = 0;
};
struct SubAck {
    uint16_t packet_id = 0;
    std::vector<uint8_t> return_codes; ///< each 0x00, 0x01, 0x02 or 0x80 (failure)
};
struct PingResp {};
struct UnsubAck {
    uint16_t packet_id = 0;
};

/// A packet a server may send to this client.
using ServerPacket = std::variant<ConnAck, Publish, PubAck, SubAck, PingResp, UnsubAck>;

enum class DecodeErrorKind {
    kRemainingLengthTooLong, ///< a 5th Remaining Length byte (section 2.2.3)
    kPacketTooLarge,         ///< header + remaining length > the decoder's maximum
    kReservedType,           ///< type 0 or 15
    kUnsupportedType,        ///< a valid type a server never sends a QoS<=1 client
    kBadFlags,               ///< fixed-header flags not as table 2.2 requires
    kMalformed,              ///< a field runs past the packet, is left over, or has a bad value
    kBadUtf8,                ///< a string is not well-formed UTF-8 or contains U+0000 (1.5.3)
};

std::string_view to_string(DecodeErrorKind kind);

struct DecodeError {
    DecodeErrorKind kind;
    std::string message;
    size_t stream_offset = 0; ///< offset of the offending packet's first byte in the stream
};

/// Incremental decoder for the server-to-client byte stream. Feed it whatever chunks the
/// transport produced, then call next() until it returns std::monostate ("need more bytes").
/// After an error the stream is unusable (MQTT has no resynchronisation), so the error sticks:
/// every later next() returns it again.
class MqttDecoder {
  public:
    static constexpr size_t kDefaultMaxPacketSize = 1 << 20;

    explicit MqttDecoder(size_t max_packet_size = kDefaultMaxPacketSize);

    void feed(std::span<const uint8_t> bytes);

    using Result = std::variant<std::monostate, ServerPacket, DecodeError>;
    Result next();

    [[nodiscard]] size_t buffered() const { return buffer_.size() - read_pos_; }
    [[nodiscard]] bool failed() const { return error_.has_value(); }
    [[nodiscard]] size_t max_packet_size() const { return max_packet_size_; }

  private:
    Result fail(DecodeErrorKind kind, std::string message);

    size_t max_packet_size_;
    std::vector<uint8_t> buffer_;
    size_t read_pos_ = 0;    // start of the first undecoded packet in buffer_
    size_t stream_base_ = 0; // stream offset of buffer_[0]
    std::optional<DecodeError> error_;
};

/// Result of reading a Remaining Length from the start of `bytes`.
struct RemainingLength {
    enum class Status { kOk, kIncomplete, kTooLong } status;
    uint32_t value = 0;
    size_t encoded_size = 0; ///< bytes used, when kOk
};
RemainingLength decode_remaining_length(std::span<const uint8_t> bytes);

/// Well-formed UTF-8 without surrogates or U+0000, as section 1.5.3 requires of MQTT strings.
bool is_valid_mqtt_utf8(std::string_view s);

} // namespace lwipsim::device
