// liblwipsim_vclock.so and VclockPeer together (sim/host/vclock_peer.h): a real host program
// (tests/integration/vclock_helper.c) on virtual time, driven the way the scheduler drives the
// managed broker: wake, then wait for the idle report.
#include "sim/host/child_process.h"
#include "sim/host/errors.h"
#include "sim/host/vclock_page.h"
#include "sim/host/vclock_peer.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include <filesystem>
#include <string>
#include <vector>

namespace lwipsim::host {
namespace {

namespace fs = std::filesystem;
using clock::SimTime;
using namespace std::chrono_literals;

// A listening socket on 127.0.0.1 and the helper connected to it, under the virtual clock.
class HelperRun {
  public:
    explicit HelperRun(const std::string& mode, std::chrono::milliseconds idle_timeout = 10000ms) {
        dir_ = fs::temp_directory_path() /
               ("lwipsim-vclock-" + std::to_string(::getpid()) + "-" + mode);
        fs::create_directories(dir_);
        VclockOptions vo;
        vo.page_file = dir_ / "page";
        vo.library = LWIPSIM_VCLOCK_LIBRARY;
        vo.epoch_realtime_ns = int64_t{1700000000} * 1000000000;
        vo.idle_timeout = idle_timeout;
        peer_.emplace(vo);
        listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        ::bind(listener_, reinterpret_cast<sockaddr*>(&a), len);
        ::listen(listener_, 1);
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);
        std::vector<std::string> argv{LWIPSIM_VCLOCK_HELPER, mode};
        if (mode == "slow-reader" || mode == "sleeper" || mode == "ticker" || mode == "timespecs" ||
            mode == "masker" || mode == "term-blocked" || mode == "shutter" || mode == "closer")
            argv.push_back(std::to_string(ntohs(a.sin_port)));
        pid_ = spawn_child(argv, -1, peer_->environment());
        peer_->watch(pid_);
        if (argv.size() == 3)
            conn_ = ::accept(listener_, nullptr, nullptr); // the kernel completes the connect
    }
    ~HelperRun() {
        peer_->detach();
        stop_child(pid_, 2000ms);
        ::close(conn_);
        ::close(listener_);
        peer_.reset();
        fs::remove_all(dir_);
    }
    VclockPeer& peer() { return *peer_; }
    int conn() const { return conn_; }
    pid_t pid() const { return pid_; }
    fs::path page_file() const { return dir_ / "page"; }

    // Everything readable right now (no waiting: the idle report promises it has arrived).
    std::string read_now() const {
        std::string text;
        char buf[256];
        pollfd p{conn_, POLLIN, 0};
        while (::poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0) {
            const ssize_t n = ::recv(conn_, buf, sizeof buf, MSG_DONTWAIT);
            if (n <= 0)
                break;
            text.append(buf, static_cast<size_t>(n));
        }
        return text;
    }

