"""A device program's lwipsim_event as a fault trigger (issue 15, docs/scenarios.md `trigger`).

tests/data/scenarios/program_event_trigger.yaml runs examples/tls_ping (a round every 30 s) with a
45 s blackhole triggered by the program's third "connack" event. Expected from the schedule, not
from lwipsim's output: the fault starts at the very instant of the third connack event (the
round at 60 s); the round at 90 s falls inside the blackhole and fails after network_timeout
(10 s), at 100 s; the rounds at 0, 30, 60, 120 and 150 s get their CONNACK. A program_event
trigger without a name is a scenario error with its position (exit 2), and so is the file alone
(no app.program, so no program events).
usage: program_trigger_check.py <lwipsim> <scenario> <tls_ping.so>"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

lwipsim, scenario, tls_ping = sys.argv[1:4]
work = Path(tempfile.mkdtemp(prefix="lwipsim-program-trigger-"))
r = subprocess.run([lwipsim, "run", scenario, "--out", str(work / "out"), "--no-plots", "--quiet",
                    "--set", f"app.program={tls_ping}", "--set", "app.args.rounds=6",
                    "--set", "app.args.interval_s=30"],
                   capture_output=True, text=True, timeout=240)
assert r.returncode == 0, (r.returncode, r.stderr)
run = work / "out" / "base"
events = [json.loads(line) for line in (run / "events.jsonl").open()]
connacks = [e["t_s"] for e in events if e["type"] == "program_event" and e["name"] == "connack"]
failed = [e["t_s"] for e in events
          if e["type"] == "program_event" and e["name"] == "connect_failed"]
triggered = [e for e in events if e["type"] == "fault_triggered"]
assert [round(t) for t in connacks] == [0, 30, 60, 120, 150], connacks
assert [round(t) for t in failed] == [100], failed
assert len(triggered) == 1 and triggered[0]["fault"] == "after_third_connack", triggered
assert triggered[0]["t_s"] == connacks[2] and triggered[0]["starts_at_s"] == connacks[2], \
    (triggered, connacks)
summary = json.loads((run / "summary.json").read_text())
windows = [f["windows"] for f in summary["faults"] if f["name"] == "after_third_connack"]
assert windows == [[[connacks[2], connacks[2] + 45.0]]], windows

bad = work / "bad.yaml"
bad.write_text(Path(scenario).read_text().replace("name: connack, ", ""))
r = subprocess.run([lwipsim, "validate", str(bad)], capture_output=True, text=True, timeout=60)
line = next(i for i, l in enumerate(bad.read_text().splitlines(), 1) if "program_event" in l)
assert r.returncode == 2 and f"bad.yaml:{line}:" in r.stderr and "'name'" in r.stderr, \
    (r.returncode, r.stderr)
print("program_event trigger: fault at", connacks[2], "s; bad trigger refused:",
      r.stderr.strip().splitlines()[0])
# Without app.program nothing makes program events: the file alone is refused at the event.
r = subprocess.run([lwipsim, "validate", scenario], capture_output=True, text=True, timeout=60)
line = next(i for i, l in enumerate(Path(scenario).read_text().splitlines(), 1)
            if "event: program_event" in l)
assert r.returncode == 2 and f"program_event_trigger.yaml:{line}:" in r.stderr \
    and "without app.program" in r.stderr, (r.returncode, r.stderr)
print("without app.program:", r.stderr.strip().splitlines()[0])
