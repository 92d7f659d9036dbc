#include "sim/link/tap_backend.h"

#include "sim/host/child_process.h"
#include "sim/link/packet.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace lwipsim::link {

namespace {

constexpr uint16_t kArpType = 0x0806;
constexpr size_t kMaxFrame = 65536;
// `ip` answers in milliseconds; the bound only keeps a hung command from hanging the run.
constexpr std::chrono::seconds kIpTimeout{30};

std::string errno_text(int err) {
    return std::string(std::strerror(err));
}

constexpr uint32_t kAwaitArp = 0x10000; // keys of awaiting_ beyond the TCP port range
constexpr uint32_t kAwaitEcho = 0x10001;

// What the kernel owes an answer to, as a key of awaiting_ (see awaiting_host()); nullopt when
// the device frame asks for nothing.
std::optional<uint32_t> request_key(std::span<const uint8_t> f) {
    const PacketInfo p = parse_frame(f);
    if (p.ethertype == kArpType)
        return f.size() >= 22 && f[20] == 0 && f[21] == 1 ? std::optional(kAwaitArp)
                                                          : std::nullopt; // request
    if (!p.ipv4)
        return std::nullopt;
    if (p.protocol == static_cast<uint8_t>(IpProto::kIcmp)) {
        const size_t icmp = p.ip_offset + p.ip_header_len;
        return icmp < f.size() && f[icmp] == 8 ? std::optional(kAwaitEcho) : std::nullopt;
    }
    if (p.protocol == static_cast<uint8_t>(IpProto::kTcp) && p.has_ports &&
        (p.tcp_flags & kTcpRst) == 0 &&
        (p.tcp_payload_len > 0 || (p.tcp_flags & (kTcpSyn | kTcpFin)) != 0)) {
        return p.src_port;
    }
    return std::nullopt;
}

// The wait a kernel->device frame ends, if any: TCP to a device port with payload, SYN, FIN or
// RST (a bare ACK answers nothing: the kernel sends those on its own delayed-ACK timer), an ARP
// reply, an ICMP echo reply.
std::optional<uint32_t> answer_key(std::span<const uint8_t> f) {
    const PacketInfo p = parse_frame(f);
    if (p.ethertype == kArpType)
        return f.size() >= 22 && f[20] == 0 && f[21] == 2 ? std::optional(kAwaitArp) : std::nullopt;
    if (!p.ipv4)
        return std::nullopt;
    if (p.protocol == static_cast<uint8_t>(IpProto::kIcmp)) {
        const size_t icmp = p.ip_offset + p.ip_header_len;
        return icmp < f.size() && f[icmp] == 0 ? std::optional(kAwaitEcho) : std::nullopt;
    }
    if (p.protocol == static_cast<uint8_t>(IpProto::kTcp) && p.has_ports &&
        (p.tcp_payload_len > 0 || (p.tcp_flags & (kTcpSyn | kTcpFin | kTcpRst)) != 0)) {
        return p.dst_port;
    }
    return std::nullopt;
}

std::atomic<unsigned> g_netns_counter{0};

} // namespace

