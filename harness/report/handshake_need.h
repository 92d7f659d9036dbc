#pragma once

#include <optional>
#include <vector>

#include "harness/report/result_folder.h"

namespace lwipsim::report {

// What a new TLS connection costs the device heap, measured from one run's own records, so a
// plot can show the free-heap level below which a handshake cannot succeed.
//
// For each successful handshake (a `tls_handshake_ok` event at t_ok), the connection started
// at the last `pcb_opened` event at or before t_ok (t0). Its heap need is the highest use in the
// sample intervals covering (t0, t_ok] (`heap_used_max` of the rows from the first row after
// t0 up to the first row at or after t_ok) minus the use at the last row at or before t0. It
// holds the socket, the PCB, the TLS context and the handshake's peak, plus whatever else
// was allocated in those intervals: with sampling every second it is an upper bound, tight in
// practice (a handshake dominates what happens in its second).
struct HandshakePeak {
    double t_s = 0;         // the tls_handshake_ok event
    double lowest_free = 0; // bytes: the free heap at the handshake's peak
    double need = 0;        // bytes: peak use minus use before the connection started
};

// Every successful handshake of the run whose window the samples cover, in time order.
std::vector<HandshakePeak> handshake_peaks(const RunResult& run);

// The largest need over all runs' successful handshakes; nullopt when there was none.
std::optional<double> handshake_need(const std::vector<RunResult>& runs);

} // namespace lwipsim::report
