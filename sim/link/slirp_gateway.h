#pragma once
// The far side of the simulated link: one libslirp instance that plays the network the device
// is attached to. Device frames go in through deliver(); what slirp answers (ARP, DHCP, TCP
// from the host's loopback) goes to the downlink sink. slirp sees only virtual time.
//
// The guest network is fixed: 10.0.2.0/24, gateway (vhost) 10.0.2.2, DHCP hands out 10.0.2.15
// first. slirp maps connections to 10.0.2.2:<port> onto 127.0.0.1:<port>, which is where the
// broker listens.
//
// Containment (a hard rule of the project): slirp must never reach anything but the host's
// loopback. Every device frame is checked by classify_uplink() before slirp sees it; what
// does not pass is dropped and reported to the containment handler. Exactly these pass:
//   - ARP (answered inside slirp; never leaves it),
//   - IPv4 to 10.0.2.2 carrying TCP, UDP or ICMP (slirp maps 10.0.2.2 to 127.0.0.1; ICMP echo
//     to 10.0.2.2 is answered by slirp itself),
//   - IPv4 UDP to 255.255.255.255 port 67 (DHCP; answered by slirp's own DHCP server).
// Everything else is dropped: other IPv4 destinations (including the rest of 10.0.2.0/24 such
// as slirp's DNS address 10.0.2.3, because slirp would forward those to the real network),
// other protocols to 10.0.2.2, IPv6, other EtherTypes (VLAN, ...), and malformed frames.
// slirp's own services are also off: DNS forwarding (disable_dns), TFTP (no tftp path), the
// boot file, the emulation hacks, IPv6.
//
// Time: slirp's clock_get_ns and timers are bound to the link::Timer passed in. slirp's TCP
// timers (2 ms delayed ACK, 500 ms slow timer) run from ticks the gateway schedules on that
// Timer, so retransmissions towards the device happen at deterministic virtual times.
//
// Threading: every method is called from the one thread that drives the simulation (the
// scheduler's baton holder). libslirp keeps its clock in a process-wide variable, so at most
// one SlirpGateway may exist per process at a time (as with lwIP, one device per process).

#include "sim/clock/scheduler.h"
#include "sim/clock/sim_time.h"
#include "sim/link/frame.h"
#include "sim/link/host_reply_wait.h"

#include <poll.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

struct Slirp; // libslirp's opaque state

namespace lwipsim::link {

/// The guest network slirp simulates (host byte order).
inline constexpr uint32_t kSlirpNetwork = 0x0A000200;   // 10.0.2.0
inline constexpr uint32_t kSlirpNetmask = 0xFFFFFF00;   // /24
inline constexpr uint32_t kSlirpGatewayIp = 0x0A000202; // 10.0.2.2, mapped to 127.0.0.1
inline constexpr uint32_t kSlirpDnsIp = 0x0A000203;     // 10.0.2.3, DNS is disabled
inline constexpr uint32_t kSlirpDhcpStart = 0x0A00020F; // 10.0.2.15, first DHCP lease

/// What the containment check decided for one device->network frame.
struct UplinkVerdict {
    bool pass = false;
    /// Why it was dropped (empty when it passes), e.g. "IPv4 destination 192.0.2.1 is not ...".
    std::string reason;
};

/// The containment rule (see the file comment). Pure: reads only the frame bytes.
[[nodiscard]] UplinkVerdict classify_uplink(std::span<const uint8_t> frame);

/// A frame dropped by containment.
struct ContainmentEvent {
    clock::SimTime at{};   ///< virtual time of the drop
    uint64_t frame_id = 0; ///< Frame::id of the dropped frame
    std::string reason;    ///< from classify_uplink
};
using ContainmentHandler = std::function<void(const ContainmentEvent&)>;

struct SlirpGatewayStats {
    uint64_t frames_in = 0;        ///< device frames received by deliver()
    uint64_t frames_contained = 0; ///< of those, dropped by containment
    uint64_t frames_out = 0;       ///< frames slirp sent towards the device
    uint64_t host_polls = 0;       ///< on_polled() calls
    uint64_t timer_ticks = 0;      ///< virtual-time ticks that ran slirp's TCP timers
    uint64_t guest_errors = 0;     ///< slirp's guest_error reports
    std::string last_guest_error;
};

/// slirp_new failed, or another gateway already exists in this process.
class SlirpError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

class SlirpGateway final : public FrameSink, public clock::HostIo {
  public:
    /// `timer` and `downlink` must outlive the gateway. Frames to the device are handed to
    /// `downlink` at the virtual time slirp produces them, never from inside a libslirp call
    /// (so the downlink may call deliver() again). Throws SlirpError.
    SlirpGateway(Timer& timer, FrameSink& downlink, ContainmentHandler on_contained = {});
    ~SlirpGateway() override;
    SlirpGateway(const SlirpGateway&) = delete;
    SlirpGateway& operator=(const SlirpGateway&) = delete;

    /// A device->network frame at the current virtual time. Frames failing classify_uplink()
    /// are dropped and reported; the rest go to slirp_input.
    void deliver(Frame frame) override;

    // clock::HostIo: host sockets slirp holds (connections to 127.0.0.1).
    void fill_pollfds(std::vector<pollfd>& fds) override;
    void on_polled(std::span<const pollfd> fds) override;
    /// True while a host socket owes an answer to a request the device just made, per
    /// connection and only at the instant of the request (HostReplyWait, shared with TAP).
    [[nodiscard]] bool awaiting_host() const override;

