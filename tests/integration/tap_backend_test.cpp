// The TAP backend against the real kernel stack inside a namespace the backend creates. Label
// `tap`: skips with the reason when the machine does not allow it (no root, no /dev/net/tun).

#include "sim/host/child_process.h"
#include "sim/link/tap_backend.h"
#include "tests/integration/slirp_test_support.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <type_traits>

namespace lwipsim::link {
namespace {

using namespace lwipsim::link::testing;

constexpr uint32_t kTapHostIp = 0x0A000301;  // 10.0.3.1, the kernel side
constexpr uint32_t kTapGuestIp = 0x0A000302; // 10.0.3.2, the simulated device

bool netns_exists(const std::string& name) {
    struct stat st {};
    return ::stat(("/run/netns/" + name).c_str(), &st) == 0;
}

class TapBackendTest : public ::testing::Test {
  protected:
    void SetUp() override {
        try {
            tap_ = std::make_unique<TapBackend>(timer_, down_);
        } catch (const EnvironmentError& e) {
            GTEST_SKIP() << "TAP not permitted here: " << e.what();
        }
    }

    void send(std::vector<uint8_t> bytes) {
        Frame f;
        f.bytes = std::move(bytes);
        f.created_at = timer_.now();
        tap_->deliver(std::move(f));
    }

    template <class Pred> bool pump_until(Pred done, int rounds = 200) {
        for (int i = 0; i < rounds; ++i) {
            if (done())
                return true;
            std::vector<pollfd> fds;
            tap_->fill_pollfds(fds);
            ::poll(fds.data(), fds.size(), 10);
            tap_->on_polled(fds);
        }
        return false;
    }

    /// ARP for 10.0.3.1 from 10.0.3.2; returns the kernel's MAC.
    std::optional<Mac> resolve_host() {
        send(arp_request(kTapGuestIp, kTapHostIp));
        std::optional<Mac> mac;
        pump_until([&] {
            for (const Frame& f : down_.frames) {
                if (f.bytes.size() >= 42 && get16(f.bytes, 12) == 0x0806 &&
                    get16(f.bytes, 20) == 2 && get32(f.bytes, 28) == kTapHostIp) {
                    Mac m{};
                    std::copy(f.bytes.begin() + 22, f.bytes.begin() + 28, m.begin());
                    mac = m;
                    return true;
                }
            }
            return false;
        });
        return mac;
    }

    ManualTimer timer_;
    CollectSink down_;
    std::unique_ptr<TapBackend> tap_;
};

TEST_F(TapBackendTest, KernelAnswersArpInsideTheNamespace) {
    EXPECT_TRUE(netns_exists(tap_->netns()));
    const auto mac = resolve_host();
    ASSERT_TRUE(mac.has_value()) << "no ARP reply from 10.0.3.1";
    EXPECT_GE(tap_->frames_read(), 1u);
    EXPECT_EQ(tap_->write_errors(), 0u);
}

TEST_F(TapBackendTest, SynToClosedPortIsAnsweredWithRst) {
    const auto mac = resolve_host();
    ASSERT_TRUE(mac.has_value());
    const size_t mark = down_.frames.size();
    send(tcp_frame({kTapGuestIp, kTapHostIp, 40000, 9, 777, 0, kTcpSyn, {}}, *mac));
    EXPECT_TRUE(tap_->awaiting_host());
    std::optional<PacketInfo> rst;
    ASSERT_TRUE(pump_until([&] {
        for (size_t i = mark; i < down_.frames.size(); ++i) {
            const PacketInfo p = parse_frame(down_.frames[i].bytes);
            if (p.ipv4 && p.protocol == 6 && p.has_ports && p.src_port == 9) {
                rst = p;
                return true;
            }
        }
        return false;
    }));
    // RFC 793, Reset Generation: no ACK in the SYN -> <SEQ=0><ACK=SEG.SEQ+SEG.LEN><RST,ACK>.
    EXPECT_EQ(rst->tcp_flags & (kTcpRst | kTcpAck), kTcpRst | kTcpAck);
    EXPECT_EQ(rst->tcp_ack, 778u);
    EXPECT_EQ(rst->dst_ip, kTapGuestIp);
    EXPECT_FALSE(tap_->awaiting_host());
}

// The per-connection rule (as SlirpGateway's): the kernel's RST to port 40001 ends that
// connection's wait only. A SYN from port 40002 to 10.0.3.99 reaches the namespace's kernel
// (the frame is addressed to its MAC) but 10.0.3.99 is not its address and it does not forward
// (net.ipv4.ip_forward is 0 in a new namespace), so nothing answers it: it still holds time.
TEST_F(TapBackendTest, AnAnswerEndsOnlyItsOwnConnectionsWaitAndOnlyForOneInstant) {
    const auto mac = resolve_host();
    ASSERT_TRUE(mac.has_value());
    timer_.advance(std::chrono::milliseconds(1)); // the ARP exchange is over
    EXPECT_FALSE(tap_->awaiting_host());
    const size_t mark = down_.frames.size();
    send(tcp_frame({kTapGuestIp, 0x0A000363, 40002, 9, 100, 0, kTcpSyn, {}}, *mac));
    send(tcp_frame({kTapGuestIp, kTapHostIp, 40001, 9, 200, 0, kTcpSyn, {}}, *mac));
    EXPECT_TRUE(tap_->awaiting_host());
    ASSERT_TRUE(pump_until([&] {
        for (size_t i = mark; i < down_.frames.size(); ++i) {
            const PacketInfo p = parse_frame(down_.frames[i].bytes);
            if (p.ipv4 && p.protocol == 6 && p.has_ports && p.dst_port == 40001)
                return true;
        }
        return false;
    }));
    EXPECT_TRUE(tap_->awaiting_host()) << "the answer to port 40001 ended port 40002's wait";
    timer_.advance(std::chrono::milliseconds(1));
    EXPECT_FALSE(tap_->awaiting_host()) << "a wait outlived the instant it was set";
    // A bare ACK asks for nothing (the kernel may or may not answer it, on its own timers).
    send(tcp_frame({kTapGuestIp, kTapHostIp, 40003, 9, 300, 1, kTcpAck, {}}, *mac));
    EXPECT_FALSE(tap_->awaiting_host()) << "a bare ACK started a wait";
}

TEST_F(TapBackendTest, NamespaceIsDeletedAndExecPrefixNamesIt) {
    const std::string name = tap_->netns();
    EXPECT_EQ(tap_->netns_exec_prefix(), (std::vector<std::string>{"ip", "netns", "exec", name}));
    const host::CommandResult show = host::run_command(
        {"ip", "-n", name, "-4", "addr", "show", "dev", tap_->ifname()}, std::chrono::seconds(30));
    ASSERT_TRUE(show.success()) << show.output;
    EXPECT_NE(show.output.find("10.0.3.1/24"), std::string::npos) << show.output;
    tap_.reset();
    EXPECT_FALSE(netns_exists(name));
}

TEST(TapBackendEnvironment, MissingTunDeviceIsAnEnvironmentError) {
    ManualTimer timer;
    CollectSink down;
    TapOptions o;
    o.tun_path = "/nonexistent/lwipsim/tun";
    try {
        TapBackend tap(timer, down, o);
        FAIL() << "expected EnvironmentError";
    } catch (const EnvironmentError& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent/lwipsim/tun"), std::string::npos)
            << e.what();
    }
}

// The CLI's single catch of host::EnvironmentError must see the TAP backend's errors too.
static_assert(std::is_same_v<EnvironmentError, host::EnvironmentError>);

} // namespace
} // namespace lwipsim::link
