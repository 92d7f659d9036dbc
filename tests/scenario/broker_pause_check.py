"""broker_pause (tests/data/scenarios/broker_pause.yaml): mosquitto is frozen (SIGSTOP) from 60 s
to 120 s on an idle session with keepalive 20 s, latency 40 ms.

Expected, for independent reasons:
- broker_paused at 60 s, broker_resumed at 120 s;
- a frozen process writes nothing: no TCP payload from the broker (10.0.2.2) in device.pcap
  between 60 s + one RTT and 120 s; the host kernel still completes TCP handshakes for it
  (its listen queue), so the device's reconnects in the window get SYN-ACKs;
- esp-mqtt's keepalive (sim/device/mqtt_session.h, from mqtt_client.c): the first PINGREQ after
  the pause (the device's first payload frame after 60 s) gets no PINGRESP, and the client
  aborts at its first 1 s loop iteration strictly more than keepalive/2 = 10 s after it: at
  that PINGREQ + 11 s (event ping_timeout, then mqtt_disconnected);
- once the broker runs again the device has a session within reconnect_delay +
  network_timeout (an attempt in its TLS handshake at 120 s completes; otherwise the next one
  does): 120 s < CONNACK < 141 s.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from e2e_common import (DEVICE_IP, GATEWAY_IP, Checks, frames, load_events,  # noqa: E402
                        need_tools, run_lwipsim)

lwipsim, scenario = sys.argv[1], sys.argv[2]
need_tools("tshark")
out = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"lwipsim-broker-pause-{os.getpid()}")
rc = run_lwipsim(lwipsim, scenario, out, "--quiet", timeout=120)
c = Checks("broker_pause")
c.check(rc == 0, f"lwipsim run exits 0, got {rc}")
run = os.path.join(out, "base")
events = load_events(run)
PAUSE, RESUME, RTT = 60.0, 120.0, 0.080


def of(kind):
    return [e for e in events if e["type"] == kind]


paused, resumed = of("broker_paused"), of("broker_resumed")
c.check([e["t_s"] for e in paused] == [PAUSE] and [e["t_s"] for e in resumed] == [RESUME],
        f"paused at {PAUSE} s, resumed at {RESUME} s: {paused} {resumed}")
pcap = os.path.join(run, "device.pcap")
from_broker = frames(pcap, f"ip.src=={GATEWAY_IP} && tcp.len>0")
c.check(not [f for f in from_broker if PAUSE + RTT < f["t"] < RESUME],
        "no payload from the broker while it is frozen")
synacks = frames(pcap, f"ip.src=={GATEWAY_IP} && tcp.flags.syn==1 && tcp.flags.ack==1")
c.check([f for f in synacks if PAUSE < f["t"] < RESUME],
        "the kernel still accepts connections for the frozen broker (SYN-ACKs)")
c.check([f for f in from_broker if f["t"] > RESUME], "the broker answers again after resuming")

payload_up = frames(pcap, f"ip.src=={DEVICE_IP} && tcp.len>0")
pingreq = next((f["t"] for f in payload_up if f["t"] > PAUSE), None)
timeouts = [e["t_s"] for e in of("ping_timeout")]
c.check(pingreq is not None and PAUSE < pingreq <= PAUSE + 11.0,
        f"a PINGREQ within keepalive/2 + 1 s of the pause: {pingreq}")
c.check(pingreq is not None and len(timeouts) >= 1 and abs(timeouts[0] - (pingreq + 11.0)) < 0.01,
        f"ping timeout at PINGREQ + 11 s ({pingreq} + 11): {timeouts}")
lost = of("mqtt_disconnected")
c.check(lost and timeouts and abs(lost[0]["t_s"] - timeouts[0]) < 0.01,
        f"the session ends at the ping timeout: {lost}")
connected = [e["t_s"] for e in of("mqtt_connected")]
after = [t for t in connected if t > RESUME]
c.check(connected and connected[0] < PAUSE and after and after[0] < RESUME + 21.0,
        f"a session before the pause and one within 21 s of the resume: {connected}")
c.check(not [t for t in connected if PAUSE < t < RESUME], "no session while frozen")
c.finish()
