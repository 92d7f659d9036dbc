#!/usr/bin/env python3
"""Issue 3, TAP end to end: `lwipsim run` with link.kind tap drives the device through a TAP
into a network namespace lwipsim creates, where the managed broker runs; checked with peer
tools (tshark, ip, /proc, mosquitto's own log).

    tap_run.py <lwipsim> <scenario dir> <work dir> run|no_privilege|cleanup_on_failure

Exit 77 (CTest SKIP_RETURN_CODE) with the reason when this machine cannot do TAP (not root, no
/dev/net/tun, no `ip`).

run — tests/data/scenarios/tap_blackhole.yaml. Expected values and why:
  * exit code 0: the scenario's own expectations (one session, retransmissions) hold.
  * mosquitto's broker.log says the client connected from 10.0.3.15 (the device address the
    runner gives the netif in TAP mode). The host itself has no 10.0.3.1 (checked with `ip`), so
    a broker bound to 10.0.3.1 that the device reached can only have run inside the namespace.
  * wire.pcap (tshark): the TCP handshake 10.0.3.15 -> 10.0.3.1 and back; a TLS ClientHello from
    the device, a ServerHello from 10.0.3.1; with tls-keys.log, MQTT CONNECT (client id of the
    scenario) from the device and CONNACK from 10.0.3.1, PUBLISH to the scenario's topic.
  * blackhole [40, 70) s, both directions: wire.pcap has no frame inside it, while device.pcap
    shows the device sending inside it (so the first check is not vacuous).
  * After the run: the namespace the run names is not in `ip netns list`, the broker pid no
    longer exists (or is another program), and no process runs with the run's mosquitto.conf.

no_privilege — the same scenario run as user nobody (setpriv): creating a namespace needs
CAP_SYS_ADMIN, so lwipsim must stop with exit code 3 (environment) and say why. The scenario
and output folder live in a temporary folder that user nobody can use, so the result does not
depend on where the checkout lives or its permissions (issue 11).

cleanup_on_failure — PATH holds `ip` but no mosquitto: the namespace is made, then the broker
cannot start (exit 3); the namespace must be deleted all the same. lwipsim names its namespaces
lwipsim-<pid>-<n>; after the run no such namespace of a process that no longer exists may have
appeared.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_common as e2e  # noqa: E402

SKIP = 77
DEVICE_IP, HOST_IP = "10.0.3.15", "10.0.3.1"
WINDOW = (40.0, 70.0)  # fault `hole`: at 40s for 30s
CLIENT_ID, TOPIC = "tap-blackhole", "tap/blackhole"
CONNECT, CONNACK, PUBLISH = 1, 2, 3
SCENARIO = "tap_blackhole.yaml"
NS_NAME = re.compile(r"^lwipsim-(\d+)-(\d+)$")


def skip_unless_tap_possible():
    reasons = []
    if os.geteuid() != 0:
        reasons.append("not root (TAP needs CAP_NET_ADMIN and CAP_SYS_ADMIN)")
    if not os.path.exists("/dev/net/tun"):
        reasons.append("no /dev/net/tun")
    if shutil.which("ip") is None:
        reasons.append("no `ip` (iproute2)")
    if reasons:
        print("SKIPPED: " + "; ".join(reasons), flush=True)
        sys.exit(SKIP)


def netns_names():
    out = subprocess.run(["ip", "netns", "list"], stdout=subprocess.PIPE, text=True,
                         check=True, timeout=30).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def pids_with_arg(arg):
    """Live processes whose command line contains `arg`."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if arg.encode() in argv:
            found.append(int(d))
    return found


def host_has_address(ip):
    out = subprocess.run(["ip", "-4", "-o", "addr", "show"], stdout=subprocess.PIPE, text=True,
                         check=True, timeout=30).stdout
    return any(f" {ip}/" in line for line in out.splitlines())


