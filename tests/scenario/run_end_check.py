"""A run stops at its duration; what is in progress then is cut, not counted as a failure.

tests/data/scenarios/run_end_cut.yaml (15 s, broker blackholed): the first connect times out at
network_timeout = 10 s, the second starts at 10 + 2 s and is still waiting at 15 s. Also checks
that app.max_reconnect_s is null (the device never had a session) and that an expectation on it
fails as not measurable (exit 1)."""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

lwipsim, scenario = sys.argv[1], sys.argv[2]
out = Path(tempfile.mkdtemp(prefix="lwipsim-run-end-"))
r = subprocess.run([lwipsim, "run", scenario, "--out", str(out), "--no-plots", "--quiet"])
assert r.returncode == 1, f"exit {r.returncode}: the not-measurable expectation must fail"
run = out / "base"
events = [json.loads(line) for line in (run / "events.jsonl").open()]
summary = json.loads((run / "summary.json").read_text())

assert summary["sim_time_s"] == 15.0, summary["sim_time_s"]
assert max(e["t_s"] for e in events) <= 15.0, "events after the end of the run"
failed = [e for e in events if e["type"] == "connect_failed"]
assert len(failed) == 1 and abs(failed[0]["t_s"] - 10.0) < 0.01, failed  # the timed-out one
end = [e for e in events if e["type"] == "run_end"]
assert len(end) == 1 and end[0]["t_s"] == 15.0 and end[0]["cut"] == ["TCP connect"], end
app = summary["app"]
assert app["cut_at_end"] == ["TCP connect"], app
assert app["tls_handshake_failures"] == 0 and app["connects"] == 0, app
assert app["max_reconnect_s"] is None, app
assert 0.0 <= app["connected_fraction"] <= 1.0, app

by_metric = {e["metric"]: e for e in summary["expectations"]}
rec = by_metric["app.max_reconnect_s"]
assert rec["measured"] is None and rec["passed"] is False, rec
assert rec["error"].startswith("not measurable"), rec
assert by_metric["app.connects"]["passed"] is True, by_metric
print("run ended at 15.0 s with the second connect cut; max_reconnect_s not measurable")
