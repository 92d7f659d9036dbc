"""The broker's own view of a takeover (issue 13), in virtual time.

tests/data/scenarios/broker_will_takeover.yaml: the device's reconnect reaches the broker while
the broker still holds the old, half-open session. mosquitto 2.0.11 (src/handle_connect.c)
handles a CONNECT whose client id is already connected by logging "Client <id> already
connected, closing old connection.", publishing the old session's will and dropping it, all
while it handles that CONNECT. With the broker on virtual time it handles it at the instant the
bytes reach it: the new CONNECT's time on the wire (wire.pcap, decrypted by tshark with the
run's tls-keys.log) plus the link latency. So, independently of lwipsim's own records:
- events.jsonl has the old session's broker_client_disconnected (reason taken_over) and the new
  session's broker_client_connected at that instant (to 1 ms), and the device's first session
  was not expired;
- the harness's subscriber receives the will at that instant, with the scenario's payload;
- broker.log's whole-second stamps agree.
usage: broker_takeover_check.py <lwipsim> <scenario>"""
import datetime
import json
import math
import re
import subprocess
import sys
import tempfile
from pathlib import Path

lwipsim, scenario = sys.argv[1], sys.argv[2]
LATENCY, CLIENT, WILL_PAYLOAD = 0.010, "will-device", "offline (will)"
out = Path(tempfile.mkdtemp(prefix="lwipsim-broker-takeover-"))
rc = subprocess.run([lwipsim, "run", scenario, "--out", str(out), "--no-plots", "--quiet"],
                    check=False).returncode
assert rc == 0, f"lwipsim run exited {rc} (an expectation on broker.* failed?)"
run = out / "base"
events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
summary = json.loads((run / "summary.json").read_text())

# The device's CONNECTs on the wire (after the faults), decrypted.
port = summary["pcbs"][0]["remote_port"]
rows = subprocess.run(
    ["tshark", "-r", str(run / "wire.pcap"), "-o", f"tls.keylog_file:{run / 'tls-keys.log'}",
     "-d", f"tcp.port=={port},tls", "-d", f"tls.port=={port},mqtt",
     "-Y", "mqtt.msgtype == 1", "-T", "fields", "-e", "frame.time_epoch", "-e", "mqtt.clientid"],
    check=True, capture_output=True, text=True).stdout.split("\n")
connects = [float(r.split("\t")[0]) for r in rows if r.strip()]
assert len(connects) == 2, f"expected two CONNECTs through the link, tshark saw {rows}"
arrival = connects[1] + LATENCY

def broker_events(kind):
    return [e for e in events if e["type"] == kind and e["client"] == CLIENT]
taken = [e for e in broker_events("broker_client_disconnected")]
assert [e["reason"] for e in taken] == ["taken_over"], taken
assert abs(taken[0]["t_s"] - arrival) < 1e-3, \
    f"takeover at {taken[0]['t_s']} s, the new CONNECT reached the broker at {arrival:.4f} s"
connected = [e["t_s"] for e in broker_events("broker_client_connected")]
assert len(connected) == 2 and abs(connected[1] - arrival) < 1e-3, (connected, arrival)
assert abs(connected[0] - (connects[0] + LATENCY)) < 1e-3, (connected, connects)

wills = [e for e in events if e["type"] == "observer_message"]
assert len(wills) == 1 and wills[0].get("payload") == WILL_PAYLOAD, wills
assert abs(wills[0]["t_s"] - taken[0]["t_s"]) < 1e-9, (wills, taken)

stamp = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d): (.*)$")
lines = [m.groups() for m in map(stamp.match, (run / "broker.log").read_text().splitlines()) if m]
t0 = datetime.datetime.fromisoformat(lines[0][0])
logged = [(datetime.datetime.fromisoformat(t) - t0).total_seconds()
          for t, x in lines if x == f"Client {CLIENT} already connected, closing old connection."]
assert logged == [math.floor(arrival)], (logged, arrival)
print(f"new CONNECT reached the broker at {arrival:.3f} s; takeover and will at "
      f"{taken[0]['t_s']:.3f} s; broker.* {summary['broker']}")
