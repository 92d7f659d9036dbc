#include "harness/broker/managed_broker.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness/broker/errors.h"
#include "harness/broker/pki_cache.h"
#include "sim/host/child_process.h"
#include "sim/host/vclock_determinism.h"
#include "sim/host/errors.h"

namespace lwipsim::broker {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// mosquitto's own words when bind() fails because the port is taken.
constexpr const char* kAddressInUse = "Address already in use";

class Fd {
  public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }

  private:
    int fd_;
};

// mosquitto's log line once every listener is open (mosquitto.c, after listeners__start).
constexpr const char* kRunningPrefix = "mosquitto version ";
constexpr const char* kRunningSuffix = " running";

sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return addr;
}

// broker.log from `offset` on (this start attempt's part).
std::string log_since(const fs::path& log, std::streamoff offset) {
    std::ifstream in(log);
    in.seekg(offset);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool logged_running(const std::string& text) {
    for (std::size_t at = text.find(kRunningPrefix); at != std::string::npos;
         at = text.find(kRunningPrefix, at + 1)) {
        const std::size_t eol = text.find('\n', at);
        const std::string line = text.substr(at, eol == std::string::npos ? eol : eol - at);
        if (line.size() > std::strlen(kRunningSuffix) &&
            line.compare(line.size() - std::strlen(kRunningSuffix), std::string::npos,
                         kRunningSuffix) == 0) {
            return true;
        }
    }
    return false;
}

// mosquitto.conf takes the rest of a line as the value, but not every option trims or accepts
// whitespace the same way; refusing such paths is clearer than a half-parsed config.
void check_config_path(const char* what, const fs::path& path) {
    const std::string text = path.string();
    if (text.find_first_of(" \t\r\n") != std::string::npos) {
        throw BrokerError("managed broker: " + std::string(what) + " path '" + text +
                          "' contains whitespace, which mosquitto.conf cannot carry");
    }
}

// mosquitto started as root switches to user "mosquitto", which would clear our PDEATHSIG and
// lose access to the run folder. Naming the current user keeps it as it is.
std::string current_user_name() {
    const passwd* pw = ::getpwuid(::geteuid());
    return pw != nullptr ? pw->pw_name : "root";
}

} // namespace

std::uint16_t pick_free_port() {
    Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) {
        throw BrokerError(std::string("pick_free_port: socket failed: ") + std::strerror(errno));
    }
    sockaddr_in addr = loopback(0);
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        throw BrokerError(std::string("pick_free_port: bind 127.0.0.1:0 failed: ") +
                          std::strerror(errno));
    }
    socklen_t len = sizeof addr;
    if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        throw BrokerError(std::string("pick_free_port: getsockname failed: ") +
                          std::strerror(errno));
    }
    return ntohs(addr.sin_port);
}

ManagedBroker::ManagedBroker(ManagedBrokerOptions options) : options_(std::move(options)) {
    // Fail on a missing mosquitto before spending time on certificates.
    if (!host::find_in_path(options_.executable)) {
        throw EnvironmentError("mosquitto not found: '" + options_.executable +
                               "' is not in PATH; install the Debian package 'mosquitto' "
                               "(scripts/packages.txt)");
    }
    if (options_.run_dir.empty()) {
        throw BrokerError("managed broker: run_dir is empty");
    }
    in_addr listen{};
    if (::inet_pton(AF_INET, options_.listen_address.c_str(), &listen) != 1) {
        throw BrokerError("managed broker: listen_address '" + options_.listen_address +
                          "' is not a numeric IPv4 address");
    }
    host_ = options_.listen_address;
    if (options_.port_tries < 1) {
        throw BrokerError("managed broker: port_tries must be >= 1, got " +
                          std::to_string(options_.port_tries));
    }
    std::error_code ec;
    fs::create_directories(options_.run_dir, ec);
    if (ec) {
        throw BrokerError("managed broker: cannot create run_dir " + options_.run_dir.string() +
                          ": " + ec.message());
    }
    options_.run_dir = fs::absolute(options_.run_dir);
    check_config_path("run_dir", options_.run_dir);

    if (options_.pki) {
        pki_ = *options_.pki;
    } else {
        PkiOptions pki_options = options_.pki_options;
        pki_options.make_client_cert = pki_options.make_client_cert || options_.require_client_cert;
        std::optional<TestPki> cached;
        if (options_.pki_cache_dir) {
            cached = cached_test_pki(*options_.pki_cache_dir, pki_options);
        }
        pki_ = cached ? *cached : generate_test_pki(options_.run_dir / "pki", pki_options);
    }
    check_config_path("CA", pki_.ca_cert);
    check_config_path("server certificate", pki_.server_cert);
    check_config_path("server key", pki_.server_key);
    if (options_.require_client_cert && pki_.client_cert.empty()) {
        throw BrokerError("managed broker: require_client_cert is set but the PKI has no client "
                          "certificate");
    }
    if (options_.on_pki) {
        options_.on_pki(pki_);
    }

    for (int attempt = 1; attempt <= options_.port_tries; ++attempt) {
        if (try_start(attempt)) {
            return;
        }
    }
    throw BrokerError("managed broker: every one of " + std::to_string(options_.port_tries) +
                      " picked ports was taken before mosquitto could bind it; log " +
                      log_path().string() + ":\n" + log_tail());
}

