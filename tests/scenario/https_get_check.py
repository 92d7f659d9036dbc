"""examples/https_get on tests/data/scenarios/https_get.yaml (docs/programs.md).

A 512 KiB image from the harness's `openssl s_server -WWW` every 30 s from 0 s (rounds at 0, 30,
..., 330 s: 12), 1 % loss, blackhole 150-210 s. Expected, and why:
* the served file is what the summary says: its sha256 recomputed here (hashlib) matches
  summary.https_server.sha256, and every "ota_done" event carries that digest (the program
  hashed what it received with mbedTLS and compared);
* no "ota_bad_image"; the rounds at 150 and 180 s fall in the outage and fail ("ota_failed");
  no download completes inside the outage; at least 9 of the 10 other rounds complete (1 %
  loss only slows TCP down);
* the device heap over the run and one PCB record per connection are there; each download's
  connection, closed by the program with SO_LINGER 0 after the server's close_notify, ends in a FIN
  (FIN_WAIT_1 -> FIN_WAIT_2 -> TIME_WAIT), not a RST;
* the server is gone when the CLI returns (its pid no longer exists)."""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

lwipsim, scenario, program = sys.argv[1:4]
out = Path(tempfile.mkdtemp(prefix="lwipsim-https-get-"))
r = subprocess.run([lwipsim, "run", scenario, "--out", str(out), "--no-plots", "--quiet",
                    "--set", f"app.program={program}", "--set", "app.args.interval_s=30",
                    "--set", "app.args.read_timeout_ms=10000"], capture_output=True, text=True,
                   timeout=600)
assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
run = out / "base"
summary = json.loads((run / "summary.json").read_text())
events = [json.loads(line) for line in (run / "events.jsonl").open()]
server = summary["https_server"]
image = (run / "www" / "ota.bin").read_bytes()
assert len(image) == 512 * 1024 == server["size"], server
assert hashlib.sha256(image).hexdigest() == server["sha256"], server

prog = summary["program"]
assert prog["failure"] is None and prog["state"] == "running_at_end", prog
counts = prog["events"]
assert counts.get("ota_bad_image", 0) == 0, counts
done = [e for e in events if e["type"] == "program_event" and e["name"] == "ota_done"]
failed = [e for e in events if e["type"] == "program_event" and e["name"] == "ota_failed"]
assert all(e["detail"] == server["sha256"] for e in done), done
assert not [e for e in done if 150 <= e["t_s"] < 210], done
# The rounds at 150 and 180 s fail (connect or read timeout within the outage or just after).
assert len([e for e in failed if 150 <= e["t_s"] <= 210 + 10]) >= 2, failed
assert 9 <= len(done) <= 10, (len(done), counts)

samples = (run / "timeseries.csv").read_text().splitlines()
assert len(samples) > 300, len(samples)  # one per second over 6 min, plus the header
pcbs = summary["pcbs"]
assert len(pcbs) >= 12, len(pcbs)
closed = [p for p in pcbs if p["closed_at_s"] is not None]
assert len(closed) >= 9, pcbs
# SO_LINGER 0 on a connection whose data is all acknowledged (the server sent its close_notify
# after the file): lwIP closes gracefully, FIN not RST (api_msg.c aborts on linger 0
# only with unsent or unacked data), so each goes FIN_WAIT_1 -> FIN_WAIT_2 -> TIME_WAIT.
for p in closed:
    states = [s["state"] for s in p["states"]]
    assert p["unacked_bytes_at_close"] == 0 and p["rst_sent"] in (False, None), p
    assert states[-3:] == ["FIN_WAIT_1", "FIN_WAIT_2", "TIME_WAIT"], p
    assert p["free_reason"] in ("time_wait_expired", None), p
assert "sha256 " + server["sha256"] + ": ok" in (run / "program.log").read_text()
assert not Path(f"/proc/{server['pid']}").exists(), f"https server {server['pid']} left behind"
print(f"https_get: {len(done)} OTA downloads verified, {len(failed)} failed in the outage")
