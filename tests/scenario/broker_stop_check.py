"""broker_stop in the field case (scenarios/field_case_broker_stop.yaml): the managed broker is
stopped at 180 s and started again at 300 s on the same port.

Expected, for independent reasons:
- the device's session ends when the broker goes (mosquitto's exit closes its socket; slirp
  passes the FIN on): within a second of 180 s (latency 40 ms, the application's 1 s poll);
- every connect in the window is refused: slirp's connect to the stopped port fails and libslirp
  answers the device's SYN with RST|ACK (tcp_input.c, `dropwithreset` on a failed connect), so
  device.pcap shows, per SYN, a RST from 10.0.2.2 and no SYN-ACK. lwIP accepts a RST in
  SYN_SENT whose ack is its snd_nxt (tcp_process), reports ERR_RST, which err.c maps to
  ECONNRESET, and frees the PCB at once in tcp_input: pcbs.csv free_reason rst_received, freed
  one round trip (80 ms) after its SYN. With reconnect_delay 10 s there is one attempt about
  every 10 s from 10 s after the loss until the broker is back: 11 or 12 in 120 s;
- the first connect after 300 s succeeds (same address 10.0.2.2:8883 as before): a session
  (mqtt_connected) within one reconnect_delay plus the handshake round trips;
- nothing leaks: the refused PCBs are freed on the RST, the first session's PCB leaves
  TIME_WAIT 2 * TCP_MSL = 120 s after entering it (before the broker is back), so the heap in
  use at the second CONNACK equals the first's.
"""
import csv
import errno
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from e2e_common import (GATEWAY_IP, DEVICE_IP, TCP_RST, TCP_SYN, Checks, frames,  # noqa: E402
                        load_events, load_summary, need_tools, run_lwipsim)

lwipsim, scenario = sys.argv[1], sys.argv[2]
need_tools("tshark")
out = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"lwipsim-broker-stop-{os.getpid()}")
rc = run_lwipsim(lwipsim, scenario, out, "--quiet", timeout=240)
c = Checks("broker_stop field case")
c.check(rc == 0, f"lwipsim run exits 0 (its expectations pass), got {rc}")
run = os.path.join(out, "base")
events = load_events(run)
summary = load_summary(run)
STOP, START, RTT = 180.0, 300.0, 0.080

def of(kind):
    return [e for e in events if e["type"] == kind]

stopped, started = of("broker_stopped"), of("broker_started")
c.check([e["t_s"] for e in stopped] == [STOP], f"broker_stopped once at {STOP} s: {stopped}")
c.check([e["t_s"] for e in started] == [START], f"broker_started once at {START} s: {started}")
# mosquitto's own log: one process ran until the stop, a second one from the start on.
with open(os.path.join(run, "broker.log"), encoding="utf-8", errors="replace") as f:
    log = f.read()
c.check(log.count(" running\n") == 2 and log.count(" terminating") >= 1,
        "broker.log: two mosquitto starts and a termination")
c.check(started and started[0]["starts"] == 2, f"the broker's second start: {started}")
windows = {f["name"]: f["windows"] for f in summary["faults"]}
c.check(windows.get("broker_down") == [[STOP, START]], f"fault window: {windows}")

lost = of("mqtt_disconnected")
c.check(len(lost) == 1 and STOP <= lost[0]["t_s"] < STOP + 1.0,
        f"the session ends within 1 s of the stop: {lost}")

# The wire as the device saw it.
pcap = os.path.join(run, "device.pcap")
syns = frames(pcap, f"ip.src=={DEVICE_IP} && tcp.flags.syn==1 && tcp.flags.ack==0")
rsts = frames(pcap, f"ip.src=={GATEWAY_IP} && tcp.flags.reset==1")
synacks = frames(pcap, f"ip.src=={GATEWAY_IP} && tcp.flags.syn==1 && tcp.flags.ack==1")
in_window = [s for s in syns if STOP < s["t"] < START]
c.check(11 <= len(in_window) <= 12, f"11-12 connect attempts during the stop, got {len(in_window)}")
c.check(not [s for s in synacks if STOP < s["t"] < START], "no SYN-ACK while the broker is down")
answered = []
for s in in_window:
    r = [x for x in rsts if x["dport"] == s["sport"] and x["ack"] == s["seq"] + 1]
    if len(r) == 1 and abs(r[0]["t"] - s["t"] - RTT) < 0.001:
        answered.append(s)
c.check(len(answered) == len(in_window),
        f"each SYN in the window answered by one RST|ACK one RTT later ({len(answered)}/"
        f"{len(in_window)})")
c.check(all(x["flags"] & TCP_RST for x in rsts), "RST flag set")
# Before the stop and after the start, connects are accepted.
c.check(any(s["t"] < STOP for s in synacks) and any(s["t"] > START for s in synacks),
        "SYN-ACKs before the stop and after the start")

failed = [e for e in of("connect_failed") if STOP < e["t_s"] < START]
c.check(len(failed) == len(in_window) and all(e["code"] == errno.ECONNRESET for e in failed),
        f"every attempt fails with ECONNRESET ({errno.ECONNRESET}): "
        f"{[(e['t_s'], e['code']) for e in failed]}")

# PCB records of the refused connects.
with open(os.path.join(run, "pcbs.csv"), newline="") as f:
    pcbs = list(csv.DictReader(f))
refused = [p for p in pcbs if p["free_reason"] == "rst_received"]
ports = sorted(s["sport"] for s in in_window)
c.check(sorted(int(p["local_port"]) for p in refused) == ports,
        f"one rst_received PCB per refused SYN (ports {ports})")
c.check(all(p["freed_at_s"] and abs(float(p["freed_at_s"]) - float(p["opened_at_s"]) - RTT) < 0.01
            for p in refused), "each refused PCB freed one RTT after it was made")

connected = [e["t_s"] for e in of("mqtt_connected")]
c.check(len(connected) == 2 and connected[0] < STOP and START < connected[1] < START + 12.0,
        f"one session before, one within 12 s after the broker is back: {connected}")
# The first session's PCB: closed when the session ended, then TIME_WAIT for 2 * TCP_MSL
# (esp-idf-v4.4: 60 s) until lwIP's 500 ms slow timer frees it; that is before the broker is
# back, so the heap at the second CONNACK holds nothing of the first session.
first = [p for p in pcbs if syns and int(p["local_port"]) == syns[0]["sport"]]
tw = [float(s.split("@")[1]) for s in first[0]["states"].split() if s.startswith("TIME_WAIT@")] \
    if first else []
c.check(len(first) == 1 and first[0]["free_reason"] == "time_wait_expired" and len(tw) == 1
        and 120.0 <= float(first[0]["freed_at_s"]) - tw[0] <= 120.5,
        f"the first session's PCB is freed 2 MSL after entering TIME_WAIT: {first}")
c.check(len(first) == 1 and len(connected) == 2 and float(first[0]["freed_at_s"]) < connected[1],
        "...before the second CONNACK")
heaps = [e["heap_used"] for e in of("mqtt_connected")]
c.check(len(heaps) == 2 and heaps[0] == heaps[1],
        f"so the heap in use at both CONNACKs is the same: {heaps}")
c.finish()
