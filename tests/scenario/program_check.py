"""Device programs (docs/programs.md) run on the simulated device, and fail runs clearly.

1. examples/tls_ping on tests/data/scenarios/program_tls_ping.yaml (5 min, blackhole 110-170 s,
   network_timeout 10 s): rounds every 30 s from 0 s (vTaskDelayUntil) -> rounds at 120 and
   150 s fall in the outage and time out; the 8 others get a CONNACK from the real mosquitto.
   Each TLS close goes through the esp-tls helper, so the PCB probe times every close; linger
   0 makes each an abort (lwIP frees the PCB at the close).
2. tests/data/programs/misbehave.cpp: crash -> the worker dies of SIGSEGV (exit 70, the message
   names the program and the signal); hang -> failed run (exit 1) naming the blocked thread; leak -> failed run naming
   3 blocks of 1000 bytes; fail -> failed run "returned 3".
3. tests/data/programs/missing_symbol.c -> exit 2 naming xTimerCreate, before any run.
4. tests/data/programs/freertos_checks.c: the FreeRTOS subset against FreeRTOS's documented
   semantics, 1 tick = 10 ms: a producer (priority 6) queues 1, 2, 3 at 50, 100, 150 ms; the
   consumer's receive with a 100 ms timeout gives up at 250 ms; the producer sets bit 0x1 at
   150 + 100 = 250 ms and 0x2 at 450 ms, so xEventGroupWaitBits(all of 0x3, clear on exit)
   returns 0x3 at 450 ms and clears them; a counting semaphore of max 2 takes 2 of 3 gives; a
   held mutex's take with 3 ticks fails after 30 ms."""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

lwipsim, scenario, short, tls_ping, misbehave, missing, freertos = sys.argv[1:8]
out_root = Path(tempfile.mkdtemp(prefix="lwipsim-program-"))


def run(name, program, *sets, duration=None):
    out = out_root / name
    args = [lwipsim, "run", short if duration else scenario, "--out", str(out), "--no-plots", "--quiet",
            "--set", f"app.program={program}"]
    for s in sets:
        args += ["--set", s]
    r = subprocess.run(args, capture_output=True, text=True, timeout=240)
    return r, out / "base"


# 1. the example through an outage
r, folder = run("tls_ping", tls_ping, "app.args.rounds=10", "app.args.interval_s=30")
assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
summary = json.loads((folder / "summary.json").read_text())
events = [json.loads(line) for line in (folder / "events.jsonl").open()]
prog = summary["program"]
assert prog["state"] == "returned" and prog["exit_code"] == 0 and prog["failure"] is None, prog
assert prog["events"] == {"connack": 8, "connect_failed": 2}, prog["events"]
failed_at = [e["t_s"] for e in events
             if e["type"] == "program_event" and e["name"] == "connect_failed"]
# Connect attempts at 120 and 150 s, each failing at network_timeout (10 s) later.
assert [round(t) for t in failed_at] == [130, 160], failed_at
assert prog["heap_bytes_at_end"] == 0, prog
closed = [p for p in summary["pcbs"] if p["closed_at_s"] is not None]
assert len(closed) >= 8, summary["pcbs"]
assert summary["heap"]["by_subsystem"]["app"]["peak"] >= 4096, summary["heap"]  # task stack
assert "round 9: CONNACK" in (folder / "program.log").read_text()
# The app.* metrics belong to the built-in client: not measured here.
assert summary["app"] == {"program": str(Path(tls_ping).resolve())} or "program" in summary["app"]

# 2. misbehaving programs
r, folder = run("crash", misbehave, "app.args.mode=crash", duration="10s")
assert r.returncode == 70, (r.returncode, r.stderr)
assert "test_misbehave.so crashed with SIGSEGV" in r.stderr, r.stderr

r, folder = run("hang", misbehave, "app.args.mode=hang", duration="10s")
assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
prog = json.loads((folder / "summary.json").read_text())["program"]
assert prog["state"] == "hung", prog
assert "'program' on semaphore" in prog["failure"], prog
assert "device program: the device program hung" in r.stderr, r.stderr

r, folder = run("leak", misbehave, "app.args.mode=leak", duration="10s")
assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
prog = json.loads((folder / "summary.json").read_text())["program"]
assert prog["failure"].startswith("the device program leaked 3000 bytes of device heap in 3 blocks"), prog

r, folder = run("fail", misbehave, "app.args.mode=fail", duration="10s")
assert r.returncode == 1 and "the device program returned 3" in r.stderr, (r.returncode, r.stderr)

r, folder = run("ok", misbehave, "app.args.mode=ok", duration="10s")
assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)

# 3. a symbol lwipsim does not provide
r, folder = run("missing", missing, duration="10s")
assert r.returncode == 2, (r.returncode, r.stderr)
assert "needs the symbol 'xTimerCreate'" in r.stderr, r.stderr
assert not folder.exists()
# 3b. the device's word size: the 32-bit device (abi: ilp32) loads the ilp32/ twin that
# lwipsim_add_device_program builds beside the program; a program with only a 64-bit build is
# refused before the run, naming where the 32-bit build was looked for (docs/design.md).
lonely = out_root / "lonely" / Path(misbehave).name
lonely.parent.mkdir()
lonely.write_bytes(Path(misbehave).read_bytes())
r, folder = run("lonely", lonely, "app.args.mode=ok", duration="10s")
assert r.returncode == 2, (r.returncode, r.stderr)
assert f"is built for 64-bit, and this device is 32-bit (abi: ilp32); no build for it at " \
       f"{lonely.parent / 'ilp32' / lonely.name}" in r.stderr, r.stderr
r, folder = run("lonely_host", lonely, "app.args.mode=ok", "abi=host", duration="10s")
assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
# 4. the FreeRTOS subset
r, folder = run("freertos", freertos, duration="10s")
assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
events = [json.loads(line) for line in (folder / "events.jsonl").open()]
got = {e["name"]: e["detail"] for e in events if e["type"] == "program_event"}
# The producer's bits: 0x1 at 150 + 100 = 250 ms, 0x2 200 ms later (vTaskDelay(20)).
assert got == {"queue_sum": "6", "queue_timeout_at_ms": "250", "bits_all_at_ms": "450",
               "bits": "3", "bits_after_clear": "0", "counting_gives": "2", "mutex": "10",
               "mutex_wait_ms": "30"}, got
prog = json.loads((folder / "summary.json").read_text())["program"]
assert prog["heap_bytes_at_end"] == 0 and prog["failure"] is None, prog

print("tls_ping: 8 CONNACKs, 2 failed rounds at 130/160 s; crash, hang, leak, fail, missing "
      "symbol each reported")
