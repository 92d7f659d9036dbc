#include "sim/link/slirp_gateway.h"

#include "sim/link/packet.h"

#include <libslirp.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace lwipsim::link {

namespace {

constexpr size_t kArpIpv4Size = 28; // ARP body for Ethernet/IPv4
constexpr uint16_t kDhcpServerPort = 67;
constexpr uint32_t kBroadcast = 0xFFFFFFFF;
constexpr uint8_t kTcp = static_cast<uint8_t>(IpProto::kTcp);
constexpr uint8_t kUdp = static_cast<uint8_t>(IpProto::kUdp);
constexpr uint8_t kIcmp = static_cast<uint8_t>(IpProto::kIcmp);

// slirp treats a fast-timer stamp of 0 as "no delayed ACK wanted" and starts its slow timer
// bookkeeping at 0, so its clock starts at 1 s instead of 0; whole milliseconds keep the
// conversion between slirp ms and virtual time exact.
constexpr int64_t kClockEpochMs = 1000;
// libslirp's TIMEOUT_FAST / TIMEOUT_SLOW (ms), and the cap slirp_pollfds_fill puts on the
// timeout when no TCP timer is pending (slirp.c, slirp_update_timeout).
constexpr uint32_t kSlirpFastMs = 2;
constexpr int64_t kSlirpSlowMs = 499;
constexpr uint32_t kSlirpIdleCapMs = 1000;

std::string ipv4_text(uint32_t a) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xFF, (a >> 8) & 0xFF,
                  a & 0xFF);
    return buf;
}

std::string proto_text(uint8_t proto) {
    switch (proto) {
    case kTcp:
        return "TCP";
    case kUdp:
        return "UDP";
    case kIcmp:
        return "ICMP";
    default:
        return "protocol " + std::to_string(proto);
    }
}

UplinkVerdict drop(std::string reason) {
    return UplinkVerdict{false, std::move(reason)};
}

in_addr to_in_addr(uint32_t host_order) {
    in_addr a{};
    a.s_addr = htonl(host_order);
    return a;
}

short to_poll_events(int slirp_events) {
    short e = 0;
    if (slirp_events & SLIRP_POLL_IN)
        e |= POLLIN;
    if (slirp_events & SLIRP_POLL_OUT)
        e |= POLLOUT;
    if (slirp_events & SLIRP_POLL_PRI)
        e |= POLLPRI;
    // POLLERR and POLLHUP are always reported by poll(); nothing to ask for.
    return e;
}

int to_slirp_events(short revents) {
    int e = 0;
    if (revents & POLLIN)
        e |= SLIRP_POLL_IN;
    if (revents & POLLOUT)
        e |= SLIRP_POLL_OUT;
    if (revents & POLLPRI)
        e |= SLIRP_POLL_PRI;
    if (revents & (POLLERR | POLLNVAL))
        e |= SLIRP_POLL_ERR;
    if (revents & POLLHUP)
        e |= SLIRP_POLL_HUP;
    return e;
}

// Is this slirp->device frame host input arriving (so a pending host round trip is over)?

} // namespace