ManagedBroker::~ManagedBroker() {
    try {
        stop();
    } catch (...) {
        // A destructor must not throw; stop() already SIGKILLed the child, so nothing is left.
    }
}

void ManagedBroker::write_config() const {
    std::ostringstream conf;
    conf << "# Generated by lwipsim for one run; rewritten on every start.\n"
         << "user " << current_user_name() << "\n"
         << "per_listener_settings false\n"
         << "allow_anonymous true\n"
         // Each record leaves when written. With Nagle a second small write waits for the
         // ACK of the first, up to 40 ms of delayed ACK on loopback: on virtual time those
         // bytes would arrive after the broker reported idle, at a real-time-dependent instant.
         << "set_tcp_nodelay true\n"
         << "log_dest file " << log_path().string() << "\n"
         << "log_type all\n"
         << "connection_messages true\n"
         << "log_timestamp true\n"
         << "log_timestamp_format %Y-%m-%dT%H:%M:%S\n";
    if (options_.persistence) {
        // Saved at a clean stop (SIGTERM) and loaded at the next start; a trailing slash
        // marks persistence_location as a folder.
        conf << "persistence true\n"
             << "persistence_location " << options_.run_dir.string() << "/\n"
             << "persistence_file " << persistence_path().filename().string() << "\n";
    } else {
        conf << "persistence false\n";
    }
    conf << "\n"
         << "listener " << options_.config_port.value_or(tls_port_) << " " << host_ << "\n"
         << "cafile " << pki_.ca_cert.string() << "\n"
         << "certfile " << pki_.server_cert.string() << "\n"
         << "keyfile " << pki_.server_key.string() << "\n"
         << "require_certificate " << (options_.require_client_cert ? "true" : "false") << "\n";
    if (plain_port_) {
        conf << "\nlistener " << *plain_port_ << " " << host_ << "\n";
    }
    std::ofstream out(config_path(), std::ios::trunc);
    out << conf.str();
    if (!out.flush()) {
        throw BrokerError("managed broker: cannot write " + config_path().string());
    }
}

bool ManagedBroker::try_start(int attempt) {
    tls_port_ = pick_free_port();
    plain_port_.reset();
    if (options_.plain_listener) {
        // Hold nothing open between picks, so the kernel may hand out the same port twice.
        std::uint16_t plain = pick_free_port();
        for (int i = 0; i < 10 && (plain == tls_port_ || plain == options_.config_port); ++i) {
            plain = pick_free_port();
        }
        plain_port_ = plain;
    }
    return launch("start attempt " + std::to_string(attempt));
}

void ManagedBroker::start_again() {
    if (pid_ > 0) {
        throw BrokerError("managed broker: start_again while it still runs (pid " +
                          std::to_string(pid_) + ")");
    }
    if (!launch("restart")) {
        throw BrokerError("managed broker: port " + std::to_string(tls_port_) +
                          " was taken by another program while the broker was stopped; log " +
                          log_path().string() + ":\n" + log_tail());
    }
}

