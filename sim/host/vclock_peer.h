#pragma once
// The worker's side of liblwipsim_vclock.so (sim/host/vclock_preload.c): the shared clock page
// of one host program (the managed broker) and the wake/idle handshake, as a clock::HostPeer the
// scheduler waits for. The protocol is described in sim/host/vclock_page.h and docs/design.md.
//
// Threading: wake() and wait_idle() are called by the scheduler's baton holder; detach() by the
// thread that stops the program. The page lives in a file (mode 0600) that the program maps
// through LWIPSIM_VCLOCK_PAGE; it is removed when the peer is destroyed.

#include "sim/clock/scheduler.h"

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

struct lwipsim_vclock_page;

namespace lwipsim::host {

struct VclockOptions {
    std::filesystem::path page_file; ///< created (replaced) by the constructor
    std::filesystem::path library;   ///< liblwipsim_vclock.so, for the program's LD_PRELOAD
    int64_t epoch_realtime_ns = 0;   ///< CLOCK_REALTIME the program sees at virtual time 0
    /// Seeds the program's getrandom/getentropy and fixes its getpid
    /// (sim/host/vclock_determinism.c); nullopt leaves them to the machine.
    std::optional<uint64_t> seed;
    /// Real time the program may take to report idle after a wake before the run fails.
    std::chrono::milliseconds idle_timeout{10000};
};

class VclockPeer final : public clock::HostPeer {
  public:
    /// Creates the page. Throws ProcessError when it cannot be created or mapped, and
    /// EnvironmentError when the library path holds an LD_PRELOAD separator (' ' or ':').
    explicit VclockPeer(VclockOptions options);
    ~VclockPeer() override;
    VclockPeer(const VclockPeer&) = delete;
    VclockPeer& operator=(const VclockPeer&) = delete;

    /// "NAME=value" entries the program must be started with.
    [[nodiscard]] std::vector<std::string> environment() const;
    /// Whether the program must run without address-space randomisation (spawn_child's
    /// fixed_layout): with a seed, as OpenSSL mixes addresses into its DRBG nonces
    /// (vclock_determinism.c).
    [[nodiscard]] bool needs_fixed_layout() const { return options_.seed.has_value(); }
    /// The program's getpeername answers `guest_ip`:`guest_port` (the simulated device) for a
    /// loopback peer at `host_port` (the gateway's side of that connection); call before the
    /// wake that delivers the connection. Keeps the latest 64 (vclock_determinism.h).
    void name_peer(uint16_t host_port, uint32_t guest_ip, uint16_t guest_port);
    /// CLOCK_REALTIME the program sees at virtual time 0; call before it starts.
    void set_epoch_realtime(int64_t ns);
    /// The program's pid, so that a crash is reported as such rather than as a hang.
    void watch(pid_t pid) { pid_ = pid; }
    /// Hands the program back to real time and real waits (before stopping it: a SIGTERM must
    /// reach a program blocked in a real wait, which ends with EINTR). Idempotent.
    void detach();
    /// Before a new program starts on this page (the broker started again after a stop): back
    /// to virtual waits at `now`, busy until the new program reports idle. Only while no
    /// program is attached (after detach() and the old program's exit).
    void reattach(clock::SimTime now);
    /// Holds the program still (a paused broker): while held, wakes are not passed on, the
    /// program counts as idle and has no deadline, so the scheduler neither waits for it nor
    /// wakes it. release() wakes it once at `now` (it looks at everything that came meanwhile).
    void hold();
    void release(clock::SimTime now);

    Idle wait_idle() override;
    [[nodiscard]] bool idle() const override;
    [[nodiscard]] std::optional<clock::SimTime> deadline() const override;
    void wake(clock::SimTime now) override;
    void wake_with_grant(clock::SimTime now, clock::SimTime quiet_until) override;
    /// The pid the library wrote when it mapped the page inside the program, or 0 while it
    /// has not (not started yet, or the dynamic loader ignored LD_PRELOAD).
    [[nodiscard]] std::optional<uint64_t> activity() const override { return activity_; }
    [[nodiscard]] pid_t attached_pid() const;
    /// True once the program has shut a socket down (shutdown()) rather than only closed it:
    /// a connection it sent a FIN on may then still have its fd (vclock_page.h, shut_down).
    [[nodiscard]] bool shut_down_a_socket() const;
    /// Throws EnvironmentError unless the library attached inside `pid`. Call once the
    /// program has reached its main loop (its constructors, ours included, have run by then).
    void require_attached(pid_t pid) const;

    [[nodiscard]] uint64_t wakes() const { return wakes_; }
    /// Wakes that carried a grant (wake_with_grant beyond `now`).
    [[nodiscard]] uint64_t grants() const { return grants_; }

    /// liblwipsim_vclock.so next to the running executable, or $LWIPSIM_VCLOCK_LIBRARY; nullopt
    /// when neither exists.
    static std::optional<std::filesystem::path> find_library();

  private:
    [[nodiscard]] std::string program_error() const;

    VclockOptions options_;
    lwipsim_vclock_page* page_ = nullptr;
    uint32_t seq_ = 0; ///< the latest wake_seq we published
    pid_t pid_ = -1;
    bool held_ = false;
    uint64_t wakes_ = 0;
    uint64_t grants_ = 0;
    uint64_t activity_ = 0;  ///< bumped by every wake passed on, detach and reattach
    unsigned next_peer_ = 0; ///< the peer table entry name_peer writes next
};

} // namespace lwipsim::host