UplinkVerdict classify_uplink(std::span<const uint8_t> f) {
    if (f.size() < kEthHeaderLen) {
        return drop("malformed: " + std::to_string(f.size()) +
                    "-byte frame is shorter than an Ethernet header");
    }
    const PacketInfo p = parse_frame(f);
    if (p.ethertype == kEtherTypeArp) {
        // slirp's arp_input reads the whole ARP body without checking the length.
        if (f.size() < kEthHeaderLen + kArpIpv4Size) {
            return drop("malformed: ARP frame of " + std::to_string(f.size()) + " bytes");
        }
        return UplinkVerdict{true, {}};
    }
    if (p.ethertype != kEtherTypeIpv4) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "0x%04x", p.ethertype);
        return drop(std::string("EtherType ") + buf + " is not served (only IPv4 and ARP pass)");
    }
    if (!p.ipv4) {
        return drop("malformed: IPv4 frame of " + std::to_string(f.size()) +
                    " bytes without a complete IPv4 header");
    }
    if (p.dst_ip == kSlirpGatewayIp) {
        if (p.protocol != kTcp && p.protocol != kUdp && p.protocol != kIcmp) {
            return drop("contained: IPv4 " + proto_text(p.protocol) +
                        " to 10.0.2.2 is not served (TCP, UDP and ICMP pass)");
        }
        return UplinkVerdict{true, {}};
    }
    if (p.dst_ip == kBroadcast && p.protocol == kUdp && p.has_ports &&
        p.dst_port == kDhcpServerPort) {
        return UplinkVerdict{true, {}}; // DHCP, answered by slirp's own bootp server
    }
    return drop("contained: IPv4 " + proto_text(p.protocol) + " to " + ipv4_text(p.dst_ip) +
                " (only 10.0.2.2 and DHCP broadcast pass; slirp would send anything else off "
                "the host)");
}

// ---------------------------------------------------------------------------------------------

struct SlirpGateway::SlirpTimer {
    int id = 0;
    void* cb_opaque = nullptr;
    void (*legacy_cb)(void*) = nullptr; ///< set when slirp used timer_new instead
    uint64_t generation = 0;            ///< bumped by every mod; stale events check it
    std::optional<clock::SimTime> due;  ///< when the armed event runs; nullopt when not armed
};

// The C callbacks libslirp calls; `opaque` is always the SlirpGateway.
struct SlirpCallbacks {
    static SlirpGateway& gw(void* opaque) { return *static_cast<SlirpGateway*>(opaque); }

    static ssize_t send_packet(const void* buf, size_t len, void* opaque) {
        gw(opaque).on_send_packet(static_cast<const uint8_t*>(buf), len);
        return static_cast<ssize_t>(len);
    }
    static void guest_error(const char* msg, void* opaque) { gw(opaque).on_guest_error(msg); }
    static int64_t clock_get_ns(void* opaque) { return gw(opaque).slirp_clock_ms() * 1000000; }
    static void* timer_new(SlirpTimerCb cb, void* cb_opaque, void* opaque) {
        return gw(opaque).new_timer(-1, cb_opaque, cb);
    }
    static void* timer_new_opaque(SlirpTimerId id, void* cb_opaque, void* opaque) {
        return gw(opaque).new_timer(static_cast<int>(id), cb_opaque, nullptr);
    }
    static void timer_free(void* timer, void* opaque) { gw(opaque).free_timer(timer); }
    static void timer_mod(void* timer, int64_t expire_ms, void* opaque) {
        gw(opaque).mod_timer(timer, expire_ms);
    }
    // slirp registers every host socket it opens and unregisters it when it closes it; the
    // poll set (slirp_pollfds_fill) names only those it wants something from at the moment.
    // The guest-forward "notify" kick carries no information we need.
    static void register_poll_fd(int fd, void* opaque) { gw(opaque).owned_fds_.insert(fd); }
    static void unregister_poll_fd(int fd, void* opaque) { gw(opaque).owned_fds_.erase(fd); }
    static void notify(void*) {}
    static int add_poll(int fd, int events, void* opaque) {
        return gw(opaque).add_poll(fd, events);
    }
    static int get_revents(int idx, void* opaque) { return gw(opaque).revents_for(idx); }
    static int no_revents(int, void*) { return 0; }
};

namespace {

const SlirpCb kCallbacks = [] {
    SlirpCb cb{};
    cb.send_packet = &SlirpCallbacks::send_packet;
    cb.guest_error = &SlirpCallbacks::guest_error;
    cb.clock_get_ns = &SlirpCallbacks::clock_get_ns;
    cb.timer_new = &SlirpCallbacks::timer_new;
    cb.timer_free = &SlirpCallbacks::timer_free;
    cb.timer_mod = &SlirpCallbacks::timer_mod;
    cb.register_poll_fd = &SlirpCallbacks::register_poll_fd;
    cb.unregister_poll_fd = &SlirpCallbacks::unregister_poll_fd;
    cb.notify = &SlirpCallbacks::notify;
    cb.init_completed = nullptr;
    cb.timer_new_opaque = &SlirpCallbacks::timer_new_opaque;
    return cb;
}();

// libslirp's clock is a process-wide variable: two gateways would disturb each other's timers.
bool g_gateway_exists = false;

} // namespace

