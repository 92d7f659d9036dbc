"""An event-triggered fault starts `delay` after the Nth event, and the wire shows it.

Runs lwipsim on tests/data/scenarios/trigger_app_close.yaml and checks, independently of the
runner's own bookkeeping, that no device frame crossed the wire inside the triggered window
(tshark on wire.pcap) while the device kept sending (device.pcap)."""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

lwipsim, scenario = sys.argv[1], sys.argv[2]
out = Path(tempfile.mkdtemp(prefix="lwipsim-triggers-"))
subprocess.run([lwipsim, "run", scenario, "--out", str(out), "--no-plots", "--quiet"], check=True)
run = out / "base"
events = [json.loads(line) for line in (run / "events.jsonl").open()]

first_close = next(e for e in events if e["type"] == "app_close")
triggered = next(e for e in events if e["type"] == "fault_triggered")
start = first_close["t_s"] + 2.0  # trigger: app_close, count 1, delay 2s
assert triggered["fault"] == "after_close"
assert abs(triggered["starts_at_s"] - start) < 1e-9, (triggered, start)
end = start + 10.0  # for: 10s


def device_frames(pcap):
    text = subprocess.run(
        ["tshark", "-r", str(pcap), "-Y", "ip.src==10.0.2.15", "-T", "fields",
         "-e", "frame.time_relative"], check=True, capture_output=True, text=True).stdout
    return [float(t) for t in text.split()]


# Both captures start at virtual time 0 (the first frame is at t=0 in this scenario).
sent = [t for t in device_frames(run / "device.pcap") if start <= t < end]
crossed = [t for t in device_frames(run / "wire.pcap") if start <= t < end]
assert sent, "the device sent nothing during the triggered window; the test proves nothing"
assert not crossed, f"device frames crossed the wire inside the window: {crossed}"
summary = json.loads((run / "summary.json").read_text())
fired = [f for f in summary["faults"] if f["name"] == "after_close"]
assert fired and fired[0]["windows"] == [[start, end]], fired
print(f"triggered window [{start:.3f}, {end:.3f}) s: {len(sent)} device frames, none on the wire")
