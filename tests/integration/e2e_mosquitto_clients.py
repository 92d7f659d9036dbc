#!/usr/bin/env python3
"""Issue 4, end to end with real MQTT clients: the device (through slirp) and mosquitto_sub /
mosquitto_pub share a broker this test starts itself (TLS on 127.0.0.1, own CA), which the
scenario names as an external broker.

    e2e_mosquitto_clients.py <lwipsim> <scenario dir> <work dir>

Expected values and why (tests/data/scenarios/e2e_basic.yaml):
  * The device publishes `size` = 100-byte QoS 0 payloads to e2e/basic/up every 5 s, the first
    one interval after CONNACK, while the 60 s run lasts (esp-mqtt-like session: no publish
    at the deadline). CONNACK comes well within the first 5 s, so exactly 11 publishes
    (t_c + 5k < 60 for k = 1..11). mosquitto_sub -C 11 must receive 11 messages on that topic,
    each 100 bytes, all different; and the device's own count (publishes_sent) must be 11, so
    no message went missing or extra.
  * mosquitto_pub sends to the device's subscribe topic e2e/basic/down in a loop while lwipsim
    runs (bounded); the device must count at least one received message, and no more than were
    published. Virtual time is held at most host_grace after each publish for a reply that
    never comes (QoS 0), so time.host_grace=500ms stretches the session over >= 5 s of wall
    time; the loop gets many chances.
  * The broker's log shows the device's client id connecting from 127.0.0.1 (slirp's host side).
"""

import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_broker  # noqa: E402
import e2e_common as e2e  # noqa: E402

UP_TOPIC, DOWN_TOPIC = "e2e/basic/up", "e2e/basic/down"
SIZE, EXPECTED = 100, 11
CLIENT_ID = "e2e-basic"
MAX_PUBS = 400  # bound of the mosquitto_pub loop


def main():
    lwipsim, scen_dir, work = sys.argv[1:4]
    e2e.need_tools("tshark", "mosquitto", "mosquitto_sub", "mosquitto_pub", "openssl")
    os.makedirs(work, exist_ok=True)
    broker = e2e_broker.Broker(os.path.join(work, "broker"))
    e2e_broker.stop_on_signals(broker)
    sub = None
    c = e2e.Checks("e2e_mosquitto_clients")
    try:
        broker.start()
        print(f"  broker pid {broker.proc.pid} on 127.0.0.1:{broker.port}")
        sub = subprocess.Popen(
            ["mosquitto_sub", *broker.client_args(), "-i", "e2e-sub", "-t", UP_TOPIC, "-q", "1",
             "-C", str(EXPECTED), "-W", "90", "-F", "%t\t%l\t%p"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            preexec_fn=e2e_broker.die_with_parent)
        if not c.check(broker.wait_log("Sending SUBACK to e2e-sub"), "mosquitto_sub subscribed"):
            c.finish()

        done = threading.Event()
        published = []

        def pub_loop():
            for i in range(MAX_PUBS):
                if done.is_set():
                    return
                r = subprocess.run(["mosquitto_pub", *broker.client_args(), "-i", "e2e-pub",
                                    "-t", DOWN_TOPIC, "-m", f"to-device-{i}", "-q", "1"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   timeout=30)
                if r.returncode == 0:
                    published.append(i)
                time.sleep(0.05)

        pubs = threading.Thread(target=pub_loop)
        pubs.start()
        out = os.path.join(work, "run")
        try:
            rc = e2e.run_lwipsim(
                lwipsim, os.path.join(scen_dir, "e2e_basic.yaml"), out,
                "--set", "broker.mode=external", "--set", "broker.host=127.0.0.1",
                "--set", f"broker.port={broker.port}", "--set", f"broker.ca_file={broker.ca}",
                "--set", "broker.server_name=localhost",
                # Each QoS 0 publish gets no reply, so virtual time is held for the whole host
                # grace after it: 11 x 500 ms keeps the session open for >= 5 s of wall time,
                # room for many mosquitto_pub runs even on a loaded machine.
                "--set", "time.host_grace=500ms")
        finally:
            done.set()
            pubs.join(timeout=60)
        c.check(rc == 0, f"lwipsim exit code 0 (got {rc})")
        stdout, stderr = e2e.collect(sub)
        c.check(sub.returncode == 0, f"mosquitto_sub -C {EXPECTED} exited 0 ({sub.returncode}) "
                f"{stderr.strip()}")
        lines = [ln.split("\t") for ln in stdout.splitlines() if ln]
        c.check(len(lines) == EXPECTED, f"mosquitto_sub got {len(lines)} messages == {EXPECTED}")
        c.check(all(ln[0] == UP_TOPIC for ln in lines), f"all on topic {UP_TOPIC}")
        c.check(all(int(ln[1]) == SIZE and len(ln[2]) == SIZE for ln in lines),
                f"all {SIZE} bytes: {sorted({ln[1] for ln in lines})}")
        c.check(len({ln[2] for ln in lines}) == len(lines), "all payloads different")

        res = os.path.join(out, "base")
        summary = e2e.load_summary(res)
        app = summary["app"]
        print(f"  app {app}; mosquitto_pub sent {len(published)}")
        c.check(app["publishes_sent"] == EXPECTED,
                f"device publishes_sent {app['publishes_sent']} == {EXPECTED}")
        c.check(app["connects"] == 1, f"one MQTT session ({app['connects']})")
        c.check(1 <= app["messages_received"] <= len(published),
                f"device messages_received {app['messages_received']} in 1..{len(published)} "
                "(mosquitto_pub runs)")
        log = broker.log_text()
        c.check(f"New client connected from 127.0.0.1" in log and f" as {CLIENT_ID} " in log,
                f"broker log: {CLIENT_ID} connected from 127.0.0.1")
        c.check(f"Received SUBSCRIBE from {CLIENT_ID}" in log, "broker log: the device subscribed")
    finally:
        if sub is not None and sub.poll() is None and sub.pid > 0:
            sub.kill()
            sub.wait()
        broker.stop()
    c.finish()


if __name__ == "__main__":
    main()
