#pragma once
// Brings up the simulated device's lwIP: run-time TCP settings, the tcpip thread, and one
// Ethernet netif whose frames go to / come from the simulated link. Call from the run's main
// simulated thread (inside Scheduler::run). One device stack per process (lwIP's globals).

#include "sim/link/frame.h"

#include <cstdint>
#include <string>

struct netif;

namespace lwipsim::port {

/// What a scenario may change per run without rebuilding (defaults: the profile's values).
struct TcpSettings {
    uint32_t maxrtx = 12;
    uint32_t synmaxrtx = 12;
    uint32_t rto_initial_ms = 3000;
    uint32_t msl_ms = 60000;
    uint32_t fin_wait_timeout_ms = 20000;
    bool so_linger_available = true;
    uint32_t pcb_cap = 0; ///< esp-lwip's MEMP_NUM_TCP_PCB cap on live PCBs; 0 = none
};

/// The profile this binary was built with ("esp-idf-v4.4" or "upstream-2.1.3").
const char* profile_name();
/// The profile's run-time defaults (ESP-IDF 4.4: RTO 1500 ms, SYNMAXRTX 12; upstream: 3000, 6).
TcpSettings profile_defaults();
/// Applies settings; throws std::invalid_argument naming the bad field (e.g. maxrtx > 12).
void apply_tcp_settings(const TcpSettings& s);

struct NetifConfig {
    std::string ip = "10.0.2.15";
    std::string netmask = "255.255.255.0";
    std::string gateway = "10.0.2.2";
    uint16_t mtu = 1500;
    bool use_dhcp = false;
};

/// The device's Ethernet interface. deliver() takes a frame from the link (downlink) at the
/// current virtual time; frames lwIP sends go to the uplink sink.
class LinkNetif : public link::FrameSink {
  public:
    explicit LinkNetif(link::FrameSink* uplink) : uplink_(uplink) {}
    void deliver(link::Frame frame) override;
    void set_link_up(bool up); ///< as Wi-Fi association coming and going
    [[nodiscard]] struct netif* lwip_netif() const { return netif_; }
    [[nodiscard]] uint64_t rx_dropped_no_memory() const { return rx_dropped_; }

    // Internal: lwIP callbacks.
    void attach(struct netif* n) { netif_ = n; }
    void send_up(link::Frame frame);

  private:
    link::FrameSink* uplink_;
    struct netif* netif_ = nullptr;
    uint64_t next_id_ = 1;
    uint64_t rx_dropped_ = 0;
};

/// Starts lwIP (tcpip_init) and adds `netif` as the default interface; blocks the calling
/// simulated thread until both are done. Pass nullptr for a stack with loopback only.
void start_stack(LinkNetif* netif, const NetifConfig& config, uint64_t seed);

} // namespace lwipsim::port
