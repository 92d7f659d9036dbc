"""The broker's virtual clock library must really run inside mosquitto (issue 13): a library
the dynamic loader ignores (here: a file that is not a shared object) and a library path with an
LD_PRELOAD separator in it are environment errors (exit 3) naming the library, found at once,
not a broker that silently keeps the wall clock or a run that fails later as a hang."""
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

lwipsim, scenario = sys.argv[1], sys.argv[2]
work = Path(tempfile.mkdtemp(prefix="lwipsim-vclock-env-"))
real = Path(lwipsim).resolve().parent / "liblwipsim_vclock.so"
assert real.exists(), real


def run(name, library):
    env = dict(__import__("os").environ, LWIPSIM_VCLOCK_LIBRARY=str(library))
    start = time.monotonic()
    r = subprocess.run([lwipsim, "run", scenario, "--no-plots", "--quiet", "--set",
                        "duration=5s", "--out", str(work / name)],
                       capture_output=True, text=True, env=env, timeout=120)
    return r, time.monotonic() - start


# Not a shared object: ld.so prints "cannot be preloaded ... ignored" and runs mosquitto anyway.
bogus = work / "liblwipsim_vclock.so"
bogus.write_text("not a shared library\n")
r, took = run("not_loaded", bogus)
assert r.returncode == 3, (r.returncode, r.stderr)
assert "was not loaded into the program" in r.stderr and str(bogus) in r.stderr, r.stderr
# The idle watchdog (10 s) would also end the run, as exit 70: the check must come first.
assert took < 9, took

for name, folder in (("space", "with space"), ("colon", "with:colon")):
    (work / folder).mkdir()
    copy = work / folder / "liblwipsim_vclock.so"
    shutil.copy(real, copy)
    r, _ = run(name, copy)
    assert r.returncode == 3, (name, r.returncode, r.stderr)
    assert "LD_PRELOAD takes as separators" in r.stderr and str(copy) in r.stderr, r.stderr

shutil.rmtree(work)
print("ignored library: exit 3 at once; library paths with ' ' or ':': exit 3")
