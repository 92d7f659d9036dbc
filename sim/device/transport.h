#pragma once
// The byte stream an MQTT session talks over, and the clock it reads. In lwipsim the stream is
// TLS over lwIP sockets on virtual time; in unit tests it is an in-memory fake. Keeping the
// session behind this interface is what lets the MQTT logic be tested without a network stack.
//
// Threading: one simulated thread owns a Transport and calls it; implementations need not be
// thread safe. Blocking calls block in simulated time only.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "sim/clock/sim_time.h"

namespace lwipsim::device {

enum class IoStatus {
    kOk,      ///< progress was made (bytes > 0)
    kTimeout, ///< nothing (or not everything, for writes) happened within the timeout
    kClosed,  ///< the peer closed the stream in order (EOF) or the stream was already closed
    kError,   ///< the stream failed; `error` carries the stack's code (errno-like), `detail` text
};

struct IoResult {
    IoStatus status;
    size_t bytes = 0; ///< bytes transferred, also on kTimeout for a partial write
    int error = 0;
    std::string detail;
};

class Transport {
  public:
    virtual ~Transport() = default;
    /// Writes all of `data`, blocking up to `timeout` (simulated). kOk means every byte was
    /// accepted by the stack, not that the peer received it.
    virtual IoResult write_all(std::span<const uint8_t> data, clock::SimDuration timeout) = 0;
    /// Reads at least one and at most buf.size() bytes, blocking up to `timeout`; a zero timeout
    /// polls. Never returns kOk with bytes == 0 (an orderly EOF is kClosed).
    virtual IoResult read_some(std::span<uint8_t> buf, clock::SimDuration timeout) = 0;
};

/// Simulated "now" as the session's thread sees it (the device's tick counter).
class SessionClock {
  public:
    virtual ~SessionClock() = default;
    virtual clock::SimTime now() const = 0;
};

} // namespace lwipsim::device