SlirpGateway::SlirpGateway(Timer& timer, FrameSink& downlink, ContainmentHandler on_contained)
    : timer_(timer), downlink_(downlink), on_contained_(std::move(on_contained)) {
    if (g_gateway_exists) {
        throw SlirpError("a SlirpGateway already exists in this process; libslirp keeps its "
                         "clock in a process-wide variable, so only one is allowed at a time");
    }
    // Loopback is the only place slirp may connect to; binding outgoing sockets to it makes the
    // kernel refuse any other destination, behind the containment check in deliver().
    static sockaddr_in outbound{};
    outbound.sin_family = AF_INET;
    outbound.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    outbound.sin_port = 0;

    SlirpConfig cfg{};
    cfg.version = 4;
    cfg.restricted = 0; // restricted mode would refuse 10.0.2.2 too; containment does the job
    cfg.in_enabled = true;
    cfg.vnetwork = to_in_addr(kSlirpNetwork);
    cfg.vnetmask = to_in_addr(kSlirpNetmask);
    cfg.vhost = to_in_addr(kSlirpGatewayIp);
    cfg.in6_enabled = false;
    cfg.vhostname = nullptr;
    cfg.tftp_server_name = nullptr;
    cfg.tftp_path = nullptr; // TFTP off
    cfg.bootfile = nullptr;  // no boot file in DHCP
    cfg.vdhcp_start = to_in_addr(kSlirpDhcpStart);
    cfg.vnameserver = to_in_addr(kSlirpDnsIp);
    cfg.vdnssearch = nullptr;
    cfg.vdomainname = nullptr;
    cfg.if_mtu = 0; // slirp's default, 1500
    cfg.if_mru = 0;
    cfg.disable_host_loopback = false; // 10.0.2.2 -> 127.0.0.1 is the whole point
    cfg.enable_emu = false;
    cfg.outbound_addr = &outbound;
    cfg.outbound_addr6 = nullptr;
    cfg.disable_dns = true;
    cfg.disable_dhcp = false;

    slirp_ = slirp_new(&cfg, &kCallbacks, this);
    if (slirp_ == nullptr) {
        throw SlirpError("slirp_new failed (libslirp " + std::string(slirp_version_string()) +
                         ") for guest network 10.0.2.0/24");
    }
    g_gateway_exists = true;
    service(); // start slirp's clock at the current virtual time
}

SlirpGateway::~SlirpGateway() {
    alive_.reset(); // scheduled ticks and timer events now do nothing
    slirp_cleanup(slirp_);
    timers_.clear();
    g_gateway_exists = false;
}

void SlirpGateway::deliver(Frame frame) {
    ++stats_.frames_in;
    UplinkVerdict v = classify_uplink(frame.bytes);
    if (v.pass)
        v.reason = map_uplink(frame);
    if (!v.reason.empty()) {
        ++stats_.frames_contained;
        if (on_contained_)
            on_contained_(ContainmentEvent{timer_.now(), frame.id, v.reason});
        return;
    }
    // Bring slirp's clock (and any timer that is due) up to now before it sees the frame.
    service();
    // Before slirp_input: a refused loopback connect is answered (RST) from inside it.
    replies_.on_request(frame.bytes, timer_.now());
    slirp_input(slirp_, frame.bytes.data(), static_cast<int>(frame.bytes.size()));
    // slirp only sends queued output (e.g. packets held until the device answered an ARP)
    // from its poll; run it once so nothing waits for an unrelated tick.
    service();
    rearm();
    name_connection(frame);
    report_host_writes(true);
    flush_downlink();
}

