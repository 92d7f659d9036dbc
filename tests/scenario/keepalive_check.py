"""lwip.keepalive reaches the device's socket: on a dead path lwIP sends TCP_KEEPCNT probes,
TCP_KEEPIDLE after the last activity and TCP_KEEPINTVL apart, then aborts with a RST at
idle + cnt * intvl (tcp.c, tcp_slowtmr and tcp_keepalive; 500 ms timer granularity): free
reason keepalive_expired, rst_sent true.
Checked with tshark on device.pcap against the scenario's own numbers."""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

lwipsim, scenario = sys.argv[1], sys.argv[2]
IDLE, INTVL, CNT, TICK = 10.0, 2.0, 3, 0.5  # tests/data/scenarios/tcp_keepalive.yaml
out = Path(tempfile.mkdtemp(prefix="lwipsim-keepalive-"))
subprocess.run([lwipsim, "run", scenario, "--out", str(out), "--no-plots", "--quiet"], check=True)
run = out / "base"


def device_tcp(display_filter):
    text = subprocess.run(
        ["tshark", "-r", str(run / "device.pcap"), "-Y", f"ip.src==10.0.2.15 && {display_filter}",
         "-T", "fields", "-e", "frame.time_relative"],
        check=True, capture_output=True, text=True).stdout
    return [float(t) for t in text.split()]


# Last activity before the blackhole: the last device segment before the probes start.
probes = device_tcp("tcp.analysis.keep_alive")
before = [t for t in device_tcp("tcp") if t < probes[0]] if probes else []
assert len(probes) == CNT, f"expected {CNT} keepalive probes, tshark saw {probes}"
last = before[-1]
for k, t in enumerate(probes):
    want = last + IDLE + k * INTVL
    assert abs(t - want) <= TICK, f"probe {k} at {t}, expected {want} (+-{TICK})"
rsts = device_tcp("tcp.flags.reset==1")
want_rst = last + IDLE + CNT * INTVL
assert rsts and abs(rsts[0] - want_rst) <= TICK, f"RST at {rsts}, expected {want_rst}"
summary = json.loads((run / "summary.json").read_text())
pcb = summary["pcbs"][0]
assert pcb["free_reason"] == "keepalive_expired" and pcb["rst_sent"] is True, pcb
assert abs(pcb["freed_at_s"] - rsts[0]) < 1e-6, pcb
print(f"keepalive: probes at {probes}, RST at {rsts[0]} (last activity {last})")
