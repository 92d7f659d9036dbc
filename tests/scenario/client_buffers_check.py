"""esp-mqtt's own buffers on the device heap (issue 12): esp_mqtt_client_init allocates the
receive buffer (buffer_size, default 1024) and the send buffer (out_buffer_size; 0 means
buffer_size) once, from the heap, for the client's whole life (esp-mqtt mqtt_client.c,
esp_mqtt_client_init / esp_mqtt_set_config). So the heap's app subsystem holds exactly those
two blocks from start to end of a run, whatever the sessions do; and a heap too small for them
leaves the device without a client (no connect at all).

    client_buffers_check.py <lwipsim> <scenario>
"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

lwipsim, scenario = sys.argv[1], sys.argv[2]


def run(*sets):
    out = Path(tempfile.mkdtemp(prefix="lwipsim-buffers-"))
    args = [lwipsim, "run", scenario, "--out", str(out), "--no-plots", "--set", "duration=20s"]
    for s in sets:
        args += ["--set", s]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    summary = json.loads((out / "base" / "summary.json").read_text())
    events = [json.loads(l) for l in (out / "base" / "events.jsonl").read_text().splitlines()]
    return summary, events


def app_heap(summary):
    return summary["heap"]["by_subsystem"]["app"]


# The esp-idf-v4.4 profile charges ESP-IDF v4.4's heap cost per block (docs/fidelity.md): TLSF
# keeps a 4-byte size field per used block, and these sizes are already multiples of its 4-byte
# alignment and above its 12-byte smallest block, so each buffer costs its size + 4.
TLSF_HEADER = 4

s, _ = run()  # defaults: 1024 + 1024
assert s["options"]["heap_allocator"] == "esp-idf-v4.4", s["options"]
a = app_heap(s)
want = 2 * (1024 + TLSF_HEADER)
assert (a["in_use"], a["peak"], a["allocs"]) == (want, want, 2), a
assert s["app"]["connects"] == 1, s["app"]

s, _ = run("app.buffer_size=2KiB", "app.out_buffer_size=512B")
a = app_heap(s)
want = 2048 + TLSF_HEADER + 512 + TLSF_HEADER
assert (a["in_use"], a["peak"], a["allocs"]) == (want, want, 2), a

# With heap.block_overhead the user's flat cost replaces it: size + N per block.
s, _ = run("heap.block_overhead=8B")
a = app_heap(s)
assert (a["in_use"], a["allocs"]) == (2 * (1024 + 8), 2), a

# A 1 MiB receive buffer does not fit a 64 KiB heap: esp_mqtt_client_init fails.
s, events = run("heap.budget=64KiB", "app.buffer_size=1MiB")
assert [e["type"] for e in events if e["type"] == "mqtt_client_init_failed"], events[:5]
assert s["app"]["connects"] == 0 and app_heap(s)["in_use"] == 0, (s["app"], app_heap(s))
print("client buffers: 2048 B by default, 2560 B as set, no client when the buffer does not fit")
