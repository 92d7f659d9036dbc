// ManagedBroker against real Debian tools: mosquitto serves, mosquitto_pub/_sub and
// openssl s_client are the independent peers that judge whether TLS and names really verify.
#include <csignal>
#include <fstream>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "harness/broker/errors.h"
#include "harness/broker/managed_broker.h"
#include "sim/host/child_process.h"
#include "sim/host/child_registry.h"
#include "tests/integration/broker_test_support.h"

namespace lwipsim::broker {
namespace {

using namespace std::chrono_literals;
using host::CommandResult;
using host::find_in_path;
using host::registered_child_count;
using host::run_command;
using host::spawn_child;
using host::wait_child;
using testing::ChildGuard;
using testing::proc_exists;
using testing::read_text;
using testing::TempDir;
using testing::wait_for_text;

// Generous bounds: the box is shared; these only stop a hang, they do not measure speed.
constexpr auto kClientTimeout = 20s;

std::vector<std::string> tls_args(const ManagedBroker& broker, const std::filesystem::path& ca) {
    return {"-h", broker.host(), "-p", std::to_string(broker.tls_port()), "--cafile", ca.string()};
}

CommandResult publish(const ManagedBroker& broker, const std::filesystem::path& ca,
                      const std::string& topic, const std::string& message,
                      const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv{"mosquitto_pub", "-i", "lwipsim-pub"};
    const auto tls = tls_args(broker, ca);
    argv.insert(argv.end(), tls.begin(), tls.end());
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.insert(argv.end(), {"-q", "1", "-t", topic, "-m", message});
    return run_command(argv, kClientTimeout);
}

std::string proc_comm(pid_t pid) {
    std::string comm = read_text("/proc/" + std::to_string(pid) + "/comm");
    while (!comm.empty() && comm.back() == '\n') {
        comm.pop_back();
    }
    return comm;
}

ManagedBrokerOptions options_in(const TempDir& dir) {
    ManagedBrokerOptions options;
    options.run_dir = dir.path() / "run";
    return options;
}

TEST(ManagedBroker, PublishSubscribeOverVerifiedTls) {
    TempDir dir("pubsub");
    ManagedBroker broker(options_in(dir));
    ASSERT_TRUE(broker.running());
    EXPECT_EQ(broker.host(), "127.0.0.1");
    EXPECT_GT(broker.tls_port(), 0);
    EXPECT_FALSE(broker.plain_port().has_value());
    EXPECT_EQ(broker.server_name(), "broker.lwipsim.test");

    const auto sub_out = dir.path() / "sub.out";
    const int fd = ::open(sub_out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    std::vector<std::string> sub{"mosquitto_sub", "-i", "lwipsim-sub", "-C", "1", "-W", "15"};
    const auto tls = tls_args(broker, broker.ca_file());
    sub.insert(sub.end(), tls.begin(), tls.end());
    sub.insert(sub.end(), {"-q", "1", "-t", "lwipsim/test"});
    const pid_t sub_pid = spawn_child(sub, fd);
    ::close(fd);
    ChildGuard guard(sub_pid);

    // Publish only once the broker has the subscription, or the message would have no taker.
    ASSERT_TRUE(wait_for_text(broker.log_path(), "Received SUBSCRIBE from lwipsim-sub", 15s))
        << broker.log_tail();
    const auto pub = publish(broker, broker.ca_file(), "lwipsim/test", "hello over tls");
    ASSERT_TRUE(pub.success()) << pub.status.describe() << ": " << pub.output;

    const auto sub_status = wait_child(sub_pid, 20s);
    guard.release();
    ASSERT_TRUE(sub_status.has_value()) << "mosquitto_sub did not finish";
    EXPECT_TRUE(sub_status->success()) << sub_status->describe();
    EXPECT_EQ(read_text(sub_out), "hello over tls\n");

    // The log must show connects and disconnects: that is what scenario reports rely on.
    const std::string log = read_text(broker.log_path());
    EXPECT_NE(log.find("New client connected"), std::string::npos) << log;
    EXPECT_TRUE(wait_for_text(broker.log_path(), "Client lwipsim-pub disconnected", 5s))
        << broker.log_tail();
}

TEST(ManagedBroker, WrongCaMakesClientFail) {
    TempDir dir("wrongca");
    ManagedBroker broker(options_in(dir));
    const TestPki other = generate_test_pki(dir.path() / "other-pki");

    const auto right = publish(broker, broker.ca_file(), "t", "m");
    EXPECT_TRUE(right.success()) << right.output; // control: the same call works with our CA
    const auto wrong = publish(broker, other.ca_cert, "t", "m");
    EXPECT_FALSE(wrong.success()) << wrong.output;
    EXPECT_FALSE(wrong.timed_out);
}

TEST(ManagedBroker, ServerNameIsCheckedByPeer) {
    TempDir dir("sni");
    ManagedBroker broker(options_in(dir));
    auto s_client = [&](const std::string& name) {
        return run_command({"openssl", "s_client", "-connect",
                            "127.0.0.1:" + std::to_string(broker.tls_port()), "-servername", name,
                            "-verify_hostname", name, "-CAfile", broker.ca_file().string(),
                            "-verify_return_error", "-brief"},
                           kClientTimeout);
    };
    const auto good = s_client(broker.server_name());
    EXPECT_TRUE(good.success()) << good.output;
    EXPECT_NE(good.output.find("Verification: OK"), std::string::npos) << good.output;
    const auto bad = s_client("other.lwipsim.test");
    EXPECT_FALSE(bad.success()) << bad.output;
}

TEST(ManagedBroker, PlainListenerWhenAsked) {
    TempDir dir("plain");
    ManagedBrokerOptions options = options_in(dir);
    options.plain_listener = true;
    ManagedBroker broker(options);
    ASSERT_TRUE(broker.plain_port().has_value());
    EXPECT_NE(*broker.plain_port(), broker.tls_port());
    const auto pub = run_command({"mosquitto_pub", "-h", "127.0.0.1", "-p",
                                  std::to_string(*broker.plain_port()), "-t", "t", "-m", "m"},
                                 kClientTimeout);
    EXPECT_TRUE(pub.success()) << pub.output;
}

TEST(ManagedBroker, MutualTlsRequiresClientCert) {
    TempDir dir("mtls");
    ManagedBrokerOptions options = options_in(dir);
    options.require_client_cert = true;
    ManagedBroker broker(options);
    const BrokerEndpoint endpoint = broker.endpoint();
    ASSERT_FALSE(endpoint.client_cert.empty());

    const auto without = publish(broker, broker.ca_file(), "t", "m");
    EXPECT_FALSE(without.success()) << without.output;
    const auto with =
        publish(broker, broker.ca_file(), "t", "m",
                {"--cert", endpoint.client_cert.string(), "--key", endpoint.client_key.string()});
    EXPECT_TRUE(with.success()) << with.output;
}

TEST(ManagedBroker, StopAndDestructorLeaveNoProcess) {
    TempDir dir("stop");
    const int registered_before = registered_child_count();
    pid_t pid = -1;
    {
        ManagedBroker broker(options_in(dir));
        pid = broker.pid();
        ASSERT_GT(pid, 0);
        ASSERT_TRUE(proc_exists(pid));
        EXPECT_EQ(proc_comm(pid), "mosquitto");
        EXPECT_EQ(registered_child_count(), registered_before + 1);
        broker.stop();
        EXPECT_FALSE(proc_exists(pid));
        EXPECT_FALSE(broker.running());
        EXPECT_EQ(broker.pid(), -1);
        broker.stop(); // idempotent
    }
    EXPECT_EQ(registered_child_count(), registered_before);
    // SIGTERM must be enough: mosquitto logs its orderly shutdown.
    EXPECT_NE(read_text(dir.path() / "run" / "broker.log").find("terminating"), std::string::npos);

    TempDir dir2("dtor");
    {
        ManagedBroker broker(options_in(dir2));
        pid = broker.pid();
        ASSERT_TRUE(proc_exists(pid));
    }
    EXPECT_FALSE(proc_exists(pid));
}

// broker_stop / broker_restart: the broker comes back on the port the device knew, as a new
// process, and with persistence it saves its database when stopped (mosquitto.conf(5)).
TEST(ManagedBroker, StartAgainUsesTheSamePortAndSavesPersistence) {
    TempDir dir("restart");
    ManagedBrokerOptions options = options_in(dir);
    options.persistence = true;
    ManagedBroker broker(options);
    const std::uint16_t port = broker.tls_port();
    const pid_t first = broker.pid();
    EXPECT_THROW(broker.start_again(), BrokerError) << "it still runs";
    broker.stop();
    EXPECT_TRUE(std::filesystem::exists(broker.persistence_path()))
        << "mosquitto saves its database at a clean stop";
    broker.start_again();
    EXPECT_TRUE(broker.running());
    EXPECT_EQ(broker.tls_port(), port);
    EXPECT_NE(broker.pid(), first);
    // A TLS client reaches it on the old port.
    const CommandResult r =
        run_command({"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(port),
                     "-CAfile", broker.ca_file().string(), "-verify_return_error", "-brief"},
                    kClientTimeout);
    EXPECT_NE(r.output.find("Verification: OK"), std::string::npos) << r.output;
}

TEST(ManagedBroker, MissingMosquittoIsEnvironmentError) {
    TempDir dir("nomosq");
    TempDir empty("emptypath");
    const char* old = std::getenv("PATH");
    struct RestorePath {
        std::string value;
        ~RestorePath() { ::setenv("PATH", value.c_str(), 1); }
    } restore{old != nullptr ? old : ""};
    ::setenv("PATH", empty.path().c_str(), 1);
    const int registered_before = registered_child_count();
    try {
        ManagedBroker broker(options_in(dir));
        FAIL() << "expected EnvironmentError";
    } catch (const EnvironmentError& e) {
        EXPECT_NE(std::string(e.what()).find("mosquitto"), std::string::npos) << e.what();
    }
    EXPECT_EQ(registered_child_count(), registered_before);
}

TEST(ManagedBroker, StartupFailureReportsLogTail) {
    TempDir dir("badkey");
    TestPki pki = generate_test_pki(dir.path() / "pki");
    pki.server_key = pki.ca_key; // key does not match the certificate: mosquitto must refuse
    ManagedBrokerOptions options = options_in(dir);
    options.pki = pki;
    try {
        ManagedBroker broker(options);
        FAIL() << "expected BrokerError";
    } catch (const BrokerError& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("exited during start-up"), std::string::npos) << what;
        EXPECT_NE(what.find("broker.log"), std::string::npos) << what;
        // The tail quotes mosquitto itself, so the user sees the real reason.
        EXPECT_NE(what.find("mosquitto version"), std::string::npos) << what;
    }
}

// A stand-in for mosquitto that fails with mosquitto's bind error for the first `failures`
// starts, then runs the real broker. It exercises the port-retry path, which a real race
// cannot trigger on demand.
std::filesystem::path write_flaky_mosquitto(const std::filesystem::path& dir, int failures) {
    const auto real = find_in_path("mosquitto");
    if (!real) {
        return {};
    }
    const auto script = dir / "flaky-mosquitto";
    const auto counter = dir / "starts";
    std::ofstream(script) << "#!/bin/sh\n"
                          << "echo x >> '" << counter.string() << "'\n"
                          << "if [ $(wc -l < '" << counter.string() << "') -le " << failures
                          << " ]; then\n"
                          << "  echo 'Error: Address already in use' >&2; exit 1\n"
                          << "fi\n"
                          << "exec '" << real->string() << "' \"$@\"\n";
    std::filesystem::permissions(script, std::filesystem::perms::owner_all);
    return script;
}

TEST(ManagedBroker, RetriesWhenPortTurnsOutTaken) {
    TempDir dir("retry");
    ManagedBrokerOptions options = options_in(dir);
    options.executable = write_flaky_mosquitto(dir.path(), 2).string();
    ASSERT_FALSE(options.executable.empty());
    options.port_tries = 3;
    ManagedBroker broker(options);
    EXPECT_TRUE(broker.running());
    const std::string log = read_text(broker.log_path());
    EXPECT_NE(log.find("start attempt 3"), std::string::npos) << log;
    const auto pub = publish(broker, broker.ca_file(), "t", "m");
    EXPECT_TRUE(pub.success()) << pub.output;
}

TEST(ManagedBroker, GivesUpAfterPortTries) {
    TempDir dir("retry-fail");
    ManagedBrokerOptions options = options_in(dir);
    options.executable = write_flaky_mosquitto(dir.path(), 100).string();
    ASSERT_FALSE(options.executable.empty());
    options.port_tries = 2;
    try {
        ManagedBroker broker(options);
        FAIL() << "expected BrokerError";
    } catch (const BrokerError& e) {
        EXPECT_NE(std::string(e.what()).find("every one of 2"), std::string::npos) << e.what();
    }
    EXPECT_EQ(read_text(dir.path() / "starts"), "x\nx\n"); // exactly port_tries attempts
}

// Reads "broker_pid N" from the helper's output.
pid_t read_broker_pid(const std::filesystem::path& out) {
    if (!wait_for_text(out, "broker_pid ", 30s)) {
        return -1;
    }
    const std::string text = read_text(out);
    return static_cast<pid_t>(std::stoi(text.substr(text.find("broker_pid ") + 11)));
}

int open_output(const std::filesystem::path& path) {
    return ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

TEST(ManagedBroker, BrokerDiesWhenOwnerIsKilled) {
    TempDir dir("pdeath");
    // Orphans of our helper get reparented to us, so we can reap the broker and read how it
    // died instead of guessing from /proc (a zombie under init would still show up there).
    ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    struct ResetSubreaper {
        ~ResetSubreaper() { ::prctl(PR_SET_CHILD_SUBREAPER, 0); }
    } reset;

    const auto out = dir.path() / "helper.out";
    const int fd = open_output(out);
    ASSERT_GE(fd, 0);
    const pid_t helper =
        spawn_child({LWIPSIM_BROKER_TEST_HELPER, (dir.path() / "run").string()}, fd);
    ::close(fd);
    ChildGuard helper_guard(helper);

    const pid_t broker = read_broker_pid(out);
    ASSERT_GT(broker, 0) << read_text(out) << read_text(dir.path() / "run" / "broker.log");
    ASSERT_TRUE(proc_exists(broker));
    EXPECT_EQ(proc_comm(broker), "mosquitto");
    struct KillIfLeft { // only if the test fails: the broker is then our orphan to clean up
        pid_t pid;
        ~KillIfLeft() {
            // pid <= 0 would address a process group or every process: never signal it.
            if (pid > 0 && ::kill(pid, 0) == 0 && ::kill(pid, SIGKILL) == 0) {
                ::waitpid(pid, nullptr, 0);
            }
        }
    } leftover{broker};

    ASSERT_GT(helper, 0);
    ASSERT_EQ(::kill(helper, SIGKILL), 0);
    const auto helper_status = wait_child(helper, 10s);
    helper_guard.release();
    ASSERT_TRUE(helper_status.has_value());
    EXPECT_EQ(helper_status->signal, SIGKILL);

    // The broker is now reparented to us (subreaper); PDEATHSIG should have SIGKILLed it.
    int status = 0;
    pid_t reaped = 0;
    for (int i = 0; i < 250 && reaped == 0; ++i) {
        reaped = ::waitpid(broker, &status, WNOHANG);
        if (reaped == 0) {
            ::usleep(20000);
        }
    }
    ASSERT_EQ(reaped, broker) << "broker still alive 5 s after its owner was SIGKILLed";
    leftover.pid = 0; // reaped: nothing left to kill
    EXPECT_TRUE(WIFSIGNALED(status));
    EXPECT_EQ(WTERMSIG(status), SIGKILL);
    EXPECT_FALSE(proc_exists(broker));
}

TEST(ManagedBroker, CleanupHandlerKillsBrokerOnSigterm) {
    TempDir dir("handler");
    const auto out = dir.path() / "helper.out";
    const int fd = open_output(out);
    ASSERT_GE(fd, 0);
    const pid_t helper =
        spawn_child({LWIPSIM_BROKER_TEST_HELPER, (dir.path() / "run").string(), "--handler"}, fd);
    ::close(fd);
    ChildGuard helper_guard(helper);

    const pid_t broker = read_broker_pid(out);
    ASSERT_GT(broker, 0) << read_text(out);
    ASSERT_GT(helper, 0);
    ASSERT_EQ(::kill(helper, SIGTERM), 0);
    // The helper survives SIGTERM (its own handler runs after ours), so only the cleanup handler
    // can have killed the broker; the helper reaps it and reports the signal.
    ASSERT_TRUE(wait_for_text(out, "broker_ended", 10s)) << read_text(out);
    EXPECT_NE(read_text(out).find("broker_ended signal 9"), std::string::npos) << read_text(out);
    const auto helper_status = wait_child(helper, 10s);
    helper_guard.release();
    ASSERT_TRUE(helper_status.has_value());
    EXPECT_TRUE(helper_status->success()) << helper_status->describe();
    EXPECT_FALSE(proc_exists(broker));
}

} // namespace
} // namespace lwipsim::broker
