#include "harness/runner/broker_observer.h"

#include <array>
#include <cerrno>
#include <cstring>
#include <variant>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace lwipsim::runner {
namespace {

constexpr uint16_t kSubscribePacketId = 1;

// All of `bytes` onto a fresh loopback socket: its send buffer takes a CONNECT and a SUBSCRIBE
// whole, so a short write means the socket is broken.
bool send_all(int fd, const std::vector<uint8_t>& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        done += static_cast<size_t>(n);
    }
    return true;
}

} // namespace

BrokerObserver::BrokerObserver(uint16_t plain_port, std::string topic, clock::HostPeer* peer,
                               OnMessage on_message, OnProblem on_problem)
    : port_(plain_port), topic_(std::move(topic)), peer_(peer), on_message_(std::move(on_message)),
      on_problem_(std::move(on_problem)) {}

BrokerObserver::~BrokerObserver() {
    if (fd_ >= 0)
        ::close(fd_);
}

void BrokerObserver::fail(const std::string& what) {
    if (fd_ >= 0)
        ::close(fd_);
    fd_ = -1;
    on_problem_("broker observer (subscriber to '" + topic_ + "'): " + what);
}

void BrokerObserver::start() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
        fail(std::string("socket: ") + std::strerror(errno));
        return;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // A blocking connect to loopback completes in the kernel (the listen backlog), without the
    // broker having to run.
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        fail("connect to 127.0.0.1:" + std::to_string(port_) + ": " + std::strerror(errno));
        return;
    }
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    device::ConnectOptions connect;
    connect.client_id = kClientId;
    connect.keepalive_s = 0;
    // MQTT 3.1.1 allows packets right after CONNECT, before the CONNACK (section 3.1.4).
    std::vector<uint8_t> out = device::encode_connect(connect);
    const std::array subs{device::Subscription{topic_, 0}};
    const std::vector<uint8_t> subscribe = device::encode_subscribe(kSubscribePacketId, subs);
    out.insert(out.end(), subscribe.begin(), subscribe.end());
    if (!send_all(fd_, out)) {
        fail(std::string("sending CONNECT and SUBSCRIBE: ") + std::strerror(errno));
        return;
    }
    if (peer_ != nullptr)
        peer_->wake(clock::Scheduler::current().now());
}

void BrokerObserver::fill_pollfds(std::vector<pollfd>& fds) {
    if (fd_ >= 0)
        fds.push_back({fd_, POLLIN, 0});
}

void BrokerObserver::on_polled(std::span<const pollfd> fds) {
    if (fds.empty() || fd_ < 0 || (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) == 0)
        return;
    std::array<uint8_t, 4096> buf{};
    for (;;) {
        const ssize_t n = ::recv(fd_, buf.data(), buf.size(), MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            fail(n == 0 ? "the broker closed the connection" : std::strerror(errno));
            return;
        }
        decoder_.feed(std::span<const uint8_t>(buf.data(), static_cast<size_t>(n)));
    }
    for (;;) {
        auto r = decoder_.next();
        if (std::holds_alternative<std::monostate>(r))
            return;
        if (const auto* e = std::get_if<device::DecodeError>(&r)) {
            fail("undecodable bytes from the broker: " + e->message);
            return;
        }
        handle(std::get<device::ServerPacket>(r));
        if (fd_ < 0)
            return;
    }
}

void BrokerObserver::handle(const device::ServerPacket& packet) {
    if (const auto* c = std::get_if<device::ConnAck>(&packet)) {
        if (c->return_code != 0)
            fail("CONNACK " + device::connack_text(c->return_code));
    } else if (const auto* s = std::get_if<device::SubAck>(&packet)) {
        subscribed_ = !s->return_codes.empty() && s->return_codes[0] != 0x80;
        if (!subscribed_)
            fail("the broker refused the subscription");
    } else if (const auto* p = std::get_if<device::Publish>(&packet)) {
        on_message_(*p);
    }
}

} // namespace lwipsim::runner
