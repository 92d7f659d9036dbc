#!/usr/bin/env python3
"""Issue 4 and 5, end to end: the MQTT client aborts during a blackhole (keepalive) and closes
its socket with a PINGREQ unacknowledged; what the close does with and without SO_LINGER {1,0},
checked in device.pcap with tshark against events.jsonl and the PCB record.

    e2e_linger.py <lwipsim> <scenario dir> <work dir> <variant>

variant (tests/data/scenarios/e2e_linger.yaml):
  linger_0            lwIP's lwip_netconn_do_close_internal: with linger == 0 and unsent or
                      unacked data, tcp_abort() -> a RST from the device at the close instant,
                      the PCB freed at once (freed_at_s == closed_at_s, free_reason aborted:
                      tcp_abandon; rst_sent true: the RST leaves the device into the blackhole),
                      never FIN_WAIT_1.
  linger_off          tcp_close() -> FIN_WAIT_1; tcp_output sends the FIN at once (TF_FIN
                      overrides Nagle); no RST at the close; nothing can reach the device during
                      the blackhole and TCP_MAXRTX = 12 backoffs take far longer than it lasts,
                      so the PCB is alive at least until the blackhole ends.
  linger_unavailable  lwIP built without LWIP_SO_LINGER: lwip_setsockopt(SO_LINGER) fails with
                      ENOPROTOOPT (92) for every socket (a linger_failed event each) and the close
                      behaves as linger_off.
  linger_off_maxrtx4  as linger_off with TCP_MAXRTX 4: tcp_slowtmr removes the PCB at the first
                      tick (500 ms) after its 4th retransmission (nrtx >= TCP_MAXRTX is checked
                      before the RTO), reason retransmissions_exhausted; the record's
                      retransmission count equals tshark's retransmission instants (issue 5).
Common: the close happens inside the blackhole with data the peer never ACKed (tshark: the
device's highest sequence sent exceeds the peer's highest ACK at the close).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_common as e2e  # noqa: E402

WINDOW = (30.0, 130.0)  # fault `hole`: at 30s for 100s
ENOPROTOOPT = 92  # lwIP's and Linux's errno value
TICK = 0.5


def main():
    lwipsim, scen_dir, work, variant = sys.argv[1:5]
    e2e.need_tools("tshark")
    out = os.path.join(work, "linger")
    rc = e2e.run_lwipsim(lwipsim, os.path.join(scen_dir, "e2e_linger.yaml"), out,
                         "--variant", variant)
    c = e2e.Checks(f"e2e_linger[{variant}]")
    c.check(rc == 0, f"lwipsim exit code 0 (got {rc})")
    res = os.path.join(out, variant)
    summary = e2e.load_summary(res)
    events = e2e.load_events(res)
    s, e = WINDOW

    closes = [ev for ev in events if ev["type"] == "app_close"]
    timeouts = [ev for ev in events if ev["type"] == "ping_timeout"]
    if not c.check(len(closes) > 0 and len(timeouts) > 0, "events: a ping_timeout and an app_close"):
        c.finish()
    close = closes[0]
    t_close, port = close["t_s"], close["local_port"]
    c.check(s < t_close < e and abs(timeouts[0]["t_s"] - t_close) < e2e.EPS,
            f"the first close ({t_close}) follows the ping timeout inside the blackhole")

    dev = e2e.frames(os.path.join(res, "device.pcap"), f"tcp.port=={port}")
    up = [f for f in dev if f["src"] == e2e.DEVICE_IP]
    down = [f for f in dev if f["src"] == e2e.GATEWAY_IP]
    sent_top = max(f["nxtseq"] or 0 for f in up if f["t"] < t_close - e2e.EPS)
    acked_top = max(f["ack"] or 0 for f in down if f["t"] < t_close - e2e.EPS)
    c.check(sent_top > acked_top,
            f"tshark: data unacknowledged at the close (sent up to {sent_top}, ACKed {acked_top})")
    at_close = [f for f in up if abs(f["t"] - t_close) < e2e.EPS]
    rst_at_close = [f for f in at_close if f["flags"] & e2e.TCP_RST]
    fin_at_close = [f for f in at_close if f["flags"] & e2e.TCP_FIN]
    pcb = e2e.pcb_for_port(summary, port, closed_at=t_close)
    if not c.check(pcb is not None, f"summary.json: a PCB on port {port} closed at {t_close}"):
        c.finish()
    states = [st["state"] for st in pcb["states"]]
    print(f"  PCB {pcb}")

    linger_failed = [ev for ev in events if ev["type"] == "linger_failed"]
    if variant == "linger_unavailable":
        syn_ports = {f["sport"] for f in e2e.frames(os.path.join(res, "device.pcap"),
                                                     "tcp.flags.syn==1 && tcp.flags.ack==0")}
        c.check(len(linger_failed) == len(syn_ports) > 0,
                f"one linger_failed event per socket: {len(linger_failed)} events, "
                f"{len(syn_ports)} connections (SYN source ports)")
        c.check(all(ev["errno"] == ENOPROTOOPT for ev in linger_failed),
                f"setsockopt(SO_LINGER) failed with ENOPROTOOPT: "
                f"{sorted({ev['errno'] for ev in linger_failed})}")
    else:
        c.check(not linger_failed, f"no linger_failed event ({len(linger_failed)})")

    if variant == "linger_0":
        c.check(len(rst_at_close) == 1, f"device.pcap: one RST from port {port} at the close "
                f"({len(rst_at_close)})")
        if rst_at_close:
            c.check(rst_at_close[0]["seq"] == sent_top,
                    f"the RST carries snd_nxt {sent_top} ({rst_at_close[0]['seq']})")
        c.check(not fin_at_close, "no FIN at the close")
        c.check(pcb["freed_at_s"] is not None and abs(pcb["freed_at_s"] - pcb["closed_at_s"]) < e2e.EPS,
                f"freed_at_s == closed_at_s ({pcb['freed_at_s']}, {pcb['closed_at_s']})")
        c.check(pcb["free_reason"] == "aborted", f"free_reason aborted ({pcb['free_reason']})")
        c.check(pcb["rst_sent"] is True, f"rst_sent true, as device.pcap shows ({pcb['rst_sent']})")
        c.check("FIN_WAIT_1" not in states, f"never in FIN_WAIT_1: {states}")
        # Gone from lwIP: later segments from the peer get a RST (tcp_input finds no PCB), and
        # nothing else leaves that port.
        later = [f for f in up if f["t"] > t_close + e2e.EPS]
        c.check(all(f["flags"] & e2e.TCP_RST for f in later),
                f"after the abort port {port} only answers with RSTs ({len(later)} frames)")
        c.check(not [f for f in later if f["t"] < e], "nothing from the port during the blackhole")
    else:
        c.check(not rst_at_close, "device.pcap: no RST at the close")
        early_rst = [f for f in up if f["flags"] & e2e.TCP_RST and f["t"] < e]
        c.check(not early_rst, f"no RST from port {port} before the blackhole ends")
        c.check(len(fin_at_close) == 1, f"device.pcap: a FIN at the close ({len(fin_at_close)})")
        c.check(pcb["states"][-1]["state"] == "FIN_WAIT_1"
                and abs(pcb["states"][-1]["at_s"] - t_close) < e2e.EPS,
                f"the record's last state is FIN_WAIT_1 from the close: {pcb['states'][-1]}")
        rex = sorted({round(f["t"], 6) for f in up if f["rexmit"]})
        after_close = [t for t in rex if t > t_close]
        c.check(len(after_close) > 0, f"the abandoned PCB retransmits after the close: {after_close}")
        c.check(pcb["retransmissions"] == len(rex),
                f"record retransmissions {pcb['retransmissions']} == tshark's retransmission "
                f"instants {len(rex)}")
        if variant == "linger_off_maxrtx4":
            c.check(pcb["retransmissions"] == 4, f"TCP_MAXRTX 4 retransmissions ({pcb['retransmissions']})")
            c.check(pcb["free_reason"] == "retransmissions_exhausted",
                    f"free_reason retransmissions_exhausted ({pcb['free_reason']})")
            if rex:
                want = rex[-1] + TICK
                c.check(pcb["freed_at_s"] is not None and abs(pcb["freed_at_s"] - want) < e2e.EPS,
                        f"freed one slow tick after the last retransmission: {pcb['freed_at_s']} "
                        f"== {want}")
        else:
            # Issue 4: after the fault the client reconnects, and the old PCB is still alive
            # in FIN_WAIT_1 when the new connection is ESTABLISHED (tshark: the SYN-ACK).
            back = [ev["t_s"] for ev in events if ev["type"] == "mqtt_connected" and ev["t_s"] >= e]
            c.check(len(back) == 1 and summary["app"]["connects"] == 2,
                    f"one reconnect after the blackhole: {back}, connects {summary['app']['connects']}")
            synacks = [f["t"] for f in e2e.frames(os.path.join(res, "device.pcap"),
                                                  "tcp.flags.syn==1 && tcp.flags.ack==1")
                       if f["t"] >= e]
            c.check(bool(synacks) and (pcb["freed_at_s"] is None or pcb["freed_at_s"] > synacks[0]),
                    f"old PCB alive ({pcb['states'][-1]['state']}, freed {pcb['freed_at_s']}) "
                    f"when the new connection is established ({synacks[:1]})")
            c.check(pcb["freed_at_s"] is None or pcb["freed_at_s"] >= e,
                    f"alive in FIN_WAIT_1 at least until the blackhole ends ({e}): freed_at_s "
                    f"{pcb['freed_at_s']}")
    c.finish()


if __name__ == "__main__":
    main()