void SlirpGateway::fill_pollfds(std::vector<pollfd>& fds) {
    fill_slirp();
    fds.insert(fds.end(), fill_fds_.begin(), fill_fds_.end());
}

void SlirpGateway::on_polled(std::span<const pollfd> fds) {
    ++stats_.host_polls;
    polled_revents_.clear();
    bool writable = false; // slirp asks for POLLOUT only to connect or to send buffered data
    for (const pollfd& p : fds) {
        polled_revents_[p.fd] |= p.revents;
        writable = writable || (p.revents & POLLOUT) != 0;
    }
    poll_slirp(true);
    polled_revents_.clear();
    rearm();
    report_host_writes(writable);
    flush_downlink();
}

void SlirpGateway::map_tcp_port(uint16_t guest_port, uint16_t host_port) {
    mapped_guest_port_ = guest_port;
    mapped_host_port_ = host_port;
}

std::string SlirpGateway::map_uplink(Frame& frame) const {
    if (mapped_host_port_ == 0)
        return {};
    const PacketInfo p = parse_frame(frame.bytes);
    if (!p.has_ports || p.protocol != kTcp || p.dst_ip != kSlirpGatewayIp)
        return {};
    if (p.dst_port == mapped_host_port_ && mapped_host_port_ != mapped_guest_port_) {
        return "contained: TCP to 10.0.2.2:" + std::to_string(p.dst_port) +
               " (the host's port of 10.0.2.2:" + std::to_string(mapped_guest_port_) +
               ", reachable only by that name)";
    }
    if (p.dst_port == mapped_guest_port_)
        rewrite_tcp_port(frame.bytes, false, mapped_host_port_);
    return {};
}

namespace {
// The IPv4 port of a socket's own (`peer` false) or far end; 0 when it has none.
uint16_t socket_port(int fd, bool peer) {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    const int r = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len)
                       : ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    return r == 0 && a.sin_family == AF_INET ? ntohs(a.sin_port) : 0;
}
} // namespace

void SlirpGateway::name_connection(const Frame& syn) {
    if (!connection_hook_ || mapped_host_port_ == 0)
        return;
    const PacketInfo p = parse_frame(syn.bytes);
    if (!p.has_ports || p.protocol != kTcp || p.dst_ip != kSlirpGatewayIp ||
        p.dst_port != mapped_host_port_ || (p.tcp_flags & (kTcpSyn | kTcpAck)) != kTcpSyn)
        return;
    // slirp's sockets towards the mapped port: the one not named yet is this SYN's (slirp
    // opens it, connecting, inside slirp_input).
    std::set<std::pair<int, uint16_t>> now;
    for (const pollfd& f : fill_fds_) {
        if (socket_port(f.fd, true) == mapped_host_port_)
            now.emplace(f.fd, socket_port(f.fd, false));
    }
    for (const auto& socket : now) {
        if (!named_sockets_.contains(socket))
            connection_hook_(socket.second, htonl(p.src_ip), p.src_port);
    }
    named_sockets_ = std::move(now);
}

bool SlirpGateway::awaiting_host() const {
    return replies_.pending(timer_.now());
}

std::string SlirpGateway::connection_info() const {
    char* text = slirp_connection_info(slirp_);
    std::string out = text != nullptr ? text : "";
    std::free(text); // g_free and free agree with glib's default allocator
    return out;
}

// --- slirp callbacks -------------------------------------------------------------------------

void SlirpGateway::on_send_packet(const uint8_t* data, size_t len) {
    Frame f;
    f.bytes.assign(data, data + len);
    f.direction = Direction::kDown;
    f.id = next_frame_id_++;
    f.created_at = timer_.now();
    replies_.on_answer(f.bytes);
    if (mapped_host_port_ != 0) {
        const PacketInfo p = parse_frame(f.bytes);
        if (p.has_ports && p.protocol == kTcp && p.src_ip == kSlirpGatewayIp &&
            p.src_port == mapped_host_port_)
            rewrite_tcp_port(f.bytes, true, mapped_guest_port_);
    }
    ++stats_.frames_out;
    // Handed on after libslirp returns (flush_downlink): the downlink may call back into us.
    to_device_.push_back(std::move(f));
}

