"""After the broker has closed every connection, the rest of a blackholed run needs no broker
round trip (docs/design.md, "Lookahead").

The whole link blackholes at 30 s; the broker expires the silent client at 1.5 x 60 s keepalive
(broker.log says when) and closes its socket. slirp then holds that connection in CLOSE_WAIT,
retransmitting its FIN towards the unreachable device with backoff for many minutes, each
retransmission one of its 500 ms ticks. Nothing of that can reach the broker, whose end is
closed, and the device's reconnect attempts die in the blackhole. So a run of 10 minutes must
count exactly as many broker round trips (summary.json time.broker_deadlines: wakes at the
broker's own deadline) as one of 5 minutes. Before the rule, each of slirp's ticks ended the broker's grant: about two more
round trips per simulated second.
usage: broker_grant_check.py <lwipsim> <scenario>"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

lwipsim, scenario = sys.argv[1], sys.argv[2]


def run(duration):
    out = Path(tempfile.mkdtemp(prefix=f"lwipsim-broker-grant-{duration}-"))
    rc = subprocess.run([lwipsim, "run", scenario, "--out", str(out), "--no-plots", "--quiet",
                         "--set", f"duration={duration}"], check=False).returncode
    assert rc == 0, f"lwipsim run ({duration}) exited {rc}"
    return out / "base"


short, long_ = run("5min"), run("10min")
log = (short / "broker.log").read_text()
assert "Client grant has exceeded timeout, disconnecting." in log, \
    "the broker did not expire the client within 5 minutes:\n" + log
rounds = [json.loads((r / "summary.json").read_text())["time"]["broker_deadlines"]
          for r in (short, long_)]
assert rounds[0] > 0, "no broker round trip at all: the broker did not run on virtual time"
assert rounds[1] == rounds[0], \
    f"10 min took {rounds[1]} broker round trips, 5 min {rounds[0]}: something woke the " \
    "broker after it had closed the only connection"
print(f"broker round trips: {rounds[0]} in 5 min, {rounds[1]} in 10 min")