bool ManagedBroker::launch(const std::string& what) {
    write_config();

    // mosquitto's stderr (config errors come before its log file is open) lands in the same log.
    Fd log_fd(::open(log_path().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (log_fd.get() < 0) {
        throw BrokerError("managed broker: cannot open " + log_path().string() + ": " +
                          std::strerror(errno));
    }
    // With a config port the picked one stays out of the log, which then repeats run to run.
    const std::string marker = "lwipsim: " + what +
                               (options_.config_port ? "" : " on port " + std::to_string(tls_port_)) +
                               "\n";
    [[maybe_unused]] auto n = ::write(log_fd.get(), marker.data(), marker.size());
    const std::streamoff log_start = static_cast<std::streamoff>(fs::file_size(log_path()));

    std::vector<std::string> argv = options_.command_prefix;
    // Run in run_dir with a relative config path: mosquitto logs the path ("Config loaded
    // from"), which then names no run folder and repeats from run to run.
    argv.insert(argv.end(), {options_.executable, "-c", config_path().filename().string()});
    std::vector<std::string> environment = options_.environment;
    if (options_.config_port) {
        environment.push_back(std::string(LWIPSIM_VCLOCK_PORT_MAP_ENV) + "=" +
                              std::to_string(*options_.config_port) + "=" +
                              std::to_string(tls_port_));
    }
    pid_ = host::spawn_child(argv, log_fd.get(), environment, options_.run_dir,
                             options_.fixed_layout);

    const auto deadline = Clock::now() + options_.start_timeout;
    while (Clock::now() < deadline) {
        if (host::child_has_exited(pid_)) {
            const auto status = host::wait_child(pid_, std::chrono::seconds(1));
            pid_ = -1;
            const std::string this_attempt = log_since(log_path(), log_start);
            if (this_attempt.find(kAddressInUse) != std::string::npos) {
                return false;
            }
            throw BrokerError("managed broker: mosquitto exited during start-up (" +
                              (status ? status->describe() : std::string("unknown status")) +
                              "); log " + log_path().string() + ":\n" + log_tail());
        }
        // Not a connect to the port: mosquitto opens its sockets before it loads the
        // certificates, so a broker about to exit on a bad key accepts connections for a moment.
        const bool ready = logged_running(log_since(log_path(), log_start));
        if (ready && !host::child_has_exited(pid_)) {
            return true;
        }
        // mosquitto needs tens of ms to start; a short step keeps the wait close to that.
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    stop();
    throw BrokerError("managed broker: mosquitto did not accept connections on " + host_ + ":" +
                      std::to_string(tls_port_) + " within " +
                      std::to_string(options_.start_timeout.count()) + " ms; log " +
                      log_path().string() + ":\n" + log_tail());
}

void ManagedBroker::stop() {
    if (pid_ <= 0) {
        return;
    }
    const pid_t pid = pid_;
    pid_ = -1;
    host::stop_child(pid, options_.stop_grace);
}

void ManagedBroker::signal_stop() {
    if (pid_ > 0)
        host::signal_child(pid_, SIGTERM);
}

void ManagedBroker::kill() {
    if (pid_ <= 0) {
        return;
    }
    const pid_t pid = pid_;
    pid_ = -1;
    host::signal_child(pid, SIGKILL);
    // SIGKILL cannot be ignored; the bound only guards against an unkillable (D-state) child.
    if (!host::wait_child(pid, std::chrono::seconds(10))) {
        throw host::ProcessError("mosquitto (pid " + std::to_string(pid) +
                                 ") survived SIGKILL for 10 s");
    }
}

bool ManagedBroker::running() const {
    return pid_ > 0 && !host::child_has_exited(pid_);
}

BrokerEndpoint ManagedBroker::endpoint() const {
    BrokerEndpoint endpoint;
    endpoint.host = host_;
    endpoint.port = tls_port_;
    endpoint.ca_file = pki_.ca_cert;
    endpoint.server_name = pki_.server_name;
    endpoint.client_cert = pki_.client_cert;
    endpoint.client_key = pki_.client_key;
    return endpoint;
}

std::string ManagedBroker::log_tail(int lines) const {
    std::ifstream in(log_path());
    if (!in) {
        return "(no log at " + log_path().string() + ")";
    }
    std::deque<std::string> tail;
    std::string line;
    while (std::getline(in, line)) {
        tail.push_back(line);
        if (static_cast<int>(tail.size()) > lines) {
            tail.pop_front();
        }
    }
    std::string text;
    for (const auto& l : tail) {
        text += l + "\n";
    }
    return text;
}

} // namespace lwipsim::broker
