#include "harness/runner/broker_start.h"

#include "harness/broker/errors.h"
#include "harness/broker/pki_cache.h"
#include "harness/runner/run_state.h"
#include "sim/host/errors.h"
#include "sim/link/tap_backend.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

namespace lwipsim::runner {

namespace fs = std::filesystem;

namespace {

// Where the device finds the managed broker on a slirp link (10.0.2.2:8883, MQTT over TLS's
// port), whatever free port it has on the host: the gateway maps one onto the other.
constexpr uint16_t kManagedBrokerPort = 8883;

std::string read_text(const fs::path& p) {
    std::ifstream in(p);
    if (!in)
        throw std::runtime_error("cannot read " + p.string());
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// An external broker nobody listens for is a machine problem, not a result: a run against it
// would "pass" with no connection at all. Tries what slirp's gateway will reach (127.0.0.1:port)
// once, with a real-time bound. Returns why it failed, or "" when something accepted.
std::string unreachable_reason(uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return std::string("socket: ") + std::strerror(errno);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int err = 0;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        err = errno;
        if (err == EINPROGRESS) {
            pollfd p{fd, POLLOUT, 0};
            constexpr int kWaitMs = 3000; // loopback answers at once; this only bounds a hang
            if (::poll(&p, 1, kWaitMs) != 1) {
                err = ETIMEDOUT;
            } else {
                socklen_t len = sizeof err;
                ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
            }
        }
    }
    ::close(fd);
    return err == 0 ? "" : std::strerror(err);
}

void check_external_broker(const scenario::BrokerSettings& b) {
    if (!b.expect_reachable)
        return;
    if (std::string why = unreachable_reason(b.port); !why.empty()) {
        const std::string port = std::to_string(b.port);
        throw broker::EnvironmentError("external broker " + b.host + ":" + port +
                                       " is not reachable (connecting to 127.0.0.1:" + port + ": " +
                                       why +
                                       "); start it, or set broker.expect_reachable: false if the "
                                       "scenario means the broker to be down");
    }
}

} // namespace

BrokerTarget start_broker(const scenario::Scenario& sc, const fs::path& run_dir,
                          link::TapBackend* tap, std::optional<broker::ManagedBroker>& managed,
                          host::VclockPeer* vclock) {
    BrokerTarget target;
    if (sc.broker.mode == scenario::BrokerMode::kManaged) {
        broker::ManagedBrokerOptions bo;
        bo.run_dir = run_dir;
        bo.persistence = sc.broker.persistence;
        if (vclock != nullptr) {
            bo.environment = vclock->environment();
            bo.fixed_layout = vclock->needs_fixed_layout();
            if (tap == nullptr)
                bo.config_port = kManagedBrokerPort; // its log and TLS tickets name no host port
            // Its clock starts when its PKI was made: the same for every run on one cached PKI.
            bo.on_pki = [vclock](const broker::TestPki& pki) {
                vclock->set_epoch_realtime(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                               broker::pki_made_at(pki).time_since_epoch())
                                               .count());
            };
        }
        // The harness's subscriber to the device's will (broker_side.h) needs a listener it
        // can reach without TLS; only with the broker on virtual time are its receipt times exact.
        // In a TAP run the broker listens inside the namespace, out of the observer's reach.
        bo.plain_listener = vclock != nullptr && sc.app.will.has_value() && tap == nullptr;
        // RSA 2048, as most cloud brokers present: fixed-length signatures keep every TLS
        // record the same size run to run (EC signatures vary), so traces repeat exactly.
        bo.pki_options.key_type = broker::KeyType::kRsa2048;
        bo.pki_cache_dir = broker::default_pki_cache_dir(); // made once, not per run
        if (tap != nullptr) {
            bo.listen_address = kTapHostIp;
            bo.command_prefix = tap->netns_exec_prefix(); // `ip netns exec` execs mosquitto
        }
        managed.emplace(bo);
        target.port = managed->tls_port();
        if (tap == nullptr) {
            target.host_port = target.port;
            target.port = kManagedBrokerPort;
        }
        target.server_name = managed->server_name();
        target.ca_pem = read_text(managed->ca_file());
        if (tap != nullptr)
            target.ip = kTapHostIp;
        return target;
    }
    // The loader only accepts a loopback host: slirp's gateway 10.0.2.2 reaches it.
    check_external_broker(sc.broker);
    target.port = sc.broker.port;
    target.server_name = sc.broker.server_name;
    target.ca_pem = read_text(sc.broker.ca_file);
    if (!sc.broker.client_cert.empty()) {
        target.client_cert_pem = read_text(sc.broker.client_cert);
        target.client_key_pem = read_text(sc.broker.client_key);
    }
    return target;
}

void make_broker_clock(const scenario::Scenario& sc, const fs::path& run_dir,
                       std::optional<host::VclockPeer>& vclock) {
    // https_server runs on the wall clock: the broker then does too (one peer per schedule).
    if (sc.broker.mode != scenario::BrokerMode::kManaged || sc.https_server ||
        sc.time.broker_clock != scenario::BrokerClock::kVirtual ||
        sc.time.mode != scenario::TimeMode::kVirtual)
        return;
    const auto library = host::VclockPeer::find_library();
    if (!library) {
        throw host::EnvironmentError(
            "liblwipsim_vclock.so (the broker's virtual clock) is neither next to the lwipsim "
            "executable nor named by $LWIPSIM_VCLOCK_LIBRARY; rebuild, or set "
            "time.broker_clock: wall");
    }
    host::VclockOptions vo;
    vo.page_file = run_dir / "broker.clock";
    vo.library = *library;
    vo.seed = sc.seed; // the broker's randomness and pid (docs/design.md, deterministic broker)
    // A whole second: broker.log's stamps (whole seconds) then read floor(virtual time).
    vo.epoch_realtime_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(
            std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now())
                .time_since_epoch())
            .count();
    vclock.emplace(vo);
}

std::time_t device_epoch(const std::optional<broker::ManagedBroker>& managed) {
    if (!managed)
        return std::time(nullptr);
    return std::chrono::system_clock::to_time_t(broker::pki_made_at(managed->pki()));
}

BrokerSideOptions broker_side_options(const scenario::Scenario& sc,
                                      const broker::ManagedBroker& managed, RunState& st) {
    BrokerSideOptions o;
    o.log = managed.log_path();
    o.plain_port = managed.plain_port();
    if (sc.app.will)
        o.observe_topic = sc.app.will->topic;
    o.peer = st.broker_peer;
    o.warn = [&st](const std::string& message) {
        st.rec.event(now_s(), "warning", {{"message", message}});
        st.warnings.push_back(message);
    };
    if (o.plain_port && sc.app.client_id == BrokerObserver::kClientId) {
        o.plain_port.reset(); // the two would take each other's session over
        const std::string why = "no subscriber observes the will: the device's client id is the "
                                "harness observer's own, '" +
                                sc.app.client_id + "'";
        st.rec.event(0.0, "warning", {{"message", why}}); // before the run: virtual 0
        st.warnings.push_back(why);
    }
    return o;
}

} // namespace lwipsim::runner