TapBackend::TapBackend(Timer& timer, FrameSink& downlink, TapOptions options)
    : timer_(timer), downlink_(downlink), options_(std::move(options)) {
    if (::access(options_.tun_path.c_str(), R_OK | W_OK) != 0) {
        throw EnvironmentError("the TAP backend needs " + options_.tun_path + " (" +
                               errno_text(errno) +
                               "); run as root on a machine with the tun module, or use the "
                               "slirp gateway");
    }
    if (options_.ifname.empty() || options_.ifname.size() >= IFNAMSIZ) {
        throw std::invalid_argument("TAP interface name '" + options_.ifname + "' must be 1.." +
                                    std::to_string(IFNAMSIZ - 1) + " characters");
    }
    netns_ = options_.netns.empty()
                 ? "lwipsim-" + std::to_string(::getpid()) + "-" + std::to_string(g_netns_counter++)
                 : options_.netns;

    auto ip = [&](const std::vector<std::string>& argv) {
        const host::CommandResult r = host::run_command(argv, kIpTimeout);
        if (!r.success()) {
            throw EnvironmentError(
                "`" + host::describe_command(argv) + "` failed (" +
                (r.timed_out ? std::string("timed out") : r.status.describe()) + "): " + r.output +
                " — the TAP backend needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN)");
        }
    };
    ip({"ip", "netns", "add", netns_});
    netns_created_ = true;
    try {
        // A TAP belongs to the network namespace of the thread that creates it, and setns()
        // moves only the calling thread: do it on a short-lived helper thread so the caller's
        // threads stay where they are.
        std::string error;
        std::thread([&] {
            const std::string ns_path = "/run/netns/" + netns_;
            const int ns = ::open(ns_path.c_str(), O_RDONLY | O_CLOEXEC);
            if (ns < 0 || ::setns(ns, CLONE_NEWNET) != 0) {
                error = "cannot enter network namespace " + ns_path + ": " + errno_text(errno);
                if (ns >= 0)
                    ::close(ns);
                return;
            }
            ::close(ns);
            // The kernel would otherwise send IPv6 router solicitations and MLD reports out of
            // the TAP; the device is IPv4-only. Best effort: /proc/sys/net is this namespace's.
            for (const char* knob : {"/proc/sys/net/ipv6/conf/default/disable_ipv6",
                                     "/proc/sys/net/ipv6/conf/all/disable_ipv6"}) {
                const int k = ::open(knob, O_WRONLY | O_CLOEXEC);
                if (k >= 0) {
                    [[maybe_unused]] const ssize_t w = ::write(k, "1", 1);
                    ::close(k);
                }
            }
            const int fd = ::open(options_.tun_path.c_str(), O_RDWR | O_CLOEXEC | O_NONBLOCK);
            if (fd < 0) {
                error = "cannot open " + options_.tun_path + ": " + errno_text(errno);
                return;
            }
            ifreq ifr{};
            ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
            std::strncpy(ifr.ifr_name, options_.ifname.c_str(), IFNAMSIZ - 1);
            if (::ioctl(fd, TUNSETIFF, &ifr) != 0) {
                error = "TUNSETIFF " + options_.ifname + ": " + errno_text(errno);
                ::close(fd);
                return;
            }
            fd_ = fd;
        }).join();
        if (fd_ < 0)
            throw EnvironmentError("TAP backend: " + error);
        ip({"ip", "-n", netns_, "addr", "add", options_.address, "dev", options_.ifname});
        ip({"ip", "-n", netns_, "link", "set", "dev", options_.ifname, "up"});
        ip({"ip", "-n", netns_, "link", "set", "dev", "lo", "up"});
    } catch (...) {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = -1;
        host::run_command({"ip", "netns", "delete", netns_}, kIpTimeout);
        throw;
    }
}

TapBackend::~TapBackend() {
    if (fd_ >= 0)
        ::close(fd_);
    if (netns_created_) {
        try {
            host::run_command({"ip", "netns", "delete", netns_}, kIpTimeout);
        } catch (const std::exception&) {
            // `ip` vanished since the constructor ran it, or could not be started; nothing more
            // a destructor can do.
        }
    }
}

void TapBackend::deliver(Frame frame) {
    // Marks from earlier instants can no longer hold time; dropping them keeps the map small.
    const clock::SimTime now = timer_.now();
    std::erase_if(awaiting_, [now](const auto& kv) { return kv.second != now; });
    // Marked before the write: the kernel may answer before write() even returns.
    if (const auto key = request_key(frame.bytes))
        awaiting_[*key] = now;
    const ssize_t n = ::write(fd_, frame.bytes.data(), frame.bytes.size());
    if (n == static_cast<ssize_t>(frame.bytes.size())) {
        ++frames_written_;
    } else {
        ++write_errors_;
    }
}

void TapBackend::fill_pollfds(std::vector<pollfd>& fds) {
    fds.push_back(pollfd{fd_, POLLIN, 0});
}

void TapBackend::on_polled(std::span<const pollfd> fds) {
    for (const pollfd& p : fds) {
        if (p.fd == fd_ && (p.revents & POLLIN) != 0)
            read_all();
    }
}

bool TapBackend::awaiting_host() const {
    // One grace per instant, as in the slirp gateway: a request that got no answer (a QoS 0
    // PUBLISH needs none) stops holding time once virtual time has moved on.
    for (const auto& [key, since] : awaiting_) {
        if (since == timer_.now())
            return true;
    }
    return false;
}

std::vector<std::string> TapBackend::netns_exec_prefix() const {
    return {"ip", "netns", "exec", netns_};
}

void TapBackend::read_all() {
    std::vector<uint8_t> buf(kMaxFrame);
    for (;;) {
        const ssize_t n = ::read(fd_, buf.data(), buf.size());
        if (n <= 0)
            return; // EAGAIN: drained
        Frame f;
        f.bytes.assign(buf.begin(), buf.begin() + n);
        f.direction = Direction::kDown;
        f.id = next_frame_id_++;
        f.created_at = timer_.now();
        ++frames_read_;
        if (const auto key = answer_key(f.bytes))
            awaiting_.erase(*key);
        downlink_.deliver(std::move(f));
    }
}

} // namespace lwipsim::link
