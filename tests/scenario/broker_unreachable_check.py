"""An external broker that nobody listens for is an environment error (exit 3) naming
host:port, unless the scenario says the broker is meant to be down (expect_reachable: false)."""
import json
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

lwipsim, scenario = sys.argv[1], sys.argv[2]
work = Path(tempfile.mkdtemp(prefix="lwipsim-unreachable-"))
with socket.socket() as s:  # a port nothing listens on: bound, never listened, closed
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
ca = work / "ca.crt"
ca.write_text("not needed: no TLS connection can start\n")
broker = f"broker={{mode: external, host: 127.0.0.1, port: {port}, ca_file: {ca}}}"
base = [lwipsim, "run", scenario, "--no-plots", "--quiet", "--set", broker,
        "--set", "duration=30s"]

r = subprocess.run(base + ["--out", str(work / "down")], capture_output=True, text=True)
assert r.returncode == 3, (r.returncode, r.stderr)
assert f"127.0.0.1:{port}" in r.stderr and "not reachable" in r.stderr, r.stderr
assert "expect_reachable" in r.stderr, r.stderr

r = subprocess.run(base + ["--out", str(work / "meant"), "--set",
                           "broker.expect_reachable=false"], capture_output=True, text=True)
assert r.returncode == 0, (r.returncode, r.stderr)
summary = json.loads((work / "meant" / "base" / "summary.json").read_text())
assert summary["app"]["connects"] == 0, summary["app"]
print(f"unreachable broker 127.0.0.1:{port}: exit 3; with expect_reachable false: exit 0")