def mqtt_packets(pcap, port, keylog):
    opts = ["-o", f"tls.keylog_file:{keylog}", "-d", f"tcp.port=={port},tls",
            "-d", f"tls.port=={port},mqtt"]
    rows = e2e.tshark(pcap, ["ip.src", "mqtt.msgtype", "mqtt.clientid", "mqtt.topic"], "mqtt",
                      opts, occurrence="a")
    out = []
    for src, types, clientid, topics in rows:
        for t in types.split("|"):
            out.append((src, int(t), clientid, topics))
    return out


def check_run(lwipsim, scen_dir, work):
    e2e.need_tools("tshark")
    c = e2e.Checks("tap_run")
    c.check(not host_has_address(HOST_IP), f"the host itself has no {HOST_IP}")
    out = os.path.join(work, "run")
    with NetnsMonitor() as mon:
        rc = e2e.run_lwipsim(lwipsim, os.path.join(scen_dir, SCENARIO), out)
    c.check(rc == 0, f"lwipsim exit code 0 (got {rc})")
    res = os.path.join(out, "base")
    summary = e2e.load_summary(res)
    link = summary.get("link", {})
    netns, broker_pid = link.get("netns", ""), link.get("broker_pid", -1)
    c.check(NS_NAME.match(netns) is not None, f"the run names its namespace: '{netns}'")

    with open(os.path.join(res, "broker.log"), encoding="utf-8", errors="replace") as f:
        broker_log = f.read()
    c.check(f"New client connected from {DEVICE_IP}:" in broker_log
            and f"as {CLIENT_ID} " in broker_log,
            f"broker.log: mosquitto saw {CLIENT_ID} connect from {DEVICE_IP}")

    # The broker in the namespace runs under liblwipsim_vclock.so too: its clock is the run's
    # virtual time. The scenario publishes every 5 s over 100 s (the blackhole holds some back),
    # so the broker's own stamps of the PUBLISHes span more than a minute; the whole run takes
    # well under that on the wall clock, which a broker on real time would have stamped.
    c.check(summary.get("time", {}).get("broker_clock") == "virtual",
            "summary.json time.broker_clock: virtual (the broker in the namespace)")
    stamps = [time.mktime(time.strptime(line[:19], "%Y-%m-%dT%H:%M:%S"))
              for line in broker_log.splitlines() if "Received PUBLISH from" in line]
    span = stamps[-1] - stamps[0] if stamps else 0
    c.check(span >= 60, f"broker.log: the PUBLISH stamps span {span:.0f} s of the broker's "
                        "clock (>= 60 s of virtual time)")

    wire = os.path.join(res, "wire.pcap")
    syn = e2e.frames(wire, f"ip.src=={DEVICE_IP} && ip.dst=={HOST_IP} && "
                           "tcp.flags.syn==1 && tcp.flags.ack==0")
    if not c.check(len(syn) == 1, f"wire.pcap: one SYN {DEVICE_IP} -> {HOST_IP} ({len(syn)})"):
        c.finish()
    port = syn[0]["dport"]
    synack = e2e.frames(wire, f"ip.src=={HOST_IP} && ip.dst=={DEVICE_IP} && tcp.srcport=={port}"
                              " && tcp.flags.syn==1 && tcp.flags.ack==1")
    c.check(len(synack) == 1, f"wire.pcap: SYN-ACK from {HOST_IP}:{port} ({len(synack)})")
    hello = e2e.tshark(wire, ["ip.src", "tls.handshake.type"], "tls.handshake",
                       ["-d", f"tcp.port=={port},tls"], occurrence="a")
    types = {(src, t) for src, ts in hello for t in ts.split("|")}
    c.check((DEVICE_IP, "1") in types, f"wire.pcap: TLS ClientHello from {DEVICE_IP}")
    c.check((HOST_IP, "2") in types, f"wire.pcap: TLS ServerHello from {HOST_IP}")
    mq = mqtt_packets(wire, port, os.path.join(res, "tls-keys.log"))
    c.check(any(p[0] == DEVICE_IP and p[1] == CONNECT and p[2] == CLIENT_ID for p in mq),
            f"wire.pcap (decrypted): CONNECT {CLIENT_ID} from {DEVICE_IP}")
    c.check(any(p[0] == HOST_IP and p[1] == CONNACK for p in mq),
            f"wire.pcap (decrypted): CONNACK from {HOST_IP}")
    c.check(any(p[0] == DEVICE_IP and p[1] == PUBLISH and TOPIC in p[3].split("|") for p in mq),
            f"wire.pcap (decrypted): PUBLISH to {TOPIC}")

    s, e = WINDOW
    wire_all = e2e.frames(wire)
    inside = [f for f in wire_all if s <= f["t"] < e]
    c.check(not inside, f"wire.pcap: no frame inside the blackhole [{s}, {e}): {len(inside)}")
    c.check(any(f["src"] == DEVICE_IP and f["t"] >= e for f in wire_all),
            "wire.pcap: device frames cross again after the blackhole")
    dev_in = [f for f in e2e.frames(os.path.join(res, "device.pcap"))
              if f["src"] == DEVICE_IP and s <= f["t"] < e]
    c.check(len(dev_in) > 0, f"device.pcap: the device sends inside the blackhole ({len(dev_in)})")

    c.check(netns in mon.added and netns in mon.deleted,
            f"ip netns monitor saw {netns} added and deleted during the run")
    c.check(netns not in netns_names(), f"`ip netns list` no longer shows {netns}")
    gone = True
    if isinstance(broker_pid, int) and broker_pid > 0:
        try:
            with open(f"/proc/{broker_pid}/cmdline", "rb") as f:
                gone = b"mosquitto" not in f.read()
        except OSError:
            gone = True
    c.check(isinstance(broker_pid, int) and broker_pid > 0 and gone,
            f"broker pid {broker_pid} is gone")
    conf = os.path.join(os.path.abspath(res), "mosquitto.conf")
    conf_partial = os.path.join(os.path.abspath(out), "base.partial", "mosquitto.conf")
    c.check(not pids_with_arg(conf) and not pids_with_arg(conf_partial),
            "no process runs with this run's mosquitto.conf")
    c.finish()


