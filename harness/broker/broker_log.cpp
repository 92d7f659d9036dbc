#include "harness/broker/broker_log.h"

#include <array>
#include <cerrno>
#include <cstring>
#include <regex>

#include <fcntl.h>
#include <unistd.h>

namespace lwipsim::broker {
namespace {

// mosquitto 2.0.11's connection messages, "Client <id><suffix>" (src/loop.c do_disconnect,
// src/handle_connect.c). The client id may contain anything, so the fixed text is matched at the
// end of the message. "Client <id> disconnected: <strerror>." and "Bad socket read/write on
// client <id>: <text>" carry variable text and are handled below.
struct Suffix {
    std::string_view text, reason;
};
constexpr std::array kDisconnectSuffixes{
    Suffix{" has exceeded timeout, disconnecting.", "keepalive_expired"},
    // The new session's CONNECT with the same id: the old one is dropped without another line.
    Suffix{" already connected, closing old connection.", "taken_over"},
    Suffix{" disconnected due to malformed packet.", "malformed_packet"},
    Suffix{" disconnected due to protocol error.", "protocol_error"},
    Suffix{" closed its connection.", "connection_closed"},
    Suffix{" disconnected, not authorised.", "not_authorised"},
    Suffix{" disconnected due to oversize packet.", "oversize_packet"},
    Suffix{" disconnected due to oversize payload.", "oversize_payload"},
    Suffix{" disconnected due to out of memory.", "out_of_memory"},
    Suffix{" disconnected due to QoS too high or retain not supported.", "not_supported"},
    Suffix{" been disconnected by administrative action.", "administrative_action"},
    // Only after the client's DISCONNECT (or an MQTT 5 DISCONNECT asking for its will).
    Suffix{" disconnected.", "client_disconnect"},
};

constexpr std::string_view kClient = "Client ";
constexpr std::string_view kConnectedPrefix = "New client connected from ";
constexpr std::string_view kBadSocketPrefix = "Bad socket read/write on client ";

// The message after mosquitto's "<stamp>: " (log_timestamp_format has no ": " in it).
std::string_view message_of(std::string_view line) {
    const size_t colon = line.find(": ");
    return colon == std::string_view::npos ? std::string_view{} : line.substr(colon + 2);
}

std::optional<BrokerLogEvent> disconnect(std::string client, std::string_view reason,
                                         std::string_view message) {
    return BrokerLogEvent{false, std::move(client), std::string(reason), std::string(message)};
}

// "New client connected from <addr>:<port> as <id> (p2, c1, k60[, u'<user>'])."
std::optional<BrokerLogEvent> parse_connected(std::string_view m) {
    // The id ends where mosquitto's own "(p<protocol>, c<clean>, k<keepalive>" begins; the
    // user name after it may hold anything, so the first such group wins.
    static const std::regex kProps(R"( \(p\d, c\d, k\d+(\)|, u'))");
    const size_t as = m.find(" as ", kConnectedPrefix.size());
    std::match_results<std::string_view::const_iterator> props;
    if (as == std::string_view::npos ||
        !std::regex_search(m.begin() + static_cast<std::ptrdiff_t>(as + 4), m.end(), props, kProps))
        return std::nullopt;
    const size_t id_end = static_cast<size_t>(props[0].first - m.begin());
    // The detail leaves out the address: the host port behind it changes from run to run.
    return BrokerLogEvent{true, std::string(m.substr(as + 4, id_end - as - 4)), "",
                          std::string(m.substr(as + 4))};
}

std::optional<BrokerLogEvent> parse_client_message(std::string_view m) {
    for (const Suffix& s : kDisconnectSuffixes) {
        if (m.size() > kClient.size() + s.text.size() && m.ends_with(s.text)) {
            const size_t id_len = m.size() - kClient.size() - s.text.size();
            return disconnect(std::string(m.substr(kClient.size(), id_len)), s.reason, m);
        }
    }
    // "Client <id> disconnected: <strerror(errno)>." (MOSQ_ERR_ERRNO: a failed read or write)
    constexpr std::string_view kErrno = " disconnected: ";
    if (const size_t at = m.rfind(kErrno); at != std::string_view::npos && at > kClient.size())
        return disconnect(std::string(m.substr(kClient.size(), at - kClient.size())),
                          "socket_error", m);
    return std::nullopt;
}

} // namespace

std::optional<BrokerLogEvent> parse_broker_log_line(std::string_view line) {
    const std::string_view m = message_of(line);
    if (m.starts_with(kConnectedPrefix))
        return parse_connected(m);
    if (m.starts_with(kClient))
        return parse_client_message(m);
    if (m.starts_with(kBadSocketPrefix)) {
        const std::string_view rest = m.substr(kBadSocketPrefix.size());
        const size_t colon = rest.rfind(": ");
        if (colon != std::string_view::npos)
            return disconnect(std::string(rest.substr(0, colon)), "socket_error", m);
    }
    return std::nullopt;
}

void BrokerCounts::add(const BrokerLogEvent& e) {
    if (e.client == ignored_client)
        return;
    if (e.connected) {
        ++connects;
        return;
    }
    ++disconnects;
    if (e.reason == "keepalive_expired")
        ++clients_expired;
}

BrokerLogTail::BrokerLogTail(std::filesystem::path log, Sink sink, const clock::HostPeer* writer)
    : log_(std::move(log)), sink_(std::move(sink)), writer_(writer) {}

void BrokerLogTail::on_polled(std::span<const pollfd>) {
    if (writer_ != nullptr) {
        const std::optional<uint64_t> activity = writer_->activity();
        if (activity && read_at_ == activity && fd_ >= 0)
            return; // the broker has not run since the latest read: nothing new
        read_at_ = activity;
    }
    read_new_lines();
}

BrokerLogTail::~BrokerLogTail() {
    if (fd_ >= 0)
        ::close(fd_);
}

void BrokerLogTail::read_new_lines() {
    if (fd_ < 0) {
        fd_ = ::open(log_.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd_ < 0)
            return; // not written yet
    }
    std::array<char, 8192> buf{};
    for (;;) {
        const ssize_t n = ::read(fd_, buf.data(), buf.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        partial_.append(buf.data(), static_cast<size_t>(n));
    }
    size_t start = 0;
    for (size_t nl = partial_.find('\n'); nl != std::string::npos;
         nl = partial_.find('\n', start)) {
        sink_(std::string_view(partial_).substr(start, nl - start));
        start = nl + 1;
    }
    partial_.erase(0, start);
}

} // namespace lwipsim::broker
