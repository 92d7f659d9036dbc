#pragma once
// The managed broker's own view of a run, read from its log (broker.log, written with
// `log_type all` and `connection_messages true`, see managed_broker.cpp): which client
// connected, and which was dropped and why, in mosquitto 2.0's own words. The times come from
// the caller (BrokerLogTail reads lines as the broker writes them, see below), not from the
// log's stamps, which have whole seconds only (strftime has no finer field).

#include "sim/clock/scheduler.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace lwipsim::broker {

/// One connect or disconnect as the broker logged it.
struct BrokerLogEvent {
    bool connected = false; ///< true: "New client connected ..."; false: a disconnect
    std::string client;     ///< the MQTT client id ("<unknown>" before CONNECT)
    /// For a disconnect, why (broker_log.cpp maps each mosquitto 2.0.11 message):
    /// keepalive_expired, taken_over, client_disconnect, connection_closed, protocol_error,
    /// malformed_packet, not_authorised, oversize_packet, oversize_payload, out_of_memory,
    /// not_supported, administrative_action, socket_error. Empty for a connect.
    std::string reason;
    /// The log message without its stamp; for a connect only from the id on ("expiry (p2, c1,
    /// k60)."): the client's address holds a host port that changes from run to run.
    std::string detail;
};

/// The event a broker.log line records, or nullopt for every other line (start-up, packets,
/// TLS errors, our own "lwipsim: ..." markers). `line` is one whole line without its newline,
/// "<stamp>: <message>".
std::optional<BrokerLogEvent> parse_broker_log_line(std::string_view line);

/// Counts of one run's broker events, leaving out the harness's own client (`ignored_client`,
/// the observer that subscribes to the device's will).
struct BrokerCounts {
    std::string ignored_client;
    uint64_t connects = 0, disconnects = 0, clients_expired = 0;
    void add(const BrokerLogEvent& e);
};

/// Follows a log file as a clock::HostIo: every time the scheduler polls host input (after the
/// broker on virtual time reported idle, so everything it wrote for this instant is in the file:
/// mosquitto line-buffers its log), the whole lines added since the last poll go to `sink`,
/// which stamps them with the current virtual time. A line still being written waits for its
/// newline. No fds of its own: the file is read on each poll, or with `writer` (the broker on
/// virtual time) only on the polls after it may have run (HostPeer::activity), since nothing
/// else writes the log while the tail follows it.
class BrokerLogTail final : public clock::HostIo {
  public:
    using Sink = std::function<void(std::string_view line)>;
    BrokerLogTail(std::filesystem::path log, Sink sink, const clock::HostPeer* writer = nullptr);
    ~BrokerLogTail() override;
    BrokerLogTail(const BrokerLogTail&) = delete;
    BrokerLogTail& operator=(const BrokerLogTail&) = delete;

    /// Hands every complete line written since the last call to the sink.
    void read_new_lines();

    void fill_pollfds(std::vector<pollfd>&) override {}
    void on_polled(std::span<const pollfd>) override;
    [[nodiscard]] bool awaiting_host() const override { return false; }

  private:
    std::filesystem::path log_;
    Sink sink_;
    const clock::HostPeer* writer_;
    std::optional<uint64_t> read_at_; ///< writer_'s activity at the latest read
    int fd_ = -1;                     ///< opened on the first read (the broker creates the file)
    std::string partial_;             ///< bytes after the last newline read so far
};

} // namespace lwipsim::broker
