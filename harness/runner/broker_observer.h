#pragma once
// The harness's own MQTT subscriber on the managed broker: it subscribes to the device's will
// topic and records every message the broker delivers, at the virtual instant the bytes reach
// it. A real MQTT 3.1.1 client over a real TCP connection to the broker's plain listener on
// 127.0.0.1 (not through the simulated link), using the device's codec (sim/device/mqtt_codec.h).
//
// It joins the schedule as a clock::HostIo: its socket is read whenever the scheduler polls
// host input, which with the broker on virtual time happens after the broker reported idle, so
// everything the broker wrote at an instant is read at that same instant (docs/design.md,
// "Loopback"). Its own writes (CONNECT and SUBSCRIBE, once, at start) wake the broker like
// slirp's. Keepalive 0: it never pings, and the broker never expires it.
//
// Threading: every method is called by the scheduler's baton holder.

#include "sim/clock/scheduler.h"
#include "sim/device/mqtt_codec.h"

#include <cstdint>
#include <functional>
#include <string>

namespace lwipsim::runner {

class BrokerObserver final : public clock::HostIo {
  public:
    /// The observer's MQTT client id, left out of the broker.* counts (a device using the same
    /// id would take its session over).
    static constexpr const char* kClientId = "lwipsim-observer";

    using OnMessage = std::function<void(const device::Publish&)>;
    using OnProblem = std::function<void(const std::string& what)>;
    /// `peer`: the broker on virtual time, woken after our writes (nullptr: the broker runs on
    /// the wall clock and sees them by itself).
    BrokerObserver(uint16_t plain_port, std::string topic, clock::HostPeer* peer,
                   OnMessage on_message, OnProblem on_problem);
    ~BrokerObserver() override;
    BrokerObserver(const BrokerObserver&) = delete;
    BrokerObserver& operator=(const BrokerObserver&) = delete;

    /// Connects, sends CONNECT and SUBSCRIBE (QoS 0) and wakes the broker. A failure goes to
    /// on_problem; the run goes on without the observer.
    void start();
    [[nodiscard]] bool subscribed() const { return subscribed_; }

    void fill_pollfds(std::vector<pollfd>& fds) override;
    void on_polled(std::span<const pollfd> fds) override;
    [[nodiscard]] bool awaiting_host() const override { return false; }

  private:
    void handle(const device::ServerPacket& packet);
    void fail(const std::string& what);

    uint16_t port_;
    std::string topic_;
    clock::HostPeer* peer_;
    OnMessage on_message_;
    OnProblem on_problem_;
    int fd_ = -1;
    bool subscribed_ = false;
    device::MqttDecoder decoder_;
};

} // namespace lwipsim::runner
