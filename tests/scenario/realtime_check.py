"""time.mode: realtime locks virtual time to the wall clock: a run cannot finish faster than the
time it simulates (a lower bound only, so a loaded machine cannot make it flaky), the TLS/MQTT
session still comes up against the real broker, and the summary says which mode ran."""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

lwipsim, scenario = sys.argv[1], sys.argv[2]
out = Path(tempfile.mkdtemp(prefix="lwipsim-realtime-"))
subprocess.run([lwipsim, "run", scenario, "--out", str(out), "--no-plots", "--quiet",
                "--set", "time.mode=realtime", "--set", "duration=8s"], check=True)
s = json.loads((out / "base" / "summary.json").read_text())
assert s["time"]["mode"] == "realtime", s["time"]
assert s["sim_time_s"] == 8.0, s["sim_time_s"]
assert s["wall_time_s"] >= s["sim_time_s"], (s["wall_time_s"], s["sim_time_s"])
assert s["app"]["tls_handshakes_ok"] == 1 and s["app"]["connects"] == 1, s["app"]
print(f"realtime: {s['sim_time_s']} s simulated in {s['wall_time_s']:.2f} s wall")
