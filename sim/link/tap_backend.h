#pragma once
// The far side of the simulated link as a real Linux kernel stack: a TAP device inside a network
// namespace this object creates itself (`ip netns add lwipsim-<pid>-<n>`) and deletes on
// destruction. The TAP gets 10.0.3.1/24 inside that namespace; the device talks to it as its
// gateway/broker host. Nothing else is routed there, so traffic stays in the namespace the
// project made. A broker runs inside it via netns_exec_prefix().
//
// Needs root (CAP_NET_ADMIN + CAP_SYS_ADMIN for the namespace), /dev/net/tun and the `ip`
// command (iproute2); otherwise the constructor throws EnvironmentError (CLI exit code 3).
//
// Threading: all methods from the one thread that drives the simulation (the baton holder).

#include "sim/clock/scheduler.h"
#include "sim/host/errors.h"
#include "sim/link/frame.h"
#include "sim/link/host_reply_wait.h"

#include <poll.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace lwipsim::link {

/// The machine lacks something a run needs (root, /dev/net/tun, iproute2). The CLI maps it to
/// exit code 3. The same type as host::EnvironmentError, which running `ip` throws.
using EnvironmentError = host::EnvironmentError;

struct TapOptions {
    std::string netns;                   ///< empty: "lwipsim-<pid>-<n>"
    std::string ifname = "lwtap0";       ///< interface name inside the namespace
    std::string address = "10.0.3.1/24"; ///< the kernel side's address, CIDR
    std::string tun_path = "/dev/net/tun";
};

class TapBackend final : public FrameSink, public clock::HostIo {
  public:
    /// Creates the namespace, the TAP inside it, assigns the address and brings it up.
    /// `timer` and `downlink` must outlive the backend. Throws EnvironmentError when not
    /// permitted or a tool is missing (the message says which, with the command's output).
    TapBackend(Timer& timer, FrameSink& downlink, TapOptions options = {});
    /// Closes the TAP and deletes the namespace (and with it the interface).
    ~TapBackend() override;
    TapBackend(const TapBackend&) = delete;
    TapBackend& operator=(const TapBackend&) = delete;

    /// Writes the frame to the TAP (device -> kernel). A frame the kernel refuses is counted in
    /// write_errors(), never thrown: a lossy link is a normal condition here.
    void deliver(Frame frame) override;

    // clock::HostIo: the TAP fd. Frames the kernel sends go to the downlink at the current
    // virtual time.
    void fill_pollfds(std::vector<pollfd>& fds) override;
    void on_polled(std::span<const pollfd> fds) override;
    /// True while the kernel owes an answer to a request the device just made (the rule is
    /// HostReplyWait's, shared with the slirp gateway; ARP and ICMP echo count too).
    [[nodiscard]] bool awaiting_host() const override;

    [[nodiscard]] const std::string& netns() const { return netns_; }
    [[nodiscard]] const std::string& ifname() const { return options_.ifname; }
    /// `hook` runs after every frame written to the TAP (the kernel has processed it by the
    /// time write() returns, as loopback does): used to wake a broker on virtual time inside the
    /// namespace, whose input only ever comes from the TAP.
    void set_host_written_hook(std::function<void()> hook) { host_written_ = std::move(hook); }
    /// argv prefix that runs a command inside the namespace: {"ip", "netns", "exec", <name>}.
    [[nodiscard]] std::vector<std::string> netns_exec_prefix() const;
    [[nodiscard]] uint64_t frames_written() const { return frames_written_; }
    [[nodiscard]] uint64_t frames_read() const { return frames_read_; }
    [[nodiscard]] uint64_t write_errors() const { return write_errors_; }

  private:
    void read_all();

    Timer& timer_;
    FrameSink& downlink_;
    TapOptions options_;
    std::function<void()> host_written_;
    std::string netns_;
    bool netns_created_ = false;
    int fd_ = -1;
    uint64_t next_frame_id_ = 1;
    uint64_t frames_written_ = 0;
    uint64_t frames_read_ = 0;
    uint64_t write_errors_ = 0;
    /// Key -> virtual time the device's frame was written. Keys: a device TCP port (1..65535),
    /// or kAwaitArp / kAwaitEcho (outside the port range).
    HostReplyWait replies_;
};

} // namespace lwipsim::link
