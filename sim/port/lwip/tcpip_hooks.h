#pragma once
// Hooks into lwIP's tcpip thread, for probes that must see every state change exactly.

#include <functional>

namespace lwipsim::port {

/// Called each time the tcpip thread has finished a step (a message or a round of timers) and is
/// about to wait for the next one: every PCB change of that step is complete and visible.
void set_tcpip_step_hook(std::function<void()> hook);

/// Called by lwIP's tcp_free() (third_party/patches/lwip/0004) just before a TCP PCB's memory
/// goes back, fields intact, with the reason decided by the lwIP function that freed it, by
/// name (tcp_free_reason_name; docs/results.md lists them all). Runs in the tcpip thread.
void set_pcb_free_observer(std::function<void(const void* pcb, const char* reason)> observer);

/// The name of an lwIP enum tcp_free_reason value, e.g. "time_wait_expired"; "unknown" for a
/// value this port does not know.
const char* tcp_free_reason_name(int reason);

} // namespace lwipsim::port
