#!/usr/bin/env python3
"""Issue 4, end to end: tshark decrypts the device capture with the exported key log
(tls-keys.log) and shows the MQTT packets; without the key log it shows none.

    e2e_tls_decrypt.py <lwipsim> <scenario dir> <work dir>

Scenario: tests/data/scenarios/e2e_basic.yaml with publishes every 15 s and keepalive 20 s
(set on the command line), so both PUBLISH and PINGREQ appear. Expected, and why:
  * CONNECT with the scenario's client id e2e-basic and keepalive 20, then CONNACK; SUBSCRIBE
    to e2e/basic/down, then SUBACK.
  * PUBLISH to e2e/basic/up with 100-byte payloads, one interval after CONNACK while the run
    lasts: t_c + 15 k < 60 s gives k = 1..3 (CONNACK within the first second), so 3, which is
    also the device's publishes_sent.
  * esp-mqtt's keepalive rule: a PINGREQ at the first 1 s loop iteration strictly more than
    keepalive/2 = 10 s after the last write, so each PINGREQ comes 10..11 s after the device's
    previous MQTT packet; every PINGREQ is answered by a PINGRESP (healthy link).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_common as e2e  # noqa: E402

CONNECT, CONNACK, PUBLISH, SUBSCRIBE, SUBACK, PINGREQ, PINGRESP = 1, 2, 3, 8, 9, 12, 13
CLIENT_ID, UP_TOPIC, DOWN_TOPIC = "e2e-basic", "e2e/basic/up", "e2e/basic/down"
SIZE, KEEPALIVE, INTERVAL, PUBLISHES = 100, 20, 15, 3


def mqtt_packets(pcap, port, keylog):
    """One dict per MQTT packet (a frame may carry several)."""
    opts = ["-d", f"tcp.port=={port},tls", "-d", f"tls.port=={port},mqtt"]
    if keylog:
        opts = ["-o", f"tls.keylog_file:{keylog}", *opts]
    fields = ["frame.time_epoch", "ip.src", "mqtt.msgtype", "mqtt.clientid", "mqtt.topic",
              "mqtt.msg", "mqtt.kalive"]
    cmd_rows = e2e.tshark(pcap, fields, "mqtt", opts, occurrence="a")
    packets = []
    for r in cmd_rows:
        types = r[2].split("|")
        topics = r[4].split("|") if r[4] else []
        msgs = r[5].split("|") if r[5] else []
        for mt in types:
            p = {"t": float(r[0]), "src": r[1], "type": int(mt), "clientid": r[3],
                 "kalive": r[6]}
            if int(mt) in (PUBLISH, SUBSCRIBE) and topics:
                p["topic"] = topics.pop(0)
            if int(mt) == PUBLISH and msgs:
                p["payload_len"] = len(msgs.pop(0)) // 2  # hex
            packets.append(p)
    return packets


def main():
    lwipsim, scen_dir, work = sys.argv[1:4]
    e2e.need_tools("tshark")
    out = os.path.join(work, "decrypt")
    rc = e2e.run_lwipsim(lwipsim, os.path.join(scen_dir, "e2e_basic.yaml"), out,
                         "--set", f"app.publish.interval={INTERVAL}s",
                         "--set", f"app.keepalive={KEEPALIVE}s")
    c = e2e.Checks("e2e_tls_decrypt")
    c.check(rc == 0, f"lwipsim exit code 0 (got {rc})")
    res = os.path.join(out, "base")
    pcap, keylog = os.path.join(res, "device.pcap"), os.path.join(res, "tls-keys.log")
    syns = e2e.frames(pcap, "tcp.flags.syn==1 && tcp.flags.ack==0")
    if not c.check(len(syns) >= 1, "device.pcap: the device opens a TCP connection"):
        c.finish()
    port = syns[0]["dport"]

    c.check(not mqtt_packets(pcap, port, None), "without the key log tshark sees no MQTT")
    pk = mqtt_packets(pcap, port, keylog)
    dev = [p for p in pk if p["src"] == e2e.DEVICE_IP]
    brk = [p for p in pk if p["src"] == e2e.GATEWAY_IP]
    print("  " + ", ".join(f"{p['t']:g}:{p['src'][-1]}:{p['type']}" for p in pk))
    kinds = [p["type"] for p in dev]
    c.check(kinds[:2] == [CONNECT, SUBSCRIBE], f"device starts with CONNECT, SUBSCRIBE: {kinds[:2]}")
    conn = [p for p in dev if p["type"] == CONNECT]
    c.check(len(conn) == 1 and conn[0]["clientid"] == CLIENT_ID,
            f"CONNECT with client id {CLIENT_ID}: {[p['clientid'] for p in conn]}")
    c.check(len(conn) == 1 and conn[0]["kalive"] == str(KEEPALIVE),
            f"CONNECT keepalive {KEEPALIVE}: {[p['kalive'] for p in conn]}")
    c.check([p["type"] for p in brk][:2] == [CONNACK, SUBACK], "broker answers CONNACK, SUBACK")
    subs = [p for p in dev if p["type"] == SUBSCRIBE]
    c.check([p.get("topic") for p in subs] == [DOWN_TOPIC], f"SUBSCRIBE {DOWN_TOPIC}")

    pubs = [p for p in dev if p["type"] == PUBLISH]
    c.check(len(pubs) == PUBLISHES, f"{PUBLISHES} PUBLISH from the device ({len(pubs)})")
    c.check(all(p.get("topic") == UP_TOPIC and p.get("payload_len") == SIZE for p in pubs),
            f"each PUBLISH to {UP_TOPIC} with {SIZE} bytes: "
            f"{[(p.get('topic'), p.get('payload_len')) for p in pubs]}")
    summary = e2e.load_summary(res)
    c.check(summary["app"]["publishes_sent"] == len(pubs),
            f"summary publishes_sent {summary['app']['publishes_sent']} == tshark's {len(pubs)}")

    pings = [p for p in dev if p["type"] == PINGREQ]
    pongs = [p for p in brk if p["type"] == PINGRESP]
    c.check(len(pings) >= 1, f"PINGREQ from the device ({len(pings)})")
    c.check(len(pongs) == len(pings), f"each PINGREQ answered ({len(pongs)} PINGRESP)")
    for ping in pings:
        before = [p["t"] for p in dev if p["t"] < ping["t"] - e2e.EPS]
        gap = ping["t"] - max(before)
        c.check(KEEPALIVE / 2 < gap <= KEEPALIVE / 2 + 1 + e2e.EPS,
                f"PINGREQ at {ping['t']:g} is {gap:.3f} s after the last write (10 < gap <= 11)")
    c.finish()


if __name__ == "__main__":
    main()
