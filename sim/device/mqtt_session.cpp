#include "sim/device/mqtt_session.h"

#include <algorithm>
#include <array>
#include <type_traits>
#include <utility>

namespace lwipsim::device {

namespace {

// Big enough for a typical TLS record's worth of MQTT; larger packets just take several reads.
constexpr size_t kReadChunk = 4096;

std::string ms_text(clock::SimDuration d) {
    return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

StopReason stop_for(IoStatus status) {
    return status == IoStatus::kClosed ? StopReason::kTransportClosed : StopReason::kTransportError;
}

ConnectOutcome outcome_for(StopReason reason) {
    switch (reason) {
    case StopReason::kDeadline:
        return ConnectOutcome::kCut;
    case StopReason::kTransportClosed:
        return ConnectOutcome::kClosed;
    case StopReason::kProtocolError:
        return ConnectOutcome::kProtocolError;
    default:
        return ConnectOutcome::kTransportError;
    }
}

std::string io_text(const IoResult& r) {
    std::string s;
    switch (r.status) {
    case IoStatus::kOk:
        s = "ok";
        break;
    case IoStatus::kTimeout:
        s = "timeout";
        break;
    case IoStatus::kClosed:
        s = "closed";
        break;
    case IoStatus::kError:
        s = "error " + std::to_string(r.error);
        break;
    }
    if (!r.detail.empty())
        s += " (" + r.detail + ")";
    return s;
}

const char* packet_name(const ServerPacket& p) {
    static constexpr const char* kNames[] = {"CONNACK", "PUBLISH",  "PUBACK",
                                             "SUBACK",  "PINGRESP", "UNSUBACK"};
    return kNames[p.index()];
}

} // namespace

std::string_view to_string(StopReason reason) {
    switch (reason) {
    case StopReason::kDeadline:
        return "deadline";
    case StopReason::kPingTimeout:
        return "ping-timeout";
    case StopReason::kTransportClosed:
        return "transport-closed";
    case StopReason::kTransportError:
        return "transport-error";
    case StopReason::kProtocolError:
        return "protocol-error";
    case StopReason::kNotConnected:
        return "not-connected";
    case StopReason::kActionDue:
        return "action-due";
    case StopReason::kAppStop:
        return "app-stop";
    case StopReason::kAppDrop:
        return "app-drop";
    }
    return "unknown";
}

std::string_view to_string(ConnectOutcome outcome) {
    switch (outcome) {
    case ConnectOutcome::kAccepted:
        return "accepted";
    case ConnectOutcome::kRefused:
        return "refused";
    case ConnectOutcome::kTimeout:
        return "timeout";
    case ConnectOutcome::kClosed:
        return "closed";
    case ConnectOutcome::kTransportError:
        return "transport-error";
    case ConnectOutcome::kProtocolError:
        return "protocol-error";
    case ConnectOutcome::kCut:
        return "cut";
    }
    return "unknown";
}

MqttSession::MqttSession(SessionConfig config, Transport& transport, const SessionClock& clock,
                         SessionObserver* observer, OutboxMemory* outbox_memory)
    : config_(std::move(config)), transport_(transport), clock_(clock),
      observer_(observer ? observer : &null_observer_), outbox_memory_(outbox_memory),
      decoder_(config_.max_incoming_packet) {
    if (config_.publish_qos > 1) {
        throw EncodeError("publish QoS " + std::to_string(config_.publish_qos) +
                          " unsupported (0 or 1)");
    }
    if (config_.poll_interval <= clock::SimDuration::zero()) {
        throw std::invalid_argument("poll_interval must be positive");
    }
}

std::optional<MqttSession::Stop> MqttSession::write_packet(const std::vector<uint8_t>& bytes,
                                                           const char* what) {
    clock::SimDuration timeout = config_.network_timeout;
    const bool cut_short = stop_at_ && *stop_at_ - clock_.now() < timeout;
    if (cut_short)
        timeout = std::max(*stop_at_ - clock_.now(), clock::SimDuration::zero());
    const IoResult r = transport_.write_all(bytes, timeout);
    if (r.status == IoStatus::kOk) {
        // esp-mqtt's mqtt_write_data: every successful control-packet write restarts the
        // keepalive period [MQTT-3.1.2-23].
        keepalive_tick_ = clock_.now();
        return std::nullopt;
    }
    if (r.status == IoStatus::kTimeout && cut_short)
        return Stop{StopReason::kDeadline, std::string("cut while writing ") + what};
    std::string detail = std::string("writing ") + what + " failed: " + io_text(r);
    if (r.status == IoStatus::kTimeout) {
        detail += " after " + ms_text(config_.network_timeout);
    }
    return Stop{stop_for(r.status), std::move(detail)};
}

std::optional<MqttSession::Stop> MqttSession::read_into_decoder(clock::SimDuration timeout,
                                                                bool& got_bytes) {
    std::array<uint8_t, kReadChunk> buf;
    const clock::SimTime before = clock_.now();
    const IoResult r = transport_.read_some(buf, timeout);
    got_bytes = false;
    switch (r.status) {
    case IoStatus::kOk:
        if (r.bytes == 0 || r.bytes > buf.size()) {
            return Stop{StopReason::kTransportError,
                        "transport read returned kOk with " + std::to_string(r.bytes) +
                            " bytes into a " + std::to_string(buf.size()) + "-byte buffer"};
        }
        decoder_.feed(std::span<const uint8_t>(buf.data(), r.bytes));
        got_bytes = true;
        return std::nullopt;
    case IoStatus::kTimeout:
        // A timeout that lets no time pass would spin this loop forever.
        if (timeout > clock::SimDuration::zero() && clock_.now() == before) {
            return Stop{StopReason::kTransportError,
                        "transport read timed out without simulated time passing"};
        }
        return std::nullopt;
    case IoStatus::kClosed:
        return Stop{StopReason::kTransportClosed, "read: " + io_text(r)};
    case IoStatus::kError:
        return Stop{StopReason::kTransportError, "read: " + io_text(r)};
    }
    return std::nullopt;
}

uint16_t MqttSession::next_packet_id() {
    // Identifiers in use must not be reused [MQTT-2.3.1-2]; 0 is invalid [MQTT-2.3.1-1].
    for (;;) {
        last_packet_id_ = static_cast<uint16_t>(last_packet_id_ + 1);
        if (last_packet_id_ == 0)
            continue;
        if (suback_ == std::nullopt && last_packet_id_ == subscribe_id_)
            continue;
        const bool busy = std::any_of(outbox_.begin(), outbox_.end(), [&](const Pending& p) {
            return p.packet_id == last_packet_id_;
        });
        if (!busy)
            return last_packet_id_;
    }
}

ConnectResult MqttSession::connect(std::optional<clock::SimTime> stop_at) {
    stop_at_ = stop_at;
    if (connect_called_) {
        return {ConnectOutcome::kProtocolError, 0, false,
                "connect() called twice on one session; make a new session per connection"};
    }
    connect_called_ = true;

    ConnectOptions opts;
    opts.client_id = config_.client_id;
    opts.keepalive_s = config_.keepalive_s;
    opts.clean_session = config_.clean_session;
    opts.username = config_.username;
    if (config_.password) {
        opts.password = std::vector<uint8_t>(config_.password->begin(), config_.password->end());
    }
    opts.will = config_.will;
    const std::vector<uint8_t> packet = encode_connect(opts);

    wait_for_ping_resp_ = false;
    if (auto stop = write_packet(packet, "CONNECT")) {
        return {outcome_for(stop->reason), 0, false, stop->detail};
    }

    const clock::SimTime started = clock_.now();
    for (;;) {
        auto result = decoder_.next();
        if (auto* err = std::get_if<DecodeError>(&result)) {
            std::string detail = "while waiting for CONNACK: " + std::string(to_string(err->kind)) +
                                 ": " + err->message;
            observer_->on_error(detail);
            return {ConnectOutcome::kProtocolError, 0, false, std::move(detail)};
        }
        if (auto* pkt = std::get_if<ServerPacket>(&result)) {
            const auto* ack = std::get_if<ConnAck>(pkt);
            if (!ack) {
                std::string detail = std::string("expected CONNACK, got ") + packet_name(*pkt);
                observer_->on_error(detail);
                return {ConnectOutcome::kProtocolError, 0, false, std::move(detail)};
            }
            if (ack->return_code != 0) {
                std::string detail = "CONNACK " + connack_text(ack->return_code);
                observer_->on_error(detail);
                return {ConnectOutcome::kRefused, ack->return_code, false, std::move(detail)};
            }
            connected_ = true;
            next_publish_ = clock_.now() + config_.publish_interval;
            observer_->on_connected(ack->session_present);
            // esp-mqtt applications subscribe from the CONNECTED event, before the loop runs.
            if (config_.subscribe_topic) {
                subscribe_id_ = next_packet_id();
                const Subscription sub{*config_.subscribe_topic, config_.subscribe_qos};
                if (auto stop =
                        write_packet(encode_subscribe(subscribe_id_, {&sub, 1}), "SUBSCRIBE")) {
                    connected_ = false;
                    if (stop->reason != StopReason::kDeadline)
                        observer_->on_error(stop->detail);
                    return {outcome_for(stop->reason), 0, ack->session_present, stop->detail};
                }
            }
            return {ConnectOutcome::kAccepted, 0, ack->session_present, {}};
        }
        const clock::SimDuration waited = clock_.now() - started;
        if (waited >= config_.network_timeout) {
            std::string detail = "no CONNACK within " + ms_text(config_.network_timeout);
            observer_->on_error(detail);
            return {ConnectOutcome::kTimeout, 0, false, std::move(detail)};
        }
        if (stop_at_ && clock_.now() >= *stop_at_)
            return {ConnectOutcome::kCut, 0, false, "cut while waiting for CONNACK"};
        clock::SimDuration wait = config_.network_timeout - waited;
        if (stop_at_)
            wait = std::min(wait, *stop_at_ - clock_.now());
        bool got = false;
        if (auto stop = read_into_decoder(wait, got)) {
            observer_->on_error(stop->detail);
            return {outcome_for(stop->reason), 0, false, stop->detail};
        }
    }
}

std::optional<MqttSession::Stop> MqttSession::handle_packets() {
    for (;;) {
        auto result = decoder_.next();
        if (std::holds_alternative<std::monostate>(result))
            return std::nullopt;
        if (auto* err = std::get_if<DecodeError>(&result)) {
            return Stop{StopReason::kProtocolError,
                        std::string(to_string(err->kind)) + " at stream offset " +
                            std::to_string(err->stream_offset) + ": " + err->message};
        }
        auto& pkt = std::get<ServerPacket>(result);
        if (auto* pub = std::get_if<Publish>(&pkt)) {
            if (pub->qos > 1) {
                return Stop{StopReason::kProtocolError,
                            "QoS 2 PUBLISH on '" + pub->topic +
                                "': this client subscribes at QoS <= 1 [MQTT-3.8.4-6]"};
            }
            ++counters_.messages_received;
            observer_->on_message(pub->topic, pub->payload.size());
            if (pub->qos == 1) {
                if (auto stop = write_packet(encode_puback(pub->packet_id), "PUBACK"))
                    return stop;
            }
        } else if (auto* ack = std::get_if<PubAck>(&pkt)) {
            // Unknown identifiers are ignored, as esp-mqtt's is_valid_mqtt_msg does.
            auto it = std::find_if(outbox_.begin(), outbox_.end(),
                                   [&](const Pending& p) { return p.packet_id == ack->packet_id; });
            if (it != outbox_.end()) {
                outbox_.erase(it);
                if (outbox_memory_)
                    outbox_memory_->acked(ack->packet_id);
                ++counters_.publishes_acked;
                observer_->on_publish_acked(ack->packet_id);
            }
        } else if (auto* sub = std::get_if<SubAck>(&pkt)) {
            if (sub->packet_id == subscribe_id_ && !suback_) {
                suback_ = sub->return_codes;
                if (std::find(sub->return_codes.begin(), sub->return_codes.end(), 0x80) !=
                    sub->return_codes.end()) {
                    observer_->on_error("broker refused the subscription to '" +
                                        config_.subscribe_topic.value_or("") + "'");
                }
            }
        } else if (std::holds_alternative<PingResp>(pkt)) {
            if (wait_for_ping_resp_)
                ++counters_.pings_answered;
            wait_for_ping_resp_ = false;
        } else if (std::holds_alternative<ConnAck>(pkt)) {
            return Stop{StopReason::kProtocolError, "second CONNACK on a connected session"};
        }
        // UNSUBACK (of an app action's unsubscribe) and extra SUBACKs need no handling.
    }
}

std::optional<MqttSession::Stop> MqttSession::publish_next() {
    const clock::SimTime now = clock_.now();
    next_publish_ = next_publish_ + config_.publish_interval;
    if (next_publish_ <= now)
        next_publish_ = now + config_.publish_interval; // no catch-up burst
    return publish_message(config_.publish_topic, config_.publish_payload_size, config_.publish_qos,
                           config_.publish_retain);
}

std::optional<MqttSession::Stop> MqttSession::publish_message(const std::string& topic,
                                                              size_t payload_size, uint8_t qos,
                                                              bool retain) {
    const clock::SimTime now = clock_.now();
    // Payload: a readable sequence number padded to the configured size, so a broker-side
    // capture shows which publish is which.
    std::string payload = "seq=" + std::to_string(publish_seq_++) + ";";
    payload.resize(payload_size, '.');
    const uint16_t id = qos > 0 ? next_packet_id() : 0;
    PublishOptions opts;
    opts.topic = topic;
    opts.payload =
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(payload.data()), payload.size());
    opts.qos = qos;
    opts.retain = retain;
    opts.packet_id = id;
    std::vector<uint8_t> packet = encode_publish(opts);