class NetnsMonitor:
    """`ip netns monitor` (iproute2's own watch on /run/netns) while the block runs: every
    namespace added and deleted, as the kernel's filesystem saw it."""

    def __enter__(self):
        self.proc = subprocess.Popen(["stdbuf", "-oL", "ip", "netns", "monitor"],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        # Ready once its inotify watch exists (fdinfo lists it): no event can be missed then.
        for _ in range(500):
            if self._watching() or self.proc.poll() is not None:
                break
            time.sleep(0.01)
        if not self._watching():
            raise RuntimeError("ip netns monitor did not start watching")
        return self

    def _watching(self):
        fd_dir = f"/proc/{self.proc.pid}/fdinfo"
        try:
            for fd in os.listdir(fd_dir):
                with open(os.path.join(fd_dir, fd), encoding="ascii", errors="replace") as f:
                    if "inotify wd:" in f.read():
                        return True
        except OSError:
            pass
        return False

    def __exit__(self, *exc):
        if self.proc.pid > 0 and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        out = self.proc.communicate(timeout=30)[0]
        self.added, self.deleted = [], []
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] in ("add", "delete"):
                (self.added if parts[0] == "add" else self.deleted).append(parts[1])
        return False

    def ours(self):
        """lwipsim namespaces added whose creating process is gone (so not another live run)."""
        return [n for n in self.added
                if NS_NAME.match(n) and not os.path.exists(f"/proc/{NS_NAME.match(n).group(1)}")]


