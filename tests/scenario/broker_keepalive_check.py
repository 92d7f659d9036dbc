"""The managed broker on virtual time expires a silent client at 1.5 x keepalive (issue 13).

mosquitto 2.0 (src/keepalive.c, keepalive__check) looks at its clients only when
last_keepalive_check + 5 < now_s, i.e. every 6 s of its CLOCK_MONOTONIC seconds counted from
its first loop, and disconnects a client when now_s - last_msg_in > keepalive * 3 / 2, logging
"Client <id> has exceeded timeout, disconnecting.". Under liblwipsim_vclock.so its monotonic
clock is 1000 s + virtual time and it starts at virtual 0, so its checks fall on virtual
seconds 0, 6, 12, ... and the expiry comes at the first multiple of 6 s where
that second - floor(last packet in) > 90 s. last_msg_in is when it read the last whole MQTT
packet: the last device segment with payload that got through the uplink blackhole (wire.pcap,
after the faults, read with tshark) plus the link latency. broker.log's stamps are whole
seconds of the virtual wall clock (epoch = the run's real start); its first line is written at
virtual 0, so a line at virtual v reads floor(v) or floor(v) + 1 seconds after it. On the wall
clock the broker would not expire the client within the few seconds the run takes.
usage: broker_keepalive_check.py <lwipsim> <scenario> [broker_clock]"""
import datetime
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from mosquitto_expiry import expected_expiry

lwipsim, scenario = sys.argv[1], sys.argv[2]
extra = ["--set", f"time.broker_clock={sys.argv[3]}"] if len(sys.argv) > 3 else []
KEEPALIVE, LATENCY, BLACKHOLE_AT = 60.0, 0.010, 20.0  # broker_keepalive_expiry.yaml
out = Path(tempfile.mkdtemp(prefix="lwipsim-broker-expiry-"))
rc = subprocess.run([lwipsim, "run", scenario, "--out", str(out), "--no-plots", "--quiet"] + extra,
                    check=False).returncode
assert rc == 0, f"lwipsim run exited {rc}"
run = out / "base"

stamp = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d): (.*)$")
lines = [m.groups() for m in map(stamp.match, (run / "broker.log").read_text().splitlines()) if m]
t0 = datetime.datetime.fromisoformat(lines[0][0])
expired = [(datetime.datetime.fromisoformat(t) - t0).total_seconds()
           for t, text in lines if text == "Client expiry has exceeded timeout, disconnecting."]
assert expired, "broker.log has no keepalive expiry of client 'expiry':\n" + \
    "\n".join(f"{t} {x}" for t, x in lines)

last_in, check = expected_expiry(run / "wire.pcap", BLACKHOLE_AT, LATENCY, KEEPALIVE)
assert expired[0] in (check, check + 1), \
    f"broker expired the client at virtual ~{expired[0]} s, expected {check} s (its check " \
    f"after last packet in at {last_in:.3f} s + 90 s)"
print(f"broker expired the client at ~{expired[0]} s virtual (check at {check} s); "
      f"last packet in at {last_in:.3f} s")
