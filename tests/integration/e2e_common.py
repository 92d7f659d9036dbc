"""Shared helpers of the end-to-end tests (tests/integration/e2e_*.py): run `lwipsim run`, read
its result folder, ask tshark about the captures, and collect failed checks.

The tests compare lwipsim's records with what peer tools (tshark, mosquitto clients) see; the
expected values come from the scenario, from lwIP's and esp-mqtt's rules, or from the peer tool,
never from lwipsim's own output alone. Standard library only.
"""

import json
import os
import shutil
import subprocess
import sys

DEVICE_IP = "10.0.2.15"  # the device's address inside slirp (virtual, never on the host)
GATEWAY_IP = "10.0.2.2"  # slirp's gateway: the host's loopback as the device sees it
EPS = 1e-6  # virtual times are exact; pcap timestamps carry microseconds


class Checks:
    """Collects failed assertions so one run reports every mismatch, then exits non-zero."""

    def __init__(self, name):
        self.name = name
        self.failures = []
        self.passed = 0

    def check(self, cond, what):
        if cond:
            self.passed += 1
            print(f"  ok   {what}")
        else:
            self.failures.append(what)
            print(f"  FAIL {what}")
        return cond

    def finish(self):
        print(f"{self.name}: {self.passed} checks passed, {len(self.failures)} failed")
        sys.exit(1 if self.failures else 0)


def need_tools(*tools):
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        print(f"missing tools: {' '.join(missing)} (install the Debian packages in "
              "scripts/packages.txt)", file=sys.stderr)
        sys.exit(3)


def run_lwipsim(lwipsim, scenario, out, *args, timeout=120):
    """Runs `lwipsim run <scenario> --out <out> --no-plots [args]` and returns the exit code."""
    if os.path.exists(out):
        shutil.rmtree(out)
    cmd = [lwipsim, "run", scenario, "--out", out, "--no-plots", *args]
    print("$ " + " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, timeout=timeout, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    print(proc.stdout, flush=True)
    return proc.returncode


def collect(proc, timeout=30):
    """Waits for a client process we started (e.g. mosquitto_sub -C N) and returns its
    (stdout, stderr); kills it (by its PID) if it is still running after `timeout` seconds."""
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()


def load_summary(folder):
    with open(os.path.join(folder, "summary.json"), encoding="utf-8") as f:
        return json.load(f)


def load_events(folder):
    with open(os.path.join(folder, "events.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def tshark(pcap, fields, display_filter=None, options=(), occurrence="f"):
    """Rows of `tshark -T fields`, one list of strings per frame (empty string = absent).
    occurrence "f": a field's first value per frame; "a": all, joined with '|'."""
    cmd = ["tshark", "-n", "-r", pcap, *options, "-T", "fields", "-E", "separator=\t",
           "-E", f"occurrence={occurrence}", "-E", "aggregator=|"]
    for f in fields:
        cmd += ["-e", f]
    if display_filter:
        cmd += ["-Y", display_filter]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=60)
    if proc.returncode != 0:
        raise RuntimeError(f"tshark failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")
    rows = []
    for line in proc.stdout.splitlines():
        row = line.split("\t")
        row += [""] * (len(fields) - len(row))
        rows.append(row)
    return rows


def frames(pcap, display_filter=None, options=()):
    """Frames as dicts: t (virtual seconds), src, sport, dport, seq, len, ack, flags, nxtseq,
    rexmit (tshark's tcp.analysis.retransmission)."""
    fields = ["frame.time_epoch", "ip.src", "tcp.srcport", "tcp.dstport", "tcp.seq", "tcp.len",
              "tcp.ack", "tcp.flags", "tcp.nxtseq", "tcp.analysis.retransmission"]
    out = []
    for r in tshark(pcap, fields, display_filter, options):
        out.append({
            "t": float(r[0]),
            "src": r[1],
            "sport": int(r[2]) if r[2] else None,
            "dport": int(r[3]) if r[3] else None,
            "seq": int(r[4]) if r[4] else None,
            "len": int(r[5]) if r[5] else 0,
            "ack": int(r[6]) if r[6] else None,
            "flags": int(r[7], 16) if r[7] else 0,
            "nxtseq": int(r[8]) if r[8] else None,
            "rexmit": r[9] != "",
        })
    return out


TCP_FIN, TCP_SYN, TCP_RST = 0x01, 0x02, 0x04


def pcb_for_port(summary, local_port, closed_at=None):
    """The PCB record bound to `local_port` (the one closed at `closed_at` if given)."""
    for p in summary["pcbs"]:
        if p["local_port"] != local_port:
            continue
        if closed_at is None or (p["closed_at_s"] is not None
                                 and abs(p["closed_at_s"] - closed_at) < EPS):
            return p
    return None
