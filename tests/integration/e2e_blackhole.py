#!/usr/bin/env python3
"""Issue 3 and 5, end to end: a blackhole (both directions, 60..120 s) during a live MQTT
session through slirp to the managed broker, checked with tshark.

    e2e_blackhole.py <lwipsim> <scenario dir> <work dir>

Expected values and why:
  * The session survives: publishes every 5 s are more often than keepalive/2 (60 s), so
    esp-mqtt never pings and never aborts; the ~12 records written during the window fit in
    lwIP's send buffer. So one TCP connection for the whole run.
  * device.pcap (before the faults): the device retransmits its first unacknowledged segment by
    lwIP's RTO rules (tcp_slowtmr, 500 ms ticks). Without ACKs nothing updates sa/sv, so each
    retransmission doubles the RTO: rto = ((sa >> 3) + sv) << tcp_backoff[nrtx] with
    tcp_backoff = {1,2,3,4,5,6,7,7,...}, hence gaps between retransmissions double exactly
    (until the shift caps at 7) and are whole ticks. sv starts at LWIP_TCP_RTO_TIME/500 ms
    (3 ticks for esp-idf's 1500 ms) and the RTT update sv += |err| - (sv >> 2) can never bring
    it below 3, sa >= 0: so base = (sa >> 3) + sv >= 3 ticks, the first gap between
    retransmissions is 2 * base * 0.5 s >= 3 s, and the first retransmission comes at least
    (base - 1) ticks after the original (the slow timer's phase is unknown) - >= 1 s.
    In the 60 s window: at most 5 retransmissions (1 + 3 + 6 + 12 + 24 = 46 s, the 6th needs
    48 s more), at least 1.
  * The probe's retransmission count (summary.json pcbs[].retransmissions, lwIP's nrtx
    increments) equals the number of distinct retransmission instants tshark flags for that
    port: each RTO expiry increments nrtx once and retransmits at one instant.
  * wire.pcap (after the faults): no frame at all in [60, 120) since both directions are
    blackholed; each device frame device.pcap shows in the window has a frame_dropped event by
    the fault; after the window the device's retransmission crosses the wire and is ACKed,
    and new data follows.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_common as e2e  # noqa: E402

WINDOW = (60.0, 120.0)  # the scenario's fault `hole`: at 60s for 60s
TICK = 0.5  # lwIP's TCP_SLOW_INTERVAL


def main():
    lwipsim, scen_dir, work = sys.argv[1:4]
    e2e.need_tools("tshark")
    out = os.path.join(work, "blackhole")
    rc = e2e.run_lwipsim(lwipsim, os.path.join(scen_dir, "e2e_blackhole.yaml"), out)
    c = e2e.Checks("e2e_blackhole")
    c.check(rc == 0, f"lwipsim exit code 0 (got {rc})")
    res = os.path.join(out, "base")
    summary = e2e.load_summary(res)
    events = e2e.load_events(res)
    s, e = WINDOW

    c.check(summary["faults"] == [{"name": "hole", "type": "blackhole", "windows": [[s, e]]}],
            f"summary.json fault window is [{s}, {e}]: {summary['faults']}")
    c.check(summary["app"]["connects"] == 1, f"one MQTT session: {summary['app']['connects']}")

    dev = e2e.frames(os.path.join(res, "device.pcap"), "tcp")
    syns = [f for f in dev if f["src"] == e2e.DEVICE_IP and f["flags"] & e2e.TCP_SYN]
    c.check(len(syns) == 1, f"device.pcap: one SYN from the device ({len(syns)})")
    if not syns:
        c.finish()
    port = syns[0]["sport"]
    up = [f for f in dev if f["src"] == e2e.DEVICE_IP and f["sport"] == port]

    # The original transmission: the first device data segment sent inside the window.
    data_in = [f for f in up if f["len"] > 0 and s <= f["t"] < e]
    c.check(len(data_in) > 0, "device.pcap: the device sends data during the blackhole")
    rex = [f for f in up if f["rexmit"]]
    instants = sorted({round(f["t"], 6) for f in rex})
    print(f"  device port {port}; retransmissions at {instants}")
    c.check(all(t >= s for t in instants), "no retransmission before the blackhole")
    in_window = [t for t in instants if s <= t < e]
    c.check(1 <= len(in_window) <= 5,
            f"1..5 retransmission instants inside the window (lwIP backoff): {len(in_window)}")
    if data_in and len(instants) >= 3:
        orig = data_in[0]
        first = [f for f in rex if abs(f["t"] - instants[0]) < e2e.EPS]
        c.check(all(f["seq"] == orig["seq"] for f in first[:1]),
                f"the first retransmission repeats seq {orig['seq']}: {[f['seq'] for f in first]}")
        gaps = [b - a for a, b in zip(instants, instants[1:])]
        base_ticks = gaps[0] / TICK / 2
        c.check(gaps[0] >= 3.0 - e2e.EPS, f"first gap between retransmissions >= 3 s: {gaps[0]}")
        c.check(all(abs(g / TICK - round(g / TICK)) < 1e-3 for g in gaps),
                f"gaps are whole 500 ms ticks: {gaps}")
        doubling = [abs(b - 2 * a) < 1e-3 for a, b in zip(gaps, gaps[1:])]
        c.check(all(doubling), f"each gap doubles the previous one: {gaps}")
        d0 = instants[0] - orig["t"]
        c.check((base_ticks - 1) * TICK - 1e-3 <= d0 <= base_ticks * TICK + 1e-3,
                f"first retransmission {d0:.3f} s after the original, within "
                f"[(base-1), base] ticks, base = {base_ticks:g} ticks")

    pcb = e2e.pcb_for_port(summary, port)
    c.check(pcb is not None, f"summary.json has a PCB for port {port}")
    if pcb:
        c.check(pcb["retransmissions"] == len(instants),
                f"PCB record retransmissions {pcb['retransmissions']} == tshark's "
                f"retransmission instants {len(instants)}")
        c.check(pcb["remote_port"] == syns[0]["dport"], "PCB remote port is the SYN's")

    # Every device frame the device sent inside the window was dropped by the fault.
    dev_all = e2e.frames(os.path.join(res, "device.pcap"))
    up_in_window = [f for f in dev_all if f["src"] == e2e.DEVICE_IP and s <= f["t"] < e]
    drops = [ev for ev in events if ev["type"] == "frame_dropped" and ev.get("by") == "hole"
             and ev.get("dir") == "up"]
    c.check(len(drops) == len(up_in_window) > 0,
            f"frame_dropped (up) events {len(drops)} == device frames in the window "
            f"{len(up_in_window)}")

    wire = e2e.frames(os.path.join(res, "wire.pcap"))
    inside = [f for f in wire if s <= f["t"] < e]
    c.check(not inside, f"wire.pcap: no frame inside [{s}, {e}): {len(inside)}")
    before = [f for f in wire if f["src"] == e2e.DEVICE_IP and f["t"] < s]
    c.check(len(before) > 0, "wire.pcap: device frames before the window")
    after_up = [f for f in wire if f["src"] == e2e.DEVICE_IP and f["sport"] == port
                and f["t"] >= e]
    after_down = [f for f in wire if f["src"] == e2e.GATEWAY_IP and f["dport"] == port
                  and f["t"] >= e]
    resumed = [t for t in instants if t >= e]
    if c.check(len(after_up) > 0 and len(resumed) > 0,
               "wire.pcap: the device's next retransmission after the window crosses the wire"):
        c.check(abs(after_up[0]["t"] - resumed[0]) < e2e.EPS,
                f"first device frame on the wire after the window is the retransmission at "
                f"{resumed[0]} ({after_up[0]['t']})")
        top = max(f["nxtseq"] or 0 for f in up if f["t"] <= resumed[0] + e2e.EPS)
        acked = [f for f in after_down if f["ack"] is not None and f["ack"] >= top]
        c.check(len(acked) > 0, f"wire.pcap: the broker side ACKs seq {top} after the window")
        new_data = [f for f in after_up if f["len"] > 0 and f["seq"] >= top]
        c.check(len(new_data) > 0, "wire.pcap: new data flows after the window")
    c.finish()


if __name__ == "__main__":
    main()
