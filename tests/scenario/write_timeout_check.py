"""A write that cannot complete within network_timeout aborts the connection (esp-mqtt).

tests/data/scenarios/write_timeout.yaml: the uplink goes dead at CONNACK; the first publish
(16 KiB, more than lwIP's 5744-byte send buffer) is due 3 s later and cannot be written, so the
session must end once network_timeout (10 s) has passed since the write began at CONNACK + 3 s,
with a write timeout as the reason. The write blocks in lwIP with SO_SNDTIMEO (as esp-tls sets
it), and lwIP notices the expired timeout when it next services the stalled write: with no ACK
coming, at the connection's poll timer, every NETCONN_TCP_POLL_INTERVAL (2) slow-timer ticks of
TCP_SLOW_INTERVAL (2 * 250 ms) = 1 s (api_msg.c, tcp_priv.h). So: within [+13 s, +14 s)."""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

lwipsim, scenario = sys.argv[1], sys.argv[2]
out = Path(tempfile.mkdtemp(prefix="lwipsim-write-timeout-"))
subprocess.run([lwipsim, "run", scenario, "--out", str(out), "--no-plots", "--quiet"], check=True)
events = [json.loads(line) for line in (out / "base" / "events.jsonl").open()]
connected = next(e["t_s"] for e in events if e["type"] == "mqtt_connected")
lost = [e for e in events if e["type"] == "mqtt_disconnected"]
assert lost, "the session never ended: the write did not time out"
expected = connected + 3.0 + 10.0
assert expected <= lost[0]["t_s"] < expected + 1.0, (lost[0], expected)
assert lost[0]["reason"] == "transport-error", lost[0]
assert "PUBLISH" in lost[0]["detail"] and "timeout" in lost[0]["detail"], lost[0]
print(f"CONNACK at {connected:.3f} s, publish write given up at {lost[0]['t_s']:.3f} s")

# The same with SO_LINGER 10 s and a 20 s run: the close after the timeout (at CONNACK + 13 s)
# lingers past the end, where no call can be cut short. The run still stops at 20 s, and says
# what was left in progress.
out2 = Path(tempfile.mkdtemp(prefix="lwipsim-write-timeout-linger-"))
subprocess.run([lwipsim, "run", scenario, "--out", str(out2), "--no-plots", "--quiet",
                "--set", "duration=20s", "--set", "app.linger=10",
                "--set", "lwip.so_linger_available=true"], check=True)
summary = json.loads((out2 / "base" / "summary.json").read_text())
assert summary["sim_time_s"] == 20.0, summary["sim_time_s"]
assert summary["app"]["cut_at_end"] == ["closing the socket (SO_LINGER)"], summary["app"]
end = [json.loads(ln) for ln in (out2 / "base" / "events.jsonl").open() if '"run_end"' in ln]
assert [e["t_s"] for e in end] == [20.0], end
print("with linger 10 s: the run stopped at 20.0 s with the lingering close in progress")
