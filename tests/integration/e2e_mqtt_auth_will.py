#!/usr/bin/env python3
"""Issue 12, end to end: the device's MQTT credentials and last will against a real mosquitto
with a password file (this test's own broker, TLS on 127.0.0.1), checked with mosquitto_sub.

    e2e_mqtt_auth_will.py <lwipsim> <scenario dir> <work dir>

Expected values and why (tests/data/scenarios/e2e_auth_will.yaml):
  * Wrong password: mosquitto's handle__connect (src/handle_connect.c) answers a failed
    password check (MOSQ_ERR_AUTH) of an MQTT 3.1.1 client with CONNACK return code 5,
    CONNACK_REFUSED_NOT_AUTHORIZED; MQTT 3.1.1 table 3.1 calls it "not authorized". So every
    attempt is an mqtt_connect_failed event with return_code 5 and the detail
    "CONNACK refused: not authorized (5)", and no session ever starts (app.connects 0).
  * Right password: session 1 loses its PINGRESP to a downlink blackhole, the client aborts
    (linger 0: tcp_abort, RST up the healthy uplink), so the connection ends without
    DISCONNECT and mosquitto publishes the will (MQTT 3.1.1 3.1.2.5), retained. mosquitto_sub,
    subscribed before the run, receives exactly that message: topic e2e/will/status, payload
    "offline". Session 2 subscribes to the same topic and receives the retained will: the will
    was published while the run went on, not when lwipsim exited.
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_broker  # noqa: E402
import e2e_common as e2e  # noqa: E402

WILL_TOPIC, WILL_PAYLOAD, CLIENT_ID = "e2e/will/status", "offline", "e2e-will"
USERS = {"device": "right-pass", "watcher": "watch-pass"}


def run(lwipsim, scen_dir, out, broker, password):
    return e2e.run_lwipsim(
        lwipsim, os.path.join(scen_dir, "e2e_auth_will.yaml"), out,
        "--set", "broker.mode=external", "--set", "broker.host=127.0.0.1",
        "--set", f"broker.port={broker.port}", "--set", f"broker.ca_file={broker.ca}",
        "--set", "broker.server_name=localhost", "--set", f"app.password={password}")


def check_refused(c, lwipsim, scen_dir, work, broker):
    out = os.path.join(work, "wrong_password")
    rc = run(lwipsim, scen_dir, out, broker, "wrong-pass")
    c.check(rc == 0, f"lwipsim exit code 0 (got {rc})")
    res = os.path.join(out, "base")
    failed = [e for e in e2e.load_events(res) if e["type"] == "mqtt_connect_failed"]
    c.check(len(failed) >= 1, f"at least one refused connect ({len(failed)})")
    c.check(all(e.get("return_code") == 5 for e in failed),
            f"every refusal carries CONNACK code 5: {[e.get('return_code') for e in failed]}")
    c.check(all(e.get("detail") == "CONNACK refused: not authorized (5)" for e in failed),
            f"detail text: {sorted({e.get('detail') for e in failed})}")
    c.check(e2e.load_summary(res)["app"]["connects"] == 0, "no session started")
    c.check("not authorised" in broker.log_text(), "broker log: client not authorised")


def check_will(c, lwipsim, scen_dir, work, broker):
    sub = subprocess.Popen(
        ["mosquitto_sub", *broker.client_args(), "-i", "e2e-watcher", "-u", "watcher",
         "-P", USERS["watcher"], "-t", WILL_TOPIC, "-q", "1", "-C", "1", "-W", "90",
         "-F", "%t\t%p"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=e2e_broker.die_with_parent)
    try:
        if not c.check(broker.wait_log("Sending SUBACK to e2e-watcher"), "mosquitto_sub subscribed"):
            return
        out = os.path.join(work, "will")
        rc = run(lwipsim, scen_dir, out, broker, USERS["device"])
        c.check(rc == 0, f"lwipsim exit code 0 (got {rc})")
        stdout, stderr = e2e.collect(sub)
        c.check(sub.returncode == 0, f"mosquitto_sub -C 1 exited 0 ({sub.returncode}) "
                f"{stderr.strip()}")
        c.check(stdout.strip() == f"{WILL_TOPIC}\t{WILL_PAYLOAD}",
                f"mosquitto_sub got the will: {stdout.strip()!r}")
        res = os.path.join(out, "base")
        summary = e2e.load_summary(res)
        app = summary["app"]
        c.check(app["connects"] == 2, f"two sessions, the first aborted ({app['connects']})")
        c.check(app["messages_received"] == 1,
                f"session 2 received the retained will ({app['messages_received']})")
        first = summary["pcbs"][0]
        c.check(first["free_reason"] == "aborted" and first["rst_sent"] is True,
                f"session 1's PCB aborted with its RST sent: {first['free_reason']}, "
                f"{first['rst_sent']}")
    finally:
        if sub.poll() is None and sub.pid > 0:
            sub.kill()
            sub.wait()


def main():
    lwipsim, scen_dir, work = sys.argv[1:4]
    e2e.need_tools("mosquitto", "mosquitto_sub", "mosquitto_passwd", "openssl")
    os.makedirs(work, exist_ok=True)
    broker = e2e_broker.Broker(os.path.join(work, "broker"), users=USERS)
    e2e_broker.stop_on_signals(broker)
    c = e2e.Checks("e2e_mqtt_auth_will")
    try:
        broker.start()
        print(f"  broker pid {broker.proc.pid} on 127.0.0.1:{broker.port}, password file")
        check_refused(c, lwipsim, scen_dir, work, broker)
        check_will(c, lwipsim, scen_dir, work, broker)
    finally:
        broker.stop()
    c.finish()


if __name__ == "__main__":
    main()
