#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "harness/broker/broker_endpoint.h"
#include "harness/broker/test_pki.h"

namespace lwipsim::broker {

struct ManagedBrokerOptions {
    // Folder for mosquitto.conf, broker.log and (when pki is empty) the generated PKI.
    std::filesystem::path run_dir;
    // Certificates to serve; when absent a fresh PKI is generated into run_dir/pki.
    std::optional<TestPki> pki;
    PkiOptions pki_options; // used only when pki is absent
    // When set (and pki is absent), the PKI comes from this cache (made there once, see
    // pki_cache.h) instead of being made into run_dir/pki for this run alone.
    std::optional<std::filesystem::path> pki_cache_dir;
    bool plain_listener = false;      // also listen without TLS on 127.0.0.1 (another free port)
    // mosquitto's `persistence true`, its database in run_dir (broker.db): retained messages
    // and persistent sessions are saved when it stops (SIGTERM) and loaded when it starts.
    bool persistence = false;
    bool require_client_cert = false; // mutual TLS; the PKI must then have a client cert
    std::string executable = "mosquitto"; // looked up in PATH at start
    // Numeric IPv4 address the listeners bind to. Another address than 127.0.0.1 only makes
    // sense together with a command_prefix that starts mosquitto where that address exists.
    std::string listen_address = "127.0.0.1";
    // argv put before mosquitto's, e.g. {"ip", "netns", "exec", "<ns>"} to run it inside a
    // network namespace. The prefix command must exec mosquitto (not fork it), so the pid we
    // hold, its process group and PDEATHSIG stay the broker's. With a prefix, readiness is read
    // from broker.log (mosquitto's "mosquitto version ... running", logged once every listener
    // is open) instead of a connect from this process, which may be in another namespace.
    std::vector<std::string> command_prefix;
    // "NAME=value" added to mosquitto's environment (LD_PRELOAD and the page of the virtual
    // clock, sim/host/vclock_peer.h).
    std::vector<std::string> environment;
    // Without address-space randomisation (host::spawn_child's fixed_layout).
    bool fixed_layout = false;
    // The port mosquitto.conf names for the TLS listener instead of the picked one. Needs the
    // virtual clock library in `environment`, which moves the broker's bind of this port to the
    // picked one (LWIPSIM_VCLOCK_PORT_MAP, sim/host/vclock_determinism.h): the broker's log and
    // its TLS session tickets (mosquitto's session id context is the listener's port) then
    // repeat from run to run. tls_port() stays the port to connect to.
    std::optional<std::uint16_t> config_port;
    // Called with the PKI once it is known, before mosquitto starts (the broker's virtual clock
    // takes its epoch from it: pki_made_at in pki_cache.h).
    std::function<void(const TestPki&)> on_pki;
    int port_tries = 5; // attempts when a picked free port is taken meanwhile
    std::chrono::milliseconds start_timeout{10000}; // real time until the port must accept
    std::chrono::milliseconds stop_grace{5000};     // SIGTERM -> SIGKILL delay in stop()
};

// A Debian mosquitto child process serving TLS (EC P-256 test PKI) on 127.0.0.1 (or
// listen_address) at a free port, logging everything (connects, disconnects, subscribes) to
// run_dir/broker.log.
//
// The constructor starts the broker and returns once it accepts TCP connections; the destructor
// stops it. The child dies with the constructing thread (PDEATHSIG), so construct it on a thread
// that outlives it. Not copyable or movable (the pid belongs to exactly one owner).
// Errors: EnvironmentError when mosquitto is not in PATH (CLI exit code 3); BrokerError with the
// log tail when it does not come up, or on bad options; host::ProcessError when the process
// itself cannot be started or stopped (fork failed, survived SIGKILL).
class ManagedBroker {
  public:
    explicit ManagedBroker(ManagedBrokerOptions options);
    ~ManagedBroker();
    ManagedBroker(const ManagedBroker&) = delete;
    ManagedBroker& operator=(const ManagedBroker&) = delete;

    // SIGTERM to the broker's pid, wait stop_grace, then SIGKILL. Idempotent.
    void stop();
    // SIGTERM only, without waiting; stop() follows. A broker on virtual time gets it before its
    // clock is detached, so the detach's wake finds it pending (docs/design.md, "Stopping").
    void signal_stop();
    // SIGKILL at once, as a crash: mosquitto saves nothing. Idempotent.
    void kill();
    // Starts a stopped broker again with the same configuration on the same port(s), so
    // clients reconnect to the address they knew; returns once it is ready, like the
    // constructor. The new process dies with the calling thread (PDEATHSIG), as the first.
    // Throws BrokerError when the broker still runs, when its port was taken meanwhile, or when
    // it does not come up.
    void start_again();
    // Path of the persistence database (options.persistence), in run_dir.
    std::filesystem::path persistence_path() const { return options_.run_dir / "broker.db"; }
    bool running() const;

    BrokerEndpoint endpoint() const; // TLS endpoint; client cert filled when the PKI has one
    const std::string& host() const { return host_; } // options.listen_address
    std::uint16_t tls_port() const { return tls_port_; }
    std::optional<std::uint16_t> plain_port() const { return plain_port_; }
    const std::filesystem::path& ca_file() const { return pki_.ca_cert; }
    const std::string& server_name() const { return pki_.server_name; }
    const TestPki& pki() const { return pki_; }
    pid_t pid() const { return pid_; } // -1 once stopped
    std::filesystem::path log_path() const { return options_.run_dir / "broker.log"; }
    std::filesystem::path config_path() const { return options_.run_dir / "mosquitto.conf"; }
    // Last `lines` lines of broker.log, for error messages.
    std::string log_tail(int lines = 20) const;

  private:
    // One attempt on freshly picked ports. Returns false if a port turned out to be taken.
    bool try_start(int attempt);
    // Writes the config and starts mosquitto on the ports already chosen; `what` names this
    // start in broker.log. Returns false if a port turned out to be taken.
    bool launch(const std::string& what);
    void write_config() const;

    ManagedBrokerOptions options_;
    TestPki pki_;
    std::string host_ = "127.0.0.1";
    std::uint16_t tls_port_ = 0;
    std::optional<std::uint16_t> plain_port_;
    pid_t pid_ = -1;
};

// Ask the kernel for a currently free TCP port on 127.0.0.1 (bind port 0, read it, close).
// Someone else may take it before we use it; callers retry.
std::uint16_t pick_free_port();

} // namespace lwipsim::broker