    // esp-mqtt stores a QoS > 0 message in the outbox before writing it. Without memory for the
    // item it writes the message all the same, but cannot resend it or match its PUBACK.
    bool stored = id != 0;
    if (stored && outbox_memory_ && !outbox_memory_->store(id, packet.size(), now)) {
        stored = false;
        ++counters_.outbox_store_failures;
        observer_->on_outbox_store_failed(id, packet.size());
    }
    if (auto stop = write_packet(packet, "PUBLISH"))
        return stop;
    ++counters_.publishes_sent;
    observer_->on_publish_sent(id, qos);
    if (stored) {
        if (outbox_memory_)
            outbox_memory_->transmitted(id, clock_.now());
        outbox_.push_back(Pending{id, std::move(packet), clock_.now()});
    }
    return std::nullopt;
}

std::optional<MqttSession::Stop> MqttSession::resend_due() {
    if (outbox_.empty())
        return std::nullopt;
    const clock::SimTime now = clock_.now();
    // The outbox is kept in send order, so the front is the oldest; one resend per iteration.
    Pending& oldest = outbox_.front();
    if (outbox_memory_ && !outbox_memory_->holds(oldest.packet_id)) {
        outbox_.pop_front(); // expired and deleted by the cleanup: never resent
        return std::nullopt;
    }
    if (now - oldest.last_sent <= config_.resend_timeout)
        return std::nullopt;
    Pending item = std::move(oldest);
    outbox_.pop_front();
    set_dup_flag(item.encoded);
    if (auto stop = write_packet(item.encoded, "PUBLISH resend")) {
        outbox_.push_front(std::move(item));
        return stop;
    }
    ++counters_.publishes_resent;
    observer_->on_publish_sent(item.packet_id, 1);
    item.last_sent = clock_.now();
    outbox_.push_back(std::move(item));
    return std::nullopt;
}

std::optional<MqttSession::Stop> MqttSession::keepalive_check() {
    if (config_.keepalive_s == 0)
        return std::nullopt;
    const clock::SimDuration half = std::chrono::milliseconds(config_.keepalive_s * 1000 / 2);
    if (clock_.now() - keepalive_tick_ <= half)
        return std::nullopt;
    if (wait_for_ping_resp_) {
        observer_->on_ping_timeout();
        return Stop{StopReason::kPingTimeout,
                    "No PINGRESP more than " + ms_text(half) + " after the last write"};
    }
    if (auto stop = write_packet(encode_pingreq(), "PINGREQ"))
        return stop;
    wait_for_ping_resp_ = true;
    ++counters_.pings_sent;
    observer_->on_ping_sent();
    return std::nullopt;
}

RunResult MqttSession::finish(Stop stop) {
    connected_ = false;
    poll_end_.reset();
    if (stop.reason != StopReason::kPingTimeout && stop.reason != StopReason::kDeadline)
        observer_->on_error(stop.detail);
    return {stop.reason, clock_.now(), std::move(stop.detail)};
}

RunResult MqttSession::run_until(clock::SimTime deadline) {
    if (!connected_) {
        return {StopReason::kNotConnected, clock_.now(),
                "run_until on a session that is not connected"};
    }
    const bool publishing = config_.publish_interval > clock::SimDuration::zero();
    stop_at_ = deadline;
    for (;;) {
        if (!poll_end_) {
            // One iteration of esp_mqtt_task's CONNECTED branch.
            if (auto stop = handle_packets())
                return finish(std::move(*stop));
            if (outbox_memory_)
                outbox_memory_->delete_expired(clock_.now()); // mqtt_delete_expired_messages
            if (auto stop = resend_due())
                return finish(std::move(*stop));
            if (auto stop = keepalive_check())
                return finish(std::move(*stop));
            poll_end_ = clock_.now() + config_.poll_interval;
        }
        // esp_transport_poll_read: wait for bytes up to poll_interval, while the application
        // task publishes on its own schedule.
        const clock::SimTime now = clock_.now();
        if (now >= deadline)
            return {StopReason::kDeadline, now, {}};
        const std::optional<clock::SimTime> due = next_due_ ? next_due_() : std::nullopt;
        if (due && now >= *due)
            return {StopReason::kActionDue, now, {}};
        if (publishing && now >= next_publish_) {
            if (auto stop = publish_next())
                return finish(std::move(*stop));
            continue;
        }
        if (now >= *poll_end_) {
            poll_end_.reset();
            continue;
        }
        clock::SimTime wake = std::min(*poll_end_, deadline);
        if (due)
            wake = std::min(wake, *due);
        if (publishing)
            wake = std::min(wake, next_publish_);
        bool got = false;
        if (auto stop = read_into_decoder(wake - now, got))
            return finish(std::move(*stop));
        if (got)
            poll_end_.reset();
    }
}

IoResult MqttSession::disconnect() {
    if (!connected_)
        return {IoStatus::kClosed, 0, 0, "session is not connected"};
    const std::vector<uint8_t> packet = encode_disconnect();
    IoResult r = transport_.write_all(packet, config_.network_timeout);
    connected_ = false;
    poll_end_.reset();
    return r;
}

std::optional<RunResult> MqttSession::app_write(std::optional<Stop> stop) {
    if (!stop)
        return std::nullopt;
    return finish(std::move(*stop));
}

std::optional<RunResult> MqttSession::publish(const std::string& topic, size_t payload_size,
                                              uint8_t qos) {
    if (!connected_)
        return RunResult{StopReason::kNotConnected, clock_.now(), "publish: not connected"};
    if (qos > 1)
        throw EncodeError("publish QoS " + std::to_string(qos) + " unsupported (0 or 1)");
    return app_write(publish_message(topic, payload_size, qos, false));
}

std::optional<RunResult> MqttSession::subscribe(const std::string& topic_filter, uint8_t qos) {
    if (!connected_)
        return RunResult{StopReason::kNotConnected, clock_.now(), "subscribe: not connected"};
    const Subscription sub{topic_filter, qos};
    return app_write(write_packet(encode_subscribe(next_packet_id(), {&sub, 1}), "SUBSCRIBE"));
}

std::optional<RunResult> MqttSession::unsubscribe(const std::string& topic_filter) {
    if (!connected_)
        return RunResult{StopReason::kNotConnected, clock_.now(), "unsubscribe: not connected"};
    return app_write(
        write_packet(encode_unsubscribe(next_packet_id(), topic_filter), "UNSUBSCRIBE"));
}

} // namespace lwipsim::device
