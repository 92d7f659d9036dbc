"""A reset is an instant: it kills the connections that exist then, and nothing else.

tests/data/scenarios/reset_instant.yaml resets at 30 s and again 10 s after the second MQTT
connect. Each reset must end the session alive at that instant, the next connection must work,
and each recorded window must be that instant alone ([t, t], not until the end of the run)."""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

lwipsim, scenario = sys.argv[1], sys.argv[2]
out = Path(tempfile.mkdtemp(prefix="lwipsim-reset-"))
subprocess.run([lwipsim, "run", scenario, "--out", str(out), "--no-plots", "--quiet"], check=True)
run = out / "base"
events = [json.loads(line) for line in (run / "events.jsonl").open()]
summary = json.loads((run / "summary.json").read_text())

connected = [e["t_s"] for e in events if e["type"] == "mqtt_connected"]
lost = [e for e in events if e["type"] == "mqtt_disconnected"]
failed = [e for e in events if e["type"] in ("connect_failed", "mqtt_connect_failed")]
second_reset = connected[1] + 10.0 if len(connected) > 1 else None  # trigger: count 2, delay 10s
# Three sessions: before 30 s, from 35 s (reconnect_delay 5s) and after the second reset.
assert len(connected) == 3, f"expected 3 sessions, got connects at {connected}"
assert not failed, f"a connection after a reset failed: {failed}"
assert len(lost) == 2, lost
# The application learns of the RST at its next read: within its 1 s poll.
assert 30.0 <= lost[0]["t_s"] < 31.0, lost[0]
assert second_reset <= lost[1]["t_s"] < second_reset + 1.0, (lost[1], second_reset)
assert connected[1] >= lost[0]["t_s"] + 5.0 and connected[2] >= lost[1]["t_s"] + 5.0, connected

windows = {f["name"]: f["windows"] for f in summary["faults"]}
assert windows["at_30s"] == [[30.0, 30.0]], windows
assert windows["after_second_connect"] == [[second_reset, second_reset]], windows
# RSTs come only at the two instants (or answer the device's own frames on a reset flow then).
injected = [e["t_s"] for e in events if e["type"] == "frame_injected"]
assert injected and all(30.0 <= t < 31.0 or second_reset <= t < second_reset + 1.0
                        for t in injected), injected
print(f"resets at 30 s and {second_reset:.3f} s; sessions at {connected}; "
      f"{len(injected)} injected RSTs")
