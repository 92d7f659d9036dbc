"""esp-mqtt's outbox on the device heap (issue 12). esp-mqtt (mqtt_outbox.c, outbox_enqueue)
stores every QoS 1 message it sends with two allocations, an outbox_item_t (40 bytes on a 32-bit
ESP32, see harness/runner/heap_outbox.h) and a copy of the encoded message, until its PUBACK;
the client's cleanup deletes items more than OUTBOX_EXPIRED_TIMEOUT_MS = 30 s after they were
first sent. Expected bytes come from the MQTT 3.1.1 encoding, not from lwipsim's output.

    outbox_heap_check.py <lwipsim> <scenario>
"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

lwipsim, scenario = sys.argv[1], sys.argv[2]

# PUBLISH QoS 1 (MQTT 3.1.1 section 3.3): fixed header byte + remaining length (one byte while
# < 128) + topic length field (2) + topic + packet identifier (2) + payload.
TOPIC, PAYLOAD = "lwipsim/outbox", 100  # as in the scenario
remaining = 2 + len(TOPIC) + 2 + PAYLOAD
assert remaining < 128
MESSAGE = 1 + 1 + remaining  # 120
ITEM = 40  # sizeof(outbox_item_t) on an ESP32
BLOCK_OVERHEAD = 8  # heap.block_overhead in the scenario; two blocks per item
CHARGE = MESSAGE + ITEM + 2 * BLOCK_OVERHEAD  # 176 bytes of heap per stored message
BUFFERS = 1024 + 1024 + 2 * BLOCK_OVERHEAD  # the client's default in/out buffers


def run(*sets):
    out = Path(tempfile.mkdtemp(prefix="lwipsim-outbox-"))
    args = [lwipsim, "run", scenario, "--out", str(out), "--no-plots"]
    for s in sets:
        args += ["--set", s]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    base = out / "base"
    summary = json.loads((base / "summary.json").read_text())
    events = [json.loads(l) for l in (base / "events.jsonl").read_text().splitlines()]
    rows = (base / "timeseries.csv").read_text().splitlines()
    col = rows[0].split(",").index("app")
    app = {float(r.split(",")[0]): int(r.split(",")[col]) for r in rows[1:]}
    return summary, events, app


def connect_time(events):
    connected = [e["t_s"] for e in events if e["type"] == "mqtt_connected"]
    assert len(connected) == 1, connected
    return connected[0]


def publishes_between(t_c, start, end):
    """Publishes go out every 1 s from the CONNACK (t_c + 1, t_c + 2, ...)."""
    return sum(1 for k in range(1, 200) if start <= t_c + k <= end)


# 1. Blackhole 5 s .. 9.5 s: every publish from 5 s on stays in the outbox; those before were
# acknowledged within a round trip (20 ms). After the path returns, the PUBACKs free them all.
s, events, app = run()
t_c = connect_time(events)
frac = (t_c % 1.0)
assert 0.05 < frac < 0.5, f"connect at {t_c}: publish times too close to a sample or the fault"
for t in (3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0):
    n = publishes_between(t_c, 5.0, t)
    assert app[t] == BUFFERS + n * CHARGE, (t, n, app[t], BUFFERS + n * CHARGE)
heap_app = s["heap"]["by_subsystem"]["app"]
assert heap_app["in_use"] == BUFFERS, heap_app  # every item freed at its PUBACK
assert (heap_app["peak"] - BUFFERS) % CHARGE == 0, heap_app
held = (heap_app["peak"] - BUFFERS) // CHARGE
assert held >= publishes_between(t_c, 5.0, 9.5), (held, heap_app)
assert s["app"]["outbox_peak_bytes"] == held * (MESSAGE + ITEM), s["app"]
assert s["app"]["publishes_unacked_at_end"] == 0, s["app"]
assert s["app"]["outbox_store_failures"] == 0, s["app"]
assert s["app"]["publishes_acked"] == s["app"]["publishes_sent"], s["app"]

# 2. The path is dead for 35 s: lwIP gives up on the connection (tcp_maxrtx 4) and the session is
# lost with its items unacknowledged. The outbox outlives it: nothing frees them while the client
# waits to reconnect (esp-mqtt's cleanup runs in its connected loop). Once connected again, each
# item is deleted at the first loop iteration more than 30 s after its first transmission (loop
# iterations are at most MQTT_POLL_READ_TIMEOUT_MS = 1 s apart).
s, events, app = run("duration=90s", "faults.dead_path.for=35s", "lwip.tcp_maxrtx=4",
                     "app.reconnect_delay=20s")
connects = [e["t_s"] for e in events if e["type"] == "mqtt_connected"]
lost = [e["t_s"] for e in events if e["type"] == "mqtt_disconnected"]
assert len(connects) == 2 and len(lost) == 1 and lost[0] < 40.0 < connects[1], (connects, lost)
expired = [e for e in events if e["type"] == "mqtt_outbox_expired"]
assert expired, "no outbox item expired"
for e in expired:
    assert e["size"] == MESSAGE, e
    assert e["t_s"] - e["sent_at"] > 30.0 and e["t_s"] >= connects[1], e
    assert e["t_s"] <= max(e["sent_at"] + 30.0, connects[1]) + 1.0 + 1e-9, e
held = len(expired)  # every item of the lost session, none of the second one
for t, v in app.items():
    if lost[0] < t < connects[1]:
        assert v == BUFFERS + held * CHARGE, (t, v, held)  # kept across the disconnection
heap_app = s["heap"]["by_subsystem"]["app"]
assert heap_app["peak"] == BUFFERS + held * CHARGE, (heap_app, held)
assert heap_app["in_use"] == BUFFERS, heap_app
assert s["app"]["publishes_sent"] - s["app"]["publishes_acked"] == held, s["app"]
last_expiry = max(e["t_s"] for e in expired)
assert all(v == BUFFERS for t, v in app.items() if t > last_expiry + 1.0), app
print(f"outbox: {CHARGE} B of heap per QoS 1 message held; freed at PUBACK; {held} items kept "
      f"across a reconnect and deleted 30 s after their first send")
