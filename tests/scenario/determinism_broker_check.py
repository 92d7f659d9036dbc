"""Same scenario and seed twice with the managed broker on virtual time: byte-identical results,
the broker's side included (issue 13, "Deterministic broker").

Two runs of the scenario, each into its own folder, then per variant:
  * device.pcap, wire.pcap, events.jsonl, pcbs.csv, timeseries.csv and broker.log are
    byte-identical;
  * summary.json is identical once the wall-time fields are removed (WALL_TIME_FIELDS, the list
    in docs/results.md, "Repeatability"); each of them must exist, so a renamed field fails here
    instead of being compared by accident;
  * the comparison is not vacuous: the broker ran on virtual time, the device reached it as
    10.0.2.2:8883 (the fixed address of docs/design.md, not the host's port), and broker.log
    names the device's simulated address and the PCB's port as the broker's peer.
run.log is not compared: it names the broker's host port and the wall time on purpose."""
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

lwipsim, scenario = sys.argv[1], sys.argv[2]
IDENTICAL = ["device.pcap", "wire.pcap", "events.jsonl", "pcbs.csv", "timeseries.csv",
             "broker.log"]
# Fields that measure the host, not the simulation (docs/results.md).
WALL_TIME_FIELDS = [("wall_time_s",), ("time", "host_wait_s")]
BROKER_PORT = 8883
DEVICE_IP = "10.0.2.15"
out = Path(tempfile.mkdtemp(prefix="lwipsim-determinism-broker-"))
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)
    return ok


def run(name):
    r = subprocess.run([lwipsim, "run", scenario, "--out", str(out / name), "--no-plots",
                        "--quiet", "--set", "time.broker_clock=virtual"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"lwipsim run exited {r.returncode}: {r.stderr}")
    return sorted(p.name for p in (out / name).iterdir() if p.is_dir())


def without_wall_time(summary, where):
    for path in WALL_TIME_FIELDS:
        node = summary
        for key in path[:-1]:
            node = node[key]
        check(path[-1] in node, f"{where}: summary.json has wall-time field {'.'.join(path)}")
        node.pop(path[-1], None)
    return summary


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"first difference at byte {i}"
    return f"sizes {len(a)} and {len(b)}"


def syn_destinations(pcap):
    r = subprocess.run(["tshark", "-r", str(pcap), "-Y", "tcp.flags.syn==1 && tcp.flags.ack==0",
                        "-T", "fields", "-e", "ip.dst", "-e", "tcp.dstport"],
                       capture_output=True, text=True, check=True)
    return {tuple(line.split("\t")) for line in r.stdout.splitlines() if line}


variants = run("a")
check(variants == run("b") and variants, f"both runs made the variants {variants}")
for v in variants:
    a, b = out / "a" / v, out / "b" / v
    for name in IDENTICAL:
        da, db = (a / name).read_bytes(), (b / name).read_bytes()
        check(da == db, f"{v}/{name} identical ({len(da)} bytes)" if da == db else
              f"{v}/{name} differs: {first_difference(da, db)}")
    sa = without_wall_time(json.loads((a / "summary.json").read_text()), f"{v} run a")
    sb = without_wall_time(json.loads((b / "summary.json").read_text()), f"{v} run b")
    check(sa == sb, f"{v}/summary.json identical but for {WALL_TIME_FIELDS}")

    # Not vacuous: what the runs were.
    check(sa["time"]["broker_clock"] == "virtual", f"{v}: the broker ran on virtual time")
    check(syn_destinations(a / "device.pcap") == {("10.0.2.2", str(BROKER_PORT))},
          f"{v}: every device SYN went to 10.0.2.2:{BROKER_PORT}")
    log = (a / "broker.log").read_text()
    peers = re.findall(r"New connection from ([\d.]+):(\d+) on port (\d+)\.", log)
    pcb_ports = {str(p["local_port"]) for p in sa["pcbs"] if p.get("remote_port") == BROKER_PORT}
    check(bool(peers) and all(ip == DEVICE_IP and port == str(BROKER_PORT) for ip, _, port in
                              peers) and {p for _, p, _ in peers} <= pcb_ports,
          f"{v}: broker.log names the device {DEVICE_IP} and its PCBs' ports {sorted(pcb_ports)} "
          f"as peers on port {BROKER_PORT}: {peers}")

print(f"results in {out}")
sys.exit(1 if failures else 0)
