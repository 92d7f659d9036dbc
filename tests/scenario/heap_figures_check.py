#!/usr/bin/env python3
"""docs/fidelity.md's heap figures by ABI and allocator (issue 16), measured and checked.

Runs tests/data/scenarios/heap_figures.yaml with the device program heap_figures
(tests/data/programs/heap_figures.c): variants host (64-bit structures, allocator none), ilp32
(32-bit, none) and ilp32_esp_idf (32-bit, ESP-IDF v4.4's per-block cost). Prints the figures
and checks each against a reason that does not come from lwipsim's output:

- lwIP's structure sizes as the compiler lays them out for each ABI (lwip_struct_sizes, built
  natively and with -m32; the 32-bit one runs under qemu-i386 where the kernel cannot exec it),
  with lwIP's own allocation arithmetic (memp.c: MEMP_ALIGN_SIZE(size) per object; pbuf.c:
  aligned struct + aligned layer header + aligned payload for PBUF_RAM), each block charged as
  the heap's allocator says (docs/fidelity.md: none = its size; esp-idf-v4.4 = max(round_up(n,
  4), 12) + 4):
    socket      = netconn + tcp_pcb (lwip_socket: netconn_alloc, tcp_new; lwipsim's mailboxes
                  and semaphores are host objects, not device heap)
    time_wait   = tcp_pcb (tcp_pcb_purge freed its queues on entering TIME_WAIT) + timer
    fin_wait_1  = tcp_pcb + 2 tcp_seg + the PINGREQ's pbuf (LWIP_NETIF_TX_SINGLE_PBUF: a whole
                  MSS of payload room, tcp_pbuf_prealloc) + the FIN's pbuf (no payload) + timer
    clean       = 0 (after TIME_WAIT, nothing is left)
  where timer is one struct sys_timeo: lwIP's TCP timer runs only while a PCB is on its active or
  TIME_WAIT list (tcp_timer_needed), so a dead PCB keeps one pending timeout allocated too;
  and, for the two PCB figures, the PCB probe's own walk of lwIP's lists (timeseries.csv
  closed_pcb_heap_<STATE>) must show the PCB's own bytes (the figure less the timer);
- the PINGREQ's TLS record: 2 bytes of MQTT in a TLS 1.2 AES-GCM record = 5 header + 8 explicit
  nonce + 2 + 16 tag = 31 bytes unacknowledged at close (pcbs.csv);
- the TLS figures (handshake peak = baseline - heap.min_free; session = held after the CONNACK),
  which have no exact independent value: 32-bit below 64-bit (pointers 8 -> 4 bytes); with the
  ESP-IDF cost above the 32-bit figure by at least 4 bytes per block a session keeps (its
  netconn and tcp_pcb at least) and a multiple of 4 (every block's charge is one); the
  handshake's peak above the session it leaves (it holds the session's buffers plus transient
  state: the peer's certificate, the key exchange).

usage: heap_figures_check.py <lwipsim> <scenario> <libtest_heap_figures.so> <out-dir>
                             <lwip_struct_sizes> <lwip_struct_sizes_ilp32>
"""
import csv
import json
import subprocess
import sys

VARIANTS = {  # name: (abi, allocator)
    "host": ("host", "none"),
    "ilp32": ("ilp32", "none"),
    "ilp32_esp_idf": ("ilp32", "esp-idf-v4.4"),
}
FIGURES = ["handshake_peak", "session", "fin_wait_1", "socket", "time_wait"]
PINGREQ_RECORD = 5 + 8 + 2 + 16
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)


def struct_sizes(program):
    try:
        out = subprocess.run([program], check=True, capture_output=True, text=True).stdout
    except OSError:  # ENOEXEC: no 32-bit exec in this kernel; run it as lwipsim does
        try:
            out = subprocess.run(["qemu-i386", program], check=True, capture_output=True,
                                 text=True).stdout
        except FileNotFoundError:
            sys.exit(f"{program} cannot be executed here and qemu-i386 is missing "
                     "(scripts/bootstrap installs qemu-user)")
    return {name: int(size) for name, size in (line.split() for line in out.splitlines())}