void SlirpGateway::on_guest_error(const char* msg) {
    ++stats_.guest_errors;
    stats_.last_guest_error = msg != nullptr ? msg : "";
}

int64_t SlirpGateway::slirp_clock_ms() const {
    return kClockEpochMs +
           std::chrono::duration_cast<std::chrono::milliseconds>(timer_.now().since_start).count();
}

std::optional<clock::SimTime> SlirpGateway::next_own_event() const {
    std::optional<clock::SimTime> next;
    if (!armed_ticks_.empty())
        next = *armed_ticks_.begin();
    for (const auto& [raw, t] : timers_) {
        if (t->due && (!next || *t->due < *next))
            next = t->due;
    }
    return next;
}

bool SlirpGateway::host_sockets_closed_by_peer() const {
    // Every socket slirp holds, not only those in the latest poll set: slirp leaves out a
    // connected socket while its buffer towards the device is full, and its timers may still
    // drop that connection.
    return std::all_of(owned_fds_.begin(), owned_fds_.end(), [](int fd) {
        tcp_info info{};
        socklen_t len = sizeof info;
        if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0)
            return false; // not TCP (UDP, ICMP): counted as reachable
        // The states a connection reaches only after the FIN from the host side came in.
        switch (info.tcpi_state) {
        case TCP_CLOSE_WAIT:
        case TCP_LAST_ACK:
        case TCP_CLOSING:
        case TCP_TIME_WAIT:
        case TCP_CLOSE:
            return true;
        default:
            return false;
        }
    });
}

void* SlirpGateway::new_timer(int id, void* cb_opaque, void (*legacy_cb)(void*)) {
    auto t = std::make_shared<SlirpTimer>();
    t->id = id;
    t->cb_opaque = cb_opaque;
    t->legacy_cb = legacy_cb;
    SlirpTimer* raw = t.get();
    timers_.emplace(raw, std::move(t));
    return raw;
}

void SlirpGateway::free_timer(void* timer) {
    timers_.erase(static_cast<SlirpTimer*>(timer));
}

void SlirpGateway::mod_timer(void* timer, int64_t expire_ms) {
    auto it = timers_.find(static_cast<SlirpTimer*>(timer));
    if (it == timers_.end())
        return;
    std::shared_ptr<SlirpTimer>& t = it->second;
    const uint64_t gen = ++t->generation;
    const clock::SimTime now = timer_.now();
    clock::SimTime when{clock::from_ms(expire_ms - kClockEpochMs)};
    if (when < now)
        when = now;
    t->due = when;
    std::weak_ptr<SlirpTimer> weak = t;
    std::weak_ptr<int> alive = alive_;
    timer_.at(when, [this, weak, alive, gen] {
        auto live = alive.lock();
        auto st = weak.lock();
        if (!live || !st || st->generation != gen)
            return; // freed, re-armed, or gone
        st->due.reset();
        if (st->legacy_cb != nullptr) {
            st->legacy_cb(st->cb_opaque);
        } else {
            slirp_handle_timer(slirp_, static_cast<SlirpTimerId>(st->id), st->cb_opaque);
        }
        fill_slirp();
        report_host_writes(false);
        flush_downlink();
    });
}

int SlirpGateway::add_poll(int fd, int events) {
    fill_fds_.push_back(pollfd{fd, to_poll_events(events), 0});
    return static_cast<int>(fill_fds_.size() - 1);
}

int SlirpGateway::revents_for(int idx) const {
    // slirp's index refers to the latest fill; look the fd up in what the poller reported.
    if (idx < 0 || static_cast<size_t>(idx) >= fill_fds_.size())
        return 0;
    auto it = polled_revents_.find(fill_fds_[static_cast<size_t>(idx)].fd);
    return it == polled_revents_.end() ? 0 : to_slirp_events(it->second);
}

