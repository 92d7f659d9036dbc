"""lwipsim diff on real runs of the field case (linger_off, shortened to 20 min: two outages).

1. The same seed twice: nothing moves (the runs repeat, docs/results.md), exit 0.
2. lwip.tcp_maxrtx 12 -> 6: exit 1 and pcbs.max_close_to_free_s is reported as moved, down.
   Why down and by how much, from lwIP 2.1.3 tcp.c: tcp_slowtmr drops a PCB with unacked data
   at the first tick with nrtx >= TCP_MAXRTX, and after the n-th retransmission the RTO is
   base << tcp_backoff[n], tcp_backoff = {1, 2, 3, 4, 5, 6, 7, 7, ...}. The waits after
   retransmissions 1..5 add up to (4+8+16+32+64) = 124 base RTOs, those after 6..11 to
   6 * 128 = 768 more. A PCB abandoned in an outage lives through all of them with TCP_MAXRTX
   12 (or until the run ends, which counts to the end), with 6 it is gone after at most the
   first 124 plus its initial RTO: the metric must at least halve.
3. The diff's files: diff.csv with one row per metric, the JUnit file with a failure for
   the moved metric, the heap overlay images.
4. Bad input: a folder that is not a result folder, and mismatched variants: exit 2.
"""
import csv
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

lwipsim, scenario = sys.argv[1], sys.argv[2]
work = Path(tempfile.mkdtemp(prefix="lwipsim-diff-"))
COMMON = ["--variant", "linger_off", "--set", "duration=20min", "--no-plots", "--quiet"]


def run(name, *extra):
    out = work / name
    r = subprocess.run([lwipsim, "run", scenario, "--out", str(out), *COMMON, *extra])
    assert r.returncode in (0, 1), f"run {name} exited {r.returncode}"
    return out


def diff(a, b, *extra):
    return subprocess.run([lwipsim, "diff", str(a), str(b), *extra], capture_output=True,
                          text=True)


def rows(out):
    with open(out / "diff.csv", newline="") as f:
        return {(r["run"], r["metric"]): r for r in csv.DictReader(f)}


base = run("maxrtx12")
again = run("maxrtx12_again")
fewer = run("maxrtx6", "--set", "lwip.tcp_maxrtx=6")

same = diff(base, again, "--out", str(work / "same"))
print(same.stdout, same.stderr)
assert same.returncode == 0, f"same seed: exit {same.returncode}"
same_rows = rows(work / "same")
assert len(same_rows) >= 20, f"expected every metric, got {len(same_rows)} rows"
assert not [k for k, r in same_rows.items() if r["moved"] == "true"]

junit = work / "diff.xml"
moved = diff(base, fewer, "--out", str(work / "moved"), "--junit", str(junit))
print(moved.stdout, moved.stderr)
assert moved.returncode == 1, f"tcp_maxrtx 12 vs 6: exit {moved.returncode}, expected 1"
r = rows(work / "moved")[("linger_off", "pcbs.max_close_to_free_s")]
old, new = float(r["baseline"]), float(r["new"])
assert r["moved"] == "true", r
assert new < old / 2, f"close->free should at least halve with TCP_MAXRTX 6: {old} -> {new}"
assert "MOVED" in moved.stdout
suites = ET.parse(junit).getroot()
failed = [tc.get("name") for tc in suites.iter("testcase") if tc.find("failure") is not None]
assert "pcbs.max_close_to_free_s" in failed, failed
assert int(suites.get("failures")) == len(failed) >= 1
for image in ("heap_overlay.svg", "heap_overlay.png"):
    assert (work / "moved" / image).stat().st_size > 0, image

# A tolerance wide enough for the move turns that row back into "not moved".
wide = diff(base, fewer, "--out", str(work / "wide"), "--no-plot",
            "--tolerance", "pcbs.max_close_to_free_s=100%")
assert rows(work / "wide")[("linger_off", "pcbs.max_close_to_free_s")]["moved"] == "false"

# Bad input: exit 2 with a message naming the folder.
empty = work / "empty"
empty.mkdir()
bad = diff(empty, fewer, "--no-plot")
assert bad.returncode == 2 and "not a result folder" in bad.stderr, (bad.returncode, bad.stderr)
other = work / "other"  # the same run under another variant name
shutil.copytree(base / "linger_off", other / "linger_x")
mismatch = diff(base, other, "--no-plot")
assert mismatch.returncode == 2 and "different runs" in mismatch.stderr, mismatch.stderr
badtol = diff(base, again, "--no-plot", "--tolerance", "heap.nonsense=1%")
assert badtol.returncode == 2 and "unknown metric" in badtol.stderr, badtol.stderr
shutil.rmtree(work)  # kept when an assertion failed, for a look
print("ok")
