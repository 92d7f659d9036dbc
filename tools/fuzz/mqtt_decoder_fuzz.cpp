// libFuzzer target for the MQTT decoder. The first input byte picks the chunk size and the
// maximum packet size, so one corpus explores both chunking and the size limit; the rest is the
// byte stream a hostile server might send. Crashes, ASan reports and the asserted contract
// violations below are findings.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <variant>

#include "sim/device/mqtt_codec.h"

using lwipsim::device::DecodeError;
using lwipsim::device::MqttDecoder;
using lwipsim::device::Publish;
using lwipsim::device::ServerPacket;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0)
        return 0;
    const size_t chunk = 1 + (data[0] & 0x1F);
    const size_t max_packet = (data[0] & 0x80) ? 128 : MqttDecoder::kDefaultMaxPacketSize;
    std::span<const uint8_t> rest(data + 1, size - 1);

    MqttDecoder decoder(max_packet);
    size_t fed = 0;
    while (!rest.empty()) {
        const size_t n = rest.size() < chunk ? rest.size() : chunk;
        decoder.feed(rest.first(n));
        fed += n;
        rest = rest.subspan(n);
        if (decoder.buffered() > fed)
            std::abort();
        for (;;) {
            auto r = decoder.next();
            if (std::holds_alternative<std::monostate>(r))
                break;
            if (const auto* e = std::get_if<DecodeError>(&r)) {
                if (e->message.empty() || e->stream_offset >= fed)
                    std::abort();
                return 0;
            }
            const auto& p = std::get<ServerPacket>(r);
            if (const auto* pub = std::get_if<Publish>(&p)) {
                if (pub->topic.empty() || pub->qos > 2 || (pub->qos > 0) != (pub->packet_id != 0))
                    std::abort();
                if (pub->payload.size() + pub->topic.size() > max_packet)
                    std::abort();
            }
        }
    }
    return 0;
}
