// Lines as mosquitto 2.0.11 writes them (format strings in its src/loop.c do_disconnect,
// src/handle_connect.c and src/net.c), with the stamp managed_broker.cpp configures.
#include "harness/broker/broker_log.h"

#include "tests/support/temp_dir.h"

#include <gtest/gtest.h>

#include <fstream>

namespace lwipsim::broker {
namespace {

std::optional<BrokerLogEvent> parse(const std::string& message) {
    return parse_broker_log_line("2026-12-02T03:53:30: " + message);
}

TEST(BrokerLog, NewClientIsAConnectWithItsId) {
    auto e = parse("New client connected from 127.0.0.1:44071 as dev 1 (p2, c1, k60, u'u (p').");
    ASSERT_TRUE(e);
    EXPECT_TRUE(e->connected);
    EXPECT_EQ(e->client, "dev 1");
    e = parse("New client connected from 127.0.0.1:44071 as expiry (p2, c1, k60).");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->client, "expiry");
    EXPECT_EQ(e->reason, "");
    EXPECT_EQ(e->detail, "expiry (p2, c1, k60)."); // no address: its port changes every run
}

TEST(BrokerLog, EveryDisconnectMessageHasItsReason) {
    const std::pair<const char*, const char*> cases[] = {
        {"Client a has exceeded timeout, disconnecting.", "keepalive_expired"},
        {"Client a already connected, closing old connection.", "taken_over"},
        {"Client a disconnected due to malformed packet.", "malformed_packet"},
        {"Client a disconnected due to protocol error.", "protocol_error"},
        {"Client a closed its connection.", "connection_closed"},
        {"Client a disconnected, not authorised.", "not_authorised"},
        {"Client a disconnected due to oversize packet.", "oversize_packet"},
        {"Client a disconnected due to oversize payload.", "oversize_payload"},
        {"Client a disconnected due to out of memory.", "out_of_memory"},
        {"Client a disconnected due to QoS too high or retain not supported.", "not_supported"},
        {"Client a been disconnected by administrative action.", "administrative_action"},
        {"Client a disconnected.", "client_disconnect"},
        {"Client a disconnected: Connection reset by peer.", "socket_error"},
        {"Bad socket read/write on client a: Unknown error.", "socket_error"},
    };
    for (const auto& [message, reason] : cases) {
        auto e = parse(message);
        ASSERT_TRUE(e) << message;
        EXPECT_FALSE(e->connected) << message;
        EXPECT_EQ(e->client, "a") << message;
        EXPECT_EQ(e->reason, reason) << message;
        EXPECT_EQ(e->detail, message);
    }
}

TEST(BrokerLog, AClientIdThatLooksLikeAMessageIsStillTheId) {
    auto e = parse("Client x disconnected. has exceeded timeout, disconnecting.");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->client, "x disconnected.");
    EXPECT_EQ(e->reason, "keepalive_expired");
}

TEST(BrokerLog, OtherLinesAreNoEvents) {
    for (const char* line :
         {"2026-12-02T03:53:30: mosquitto version 2.0.11 running",
          "2026-12-02T03:53:30: New connection from 127.0.0.1:1 on port 2.",
          "2026-12-02T03:53:30: Sending CONNACK to expiry (0, 0)", "2026-12-02T03:53:30: Client .",
          "lwipsim: start attempt 1 on port 38207", ""}) {
        EXPECT_FALSE(parse_broker_log_line(line)) << line;
    }
}

TEST(BrokerLog, CountsLeaveTheIgnoredClientOut) {
    BrokerCounts c;
    c.ignored_client = "observer";
    for (const char* m : {"New client connected from h:1 as observer (p2, c1, k0).",
                          "New client connected from h:1 as d (p2, c1, k60).",
                          "Client d has exceeded timeout, disconnecting.",
                          "New client connected from h:1 as d (p2, c1, k60).",
                          "Client d already connected, closing old connection.",
                          "Client observer has exceeded timeout, disconnecting."}) {
        c.add(*parse(m));
    }
    EXPECT_EQ(c.connects, 2u);
    EXPECT_EQ(c.disconnects, 2u);
    EXPECT_EQ(c.clients_expired, 1u);
}

TEST(BrokerLogTail, HandsOverWholeLinesAsTheFileGrows) {
    lwipsim::testing::TempDir dir("broker-log");
    const auto log = dir.path() / "broker.log";
    std::vector<std::string> got;
    BrokerLogTail tail(log, [&](std::string_view line) { got.emplace_back(line); });
    tail.read_new_lines(); // no file yet
    EXPECT_TRUE(got.empty());
    std::ofstream out(log);
    out << "one\ntw" << std::flush;
    tail.read_new_lines();
    EXPECT_EQ(got, (std::vector<std::string>{"one"}));
    out << "o\nthree\n" << std::flush;
    tail.read_new_lines();
    tail.read_new_lines();
    EXPECT_EQ(got, (std::vector<std::string>{"one", "two", "three"}));
}

// A writer on virtual time (a HostPeer) whose activity count the test moves by hand.
class FakeWriter final : public clock::HostPeer {
  public:
    uint64_t runs = 0;
    Idle wait_idle() override { return {}; }
    [[nodiscard]] bool idle() const override { return true; }
    [[nodiscard]] std::optional<clock::SimTime> deadline() const override { return std::nullopt; }
    void wake(clock::SimTime) override {}
    [[nodiscard]] std::optional<uint64_t> activity() const override { return runs; }
};

// With the broker on virtual time the log is read only on the polls after the broker may have
// run (a wake, a detach): nothing else writes it, and reading it on every poll of an idle hour
// was one system call per scheduler step. Lines are never lost, only read at the next poll
// after the broker ran, which is when they were written.
TEST(BrokerLogTail, WithAWriterReadsOnlyAfterItRan) {
    lwipsim::testing::TempDir dir("broker-log-writer");
    const auto log = dir.path() / "broker.log";
    std::ofstream out(log);
    out << "start\n" << std::flush;
    FakeWriter writer;
    std::vector<std::string> got;
    BrokerLogTail tail(
        log, [&](std::string_view line) { got.emplace_back(line); }, &writer);
    tail.on_polled({});
    EXPECT_EQ(got, (std::vector<std::string>{"start"})) << "the first poll reads what is there";
    out << "written without a run\n" << std::flush; // not what a broker on virtual time does
    tail.on_polled({});
    EXPECT_EQ(got, (std::vector<std::string>{"start"})) << "read although the writer never ran";
    ++writer.runs;
    tail.on_polled({});
    EXPECT_EQ(got, (std::vector<std::string>{"start", "written without a run"}));
}

} // namespace
} // namespace lwipsim::broker
