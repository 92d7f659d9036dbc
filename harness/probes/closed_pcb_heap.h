#pragma once
// Heap held by TCP PCBs the application has already closed (the field case's leak), by TCP
// state: what a dead connection still costs the device while lwIP finishes (or never finishes)
// closing it.
//
// Attribution (docs/results.md, `closed_pcb_heap`): a PCB the probe saw the application close
// and lwIP has not freed yet is charged the heap blocks it owns, each as the device heap charges
// it (size + block overhead): the tcp_pcb itself, every tcp_seg on its unsent, unacked and
// out-of-sequence queues, every pbuf of those segments' chains, and its refused_data chain. A
// block reachable twice (a pbuf shared by reference) is charged once. The socket/netconn and
// TLS context are not the PCB's: they belong to the application and go when it closes.
//
// Call inside the device process, on the tcpip thread's side of a step (the sampler does).

#include "harness/probes/pcb_probe.h"

#include <cstddef>
#include <map>
#include <string>

namespace lwipsim::probes {

/// Bytes by lwIP state name (e.g. "FIN_WAIT_1"); states with no closed PCB are absent.
std::map<std::string, size_t> closed_pcb_heap_by_state(const PcbProbe& probe);

} // namespace lwipsim::probes