  private:
    fs::path dir_;
    std::optional<VclockPeer> peer_;
    int listener_ = -1, conn_ = -1;
    pid_t pid_ = -1;
};

std::string last_line(const std::string& text) {
    const size_t end = text.rfind('\n');
    if (end == std::string::npos)
        return "";
    const size_t start = text.rfind('\n', end - 1);
    return text.substr(start == std::string::npos || end == 0 ? 0 : start + 1,
                       end - (start == std::string::npos || end == 0 ? 0 : start + 1));
}

// The promise the scheduler relies on instead of a grace period: once the program reports idle
// after a wake, every byte written before the wake has been read, and its answer is already
// readable here. The helper reads one byte per epoll round, 2 ms of real time each, so any
// idle report taken too early (before its zero-timeout check, or on a stale generation) would
// leave bytes unread and the count it sent back short.
TEST(Vclock, NeverIdleWhileOurBytesAreUnread) {
    HelperRun run("slow-reader");
    ASSERT_EQ(run.peer().wait_idle().error, "");
    long total = 0;
    for (int round = 1; round <= 20; ++round) {
        const std::string bytes(static_cast<size_t>(round) * 3, 'x');
        ASSERT_EQ(::write(run.conn(), bytes.data(), bytes.size()),
                  static_cast<ssize_t>(bytes.size()));
        total += static_cast<long>(bytes.size());
        run.peer().wake(SimTime{});
        const auto idle = run.peer().wait_idle();
        ASSERT_EQ(idle.error, "") << "round " << round;
        EXPECT_EQ(last_line(run.read_now()), std::to_string(total))
            << "round " << round << ": idle reported before the program had read everything";
    }
}

// The broker's lookahead may skip the gateway's own ticks once the broker has sent its FIN on
// every connection, on the premise that it closed them (no fd left to notice what the gateway
// does next). A program that shut a socket down instead keeps its fd: the page then says so.
TEST(Vclock, ShutdownButNotCloseIsReported) {
    for (const std::string mode : {"closer", "shutter"}) {
        HelperRun run(mode);
        ASSERT_EQ(run.peer().wait_idle().error, "") << mode;
        EXPECT_FALSE(run.peer().shut_down_a_socket()) << mode << " before it ended anything";
        ASSERT_EQ(::write(run.conn(), "x", 1), 1);
        run.peer().wake(SimTime{});
        ASSERT_EQ(run.peer().wait_idle().error, "") << mode;
        char byte = 0;
        EXPECT_EQ(::recv(run.conn(), &byte, 1, MSG_DONTWAIT), 0) << mode << ": no FIN arrived";
        EXPECT_EQ(run.peer().shut_down_a_socket(), mode == "shutter") << mode;
    }
}

// Sleeps and timed waits end at virtual deadlines the program reports, and its clocks show
// exactly the virtual time that passed (4 x 250 ms), not the real time.
TEST(Vclock, SleepsEndAtVirtualDeadlines) {
    HelperRun run("sleeper");
    std::vector<double> deadlines;
    for (int i = 0; i < 10; ++i) {
        ASSERT_EQ(run.peer().wait_idle().error, "");
        const auto d = run.peer().deadline();
        if (!d)
            break; // the final wait without a timeout
        deadlines.push_back(d->seconds());
        run.peer().wake(*d);
    }
    EXPECT_EQ(deadlines, (std::vector<double>{0.25, 0.5, 0.75, 1.0}));
    EXPECT_EQ(run.read_now(), "1000000000 1000000000\n");
}

// Broker faults (harness/runner/broker_faults.h): a held peer (a paused broker) and a detached
// one (a stopped broker) are neither waited for nor woken, and show no deadline, which the
// scheduler would otherwise "reach" again and again. Released, the program goes on where it was.
TEST(Vclock, HeldOrDetachedPeerIsNotWaitedForNorWoken) {
    HelperRun run("sleeper");
    ASSERT_EQ(run.peer().wait_idle().error, "");
    ASSERT_EQ(run.peer().deadline(), SimTime{250ms});
    run.peer().hold();
    EXPECT_TRUE(run.peer().idle());
    EXPECT_EQ(run.peer().deadline(), std::nullopt);
    const uint64_t wakes = run.peer().wakes();
    run.peer().wake(SimTime{250ms});
    EXPECT_EQ(run.peer().wakes(), wakes) << "a wake reached a held program";
    EXPECT_TRUE(run.peer().idle());
    run.peer().release(SimTime{250ms});
    ASSERT_EQ(run.peer().wait_idle().error, "");
    EXPECT_EQ(run.peer().deadline(), SimTime{500ms}) << "the released program slept on";
    run.peer().detach();
    EXPECT_TRUE(run.peer().idle());
    EXPECT_EQ(run.peer().deadline(), std::nullopt) << "a detached program has no virtual deadline";
}

// An uncovered wait never hangs the run silently: a refused one is named by the library, one
// it cannot see ends the wait for the idle report with an error after the timeout.
TEST(Vclock, UncoveredWaitsAreReported) {
    {
        HelperRun run("pwait2");
        const auto idle = run.peer().wait_idle();
        EXPECT_NE(idle.error.find("epoll_pwait2 is not covered"), std::string::npos) << idle.error;
    }
    {
        HelperRun run("raw-wait", 1000ms);
        const auto idle = run.peer().wait_idle();
        EXPECT_NE(idle.error.find("did not report idle within 1000 ms"), std::string::npos)
            << idle.error;
    }
}

SimTime at_ms(int64_t ms) {
    return SimTime{clock::from_ms(ms)};
}
double deadline_s(VclockPeer& peer) {
    const auto d = peer.deadline();
    return d ? d->seconds() : -1;
}

// The lookahead grant: with "nothing reaches you before 5 s", the program's 100 ms timeouts
// pass on its own clock without a round trip, but its first output (at 1 s of its clock) waits
// until the worker's time has caught up: it reports idle with deadline 1 s and nothing written,
// and writes only when woken at 1 s. That write spends the grant: the next timeout (1.1 s) is
// reported again. A fresh grant ends before its own limit (timeouts < 3 s pass, 3 s is asked).
TEST(Vclock, GrantedTimeoutsPassLocallyAndOutputsWaitForTheWorker) {
    HelperRun run("ticker");
    ASSERT_EQ(run.peer().wait_idle().error, "");
    EXPECT_DOUBLE_EQ(deadline_s(run.peer()), 0.1);
    run.peer().wake_with_grant(at_ms(100), at_ms(5000));
    ASSERT_EQ(run.peer().wait_idle().error, "");
    EXPECT_DOUBLE_EQ(deadline_s(run.peer()), 1.0) << "the timeouts up to 1 s were not local";
    EXPECT_EQ(run.read_now(), "") << "the program wrote ahead of the worker's time";
    run.peer().wake_with_grant(at_ms(1000), at_ms(5000));
    ASSERT_EQ(run.peer().wait_idle().error, "");
    EXPECT_EQ(run.read_now(), "1000000000\n");
    EXPECT_DOUBLE_EQ(deadline_s(run.peer()), 1.1) << "the write did not spend the grant";
    run.peer().wake(at_ms(1100));
    ASSERT_EQ(run.peer().wait_idle().error, "");
    EXPECT_DOUBLE_EQ(deadline_s(run.peer()), 1.2);
    run.peer().wake_with_grant(at_ms(1200), at_ms(3000));
    ASSERT_EQ(run.peer().wait_idle().error, "");
    EXPECT_DOUBLE_EQ(deadline_s(run.peer()), 3.0);
    EXPECT_EQ(run.peer().grants(), 3U);
}

// Under a grant, mosquitto's sigprocmask pair around each locally answered epoll_wait costs
// no system call (docs/design.md, "Signal masks under a grant"): the program always reads back
// the mask it set, but the kernel gets it only before the next call the library wraps (here the
// write). The helper's line "1 0" says SIGUSR1 is blocked for the program and not yet in the
// kernel's mask; the next line, after that write, that the kernel has it.
TEST(Vclock, MaskChangesUnderAGrantReachTheKernelAtTheNextWrappedCall) {
    HelperRun run("masker");
    ASSERT_EQ(run.peer().wait_idle().error, "");
    run.peer().wake_with_grant(at_ms(100), at_ms(5000));
    ASSERT_EQ(run.peer().wait_idle().error, "");
    ASSERT_DOUBLE_EQ(deadline_s(run.peer()), 1.0); // catching up before its write
    run.peer().wake_with_grant(at_ms(1000), at_ms(5000));
    ASSERT_EQ(run.peer().wait_idle().error, "");
    EXPECT_EQ(run.read_now(), "1 0\n1\n");
    // Outside a grant every change is the real call at once.
    EXPECT_DOUBLE_EQ(deadline_s(run.peer()), 1.1);
}

// Stopping a program that blocks SIGTERM while it waits (mosquitto): SIGTERM, then detach. The
// detach ends the covered wait at once as a timeout, the loop comes round, the handler runs and
// the program exits; a real wait would have held the signal for its whole 10 s timeout.
TEST(Vclock, DetachEndsTheWaitSoAPendingSigtermIsHandled) {
    HelperRun run("term-blocked");
    ASSERT_EQ(run.peer().wait_idle().error, "");
    ASSERT_DOUBLE_EQ(deadline_s(run.peer()), 10.0);
    ASSERT_EQ(::kill(run.pid(), SIGTERM), 0);
    run.peer().detach();
    const auto give_up = std::chrono::steady_clock::now() + 5s;
    while (!child_has_exited(run.pid()) && std::chrono::steady_clock::now() < give_up)
        std::this_thread::sleep_for(1ms);
    EXPECT_TRUE(child_has_exited(run.pid())) << "still waiting 5 s after the detach";
}

// Bad and extreme timeouts behave like the kernel's: EFAULT/EINVAL at once (not a sleep on a
// NULL or a wrapped deadline); an interrupted sleep whose deadline has passed leaves rem = 0,
// never negative; a sleep of LONG_MAX seconds is a wait without a deadline, not an overflow
// into the past that returns at once.
TEST(Vclock, TimeoutsAreCheckedAndSaturated) {
    HelperRun run("timespecs");
    ASSERT_EQ(run.peer().wait_idle().error, "");
    EXPECT_EQ(run.read_now(), "EFAULT EINVAL EINVAL EINVAL\n");
    ASSERT_DOUBLE_EQ(deadline_s(run.peer()), 1.0); // in nanosleep(1 s)
    // The worker's time moved past that deadline and the signal came before the wake: the
    // worker publishes now_ns before it bumps wake_seq, so this happens between the two.
    const int fd = ::open(run.page_file().c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    void* map =
        ::mmap(nullptr, LWIPSIM_VCLOCK_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ::close(fd);
    ASSERT_NE(map, MAP_FAILED);
    __atomic_store_n(&static_cast<lwipsim_vclock_page*>(map)->now_ns, int64_t{2000000000},
                     __ATOMIC_SEQ_CST);
    ::munmap(map, LWIPSIM_VCLOCK_PAGE_SIZE);
    std::string text;
    for (int i = 0; i < 100 && text.find('\n') == std::string::npos; ++i) {
        ::kill(run.pid(), SIGUSR1); // again until it lands inside the futex wait
        std::this_thread::sleep_for(20ms);
        text += run.read_now();
    }
    EXPECT_EQ(text, "rem 0 0\n");
    ASSERT_EQ(run.peer().wait_idle().error, "");
    EXPECT_FALSE(run.peer().deadline().has_value()) << deadline_s(run.peer());
    EXPECT_EQ(run.read_now(), "");
}

// Loaded without a page (a program the run does not put on virtual time), epoll_pwait2 is the
// real call, not an error.
TEST(Vclock, EpollPwait2WithoutAPageIsTheRealCall) {
    const pid_t pid = spawn_child({LWIPSIM_VCLOCK_HELPER, "pwait2-real"}, -1,
                                  {std::string("LD_PRELOAD=") + LWIPSIM_VCLOCK_LIBRARY});
    const auto status = wait_child(pid, 10000ms);
    ASSERT_TRUE(status.has_value());
    EXPECT_TRUE(status->success()) << status->describe();
}

// The page names the pid the library runs in, so the run can tell a program that ignored
// LD_PRELOAD (it would keep the wall clock) from one on virtual time.
TEST(Vclock, TheLibraryNamesItsProcessInThePage) {
    HelperRun run("sleeper");
    EXPECT_EQ(run.peer().attached_pid(), run.pid());
    EXPECT_NO_THROW(run.peer().require_attached(run.pid()));
    EXPECT_THROW(run.peer().require_attached(run.pid() + 100000), EnvironmentError);
}

// LD_PRELOAD separates its list at ' ' and ':': such a library path is refused up front.
TEST(Vclock, LibraryPathsWithPreloadSeparatorsAreRefused) {
    for (const char* lib : {"/tmp/a b/liblwipsim_vclock.so", "/tmp/a:b/liblwipsim_vclock.so"}) {
        VclockOptions vo;
        vo.page_file =
            fs::temp_directory_path() / ("lwipsim-vclock-sep-" + std::to_string(::getpid()));
        vo.library = lib;
        EXPECT_THROW(VclockPeer{vo}, EnvironmentError) << lib;
        fs::remove(vo.page_file);
    }
}

} // namespace
} // namespace lwipsim::host
