#!/usr/bin/env python3
"""CLI tests (label scenario): parallel == serial, shards + merge == whole sweep, exit codes,
JUnit XML. Usage: cli_test.py CASE LWIPSIM DATA_DIR WORK_DIR.

Expected values come from the scenario files in tests/data/cli (their comments say why) and
from the documented rules (docs/cli.md: grid order, seeds, shard membership), not from
lwipsim's own output."""
import csv
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

CASE, LWIPSIM, DATA, WORK = sys.argv[1:5]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def lwipsim(*args, env=None):
    p = subprocess.run([LWIPSIM, *args], capture_output=True, text=True, env=env, timeout=240)
    return p.returncode, p.stdout, p.stderr


def summary(folder):
    with open(os.path.join(folder, "summary.json")) as f:
        return json.load(f)


# Host-time figures differ between any two runs, and so does the managed broker's port (an
# ephemeral port the host's kernel picks for each variant's own mosquitto): it shows up as the
# PCBs' remote_port. mbedTLS's allocation *count* also varies by a few between runs (seen:
# 15618 vs 15622), most likely because the broker's (OpenSSL's) random key material changes
# how often the device's bignum code grows its buffers; bytes in use, peaks and every other
# figure must match.
HOST_TIME = [("wall_time_s",), ("time", "host_wait_s"), ("heap", "by_subsystem", "mbedtls", "allocs")]


def without_host_time(s):
    s = json.loads(json.dumps(s))
    for path in HOST_TIME:
        d = s
        for k in path[:-1]:
            d = d[k]
        d.pop(path[-1], None)
    for p in s["pcbs"]:
        p.pop("remote_port")
    return s


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith("pcbs.csv"):  # drop the remote_port column (the broker's port)
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
        col = rows[0].index("remote_port")
        data = [r[:col] + r[col + 1:] for r in rows]
    return data


def case_parallel():
    """A two-variant run with --jobs 2 equals the variants run one by one with --jobs 1."""
    scen = os.path.join(DATA, "two_variants.yaml")
    par, ser = os.path.join(WORK, "parallel"), os.path.join(WORK, "serial")
    rc, _, err = lwipsim("run", scen, "--jobs", "2", "--out", par, "--no-plots", "--quiet")
    check(rc == 0, f"parallel run exit {rc}: {err}")
    for v in ["linger_off", "linger_0"]:
        rc, _, err = lwipsim("run", scen, "--variant", v, "--jobs", "1", "--out", ser,
                             "--no-plots", "--quiet")
        check(rc == 0, f"serial run of {v} exit {rc}: {err}")
    for v in ["linger_off", "linger_0"]:
        a, b = os.path.join(par, v), os.path.join(ser, v)
        sa, sb = summary(a), summary(b)
        check(sa["variant"] == v and sb["variant"] == v, f"{v}: variant names in summary.json")
        check(without_host_time(sa) == without_host_time(sb),
              f"{v}: summary.json differs beyond wall_time_s/time.host_wait_s")
        for f in ["events.jsonl", "timeseries.csv", "pcbs.csv"]:
            check(read(os.path.join(a, f)) == read(os.path.join(b, f)), f"{v}: {f} differs")
        # The two variants really differ (linger 0 aborts instead of FIN_WAIT_1), so the
        # comparison above is not between two copies of one run.
    check(summary(os.path.join(par, "linger_0"))["options"]["linger_s"] == 0,
          "linger_0 ran with linger 0")
    check(summary(os.path.join(par, "linger_off"))["options"]["linger_s"] is None,
          "linger_off ran without linger")


def rows_without_wall_time(folder):
    with open(os.path.join(folder, "sweep.json")) as f:
        doc = json.load(f)
    rows = []
    for r in doc["rows"]:
        r = dict(r)
        r.pop("wall_time_s")
        rows.append(r)
    return doc, rows