def charge(size, allocator):
    if allocator == "none":
        return size
    return max((size + 3) // 4 * 4, 12) + 4


def expected(sizes, allocator):
    def align(n):
        a = sizes["mem_alignment"]
        return (n + a - 1) // a * a
    pcb = charge(align(sizes["tcp_pcb"]), allocator)
    seg = charge(align(sizes["tcp_seg"]), allocator)
    header = sizes["pbuf_ram_transport_header"]
    timer = charge(align(sizes["sys_timeo"]), allocator)
    return {
        "socket": charge(align(sizes["netconn"]), allocator) + pcb,
        "time_wait": pcb + timer,
        "fin_wait_1": pcb + 2 * seg + charge(header + align(sizes["tcp_mss"]), allocator)
        + charge(header, allocator) + timer,
        "clean": 0,
    }, timer


def read_run(folder):
    summary = json.loads((folder / "summary.json").read_text())
    events = {}
    for line in (folder / "events.jsonl").open():
        e = json.loads(line)
        if e["type"] == "program_event" and e["detail"] is not None:
            events[e["name"]] = (e["t_s"], int(e["detail"]))
    with (folder / "timeseries.csv").open() as f:
        samples = list(csv.DictReader(f))
    with (folder / "pcbs.csv").open() as f:
        pcbs = list(csv.DictReader(f))
    return summary, events, samples, pcbs


def probe_agrees(name, samples, state, start, end, figure):
    """Every sample strictly inside (start, end) shows `figure` bytes in closed `state` PCBs."""
    seen = [int(s[f"closed_pcb_heap_{state}"]) for s in samples
            if start < float(s["t_s"]) < end]
    check(seen and all(v == figure for v in seen),
          f"{name}: closed_pcb_heap_{state} between {start} and {end} s is {sorted(set(seen))}, "
          f"the program measured {figure} without the timer")


def measure(name, folder, sizes):
    abi, allocator = VARIANTS[name]
    summary, events, samples, pcbs = read_run(folder)
    check(summary["status"] == "passed", f"{name}: status {summary['status']}")
    check(summary["device"]["abi"] == abi, f"{name}: device {summary['device']}")
    check(summary["options"]["heap_allocator"] == allocator,
          f"{name}: heap_allocator {summary['options']['heap_allocator']}")
    missing = {"baseline", "socket", "session", "time_wait", "clean", "fin_wait_1"} - set(events)
    if missing:
        failures.append(f"{name}: no event {sorted(missing)} (program.log in {folder})")
        return None
    got = {k: v for k, (_, v) in events.items()}
    got["handshake_peak"] = got["baseline"] - summary["heap"]["min_free"]
    want, timer = expected(sizes, allocator)
    for key, value in want.items():
        check(got[key] == value, f"{name}: {key} is {got[key]} B, lwIP's sizes say {value} B")
    probe_agrees(name, samples, "TIME_WAIT", events["time_wait"][0] - 9,
                 events["clean"][0] - 15, got["time_wait"] - timer)
    probe_agrees(name, samples, "FIN_WAIT_1", events["fin_wait_1"][0], 1e9,
                 got["fin_wait_1"] - timer)
    last = pcbs[-1]
    check(int(last["unacked_bytes_at_close"]) == PINGREQ_RECORD,
          f"{name}: the abandoned PCB closed with {last['unacked_bytes_at_close']} B unacked, "
          f"a PINGREQ's TLS record is {PINGREQ_RECORD}")
    check(got["handshake_peak"] > got["session"],
          f"{name}: handshake peak {got['handshake_peak']} not above the session {got['session']}")
    return got


def main():
    lwipsim, scenario, program, out, sizes_host, sizes_ilp32 = sys.argv[1:7]
    from pathlib import Path
    out = Path(out)
    sizes = {"host": struct_sizes(sizes_host), "ilp32": struct_sizes(sizes_ilp32)}
    print("lwIP structure sizes (host / ilp32):",
          {k: (sizes["host"][k], sizes["ilp32"][k]) for k in sizes["host"]})
    r = subprocess.run([lwipsim, "run", scenario, "--out", str(out), "--no-plots", "--force",
                        "--quiet", "--set", f"app.program={program}"],
                       capture_output=True, text=True, timeout=540)
    if r.returncode != 0:
        sys.exit(f"lwipsim run exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
    figures = {name: measure(name, out / name, sizes[VARIANTS[name][0]]) for name in VARIANTS}
    if all(figures.values()):
        host, small, costed = figures["host"], figures["ilp32"], figures["ilp32_esp_idf"]
        print(f"{'figure (B)':<16}{'64-bit':>10}{'32-bit':>10}{'32-bit+ESP-IDF':>16}")
        for key in FIGURES:
            print(f"{key:<16}{host[key]:>10}{small[key]:>10}{costed[key]:>16}")
        for key in FIGURES:
            check(small[key] < host[key], f"{key}: 32-bit {small[key]} not below 64-bit {host[key]}")
            check(costed[key] % 4 == 0, f"{key}: {costed[key]} with ESP-IDF's cost is not a "
                  "multiple of 4 (every block's charge is)")
        for key in ("handshake_peak", "session"):
            extra = costed[key] - small[key]
            check(extra >= 2 * 4, f"{key}: ESP-IDF's cost adds {extra} B, under 4 B for each of "
                  "the session's netconn and tcp_pcb")
    if failures:
        sys.exit("FAILED:\n  " + "\n  ".join(failures))
    print("heap figures: all checks passed")


main()
