#pragma once
// The rule by which a far side backed by a real host (slirp's sockets, a TAP into a kernel)
// holds virtual time still: which device requests the host still owes an answer. Used by
// SlirpGateway and TapBackend for clock::HostIo::awaiting_host().
//
// A request: a TCP segment with payload, SYN or FIN (not RST), keyed by the device port; an ARP
// request; an ICMP echo request. An answer: a segment to that device port with payload, SYN,
// FIN or RST (a bare ACK answers nothing: hosts send those on their own delayed-ACK timers),
// an ARP reply, an ICMP echo reply. Waits are per connection, so an answer on one connection
// (mosquitto dropping an old session) does not end the wait for another (its CONNACK). A
// request holds time only at the virtual instant it was made: one that gets no answer (a
// QoS 0 PUBLISH) stops holding time once virtual time has moved on.

#include "sim/clock/sim_time.h"

#include <cstdint>
#include <map>
#include <span>

namespace lwipsim::link {

class HostReplyWait {
  public:
    /// A device->host frame at `now`; call before the host can see it (it may answer at once).
    void on_request(std::span<const uint8_t> frame, clock::SimTime now);
    /// A host->device frame.
    void on_answer(std::span<const uint8_t> frame);
    /// True while a request made at `now` is unanswered.
    [[nodiscard]] bool pending(clock::SimTime now) const;

  private:
    std::map<uint32_t, clock::SimTime> waiting_; ///< request key -> when it was made
};

} // namespace lwipsim::link