// --- virtual-time driving --------------------------------------------------------------------

uint32_t SlirpGateway::fill_slirp() {
    fill_fds_.clear();
    uint32_t timeout = UINT32_MAX;
    slirp_pollfds_fill(slirp_, &timeout, &SlirpCallbacks::add_poll, this);
    // With UINT32_MAX in, slirp answers TIMEOUT_FAST when a delayed ACK is pending,
    // TIMEOUT_SLOW when its slow timer must run (TCP sockets, IP fragments, expiring UDP), and
    // its idle cap otherwise. A pending delayed ACK implies a TCP socket, hence the slow timer.
    fill_wants_fasttimo_ = timeout <= kSlirpFastMs;
    fill_wants_slowtimo_ = timeout < kSlirpIdleCapMs;
    return timeout;
}

void SlirpGateway::poll_slirp(bool with_host_events) {
    const int64_t now_ms = slirp_clock_ms();
    slirp_pollfds_poll(
        slirp_, 0, with_host_events ? &SlirpCallbacks::get_revents : &SlirpCallbacks::no_revents,
        this);
    // Mirrors slirp's own rule (slirp_pollfds_poll): the slow timer runs when due, and
    // remembers when it last ran; we need that instant to schedule the next tick.
    if (fill_wants_slowtimo_ && now_ms - mirror_last_slowtimo_ms_ >= kSlirpSlowMs) {
        mirror_last_slowtimo_ms_ = now_ms;
    }
}

void SlirpGateway::service() {
    fill_slirp();
    poll_slirp(false);
}

void SlirpGateway::rearm() {
    fill_slirp();
    if (!fill_wants_slowtimo_ && !fill_wants_fasttimo_)
        return; // slirp has no timer pending
    const int64_t now_ms = slirp_clock_ms();
    int64_t due_ms = mirror_last_slowtimo_ms_ + kSlirpSlowMs;
    if (fill_wants_fasttimo_)
        due_ms = std::min(due_ms, now_ms + int64_t{kSlirpFastMs});
    // At least 1 ms ahead, so a tick can never re-arm itself at the same instant forever.
    due_ms = std::max(due_ms, now_ms + 1);
    const clock::SimTime when{clock::from_ms(due_ms - kClockEpochMs)};
    const clock::SimTime now = timer_.now();
    // One armed tick at or before `when` already covers it (it re-arms after running).
    auto first_after_now = armed_ticks_.lower_bound(now);
    if (first_after_now != armed_ticks_.end() && *first_after_now <= when)
        return;
    armed_ticks_.insert(when);
    std::weak_ptr<int> alive = alive_;
    timer_.at(when, [this, alive, when] {
        if (!alive.lock())
            return;
        tick(when);
    });
}

void SlirpGateway::tick(clock::SimTime when) {
    armed_ticks_.erase(when);
    ++stats_.timer_ticks;
    service();
    rearm();
    report_host_writes(false);
    flush_downlink();
}

void SlirpGateway::report_host_writes(bool wrote) {
    if (!host_written_)
        return;
    std::vector<int> fds;
    fds.reserve(fill_fds_.size());
    for (const pollfd& p : fill_fds_) // rearm() has just refilled them
        fds.push_back(p.fd);
    std::sort(fds.begin(), fds.end());
    // The owned set too: a timer may close a socket slirp was not polling at the time.
    if (!wrote && fds == host_fds_ && owned_fds_ == reported_owned_fds_)
        return;
    host_fds_ = std::move(fds);
    reported_owned_fds_ = owned_fds_;
    host_written_();
}

void SlirpGateway::flush_downlink() {
    if (flushing_)
        return; // the outer flush keeps draining, in order
    flushing_ = true;
    struct Reset {
        bool& flag;
        ~Reset() { flag = false; }
    } reset{flushing_};
    while (!to_device_.empty()) {
        Frame f = std::move(to_device_.front());
        to_device_.pop_front();
        downlink_.deliver(std::move(f));
    }
}

} // namespace lwipsim::link
