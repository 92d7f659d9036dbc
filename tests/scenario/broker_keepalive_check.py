"""The managed broker on virtual time expires a silent client at 1.5 x keepalive (issue 13).

mosquitto 2.0 (src/loop.c) disconnects a client when now_s - last_msg_in > keepalive * 3 / 2,
in whole seconds of its clock, and logs "Client <id> has exceeded timeout, disconnecting.".
last_msg_in is when it last read a whole MQTT packet: here the last device segment carrying
payload that got through the uplink blackhole (wire.pcap, after the faults, checked with
tshark), plus the link latency. broker.log's timestamps (whole seconds, virtual epoch = the
run's real start) are turned into virtual time from its first line, written at virtual 0.
usage: broker_keepalive_check.py <lwipsim> <scenario> [broker_clock]"""
import datetime
import re
import subprocess
import sys
import tempfile
from pathlib import Path

lwipsim, scenario = sys.argv[1], sys.argv[2]
extra = ["--set", f"time.broker_clock={sys.argv[3]}"] if len(sys.argv) > 3 else []
KEEPALIVE, LATENCY, BLACKHOLE_AT = 60.0, 0.010, 20.0  # broker_keepalive_expiry.yaml
out = Path(tempfile.mkdtemp(prefix="lwipsim-broker-expiry-"))
subprocess.run([lwipsim, "run", scenario, "--out", str(out), "--no-plots", "--quiet"] + extra,
               check=False)
run = out / "base"

stamp = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d): (.*)$")
lines = [m.groups() for m in map(stamp.match, (run / "broker.log").read_text().splitlines()) if m]
t0 = datetime.datetime.fromisoformat(lines[0][0])
expired = [(datetime.datetime.fromisoformat(t) - t0).total_seconds()
           for t, text in lines if text == "Client expiry has exceeded timeout, disconnecting."]
assert expired, "broker.log has no keepalive expiry of client 'expiry':\n" + \
    "\n".join(f"{t} {x}" for t, x in lines)

uplink = subprocess.run(
    ["tshark", "-r", str(run / "wire.pcap"), "-Y", "ip.src==10.0.2.15 && tcp.len>0",
     "-T", "fields", "-e", "frame.time_epoch"],
    check=True, capture_output=True, text=True).stdout.split()
last_in = max(float(t) for t in uplink if float(t) < BLACKHOLE_AT) + LATENCY
# Both ends are whole seconds of the broker's clock: the log line may read up to 1 s early
# (its first line is truncated too) and the check runs once the whole second has passed.
want = last_in + 1.5 * KEEPALIVE
assert want - 1.0 <= expired[0] <= want + 2.0, \
    f"broker expired the client at virtual ~{expired[0]} s, expected {want} s (-1/+2 s)"
print(f"broker expired the client at ~{expired[0]} s virtual; last packet in at {last_in:.3f} s")
