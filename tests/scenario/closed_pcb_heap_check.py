#!/usr/bin/env python3
"""Checks timeseries.csv's closed_pcb_heap columns of a run folder against what pcbs.csv and
lwIP's struct sizes say independently (docs/results.md, closed_pcb_heap).

Usage: closed_pcb_heap_check.py RUN_FOLDER STRUCT_SIZES_PROGRAM

For every sample t and state S, the PCBs closed by the application and not yet freed
(closed_at_s <= t < freed_at_s) whose state at t is S are counted from pcbs.csv:
  - closed_pcb_heap_S is > 0 exactly when that count is > 0;
  - closed_pcb_heap_S >= sum over them of the heap's charge for a block of
    sizeof(struct tcp_pcb) + unacked_bytes_at_close (each queued payload byte lives in a pbuf
    of a queued segment);
  - closed_pcb_heap == the sum of the per-state columns.
Samples taken at the very instant of a close, free or state change are skipped: which side of
the change a sample falls on is a matter of event order within the instant.
"""
import csv
import json
import subprocess
import sys

STATES = ["SYN_SENT", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING",
          "LAST_ACK", "TIME_WAIT"]


def struct_sizes(program):
    out = subprocess.run([program], check=True, capture_output=True, text=True).stdout
    return {name: int(size) for name, size in (line.split() for line in out.splitlines())}


def block_charge(size, options):
    """Bytes one block of `size` takes from the device heap (summary.json's options). With
    allocator esp-idf-v4.4, ESP-IDF v4.4.4's TLSF heap (docs/fidelity.md): the request grows by
    heap poisoning's canaries (head 8, +4 with task tracking, tail 4), is rounded up to 4 bytes
    and to at least 12, and the block's 4-byte size field comes on top."""
    if options["heap_allocator"] == "none":
        return size + options["heap_block_overhead"]
    if options["heap_poisoning"] != "none":
        size += 12 + (4 if options["heap_task_tracking"] else 0)
    return max((size + 3) // 4 * 4, 12) + 4


def state_at(states, t):
    current = None
    for name, at in states:
        if at <= t:
            current = name
    return current


def main():
    folder, program = sys.argv[1], sys.argv[2]
    sizes = struct_sizes(program)
    with open(f"{folder}/summary.json") as f:
        summary = json.load(f)
    pcb_block = block_charge(sizes["tcp_pcb"], summary["options"])
    pcbs = []
    with open(f"{folder}/pcbs.csv") as f:
        for row in csv.DictReader(f):
            states = [(s.split("@")[0], float(s.split("@")[1])) for s in row["states"].split()]
            pcbs.append({
                "closed": float(row["closed_at_s"]) if row["closed_at_s"] else None,
                "freed": float(row["freed_at_s"]) if row["freed_at_s"] else None,
                "unacked": int(row["unacked_bytes_at_close"]),
                "states": states,
            })
    instants = set()
    for p in pcbs:
        instants.update(x for x in (p["closed"], p["freed"]) if x is not None)
        instants.update(at for _, at in p["states"])
    failures = []
    checked = nonzero = 0
    with open(f"{folder}/timeseries.csv") as f:
        for row in csv.DictReader(f):
            t = float(row["t_s"])
            if "closed_pcb_heap" not in row:
                sys.exit(f"{folder}/timeseries.csv: no closed_pcb_heap column")
            columns = {s: int(row[f"closed_pcb_heap_{s}"]) for s in STATES}
            if int(row["closed_pcb_heap"]) != sum(columns.values()):
                failures.append(f"t={t}: closed_pcb_heap {row['closed_pcb_heap']} != sum of states")
            if any(abs(t - x) < 1e-9 for x in instants):
                continue
            checked += 1
            for s in STATES:
                held = [p for p in pcbs
                        if p["closed"] is not None and p["closed"] < t
                        and (p["freed"] is None or t < p["freed"]) and state_at(p["states"], t) == s]
                floor = sum(pcb_block + p["unacked"] for p in held)
                got = columns[s]
                nonzero += got > 0
                if (got > 0) != bool(held):
                    failures.append(f"t={t} {s}: column {got} B but {len(held)} closed PCBs")
                elif got < floor:
                    failures.append(f"t={t} {s}: column {got} B < {floor} B for {len(held)} PCBs")
    for line in failures[:20]:
        print("FAIL", line)
    print(f"{checked} samples checked, {nonzero} non-zero state cells, {len(failures)} failures")
    if nonzero == 0:
        sys.exit("no closed PCB held heap in this run: the check proves nothing")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