def copy_executables(lwipsim, bindir):
    """lwipsim with its siblings and the broker's clock library, in a folder all can read."""
    os.mkdir(bindir)
    os.chmod(bindir, 0o755)
    src = os.path.dirname(os.path.abspath(lwipsim))
    for name in os.listdir(src):
        if name.startswith("lwipsim") or name == "liblwipsim_vclock.so":
            shutil.copy(os.path.join(src, name), bindir)
            os.chmod(os.path.join(bindir, name), 0o755)
    return os.path.join(bindir, os.path.basename(lwipsim))


def check_no_privilege(lwipsim, scen_dir, work):
    c = e2e.Checks("tap_no_privilege")
    if shutil.which("setpriv") is None:
        print("SKIPPED: no setpriv (util-linux)", flush=True)
        sys.exit(SKIP)
    # nobody must reach the scenario, the output folder and the executables whatever the
    # checkout's own permissions (a clone under /root is 0700): all go to a folder of their own
    # in the system's temporary directory, readable by all, the output folder writable by all.
    # The executables too: the CLI execs its sibling lwipsim-ilp32 (the 32-bit device), which
    # nobody could not reach inside the checkout.
    top = tempfile.mkdtemp(prefix="tap-nopriv-")
    try:
        os.chmod(top, 0o755)
        lwipsim = copy_executables(lwipsim, os.path.join(top, "bin"))
        scenario = os.path.join(top, SCENARIO)
        shutil.copy(os.path.join(scen_dir, SCENARIO), scenario)
        os.chmod(scenario, 0o644)
        out = os.path.join(top, "out")
        os.mkdir(out)
        os.chmod(out, 0o777)
        cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
               "--inh-caps=-all", lwipsim, "run", scenario, "--out", os.path.join(out, "r"),
               "--no-plots"]
        print("$ " + " ".join(cmd), flush=True)
        with NetnsMonitor() as mon:
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, timeout=120, cwd=top)
        print(proc.stdout, flush=True)
    finally:
        shutil.rmtree(top, ignore_errors=True)
    if proc.returncode == 126 or ("Permission denied" in proc.stdout
                                  and "lwipsim:" not in proc.stdout):
        print("SKIPPED: user nobody cannot execute the build's lwipsim", flush=True)
        sys.exit(SKIP)
    c.check(proc.returncode == 3, f"exit code 3, environment (got {proc.returncode})")
    c.check("environment" in proc.stdout and "root" in proc.stdout,
            "the message says it is the environment and that TAP needs root")
    c.check(not mon.ours(), f"no namespace was created: {mon.ours()}")
    c.finish()


def check_cleanup_on_failure(lwipsim, scen_dir, work):
    c = e2e.Checks("tap_cleanup_on_failure")
    os.makedirs(work, exist_ok=True)
    bindir = os.path.abspath(tempfile.mkdtemp(prefix="tap-path-", dir=work))
    os.symlink(shutil.which("ip"), os.path.join(bindir, "ip"))
    env = dict(os.environ, PATH=bindir)
    cmd = [lwipsim, "run", os.path.join(scen_dir, SCENARIO), "--out",
           os.path.join(work, "fail"), "--no-plots"]
    print(f"$ PATH={bindir} " + " ".join(cmd), flush=True)
    with NetnsMonitor() as mon:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=120, env=env)
    print(proc.stdout, flush=True)
    c.check(proc.returncode == 3, f"exit code 3, environment (got {proc.returncode})")
    c.check("mosquitto" in proc.stdout, "the message names the missing mosquitto")
    made = mon.ours()
    c.check(len(made) >= 1, f"ip netns monitor saw lwipsim create a namespace: {made}")
    leaked = [n for n in made if n not in mon.deleted or n in netns_names()]
    c.check(not leaked, f"ip netns monitor saw it deleted again: leaked {leaked}")
    c.finish()


def main():
    lwipsim, scen_dir, work, what = sys.argv[1:5]
    skip_unless_tap_possible()
    {"run": check_run, "no_privilege": check_no_privilege,
     "cleanup_on_failure": check_cleanup_on_failure}[what](lwipsim, scen_dir, work)


if __name__ == "__main__":
    main()
