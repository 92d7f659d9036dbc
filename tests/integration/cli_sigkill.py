"""SIGKILL the lwipsim CLI in the middle of a run: no worker and no mosquitto may survive it.

Starts `lwipsim run` on a scenario in realtime mode (so it runs for a while), waits until the
managed broker is up (a mosquitto process among the CLI's descendants, found through /proc),
kills the CLI with SIGKILL and checks that every descendant it had, mosquitto included, is
gone within a few seconds. Only processes this test started are ever signalled."""
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

lwipsim, scenario = sys.argv[1], sys.argv[2]


def children(pid):
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        for c in children(todo.pop()):
            out.append(c)
            todo.append(c)
    return out


def comm(pid):
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None


def alive(pid):
    state = None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("State:"):
                state = line.split()[1]
    except OSError:
        return False
    return state not in (None, "Z")  # a zombie has exited (nobody reaped it yet)


out = Path(tempfile.mkdtemp(prefix="lwipsim-sigkill-"))
cli = subprocess.Popen([lwipsim, "run", scenario, "--out", str(out), "--no-plots", "--quiet",
                        "--set", "time.mode=realtime", "--set", "duration=60s"])
assert cli.pid > 0
try:
    deadline = time.monotonic() + 20
    brokers = []
    while time.monotonic() < deadline and not brokers:
        time.sleep(0.1)
        tree = descendants(cli.pid)
        brokers = [p for p in tree if comm(p) == "mosquitto"]
    assert brokers, "no mosquitto appeared under the CLI within 20 s"
    tree = descendants(cli.pid)
    os.kill(cli.pid, signal.SIGKILL)
    cli.wait(timeout=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(p) for p in tree):
        time.sleep(0.1)
    left = [(p, comm(p)) for p in tree if alive(p)]
    assert not left, f"still alive after the CLI was SIGKILLed: {left}"
    print(f"SIGKILL of the CLI took {len(tree)} descendants with it, mosquitto {brokers} included")
finally:
    if cli.poll() is None and cli.pid > 0:
        cli.kill()
