#include "sim/host/vclock_peer.h"

#include "sim/host/child_process.h"
#include "sim/host/errors.h"
#include "sim/host/vclock_determinism.h"
#include "sim/host/vclock_page.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fcntl.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace lwipsim::host {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kLibraryName = "liblwipsim_vclock.so";
// The program's monotonic clock at virtual 0: a fixed value, so it never depends on the host.
constexpr int64_t kMonotonicEpochNs = int64_t{1000} * 1000 * 1000 * 1000;

template <typename T> T load(const T& word) {
    return __atomic_load_n(&word, __ATOMIC_SEQ_CST);
}
template <typename T> void store(T& word, T value) {
    __atomic_store_n(&word, value, __ATOMIC_SEQ_CST);
}

void futex_wake(uint32_t& word) {
    ::syscall(SYS_futex, &word, FUTEX_WAKE, 1, nullptr, nullptr, 0);
}
void futex_wait(uint32_t& word, uint32_t seen, std::chrono::milliseconds limit) {
    const timespec ts{static_cast<time_t>(limit.count() / 1000),
                      static_cast<long>(limit.count() % 1000) * 1000000L};
    ::syscall(SYS_futex, &word, FUTEX_WAIT, seen, &ts, nullptr, 0);
}

} // namespace

VclockPeer::VclockPeer(VclockOptions options) : options_(std::move(options)) {
    // LD_PRELOAD splits its list at spaces and colons: such a path would load nothing (or
    // something else) and the program would run on real time.
    if (const std::string lib = options_.library.string();
        lib.find_first_of(" :") != std::string::npos) {
        throw EnvironmentError("virtual clock: the library path '" + lib +
                               "' contains a space or a colon, which LD_PRELOAD takes as "
                               "separators; build or install lwipsim under a path without them, or "
                               "point $LWIPSIM_VCLOCK_LIBRARY to a copy that has none");
    }
    const int fd = ::open(options_.page_file.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || ::ftruncate(fd, LWIPSIM_VCLOCK_PAGE_SIZE) != 0) {
        const int err = errno;
        if (fd >= 0)
            ::close(fd);
        throw ProcessError("virtual clock: cannot create the page " + options_.page_file.string() +
                           ": " + std::strerror(err));
    }
    void* map =
        ::mmap(nullptr, LWIPSIM_VCLOCK_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    const int err = errno;
    ::close(fd);
    if (map == MAP_FAILED) {
        throw ProcessError("virtual clock: cannot map " + options_.page_file.string() + ": " +
                           std::strerror(err));
    }
    page_ = static_cast<lwipsim_vclock_page*>(map);
    page_->epoch_realtime_ns = options_.epoch_realtime_ns;
    page_->epoch_monotonic_ns = kMonotonicEpochNs;
    page_->now_ns = 0;
    page_->deadline_ns = LWIPSIM_VCLOCK_NO_DEADLINE;
    // Not yet idle: the program has to report once before the scheduler may move time.
    page_->idle_ack = seq_ - 1;
    page_->grant_seq = seq_ - 1; // no grant for any wake yet
    page_->version = LWIPSIM_VCLOCK_VERSION;
    store(page_->magic, LWIPSIM_VCLOCK_MAGIC);
}

VclockPeer::~VclockPeer() {
    detach();
    ::munmap(page_, LWIPSIM_VCLOCK_PAGE_SIZE);
    std::error_code ec;
    fs::remove(options_.page_file, ec);
}

std::vector<std::string> VclockPeer::environment() const {
    std::vector<std::string> env{"LD_PRELOAD=" + options_.library.string(),
                                 std::string(LWIPSIM_VCLOCK_ENV) + "=" +
                                     options_.page_file.string()};
    if (options_.seed)
        env.push_back(std::string(LWIPSIM_VCLOCK_SEED_ENV) + "=" + std::to_string(*options_.seed));
    return env;
}

static_assert(sizeof(lwipsim_vclock_page) <= LWIPSIM_VCLOCK_PEERS_OFFSET);
static_assert(LWIPSIM_VCLOCK_PEERS_OFFSET + LWIPSIM_VCLOCK_PEERS * sizeof(lwipsim_vclock_peer) <=
              LWIPSIM_VCLOCK_PAGE_SIZE);

void VclockPeer::name_peer(uint16_t host_port, uint32_t guest_ip, uint16_t guest_port) {
    auto* peers = reinterpret_cast<lwipsim_vclock_peer*>(reinterpret_cast<char*>(page_) +
                                                         LWIPSIM_VCLOCK_PEERS_OFFSET);
    // A host port the kernel hands out again replaces its old entry.
    unsigned slot = next_peer_;
    for (unsigned i = 0; i < LWIPSIM_VCLOCK_PEERS; ++i) {
        if (load(peers[i].host_port) == host_port)
            slot = i;
    }
    if (slot == next_peer_)
        next_peer_ = (next_peer_ + 1) % LWIPSIM_VCLOCK_PEERS;
    lwipsim_vclock_peer& p = peers[slot];
    store(p.host_port, 0U);
    store(p.guest_ip, guest_ip);
    store(p.guest_port, static_cast<uint32_t>(guest_port));
    store(p.host_port, static_cast<uint32_t>(host_port));
}

void VclockPeer::set_epoch_realtime(int64_t ns) {
    store(page_->epoch_realtime_ns, ns);
}

void VclockPeer::detach() {
    if (load(page_->detached) != 0)
        return;
    store(page_->detached, 1U);
    ++activity_;
    store(page_->wake_seq, ++seq_);
    futex_wake(page_->wake_seq);
}

void VclockPeer::reattach(clock::SimTime now) {
    store(page_->now_ns, static_cast<int64_t>(now.since_start.count()));
    store(page_->deadline_ns, LWIPSIM_VCLOCK_NO_DEADLINE);
    // The old program may have died inside a covered wait (SIGKILL) or with an error noted.
    store(page_->waiters, 0U);
    page_->error[0] = '\0';
    store(page_->idle_ack, seq_ - 1); // not idle until the new program reports
    store(page_->detached, 0U);
    ++activity_;
    pid_ = -1;
}

void VclockPeer::hold() {
    held_ = true;
}

void VclockPeer::release(clock::SimTime now) {
    held_ = false;
    wake(now);
}

void VclockPeer::wake(clock::SimTime now) {
    if (held_)
        return; // a frozen program sees what came when it is released
    ++wakes_;
    ++activity_;
    store(page_->now_ns, static_cast<int64_t>(now.since_start.count()));
    store(page_->wake_seq, ++seq_);
    futex_wake(page_->wake_seq);
}

void VclockPeer::wake_with_grant(clock::SimTime now, clock::SimTime quiet_until) {
    if (quiet_until <= now) {
        wake(now);
        return;
    }
    // Only while the program is idle (the scheduler's peer-deadline wake): it reads the grant
    // after the wake_seq bump below, and no other grant is written before its next idle report.
    ++grants_;
    store(page_->grant_ns, static_cast<int64_t>(quiet_until.since_start.count()));
    store(page_->grant_seq, seq_ + 1);
    wake(now);
}

bool VclockPeer::shut_down_a_socket() const {
    return load(page_->shut_down) != 0;
}

pid_t VclockPeer::attached_pid() const {
    return load(page_->attached_pid);
}

void VclockPeer::require_attached(pid_t pid) const {
    const pid_t attached = attached_pid();
    if (attached == pid)
        return;
    throw EnvironmentError(
        "virtual clock: " + options_.library.string() + " was not loaded into the program (pid " +
        std::to_string(pid) +
        (attached > 0 ? "; the page names pid " + std::to_string(attached)
                      : "; it never mapped its clock page") +
        "): the dynamic loader ignored LD_PRELOAD (not a shared library of this architecture, "
        "or a set-user-ID program); see the program's log. time.broker_clock: wall runs the "
        "broker on the wall clock instead");
}

std::optional<clock::SimTime> VclockPeer::deadline() const {
    // Detached (stopped) or held (paused): no timer of its own is running on our clock, and a
    // deadline in the past would have the scheduler wake it over and over.
    if (held_ || load(page_->detached) != 0)
        return std::nullopt;
    const int64_t ns = load(page_->deadline_ns);
    if (ns == LWIPSIM_VCLOCK_NO_DEADLINE)
        return std::nullopt;
    return clock::SimTime{clock::SimDuration{ns}};
}

std::string VclockPeer::program_error() const {
    const char* text = page_->error;
    return std::string(text, ::strnlen(text, sizeof page_->error));
}

bool VclockPeer::idle() const {
    return held_ || load(page_->idle_ack) == seq_ || load(page_->detached) != 0;
}

clock::HostPeer::Idle VclockPeer::wait_idle() {
    Idle report;
    if (idle())
        return report;
    const auto start = Clock::now();
    for (;;) {
        const uint32_t ack = load(page_->idle_ack);
        if (ack == seq_)
            break;
        if (const std::string error = program_error(); !error.empty()) {
            report.error = "the broker's virtual clock library gave up: " + error;
            break;
        }
        if (pid_ > 0 && child_has_exited(pid_)) {
            report.error = "the broker (pid " + std::to_string(pid_) +
                           ") exited while the simulation waited for it; see broker.log";
            break;
        }
        if (Clock::now() - start > options_.idle_timeout) {
            report.error =
                "the broker did not report idle within " +
                std::to_string(options_.idle_timeout.count()) +
                " ms of real time after it was woken: it is stuck, or blocked in a wait "
                "liblwipsim_vclock.so does not cover (docs/design.md); time.broker_clock: "
                "wall runs it on the wall clock instead";
            break;
        }
        futex_wait(page_->idle_ack, ack, std::chrono::milliseconds(100));
    }
    report.waited_s = std::chrono::duration<double>(Clock::now() - start).count();
    return report;
}

std::optional<fs::path> VclockPeer::find_library() {
    if (const char* env = std::getenv("LWIPSIM_VCLOCK_LIBRARY"); env != nullptr && *env != '\0') {
        return fs::exists(env) ? std::optional(fs::absolute(env)) : std::nullopt;
    }
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (ec)
        return std::nullopt;
    const fs::path lib = exe.parent_path() / kLibraryName;
    return fs::exists(lib, ec) ? std::optional(lib) : std::nullopt;
}

} // namespace lwipsim::host
