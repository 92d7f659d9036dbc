"""A device program that never lets virtual time move ends its run; the CLI never hangs.

tests/data/programs/busy_loop.c sleeps 1.5 s of virtual time, then (mode spin) loops in its main
thread 'program' without calling anything, or (mode yield) polls an empty queue with a zero
timeout and taskYIELD in a task 'poller'. Virtual time moves only when every simulated thread
waits, so neither run can reach its 10 s end. With LWIPSIM_PROGRAM_STALL_S=2 the watchdog
(harness/program/program_watchdog.h) must end the worker: exit 1 (a failed run), the reason
naming the thread on stderr and in JUnit's <error>, virtual time stuck at 1.5 s, no result
folder but the .partial one, and none of the processes the run started (the managed mosquitto
among them, found as descendants of the CLI while it runs, never by name) left alive.
Without the watchdog the CLI would run forever: the subprocess bound makes that a failure."""
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

lwipsim, scenario, busy_loop = sys.argv[1:4]
out_root = Path(tempfile.mkdtemp(prefix="lwipsim-stall-"))
# Generous against a loaded machine and qemu-i386; a hung CLI never returns at all.
BOUND_S = 150


def proc_stat(pid):
    """(ppid, starttime, state, comm) of a live pid, or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = text[text.index("(") + 1:text.rindex(")")]
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[1]), fields[19], fields[0], comm


def descendants(root):
    """{pid: (starttime, comm)} of every live process under `root`."""
    parent = {}
    info = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = proc_stat(int(entry))
            if st:
                parent[int(entry)] = st[0]
                info[int(entry)] = (st[1], st[3])
    found = {}
    for pid in info:
        p = pid
        while p in parent and p != root and p > 1:
            p = parent[p]
        if p == root and pid != root:
            found[pid] = info[pid]
    return found


def still_alive(pid, starttime):
    st = proc_stat(pid)
    return st is not None and st[1] == starttime and st[2] != "Z"


def run(name, mode):
    out = out_root / name
    junit = out_root / f"{name}.xml"
    env = dict(os.environ, LWIPSIM_PROGRAM_STALL_S="2")
    args = [lwipsim, "run", scenario, "--out", str(out), "--no-plots", "--quiet", "--junit",
            str(junit), "--set", f"app.program={busy_loop}", "--set", f"app.args.mode={mode}"]
    started = time.monotonic()
    cli = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = {}
    while cli.poll() is None:
        seen.update(descendants(cli.pid))
        if time.monotonic() - started > BOUND_S:
            cli.kill()  # our own child, by pid; its workers and broker die by PDEATHSIG
            cli.wait()
            raise AssertionError(f"{mode}: the CLI still runs after {BOUND_S} s: a hung CLI")
        time.sleep(0.1)
    stdout, stderr = cli.communicate()
    elapsed = time.monotonic() - started
    return cli.returncode, stdout, stderr, elapsed, out, junit, seen


for mode, thread in (("spin", "program"), ("yield", "poller")):
    rc, stdout, stderr, elapsed, out, junit, seen = run(mode, mode)
    assert rc == 1, (mode, rc, stdout, stderr)
    assert f"stalled: its thread '{thread}' ran" in stderr, (mode, stderr)
    assert "virtual time stood still at 1.500000 s" in stderr, (mode, stderr)
    assert "LWIPSIM_PROGRAM_STALL_S" in stderr, (mode, stderr)
    # JUnit: the variant is an error carrying the watchdog's reason.
    errors = ET.parse(junit).getroot().findall(".//error")
    assert len(errors) == 1 and f"its thread '{thread}'" in errors[0].get("message"), (
        mode, junit.read_text())
    # No complete result folder: the run did not finish.
    assert not (out / "base" / "summary.json").exists(), list(out.iterdir())
    assert (out / "base.partial").is_dir(), list(out.iterdir())
    # The managed broker was running under this run, and nothing the run started is left.
    assert any(comm == "mosquitto" for _, comm in seen.values()), (mode, seen)
    deadline = time.monotonic() + 10
    left = {pid: v for pid, v in seen.items() if still_alive(pid, v[0])}
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = {pid: v for pid, v in left.items() if still_alive(pid, v[0])}
    assert not left, (mode, "processes the run started are still alive", left)
    print(f"{mode}: exit {rc} after {elapsed:.1f} s, thread '{thread}' named, "
          f"{len(seen)} processes of the run all gone")

# A limit that is not 1..86400 whole seconds is a usage error naming the variable, before the run.
bad = subprocess.run([lwipsim, "run", scenario, "--out", str(out_root / "bad"), "--no-plots",
                      "--quiet", "--set", f"app.program={busy_loop}"],
                     env=dict(os.environ, LWIPSIM_PROGRAM_STALL_S="0"), capture_output=True,
                     text=True, timeout=BOUND_S)
assert bad.returncode == 2 and "LWIPSIM_PROGRAM_STALL_S='0' is not a whole number" in bad.stderr, (
    bad.returncode, bad.stderr)
print("LWIPSIM_PROGRAM_STALL_S=0: exit 2 naming the variable")