    /// `hook` runs (at the current virtual time) after slirp may have written to a host socket,
    /// opened or closed one: a frame from the device went in, a connect completed or buffered
    /// data went out on poll, or a timer closed a socket. Used to wake a host program on virtual
    /// time (clock::HostPeer) whose input only ever comes from here.
    void set_host_written_hook(std::function<void()> hook) { host_written_ = std::move(hook); }
    /// When slirp's own next timer or tick runs (it may close a host socket then), for the
    /// host peer's lookahead; nullopt when none is armed.
    [[nodiscard]] std::optional<clock::SimTime> next_own_event() const;
    /// True when every host socket slirp holds (polled at the moment or not) is a TCP connection
    /// whose host side has sent its FIN (CLOSE_WAIT, LAST_ACK, CLOSING, TIME_WAIT, CLOSE), or
    /// there is none. slirp's own timers can then only close those sockets, which a host
    /// program that closed its end (rather than shutdown() it) never sees: for the host peer's
    /// lookahead.
    [[nodiscard]] bool host_sockets_closed_by_peer() const;

    /// The device reaches the host's 127.0.0.1:`host_port` as 10.0.2.2:`guest_port` (TCP): the
    /// gateway rewrites the port of frames between the link and slirp, so captures, PCBs and the
    /// device see `guest_port` whatever port the host picked. 10.0.2.2:`host_port` itself is
    /// then contained. One mapping; a second call replaces it. Call before traffic.
    void map_tcp_port(uint16_t guest_port, uint16_t host_port);

    /// With a port map: `hook`(host port, device IPv4, device port) runs when slirp has opened
    /// the host socket of a device's connection to the mapped port, before the host-written
    /// hook announces it: the host's side of the connection and who is behind it. Ports in host
    /// order, the address in network order.
    using ConnectionHook = std::function<void(uint16_t, uint32_t, uint16_t)>;
    void set_connection_hook(ConnectionHook hook) { connection_hook_ = std::move(hook); }

    [[nodiscard]] const SlirpGatewayStats& stats() const { return stats_; }
    /// slirp's own description of its sockets (slirp_connection_info), for diagnostics/tests.
    [[nodiscard]] std::string connection_info() const;

  private:
    struct SlirpTimer;
    friend struct SlirpCallbacks;

    // Called by the libslirp callbacks.
    void on_send_packet(const uint8_t* data, size_t len);
    void on_guest_error(const char* msg);
    [[nodiscard]] int64_t slirp_clock_ms() const;
    void* new_timer(int id, void* cb_opaque, void (*legacy_cb)(void*));
    void free_timer(void* timer);
    void mod_timer(void* timer, int64_t expire_ms);
    int add_poll(int fd, int events);
    int revents_for(int idx) const;

    /// fill + poll with no host readiness: updates slirp's clock, runs due TCP timers,
    /// flushes slirp's output queue. Never touches host sockets' data.
    void service();
    /// slirp_pollfds_poll wrapper that keeps the slow-timer mirror in step.
    void poll_slirp(bool with_host_events);
    /// slirp_pollfds_fill into `fill_fds_`; returns slirp's timeout in ms.
    uint32_t fill_slirp();
    /// Schedules the next virtual-time tick slirp's TCP timers need.
    void rearm();
    void tick(clock::SimTime when);
    void flush_downlink();
    /// Runs host_written_ if the host sockets changed since the last call or `wrote` is set.
    void report_host_writes(bool wrote);

    Timer& timer_;
    FrameSink& downlink_;
    ContainmentHandler on_contained_;
    Slirp* slirp_ = nullptr;
    std::shared_ptr<int> alive_ = std::make_shared<int>(0); ///< guards scheduled callbacks

    // Poll bookkeeping: slirp's poll indexes refer to the latest fill.
    std::vector<pollfd> fill_fds_;
    std::set<int> owned_fds_; ///< every host socket slirp holds (its register_poll_fd calls)
    std::map<int, short> polled_revents_; ///< fd -> revents, valid during on_polled
    bool fill_wants_slowtimo_ = false;    ///< slirp's do_slowtimo after the latest fill
    bool fill_wants_fasttimo_ = false;
    int64_t mirror_last_slowtimo_ms_ = 0; ///< slirp's last_slowtimo (starts at 0 as slirp's)

    std::set<clock::SimTime> armed_ticks_;
    std::map<SlirpTimer*, std::shared_ptr<SlirpTimer>> timers_;

    std::deque<Frame> to_device_;
    bool flushing_ = false;
    uint64_t next_frame_id_ = 1;

    /// map_tcp_port's mapping (0: none). Applied in deliver() and on_send_packet().
    uint16_t mapped_guest_port_ = 0, mapped_host_port_ = 0;
    /// Applies the port mapping to a device frame; the reason it is contained, or empty.
    std::string map_uplink(Frame& frame) const;
    /// After a device SYN to the mapped port went into slirp: names its new host socket.
    void name_connection(const Frame& syn);
    ConnectionHook connection_hook_;
    std::set<std::pair<int, uint16_t>> named_sockets_; ///< (fd, host port) already named

    HostReplyWait replies_;
    std::function<void()> host_written_;
    std::vector<int> host_fds_;        ///< the host sockets at the latest report_host_writes
    std::set<int> reported_owned_fds_; ///< owned_fds_ at the latest report_host_writes

    SlirpGatewayStats stats_;
};

} // namespace lwipsim::link
