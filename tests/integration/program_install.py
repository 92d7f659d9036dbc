"""Out-of-tree device program (docs/programs.md, "Your own project"): install lwipsim into a
scratch prefix, configure and build examples/tls_ping on its own against that prefix
(find_package(lwipsim), lwipsim_add_device_program), and run it with the installed `lwipsim`
on tests/data/scenarios/program_short.yaml (10 s, no faults) with rounds=3, interval_s=2: three
rounds at 0, 2 and 4 s against the managed mosquitto, each a CONNACK."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

cmake, build_dir, example, scenario = sys.argv[1:5]
tmp = Path(tempfile.mkdtemp(prefix="lwipsim-install-"))
prefix, build = tmp / "prefix", tmp / "build"


def check(args, **kw):
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)
    assert r.returncode == 0, (args, r.returncode, r.stdout[-3000:], r.stderr[-3000:])
    return r


check([cmake, "--install", build_dir, "--prefix", prefix])
configs = list(prefix.rglob("lwipsimConfig.cmake"))
assert len(configs) == 1, sorted(str(p) for p in prefix.rglob("*"))[:50]
# Nothing of the source or build tree may be needed: configure with the prefix alone.
check([cmake, "-S", example, "-B", build, f"-DCMAKE_PREFIX_PATH={prefix}"])
check([cmake, "--build", build])
library = build / "libtls_ping.so"
assert library.is_file(), sorted(os.listdir(build))

out = tmp / "out"
r = subprocess.run([prefix / "bin" / "lwipsim", "run", scenario, "--out", out, "--no-plots",
                    "--quiet", "--set", f"app.program={library}", "--set", "app.args.rounds=3",
                    "--set", "app.args.interval_s=2"],
                   capture_output=True, text=True, timeout=240)
assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
program = json.loads((out / "base" / "summary.json").read_text())["program"]
assert program["events"] == {"connack": 3}, program
assert program["state"] == "returned" and program["exit_code"] == 0, program
shutil.rmtree(tmp)
print("installed package: tls_ping built out of tree, 3 CONNACKs")
