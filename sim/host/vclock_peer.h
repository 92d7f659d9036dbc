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
#include <string>
#include <vector>

struct lwipsim_vclock_page;

namespace lwipsim::host {

struct VclockOptions {
    std::filesystem::path page_file; ///< created (replaced) by the constructor
    std::filesystem::path library;   ///< liblwipsim_vclock.so, for the program's LD_PRELOAD
    int64_t epoch_realtime_ns = 0;   ///< CLOCK_REALTIME the program sees at virtual time 0
    /// Real time the program may take to report idle after a wake before the run fails.
    std::chrono::milliseconds idle_timeout{10000};
};

class VclockPeer final : public clock::HostPeer {
  public:
    /// Creates the page. Throws ProcessError when it cannot be created or mapped.
    explicit VclockPeer(VclockOptions options);
    ~VclockPeer() override;
    VclockPeer(const VclockPeer&) = delete;
    VclockPeer& operator=(const VclockPeer&) = delete;

    /// "NAME=value" entries the program must be started with.
    [[nodiscard]] std::vector<std::string> environment() const;
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

    [[nodiscard]] uint64_t wakes() const { return wakes_; }

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
};

} // namespace lwipsim::host
