#pragma once
// Hooks into lwIP's tcpip thread, for probes that must see every state change exactly.

#include <functional>

namespace lwipsim::port {

/// Called each time the tcpip thread has finished a step (a message or a round of timers) and is
/// about to wait for the next one: every PCB change of that step is complete and visible.
void set_tcpip_step_hook(std::function<void()> hook);

/// Called when the live-PCB cap (lwipsim_tcp_pcb_cap) refuses a new PCB: tcp_alloc() is about
/// to kill an old one for it.
void set_pcb_cap_observer(std::function<void()> observer);

} // namespace lwipsim::port
