#include "sim/link/tap_backend.h"

#include <arpa/inet.h>

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

constexpr size_t kMaxFrame = 65536;

// "10.0.3.1/24" -> "10.0.3.0/24": the connected route the kernel made for the address.
std::string network_of(const std::string& cidr) {
    const size_t slash = cidr.find('/');
    in_addr a{};
    const int bits = slash == std::string::npos ? 32 : std::stoi(cidr.substr(slash + 1));
    if (::inet_pton(AF_INET, cidr.substr(0, slash).c_str(), &a) != 1 || bits < 0 || bits > 32)
        throw std::invalid_argument("TAP backend: not an IPv4 CIDR address: '" + cidr + "'");
    const uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
    a.s_addr = htonl(ntohl(a.s_addr) & mask);
    char text[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, &a, text, sizeof text);
    return std::string(text) + "/" + std::to_string(bits);
}
// `ip` answers in milliseconds; the bound only keeps a hung command from hanging the run.
constexpr std::chrono::seconds kIpTimeout{30};

std::string errno_text(int err) {
    return std::string(std::strerror(err));
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
        // No delayed ACKs towards the device (route metric quickack): an ACK the kernel holds
        // for 40 ms of real time would reach a device on virtual time hours later.
        ip({"ip", "-n", netns_, "route", "change", network_of(options_.address), "dev",
            options_.ifname, "quickack", "1"});
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
    // Before the write: the kernel may answer before write() even returns.
    replies_.on_request(frame.bytes, timer_.now());
    const ssize_t n = ::write(fd_, frame.bytes.data(), frame.bytes.size());
    if (n == static_cast<ssize_t>(frame.bytes.size())) {
        ++frames_written_;
    } else {
        ++write_errors_;
    }
    if (host_written_)
        host_written_();
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
    return replies_.pending(timer_.now());
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
        replies_.on_answer(f.bytes);
        downlink_.deliver(std::move(f));
    }
}

} // namespace lwipsim::link
