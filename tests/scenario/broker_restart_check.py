"""broker_restart (tests/data/scenarios/broker_restart.yaml): stop and start at the same
instant, 30 s into a persistent session (clean_session false, one QoS 1 subscription).

Expected, for independent reasons:
- broker_stopped and broker_started at exactly 30 s; mosquitto's log shows a second start;
- the session ends within 1 s of 30 s (the old process's exit closes the socket), and the next
  connect, one reconnect_delay (5 s) later, is accepted at once: no refused connect (the broker
  listens on the same port again before time moves on);
- MQTT 3.1.1 section 3.2.2.2: CONNACK's session present flag is 1 when the server still holds
  session state for a CleanSession=0 client. mosquitto.conf(5), `persistence true`: the client,
  subscription and message data are written to mosquitto.db and reloaded at the next start. So
  the CONNACK after the restart says session present with broker.persistence, and not without
  (a new process without a database knows nothing); the first CONNACK never does.
- variant `crash_persistent`: SIGKILL instead of SIGTERM. mosquitto.conf(5): the database is
  written at a clean shutdown and every autosave_interval (1800 s by default), so a crash 30 s
  in saves nothing and the CONNACK after the restart says no session present;
- variant `triggered`: the restart comes 20 s after the first CONNACK (trigger mqtt_connected,
  delay 20s) instead of at 30 s, and only once (count 1), though the device connects again.
Argument: `base` (no persistence), `persistent`, `crash_persistent` or `triggered`.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from e2e_common import Checks, load_events, load_summary, run_lwipsim  # noqa: E402

lwipsim, scenario, variant = sys.argv[1], sys.argv[2], sys.argv[3]
persistent = variant in ("persistent", "crash_persistent")
crash = variant == "crash_persistent"
session_kept = persistent and not crash
out = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"lwipsim-broker-restart-{os.getpid()}")
rc = run_lwipsim(lwipsim, scenario, out, "--quiet", "--variant", variant, timeout=120)
c = Checks(f"broker_restart ({variant})")
c.check(rc == 0, f"lwipsim run exits 0, got {rc}")
run = os.path.join(out, variant)
events = load_events(run)
summary = load_summary(run)
connected = [e for e in events if e["type"] == "mqtt_connected"]
T = round(connected[0]["t_s"] + 20.0, 9) if variant == "triggered" and connected else 30.0


def of(kind):
    return [e for e in events if e["type"] == kind]


stopped, started = of("broker_stopped"), of("broker_started")
c.check([e["t_s"] for e in stopped] == [T] and [e["t_s"] for e in started] == [T],
        f"stopped and started at {T} s: {stopped} {started}")
with open(os.path.join(run, "broker.log"), encoding="utf-8", errors="replace") as f:
    log = f.read()
c.check(log.count(" running\n") == 2 and log.count(" terminating") >= 1,
        "broker.log: a second mosquitto started after the first terminated")
c.check(stopped and stopped[0]["persistence"] is persistent, "persistence as configured")
c.check(stopped and stopped[0]["signal"] == ("kill" if crash else "term"), "the signal as configured")
c.check([f["windows"] for f in summary["faults"] if f["name"] == "restart"] == [[[T, T]]],
        f"an instantaneous window [{T}, {T}]: {summary['faults']}")
lost = of("mqtt_disconnected")
c.check(len(lost) == 1 and T <= lost[0]["t_s"] < T + 1.0, f"session lost at the restart: {lost}")
c.check(not of("connect_failed") and not of("mqtt_connect_failed"), "no refused connect")
c.check(len(connected) == 2 and lost and lost[0]["t_s"] + 5.0 <= connected[1]["t_s"]
        < lost[0]["t_s"] + 6.0, f"reconnected one reconnect_delay later: {connected}")
c.check(connected and connected[0]["session_present"] is False, "first CONNACK: no session")
c.check(len(connected) == 2 and connected[1]["session_present"] is session_kept,
        f"CONNACK after the restart: session present {session_kept}")
db = os.path.join(run, "broker.db")
c.check(os.path.exists(db) is persistent, f"broker.db in the run folder: {persistent}")
c.finish()