def csv_without_wall_time(folder):
    with open(os.path.join(folder, "sweep.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r.pop("wall_time_s")
    return rows


def case_shards():
    """A sweep split in two shards and merged equals the unsharded sweep."""
    scen = os.path.join(DATA, "two_variants.yaml")
    grid = ["--param", "app.keepalive=20s,40s", "--param", "app.reconnect_delay=5s",
            "--seeds", "2", "--variant", "linger_0", "--jobs", "2", "--quiet"]
    whole, s1, s2, merged = (os.path.join(WORK, n) for n in ["whole", "s1", "s2", "merged"])
    sweep_xml = os.path.join(WORK, "sweep_junit.xml")
    for out, extra in [(whole, ["--junit", sweep_xml]), (s1, ["--shard", "1/2"]),
                       (s2, ["--shard", "2/2"])]:
        rc, _, err = lwipsim("sweep", scen, *grid, *extra, "--out", out)
        check(rc == 0, f"sweep {extra} exit {rc}: {err}")
    # docs/cli.md: first --param outermost, seeds innermost, seeds = scenario seed (7) + i.
    names = [f"app.keepalive={k},app.reconnect_delay=5s,seed={s}"
             for k, s in itertools.product(["20s", "40s"], [7, 8])]
    # Shard K/N holds the points whose 0-based index i has i % N == K - 1.
    expect = {whole: names, s1: names[0::2], s2: names[1::2]}
    for out, pts in expect.items():
        doc, rows = rows_without_wall_time(out)
        check([r["point_name"] for r in rows] == pts, f"{out}: points {[r['point_name'] for r in rows]}")
        for p in pts:
            check(os.path.isfile(os.path.join(out, p, "linger_0", "summary.json")), f"{out}/{p}: run folder")
        check(sorted(os.listdir(out)) == sorted(pts + ["sweep.csv", "sweep.json"]),
              f"{out}: only the shard's points: {sorted(os.listdir(out))}")

    # Overlap and gaps are refused, and nothing is written.
    for dirs, what in [([s1, s1], "both"), ([s1], "missing")]:
        bad = os.path.join(WORK, "bad_merge")
        rc, _, err = lwipsim("merge", *dirs, "--out", bad)
        check(rc == 2, f"merge {dirs}: exit {rc}, expected 2")
        check(what in err, f"merge {dirs}: stderr names the problem ({what!r}): {err!r}")
        check(not os.path.exists(bad), f"merge {dirs}: wrote {bad}")

    # The sweep's JUnit XML: one testsuite per run, one testcase per expectation in its
    # summary.json (two_variants.yaml: 2 apply to linger_0), names tagged with the point.
    root = ET.parse(sweep_xml).getroot()
    suites = root.findall("testsuite")
    check([x.get("name") for x in suites] == [p + "/linger_0" for p in names], "sweep junit suites")
    for suite, p in zip(suites, names):
        cases = suite.findall("testcase")
        check(len(cases) == 2 and all(c.get("name").endswith(f" [{p}]") for c in cases),
              f"sweep junit testcases of {p}")
        check(all(c.get("classname") == "two_variants.linger_0" for c in cases), "classname")

    rc, _, err = lwipsim("merge", s2, s1, "--out", merged)
    check(rc == 0, f"merge exit {rc}: {err}")
    dw, rw = rows_without_wall_time(whole)
    dm, rm = rows_without_wall_time(merged)
    check(rm == rw, "merged sweep.json rows differ from the unsharded sweep (ignoring wall time)")
    check(dm["shard"] is None and dw["shard"] is None, "merged folder is a whole sweep")
    check(csv_without_wall_time(merged) == csv_without_wall_time(whole), "sweep.csv differs")
    for p in names:
        a = summary(os.path.join(whole, p, "linger_0"))
        b = summary(os.path.join(merged, p, "linger_0"))
        check(without_host_time(a) == without_host_time(b), f"{p}: summary.json differs")
        # The grid point's values reached the run (resolved scenario, seconds).
        keepalive = 20 if "keepalive=20s" in p else 40
        check(a["scenario_resolved"]["app"]["keepalive"] == keepalive, f"{p}: keepalive applied")
        check(a["seed"] == int(p.rsplit("seed=", 1)[1]), f"{p}: seed applied")


def case_exit_codes():
    """0 all pass, 1 an expectation fails, 2 bad scenario (file:line:col) or bad --set."""
    out = os.path.join(WORK, "runs")
    rc, _, err = lwipsim("run", os.path.join(DATA, "two_variants.yaml"), "--out", out + "/ok",
                         "--no-plots", "--quiet")
    check(rc == 0, f"passing scenario: exit {rc}: {err}")
    rc, _, err = lwipsim("run", os.path.join(DATA, "failing.yaml"), "--variant", "linger_0",
                         "--out", out + "/fail", "--no-plots", "--quiet")
    check(rc == 1, f"failing expectation: exit {rc}, expected 1: {err}")
    bad = os.path.join(DATA, "bad_unit.yaml")
    rc, _, err = lwipsim("run", bad, "--out", out + "/bad", "--no-plots")
    # bad_unit.yaml line 3 is "  keepalive: 30sec": the value starts in column 14.
    check(rc == 2, f"bad scenario: exit {rc}, expected 2")
    check(f"{bad}:3:14:" in err, f"bad scenario: file:line:col on stderr: {err!r}")
    check(not os.path.exists(out + "/bad"), "bad scenario: nothing written")
    rc, _, err = lwipsim("run", os.path.join(DATA, "two_variants.yaml"), "--set",
                         "app.keepalive=banana", "--out", out + "/badset", "--no-plots")
    check(rc == 2, f"bad --set: exit {rc}, expected 2")
    check("--set 'app.keepalive=banana': column 15:" in err, f"bad --set named on stderr: {err!r}")
    check(not os.path.exists(out + "/badset"), "bad --set: nothing written")
    rc, _, err = lwipsim("sweep", os.path.join(DATA, "two_variants.yaml"), "--param",
                         "app.keepalive=30s,forever", "--out", out + "/badsweep")
    check(rc == 2, f"sweep with a bad --param value: exit {rc}, expected 2")
    check(not os.path.exists(out + "/badsweep"), "bad sweep: nothing written")
    for args in [["run"], ["frobnicate"], ["sweep", os.path.join(DATA, "two_variants.yaml"),
                                          "--param", "x=1", "--shard", "3/2", "--out", out + "/x"]]:
        rc, _, err = lwipsim(*args)
        check(rc == 2, f"usage error {args}: exit {rc}, expected 2")
    rc, so, _ = lwipsim("--version")
    check(rc == 0 and so.startswith("lwipsim "), f"--version: {rc} {so!r}")
    rc, so, _ = lwipsim("sweep", "--help")
    check(rc == 0 and "--shard" in so and "Examples" in so, "sweep --help")


def case_junit():
    """--junit: one testcase per expectation per variant, failures = failed expectations."""
    scen = os.path.join(DATA, "failing.yaml")
    out, xml_file = os.path.join(WORK, "fail"), os.path.join(WORK, "junit.xml")
    rc, _, err = lwipsim("run", scen, "--out", out, "--no-plots", "--quiet", "--junit", xml_file)
    check(rc == 1, f"exit {rc}, expected 1: {err}")
    root = ET.parse(xml_file).getroot()
    check(root.tag == "testsuites", "root element")
    cases = root.findall("./testsuite/testcase")
    expected_cases, expected_failed = [], []
    for v in ["linger_off", "linger_0"]:
        s = summary(os.path.join(out, v))
        for e in s["expectations"]:
            expected_cases.append(("failing." + v, e))
            if not e["passed"]:
                expected_failed.append(("failing." + v, e))
    # From the scenario file: 2 expectations apply to linger_off, 3 to linger_0; the one
    # "heap.min_free > 64KiB" fails in both (free heap cannot exceed the 64 KiB budget).
    check(len(expected_cases) == 5 and len(expected_failed) == 2,
          f"summary.json expectations: {len(expected_cases)} / {len(expected_failed)} failed")
    check(len(cases) == len(expected_cases), f"{len(cases)} testcases")
    check(int(root.get("tests")) == len(expected_cases), "testsuites@tests")
    check(int(root.get("failures")) == len(expected_failed), "testsuites@failures")
    check(int(root.get("errors")) == 0, "testsuites@errors")
    failed = [c for c in cases if c.find("failure") is not None]
    check(len(failed) == len(expected_failed), f"{len(failed)} failure elements")
    for cls, e in expected_failed:
        match = [c for c in failed if c.get("classname") == cls
                 and c.get("name").startswith(e["metric"] + " " + e["op"])]
        check(len(match) == 1, f"{cls}: failed testcase for {e['metric']} {e['op']}")
        if match:
            msg = match[0].find("failure").get("message")
            check(msg == "measured %g" % e["measured"], f"{cls}: failure message {msg!r}")
            # Independent of the summary: it is the free heap, at most the 64 KiB budget.
            check(0 < e["measured"] <= 65536, f"{cls}: measured {e['measured']}")
    for suite in root.findall("testsuite"):
        n = len(suite.findall("testcase"))
        f = len([c for c in suite.findall("testcase") if c.find("failure") is not None])
        check(int(suite.get("tests")) == n and int(suite.get("failures")) == f,
              f"testsuite {suite.get('name')} counts")

    # A variant that cannot run (no mosquitto in PATH: the worker's broker fails) is an
    # <error> testcase, and the exit code says "environment".
    env = dict(os.environ, PATH="/nonexistent")
    xml2 = os.path.join(WORK, "junit_error.xml")
    rc, _, err = lwipsim("run", scen, "--variant", "linger_0", "--out", out + "_env",
                         "--no-plots", "--quiet", "--junit", xml2, env=env)
    check(rc == 3, f"without mosquitto: exit {rc}, expected 3: {err}")
    root = ET.parse(xml2).getroot()
    cases = root.findall("./testsuite/testcase")
    check(len(cases) == 1 and root.get("errors") == "1" and root.get("failures") == "0",
          f"error run: {len(cases)} testcases, errors={root.get('errors')}")
    if cases:
        e = cases[0].find("error")
        check(cases[0].get("classname") == "failing.linger_0", "error testcase classname")
        check(e is not None and "mosquitto" in e.get("message", ""), "error message names mosquitto")


# --- Scale-out (issue 11): --shard auto, merge's completeness checks, --resume -------------

# A tiny grid: the seeds alone (no --param, which `sweep` must accept), one variant, the
# scenario cut to 90 s of virtual time (the outage at 60 s still happens), ~1 s per run.
TINY = ["--variant", "linger_0", "--set", "duration=90s", "--quiet"]
ENGINE_VARS = ["SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX",
               "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_STEP", "JOB_COMPLETION_INDEX",
               "JOB_COMPLETIONS", "CI_NODE_INDEX", "CI_NODE_TOTAL"]


def clean_env(**extra):
    """This process's environment without any job engine's variables (the test may itself run
    inside a CI job), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in ENGINE_VARS}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def sweep_json(folder):
    with open(os.path.join(folder, "sweep.json")) as f:
        return json.load(f)


def whole_seed_sweep(seeds):
    """The unsharded reference: `seeds` seeds from the scenario's (7), in one folder."""
    scen = os.path.join(DATA, "two_variants.yaml")
    whole = os.path.join(WORK, "whole")
    rc, _, err = lwipsim("sweep", scen, *TINY, "--seeds", str(seeds), "--jobs", "2",
                         "--out", whole, env=clean_env())
    check(rc == 0, f"whole sweep exit {rc}: {err}")
    # docs/cli.md: without --param a point is its seed alone, seeds = 7, 8, ...
    names = [f"seed={7 + i}" for i in range(seeds)]
    _, rows = rows_without_wall_time(whole)
    check([r["point_name"] for r in rows] == names, f"whole sweep points: {[r['point_name'] for r in rows]}")
    return scen, whole, names


def case_shard_auto():
    """--shard auto under Slurm, Kubernetes and GitLab variables: each task runs the slice the
    engine's numbering gives it, and the merged shards equal the whole sweep."""
    scen, whole, names = whole_seed_sweep(3)
    _, whole_rows = rows_without_wall_time(whole)
    # Three tasks per engine, each numbered the engine's way (Slurm: --array=1-5:2, i.e.
    # indices 1, 3, 5; Kubernetes: 0-based index + the count the manifest passes; GitLab:
    # 1-based). Task t (0-based) must be shard t+1 of 3: points i with i % 3 == t.
    engines = {
        "slurm": [dict(SLURM_ARRAY_TASK_ID=1 + 2 * t, SLURM_ARRAY_TASK_MIN=1,
                       SLURM_ARRAY_TASK_MAX=5, SLURM_ARRAY_TASK_STEP=2,
                       SLURM_ARRAY_TASK_COUNT=3) for t in range(3)],
        "slurm_count": [dict(SLURM_ARRAY_TASK_ID=t, SLURM_ARRAY_TASK_MIN=0,
                             SLURM_ARRAY_TASK_COUNT=3) for t in range(3)],
        "kubernetes": [dict(JOB_COMPLETION_INDEX=t, JOB_COMPLETIONS=3) for t in range(3)],
        "gitlab": [dict(CI_NODE_INDEX=t + 1, CI_NODE_TOTAL=3) for t in range(3)],
    }
    for engine, tasks in engines.items():
        dirs = []
        for t, env in enumerate(tasks):
            out = os.path.join(WORK, f"{engine}-{t}")
            rc, _, err = lwipsim("sweep", scen, *TINY, "--seeds", "3", "--shard", "auto",
                                 "--out", out, env=clean_env(**env))
            check(rc == 0, f"{engine} task {t}: exit {rc}: {err}")
            if rc != 0:
                continue
            doc = sweep_json(out)
            check(doc["ran"] == [i for i in range(3) if i % 3 == t],
                  f"{engine} task {t}: ran {doc['ran']}")
            check(doc["shard"]["k"] == t + 1 and doc["shard"]["n"] == 3,
                  f"{engine} task {t}: shard {doc['shard']}")
            var = next(iter(env))
            check(var in doc["shard"]["from"], f"{engine}: sweep.json says where the shard came from: {doc['shard']}")
            dirs.append(out)
        merged = os.path.join(WORK, f"{engine}-merged")
        rc, _, err = lwipsim("merge", *reversed(dirs), "--out", merged)
        check(rc == 0, f"{engine}: merge exit {rc}: {err}")
        if rc == 0:
            _, rows = rows_without_wall_time(merged)
            check(rows == whole_rows, f"{engine}: merged rows differ from the whole sweep")
            check(csv_without_wall_time(merged) == csv_without_wall_time(whole),
                  f"{engine}: merged sweep.csv differs from the whole sweep")

    # No engine variables: exit 2, and the message names what it looked for. Incomplete
    # engine variables: exit 2 naming the missing one. Nothing is written in either case.
    for env, words in [({}, ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX", "CI_NODE_INDEX",
                             "--shard K/N"]),
                       ({"JOB_COMPLETION_INDEX": 1}, ["JOB_COMPLETIONS"]),
                       ({"SLURM_ARRAY_TASK_ID": 3, "SLURM_ARRAY_TASK_MIN": 1}, ["SLURM_ARRAY_TASK_MAX"]),
                       # --array=1,3,8: not evenly spaced, so no place in a range.
                       ({"SLURM_ARRAY_TASK_ID": 3, "SLURM_ARRAY_TASK_MIN": 1, "SLURM_ARRAY_TASK_MAX": 8,
                         "SLURM_ARRAY_TASK_COUNT": 3}, ["evenly"]),
                       ({"CI_NODE_INDEX": 4, "CI_NODE_TOTAL": 3}, ["CI_NODE_INDEX=4"])]:
        out = os.path.join(WORK, "no-engine")
        rc, _, err = lwipsim("sweep", scen, *TINY, "--seeds", "3", "--shard", "auto",
                             "--out", out, env=clean_env(**env))
        check(rc == 2, f"--shard auto with {env}: exit {rc}, expected 2")
        for w in words:
            check(w in err, f"--shard auto with {env}: stderr names {w}: {err!r}")
        check(not os.path.exists(out), f"--shard auto with {env}: wrote {out}")


def case_merge_checks():
    """merge refuses a missing shard (naming it and its points), a point given twice, and a
    shard of another sweep; exit 2 and nothing written. A shard that loaded the same scenario
    from another path belongs to the sweep."""
    scen = os.path.join(DATA, "two_variants.yaml")
    # Shard 3 runs on "another node": the same scenario from another path, with a comment of
    # its own (the same name: a scenario is named after its file). That is the same sweep.
    elsewhere = os.path.join(WORK, "elsewhere", "two_variants.yaml")
    os.makedirs(os.path.dirname(elsewhere))
    with open(scen) as f, open(elsewhere, "w") as g:
        g.write("# checked out somewhere else\n" + f.read())
    shards = []
    for k in (1, 2, 3):
        out = os.path.join(WORK, f"s{k}")
        rc, _, err = lwipsim("sweep", scen if k < 3 else elsewhere, *TINY, "--seeds", "3",
                             "--shard", f"{k}/3", "--out", out, env=clean_env())
        check(rc == 0, f"shard {k}/3: exit {rc}: {err}")
        shards.append(out)
    # The same scenario with another fixed --set is another sweep: its shard 2/3 ran point 1
    # (seed=8) of a grid with the same point names.
    other = os.path.join(WORK, "other")
    rc, _, err = lwipsim("sweep", scen, *TINY, "--set", "app.keepalive=40s", "--seeds", "3",
                         "--shard", "2/3", "--out", other, env=clean_env())
    check(rc == 0, f"other sweep: exit {rc}: {err}")

    bad = os.path.join(WORK, "bad")
    # Shard 2/3 (point 1, seed=8) left out.
    for dirs, words in [([shards[0], shards[2]], ["shard 2/3", "seed=8", "missing"]),
                        ([shards[0], shards[1], shards[1], shards[2]], ["seed=8", "both"]),
                        ([shards[0], other, shards[2]], ["not the same sweep", other])]:
        rc, _, err = lwipsim("merge", *dirs, "--out", bad)
        check(rc == 2, f"merge {dirs}: exit {rc}, expected 2: {err}")
        for w in words:
            check(w in err, f"merge {dirs}: stderr names {w!r}: {err!r}")
        check(not os.path.exists(bad), f"merge {dirs}: wrote {bad}")
    # The three right shards merge (the checks above are not refusing everything), although
    # one ran the scenario from another path.
    rc, _, err = lwipsim("merge", *shards, "--out", os.path.join(WORK, "good"))
    check(rc == 0, f"merge of all three shards: exit {rc}: {err}")
    # A hand-edited sweep.json with a wrong type is the user's input: exit 2 naming the file.
    edited = os.path.join(WORK, "edited")
    shutil.copytree(shards[1], edited)
    with open(os.path.join(edited, "sweep.json")) as f:
        doc = json.load(f)
    doc["ran"] = "all of them"
    with open(os.path.join(edited, "sweep.json"), "w") as f:
        json.dump(doc, f)
    rc, _, err = lwipsim("merge", shards[0], edited, shards[2], "--out", bad)
    check(rc == 2 and "edited/sweep.json" in err, f"merge with ran as text: exit {rc}: {err!r}")
    check(not os.path.exists(bad), f"merge with a bad sweep.json wrote {bad}")


def case_resume():
    """A sweep SIGKILLed half way, run again with --resume, skips the runs that finished and
    ends with the table of an uninterrupted sweep; progress is one plain line per run."""
    scen, whole, names = whole_seed_sweep(4)
    _, whole_rows = rows_without_wall_time(whole)
    out = os.path.join(WORK, "resumed")
    args = [LWIPSIM, "sweep", scen, *TINY, "--seeds", "4", "--jobs", "1", "--resume",
            "--out", out]
    done = lambda: sorted(n for n in names
                          if os.path.isfile(os.path.join(out, n, "linger_0", "summary.json")))
    proc = subprocess.Popen(args, env=clean_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(done()) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)  # the process this test started, by its pid
    proc.wait()
    finished = done()
    check(2 <= len(finished) < len(names), f"killed half way: finished {finished}")
    before = {n: os.stat(os.path.join(out, n, "linger_0", "summary.json")).st_mtime_ns
              for n in finished}

    # The same command again (without --quiet, to read its progress).
    again = [a for a in args if a != "--quiet"]
    p = subprocess.run(again, env=clean_env(), capture_output=True, text=True, timeout=240)
    check(p.returncode == 0, f"resumed sweep exit {p.returncode}: {p.stderr}")
    rest = len(names) - len(finished)
    check(f"{len(finished)} of {len(names)} runs already finished, {rest} to run" in p.stderr,
          f"resume says what it skips: {p.stderr!r}")
    # stderr is a pipe, not a terminal: no carriage returns, one line per run it ran.
    check("\r" not in p.stderr, "progress without carriage returns in a log")
    lines = [l for l in p.stderr.splitlines() if re.match(r"lwipsim: \[\d+/\d+\] ", l)]
    check(len(lines) == rest, f"{rest} progress lines: {lines}")
    for n in finished:
        st = os.stat(os.path.join(out, n, "linger_0", "summary.json")).st_mtime_ns
        check(st == before[n], f"{n}: finished before the kill, ran again")
    partial = [os.path.join(d, x) for d, subdirs, _ in os.walk(out) for x in subdirs
               if x.endswith(".partial")]
    check(not partial, f"no .partial folder left: {partial}")
    doc, rows = rows_without_wall_time(out)
    check(rows == whole_rows, "resumed sweep.json rows differ from the uninterrupted sweep")
    check(csv_without_wall_time(out) == csv_without_wall_time(whole), "resumed sweep.csv differs")
    for n in names:
        a, b = summary(os.path.join(whole, n, "linger_0")), summary(os.path.join(out, n, "linger_0"))
        check(without_host_time(a) == without_host_time(b), f"{n}: summary.json differs")

    # --resume into a folder of another sweep is refused.
    rc, _, err = lwipsim("sweep", scen, *TINY, "--seeds", "3", "--resume", "--out", out,
                         env=clean_env())
    check(rc == 2 and "different sweep" in err, f"--resume into another sweep: {rc} {err!r}")


# --- Paths a user may not read (issue 11) ----------------------------------------------------

SKIP = 77
CA_SCENARIO = """description: external broker whose CA file the user may not read
duration: 1min
broker:
  mode: external
  host: 127.0.0.1
  port: 8883
  ca_file: ca.pem
"""


def case_permissions():
    """As user nobody (setpriv, as tap_run.py does): an unreadable scenario, a scenario in a
    folder nobody may enter, an unreadable CA file and an unwritable --out each give exit 2
    and "permission denied" with the path, never "does not exist". Root reads everything,
    so the test must drop privileges; it is skipped (77) when it cannot."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        print("SKIPPED: needs root and setpriv to run lwipsim as user nobody")
        sys.exit(SKIP)
    # A folder of its own that nobody may enter, outside the checkout (whose own permissions
    # must not matter): /tmp or $TMPDIR.
    top = tempfile.mkdtemp(prefix="lwipsim-perm-")
    try:
        os.chmod(top, 0o755)
        two = os.path.join(DATA, "two_variants.yaml")
        readable = os.path.join(top, "readable.yaml")
        shutil.copy(two, readable)
        os.chmod(readable, 0o644)
        locked = os.path.join(top, "locked.yaml")
        shutil.copy(two, locked)
        os.chmod(locked, 0o600)
        private = os.path.join(top, "private")
        os.mkdir(private, 0o700)
        hidden = os.path.join(private, "hidden.yaml")
        shutil.copy(two, hidden)
        os.chmod(hidden, 0o644)
        ca_yaml = os.path.join(top, "ca.yaml")
        with open(ca_yaml, "w") as f:
            f.write(CA_SCENARIO)
        os.chmod(ca_yaml, 0o644)
        ca = os.path.join(top, "ca.pem")
        with open(ca, "w") as f:
            f.write("not read\n")
        os.chmod(ca, 0o600)
        ro = os.path.join(top, "ro")  # root's, 0755: nobody may not create anything in it
        os.mkdir(ro, 0o755)

        def nobody(*args):
            cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                   "--inh-caps=-all", LWIPSIM, *args]
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=top)
            if p.returncode == 126:
                print("SKIPPED: user nobody cannot execute the build's lwipsim")
                sys.exit(SKIP)
            return p.returncode, p.stderr

        rc, err = nobody("validate", readable)  # control: nobody can run lwipsim and read
        check(rc == 0, f"nobody validates a readable scenario: exit {rc}: {err}")
        cases = [
            (["validate", locked], locked),
            (["run", locked, "--out", os.path.join(top, "o1"), "--no-plots"], locked),
            (["sweep", locked, "--seeds", "2", "--out", os.path.join(top, "o2")], locked),
            (["validate", hidden], hidden),
            # The CA file: reported at its place in the scenario (line 7, column 12).
            (["validate", ca_yaml], ca),
            (["run", readable, "--out", os.path.join(ro, "out"), "--no-plots"], ro),
            (["sweep", readable, "--seeds", "2", "--out", os.path.join(ro, "out")], ro),
            (["compare", private], private),
        ]
        for args, path in cases:
            rc, err = nobody(*args)
            check(rc == 2, f"{args[0]} {path}: exit {rc}, expected 2: {err!r}")
            check("permission denied" in err.lower(), f"{args}: says permission denied: {err!r}")
            check(path in err, f"{args}: names {path}: {err!r}")
            check("not exist" not in err, f"{args}: does not claim the path is missing: {err!r}")
        rc, err = nobody("validate", ca_yaml)
        check(f"{ca_yaml}:7:12:" in err, f"CA file error at its place in the scenario: {err!r}")
        check(not os.listdir(ro), f"nothing written under {ro}: {os.listdir(ro)}")
        # And a file that is really missing still says so.
        rc, err = nobody("validate", os.path.join(top, "missing.yaml"))
        check(rc == 2 and "does not exist" in err, f"missing file: {rc} {err!r}")
    finally:
        shutil.rmtree(top, ignore_errors=True)


def case_unlimited_heap():
    """Without a heap budget the free heap is a stand-in (budget 1 TiB minus use): the run and
    compare tables, report.html and sweep.csv show "unlimited" / nothing for it, and the heap
    in use instead."""
    scen = os.path.join(DATA, "no_budget.yaml")
    out = os.path.join(WORK, "run")
    rc, table, err = lwipsim("run", scen, "--out", out)
    check(rc == 0, f"run exit {rc}: {err}")
    s = summary(os.path.join(out, "base"))
    heap = s["heap"]
    stand_in = [str(heap["min_free"]), str(heap["final_free"]), str(heap["baseline_free"])]
    # Independent of the free figures: the subsystems' own accounting. Bytes in use at the
    # end are the sum of what each subsystem holds (each holds its blocks as charged); the peak
    # of the total lies between the largest subsystem peak and the sum of the peaks.
    subs = heap["by_subsystem"].values()
    final_used = sum(x["in_use"] for x in subs)
    check(heap["budget"] - heap["final_free"] == final_used, "final use = sum of in_use")
    peak = heap["budget"] - heap["min_free"]
    check(max(x["peak"] for x in subs) <= peak <= sum(x["peak"] for x in subs),
          f"peak use {peak} within the subsystems' peaks")
    _, compare, _ = lwipsim("compare", out)
    for what, text in [("run table", table), ("compare table", compare)]:
        row = next((l for l in text.splitlines() if l.startswith("base ")), "")
        check("unlimited" in row, f"{what}: says unlimited: {row!r}")
        check(str(peak) in row.split(), f"{what}: shows the peak use {peak}: {row!r}")
        for n in stand_in:
            check(n not in text, f"{what}: prints the stand-in free heap {n}: {text!r}")
    with open(os.path.join(out, "base", "report.html")) as f:
        html = f.read()
    check("unlimited" in html, "report.html says unlimited")
    for n in stand_in + [str(heap["budget"])]:
        check(n not in html, f"report.html prints the stand-in free heap or budget {n}")
    # The heap plot draws the heap in use (its y values stay near the peak use, not near
    # 1 TiB) and no stand-in budget line.
    with open(os.path.join(out, "base", "plots", "heap.gp")) as f:
        gp = f.read()
    check("heap in use" in gp, "heap plot: heap in use")
    check("heap budget" not in gp, "heap plot: no budget line without a budget")
    sweep = os.path.join(WORK, "sweep")
    rc, _, err = lwipsim("sweep", scen, "--seeds", "1", "--out", sweep, "--quiet")
    check(rc == 0, f"sweep exit {rc}: {err}")
    with open(os.path.join(sweep, "sweep.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    check(len(rows) == 1, f"one row: {rows}")
    if rows:
        r = rows[0]
        check(r["heap.min_free"] == "", f"sweep.csv heap.min_free empty: {r['heap.min_free']!r}")
        s2 = summary(os.path.join(sweep, r["folder"]))
        check(r["heap.peak_used"] == str(s2["heap"]["budget"] - s2["heap"]["min_free"]),
              f"sweep.csv heap.peak_used: {r['heap.peak_used']!r}")


def case_out_dir():
    """--out: a file is a usage error (exit 2, not 70); a folder of another scenario is refused
    unless --force, which never removes what lwipsim did not write; --seed -1 is refused."""
    scen = os.path.join(DATA, "two_variants.yaml")
    a_file = os.path.join(WORK, "a_file")
    with open(a_file, "w") as f:
        f.write("not a folder\n")
    for cmd in (["run", scen, "--variant", "linger_0"],
                ["sweep", scen, "--param", "app.keepalive=20s", "--variant", "linger_0"]):
        rc, _, err = lwipsim(*cmd, "--out", a_file, "--no-plots", "--quiet") if cmd[0] == "run" \
            else lwipsim(*cmd, "--out", a_file, "--quiet")
        check(rc == 2, f"{cmd[0]} --out FILE: exit {rc}, expected 2: {err!r}")
        check("not a folder" in err and "internal error" not in err,
              f"{cmd[0]} --out FILE: message {err!r}")
        with open(a_file) as f:
            check(f.read() == "not a folder\n", f"{cmd[0]} --out FILE: the file is untouched")

    for cmd in (["run", scen], ["sweep", scen, "--param", "app.keepalive=20s"]):
        out = os.path.join(WORK, "seed_" + cmd[0])
        rc, _, err = lwipsim(*cmd, "--seed", "-1", "--out", out, "--quiet")
        check(rc == 2, f"{cmd[0]} --seed -1: exit {rc}, expected 2")
        check("--seed" in err and "-1" in err, f"{cmd[0]} --seed -1: message {err!r}")
        check(not os.path.exists(out), f"{cmd[0]} --seed -1: nothing written")

    # Two scenarios into one folder: the second is refused, the first's results stay.
    out = os.path.join(WORK, "shared")
    rc, _, err = lwipsim("run", scen, "--variant", "linger_0", "--out", out, "--no-plots",
                         "--quiet")
    check(rc == 0, f"first run: exit {rc}: {err}")
    other = os.path.join(DATA, "failing.yaml")
    rc, _, err = lwipsim("run", other, "--variant", "linger_0", "--out", out, "--no-plots",
                         "--quiet")
    check(rc == 2, f"another scenario into the same --out: exit {rc}, expected 2")
    check("two_variants" in err and "--force" in err, f"refusal names the scenario: {err!r}")
    check(summary(os.path.join(out, "linger_0"))["scenario"] == "two_variants",
          "refused run left the first results alone")
    # The same scenario again is fine (variants are replaced one by one).
    rc, _, err = lwipsim("run", scen, "--variant", "linger_off", "--out", out, "--no-plots",
                         "--quiet")
    check(rc == 0, f"same scenario into the same --out: exit {rc}: {err}")
    # --force with a file lwipsim did not write: refused, the file kept.
    notes = os.path.join(out, "notes.txt")
    with open(notes, "w") as f:
        f.write("mine\n")
    rc, _, err = lwipsim("run", other, "--variant", "linger_0", "--out", out, "--no-plots",
                         "--quiet", "--force")
    check(rc == 2 and "notes.txt" in err, f"--force with a foreign file: exit {rc}: {err!r}")
    check(os.path.exists(notes), "--force kept the foreign file")
    os.remove(notes)
    # The same for a file of the user's inside folders named like lwipsim's own (plots/,
    # <variant>.partial/): a name alone does not make a folder lwipsim's.
    for folder in ("plots", "linger_9.partial"):
        mine = os.path.join(out, folder, "thesis.tex")
        os.makedirs(os.path.dirname(mine))
        with open(mine, "w") as f:
            f.write("mine\n")
        rc, _, err = lwipsim("run", other, "--variant", "linger_0", "--out", out, "--no-plots",
                             "--quiet", "--force")
        check(rc == 2 and folder in err, f"--force with {folder}/thesis.tex: exit {rc}: {err!r}")
        check(os.path.exists(mine), f"--force kept {folder}/thesis.tex")
        shutil.rmtree(os.path.dirname(mine))
    # --force: the other scenario's results are gone, the new ones are there.
    rc, _, err = lwipsim("run", other, "--variant", "linger_0", "--out", out, "--no-plots",
                         "--quiet", "--force")
    check(rc == 1, f"--force run of failing.yaml: exit {rc}, expected 1: {err}")
    check(sorted(os.listdir(out)) == ["linger_0"], f"after --force: {sorted(os.listdir(out))}")
    check(summary(os.path.join(out, "linger_0"))["scenario"] == "failing", "--force replaced")


def case_list():
    """list DIR: a broken file is marked with its error, the valid ones are still listed."""
    d = os.path.join(WORK, "scenarios")
    os.makedirs(d)
    shutil.copy(os.path.join(DATA, "bad_unit.yaml"), os.path.join(d, "a_bad.yaml"))
    shutil.copy(os.path.join(DATA, "two_variants.yaml"), os.path.join(d, "b_good.yaml"))
    rc, out, err = lwipsim("list", d)
    check(rc == 2, f"list with an invalid file: exit {rc}, expected 2")
    lines = out.splitlines()
    check(len(lines) == 2, f"both files listed: {lines}")
    bad = [l for l in lines if l.startswith("a_bad.yaml")]
    good = [l for l in lines if l.startswith("b_good.yaml")]
    # bad_unit.yaml line 3 is "  keepalive: 30sec": the value starts in column 14.
    check(bad and "INVALID" in bad[0] and "a_bad.yaml:3:14:" in bad[0], f"invalid marked: {bad}")
    # The description line of two_variants.yaml.
    check(good and good[0].endswith("short field case for the CLI tests, linger off vs 0"),
          f"valid listed: {good}")
    check("1 of 2" in err, f"summary on stderr: {err!r}")
    os.remove(os.path.join(d, "a_bad.yaml"))
    rc, out, _ = lwipsim("list", d)
    check(rc == 0 and out.startswith("b_good.yaml"), f"all valid: exit {rc}")


def heap_dat_min_free(folder):
    """Lowest free heap on the heap plot's data (columns: t, free, low, high)."""
    plots = os.path.join(folder, "plots")
    dats = [f for f in os.listdir(plots) if f.startswith("heap_") and f.endswith(".dat")]
    low = None
    with open(os.path.join(plots, dats[0])) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            cols = [float(c) for c in line.split()]
            low = min(cols[1:]) if low is None else min(low, *cols[1:])
    return low


def case_reports():
    """run writes the comparison report.html of a multi-variant run; the heap plot reaches
    heap.min_free; compare and plot work on a sweep folder."""
    scen = os.path.join(DATA, "two_variants.yaml")
    out = os.path.join(WORK, "run")
    rc, _, err = lwipsim("run", scen, "--out", out, "--quiet")
    check(rc == 0, f"run with plots: exit {rc}: {err}")
    top = os.path.join(out, "report.html")
    check(os.path.exists(top), "comparison report.html in the parent folder")
    if os.path.exists(top):
        html = open(top).read()
        for v in ["linger_off", "linger_0"]:
            check(f'href="{v}/report.html"' in html, f"comparison links {v}")
        # One row per expectation with a column per variant: app.connects >= 1 applies to
        # both; pcbs.max_fin_wait_1 == 0 only to linger_0 (two_variants.yaml).
        check(html.count("does not apply") == 1, "one expectation does not apply to linger_off")
        check("app.connects &ge; 1" in html, "expectation written as metric op value")
    for v in ["linger_off", "linger_0"]:
        folder = os.path.join(out, v)
        s = summary(folder)
        # The plot samples every second, the handshake's peak lasts milliseconds: the band
        # (lowest..highest between samples) must still reach the run's lowest free heap.
        check(heap_dat_min_free(folder) == s["heap"]["min_free"],
              f"{v}: heap plot's lowest free {heap_dat_min_free(folder)} != "
              f"heap.min_free {s['heap']['min_free']}")
        with open(os.path.join(folder, "timeseries.csv")) as f:
            rows = list(csv.DictReader(f))
        budget = s["heap"]["budget"]
        check(min(budget - int(r["heap_used_max"]) for r in rows) == s["heap"]["min_free"],
              f"{v}: timeseries heap_used_max reaches the peak")
        check(all(int(r["heap_used_min"]) <= int(r["used"]) <= int(r["heap_used_max"])
                  for r in rows), f"{v}: used within [heap_used_min, heap_used_max]")

    sweep = os.path.join(WORK, "sweep")
    rc, _, err = lwipsim("sweep", scen, "--param", "app.keepalive=20s,40s", "--variant",
                         "linger_0", "--out", sweep, "--quiet")
    check(rc == 0, f"sweep: exit {rc}: {err}")
    rc, so, err = lwipsim("compare", sweep)
    check(rc == 0, f"compare on a sweep: exit {rc}: {err!r}")
    for p in ["app.keepalive=20s,seed=7", "app.keepalive=40s,seed=7"]:
        check(f"point {p}" in so, f"compare shows point {p}")
    check(so.count("linger_0 ") == 2, f"one row per run: {so!r}")
    rc, so, err = lwipsim("plot", sweep, "--quiet")
    check(rc == 0, f"plot on a sweep: exit {rc}: {err!r}")
    check(os.path.exists(os.path.join(sweep, "report.html")), "sweep report.html")
    for p in ["app.keepalive=20s,seed=7", "app.keepalive=40s,seed=7"]:
        check(os.path.exists(os.path.join(sweep, p, "report.html")), f"{p}/report.html")
        check(os.path.exists(os.path.join(sweep, p, "linger_0", "plots", "heap.svg")),
              f"{p}: heap plot")
    if os.path.exists(os.path.join(sweep, "report.html")):
        html = open(os.path.join(sweep, "report.html")).read()
        check(html.count('/linger_0/report.html"') == 2, "sweep table links both runs")


def case_cpu_pinning():
    """--cpu-pinning (docs/cli.md): each worker claims a free CPU through a lock file per CPU
    (cpuN.lock in the cache folder); a worker that finds every CPU claimed is not pinned; off
    pins nothing; other values are a usage error. The test holds every lock but one itself
    (flock, as another worker would), so the CPU the workers may get is known beforehand.
    At abi host, where the first CLI's own workers run the variants and --verbose reaches them
    (a 32-bit sibling runs --quiet; it claims its CPU with the same code)."""
    import fcntl
    scen = os.path.join(DATA, "two_variants.yaml")
    rc, _, err = lwipsim("--cpu-pinning", "sometimes", "run", scen, "--out",
                         os.path.join(WORK, "bad"), "--no-plots")
    check(rc == 2, f"--cpu-pinning sometimes: exit {rc}, expected 2: {err!r}")
    rc, _, err = lwipsim("run", scen, "--out", os.path.join(WORK, "bad_env"), "--no-plots",
                         env=dict(os.environ, LWIPSIM_CPU_PINNING="of"))
    check(rc == 2 and "LWIPSIM_CPU_PINNING" in err and "'of'" in err,
          f"LWIPSIM_CPU_PINNING=of: exit {rc}, expected 2 naming the variable: {err!r}")
    check(not os.path.exists(os.path.join(WORK, "bad_env")), "bad LWIPSIM_CPU_PINNING: nothing written")
    allowed = sorted(os.sched_getaffinity(0))
    cache = os.path.join(WORK, "cache")  # private: no other test's workers hold these locks
    os.makedirs(os.path.join(cache, "cpus"))
    free = allowed[-1]
    held = []
    for cpu in allowed[:-1]:
        f = open(os.path.join(cache, "cpus", f"cpu{cpu}.lock"), "w")
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.append(f)
    env = dict(os.environ, LWIPSIM_CACHE_DIR=cache)
    rc, _, err = lwipsim("-v", "run", scen, "--set", "abi=host", "--jobs", "2", "--out",
                         os.path.join(WORK, "auto"), "--no-plots", env=env)
    check(rc == 0, f"pinned run: exit {rc}: {err!r}")
    on = [int(c) for c in re.findall(r": on CPU (\d+)$", err, re.M)]
    not_pinned = re.findall(r": not pinned: (.*)$", err, re.M)
    check(len(on) + len(not_pinned) == 2, f"one line per worker: {err!r}")
    if len(allowed) > 1:
        check(on and all(c == free for c in on), f"workers only on the free CPU {free}: {on}")
        check(all(r == "every allowed CPU is claimed by another lwipsim worker"
                  for r in not_pinned), f"why not pinned: {not_pinned}")
    else:
        check(not on and all("one CPU only" in r for r in not_pinned), f"one CPU: {err!r}")
    for args, how in [(["--cpu-pinning", "off"], "flag"), ([], "environment")]:
        env_off = dict(env, LWIPSIM_CPU_PINNING="off") if how == "environment" else env
        rc, _, err = lwipsim("-v", *args, "run", scen, "--set", "abi=host", "--jobs", "2",
                             "--out", os.path.join(WORK, "off_" + how), "--no-plots", env=env_off)
        check(rc == 0, f"unpinned run ({how}): exit {rc}: {err!r}")
        check(": on CPU" not in err and ": not pinned" not in err,
              f"--cpu-pinning off ({how}) claimed a CPU: {err!r}")
    for f in held:
        f.close()


CASES = {"parallel": case_parallel, "shards": case_shards, "exit_codes": case_exit_codes,
         "junit": case_junit, "shard_auto": case_shard_auto, "merge_checks": case_merge_checks,
         "resume": case_resume, "permissions": case_permissions,
         "unlimited_heap": case_unlimited_heap, "out_dir": case_out_dir, "list": case_list,
         "reports": case_reports, "cpu_pinning": case_cpu_pinning}

shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
CASES[CASE]()
if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
print(f"cli {CASE}: ok")
