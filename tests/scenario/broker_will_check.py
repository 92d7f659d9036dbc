"""The broker's own view joins the results (issue 13): keepalive expiry and the will, in
virtual time.

tests/data/scenarios/broker_will_expiry.yaml: the uplink blackholes from 20 s for 5 min on an
idle MQTT session with a 60 s keepalive and a will. Expected values, from mosquitto 2.0.11's
source and the capture, not from lwipsim:
- mosquitto drops a client when now_s - last_msg_in > keepalive * 3 / 2 = 90 s, checked only
  when last_keepalive_check + 5 < now_s (src/keepalive.c), i.e. on virtual seconds 0, 6, 12, ...
  (its monotonic clock under liblwipsim_vclock.so is 1000 s + virtual time, it wakes every
  100 ms): the drop comes in the second starting at the first multiple of 6 s where
  that second - floor(last packet in) > 90 s. last_msg_in is when it read the device's last
  whole MQTT packet: the last device segment with payload before the blackhole in wire.pcap
  (after the faults, read with tshark) plus the link latency.
- The will goes to every subscriber in the same pass (src/context.c context__send_will), so the
  harness's subscriber receives it at that same virtual instant, with the scenario's topic and
  payload.
- broker.log's own stamps (whole seconds; its first line is virtual 0) agree to the second.
Against an external broker (here one that is meant to be down) the broker's log is not the run's:
summary.json's broker counts are null, and the scenario's expectation on broker.clients_expired
fails as not measurable (exit 1), never as 0.
usage: broker_will_check.py <lwipsim> <scenario>"""
import datetime
import json
import math
import re
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from mosquitto_expiry import expected_expiry

lwipsim, scenario = sys.argv[1], sys.argv[2]
KEEPALIVE, LATENCY, BLACKHOLE_AT = 60.0, 0.010, 20.0  # broker_will_expiry.yaml
CLIENT, WILL_TOPIC, WILL_PAYLOAD = "will-device", "devices/will-device/status", "offline (will)"
out = Path(tempfile.mkdtemp(prefix="lwipsim-broker-will-"))
rc = subprocess.run([lwipsim, "run", scenario, "--out", str(out), "--no-plots", "--quiet"],
                    check=False).returncode
assert rc == 0, f"lwipsim run exited {rc}"
run = out / "base"
events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]

last_in, check = expected_expiry(run / "wire.pcap", BLACKHOLE_AT, LATENCY, KEEPALIVE)

expired = [e for e in events if e["type"] == "broker_client_disconnected"
           and e["client"] == CLIENT and e["reason"] == "keepalive_expired"]
assert len(expired) == 1, "expected one keepalive expiry of the device in events.jsonl, got " + \
    json.dumps([e for e in events if e["type"].startswith("broker_")])
dropped = expired[0]["t_s"]
assert dropped - last_in > 1.5 * KEEPALIVE and check <= dropped < check + 1, \
    f"broker dropped the client at {dropped} s virtual; last packet in at {last_in:.3f} s, " \
    f"so expected in [{check}, {check + 1}) s (mosquitto's check after 1.5 x {KEEPALIVE} s)"

wills = [e for e in events if e["type"] == "observer_message"]
assert len(wills) == 1, f"expected the will once at the subscriber before the run ended: {wills}"
will = wills[0]
assert will["topic"] == WILL_TOPIC and will.get("payload") == WILL_PAYLOAD, will
assert abs(will["t_s"] - dropped) < 1e-9, \
    f"the will reached the subscriber at {will['t_s']} s, the broker dropped the client " \
    f"at {dropped} s"

# broker.log agrees, to its whole-second stamps.
stamp = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d): (.*)$")
lines = [m.groups() for m in map(stamp.match, (run / "broker.log").read_text().splitlines()) if m]
t0 = datetime.datetime.fromisoformat(lines[0][0])
def seconds_of(text):
    return [(datetime.datetime.fromisoformat(t) - t0).total_seconds()
            for t, x in lines if x.startswith(text)]
assert seconds_of(f"Client {CLIENT} has exceeded timeout") == [math.floor(dropped)], \
    (seconds_of(f"Client {CLIENT} has exceeded timeout"), dropped)
assert math.floor(dropped) in seconds_of("Sending PUBLISH to lwipsim-observer"), \
    seconds_of("Sending PUBLISH to lwipsim-observer")

summary = json.loads((run / "summary.json").read_text())
assert summary["broker"]["clients_expired"] == 1, summary["broker"]
assert summary["expectations"][0]["passed"], summary["expectations"]
print(f"last packet in at {last_in:.3f} s; broker dropped '{CLIENT}' at {dropped:.3f} s "
      f"(+{dropped - last_in:.3f} s, mosquitto's check at {check} s); will at the subscriber at "
      f"{will['t_s']:.3f} s")

with socket.socket() as s:  # a port nothing listens on: bound, never listened, closed
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
ca = out / "ca.crt"
ca.write_text("not needed: no TLS connection can start\n")
external = f"broker={{mode: external, host: 127.0.0.1, port: {port}, ca_file: {ca}, " \
    "expect_reachable: false}"
rc = subprocess.run([lwipsim, "run", scenario, "--out", str(out / "external"), "--no-plots",
                     "--quiet", "--set", external, "--set", "duration=30s"],
                    check=False, capture_output=True).returncode
assert rc == 1, f"an expectation that cannot be measured must fail (exit 1), got {rc}"
summary = json.loads((out / "external" / "base" / "summary.json").read_text())
assert all(v is None for v in summary["broker"].values()), summary["broker"]
e = summary["expectations"][0]
assert e["measured"] is None and not e["passed"] and e["error"].startswith("not measurable"), e
print("external broker: broker.* null, the expectation not measurable")
