#!/usr/bin/env python3
"""Issue 15: app.actions, checked against tshark's reading of device.pcap and lwIP's own rules.

    app_actions_check.py <lwipsim> <scenario dir> <work dir> <case>

drop_idle     An idle, fully acknowledged connection dropped with SO_LINGER {1, 0} sends a FIN,
              not a RST. lwIP 2.1.3 (Debian 2.1.3+dfsg1-2), src/api/api_msg.c,
              lwip_netconn_do_close_internal, lines 984-988:
                  if ((conn->linger >= 0) && (conn->pcb.tcp->unsent || conn->pcb.tcp->unacked)) {
                    if ((conn->linger == 0)) {
                      /* data left but linger prevents waiting */
                      tcp_abort(tpcb);
              and otherwise lines 1007-1009: `err = tcp_close(tpcb);`. SO_LINGER {1, 0} only sets
              conn->linger = 0 (src/api/sockets.c, lwip_setsockopt_impl, SO_LINGER, line 3507:
              `sock->conn->linger = (s16_t)lingersec;`). tcp_close on an ESTABLISHED PCB whose
              received data was all read (tcp_close_shutdown's rst_on_unacked_data check in
              src/core/tcp.c sends a RST only for unread data) sends a FIN: FIN_WAIT_1, then
              FIN_WAIT_2 once the broker ACKs it and TIME_WAIT after the broker's own FIN
              (or CLOSING -> TIME_WAIT when the FINs cross) -- if the peer sends no data after
              the FIN. Mosquitto over TLS does: its close_notify alert, which lwIP's tcp_input
              answers with a RST (data after close, TF_RXCLOSED); the test checks that too.
drop_unacked  The same close with a QoS 1 burst unacknowledged inside a blackhole: unacked !=
              NULL, so lines 984-988 call tcp_abort: a RST at the close instant, the PCB freed at
              once (free reason aborted), never FIN_WAIT_1.
stop_start    A burst of 7 PUBLISHes 200 ms apart (tshark's MQTT dissector over the TLS key log
              counts them), `stop` (one DISCONNECT, then the close; no SYN until `start`),
              `reconnect` while stopped is ignored, `start` connects at once, and a triggered
              `subscribe` 1 s after the second CONNACK.
validation    `do: dorp`: exit 2, file:line:col and a did-you-mean; keys that do not fit the
              action and a missing time are refused too.
"""

import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import e2e_common as e2e  # noqa: E402

DISCONNECT, CONNECT, CONNACK, PUBLISH, SUBSCRIBE = 14, 1, 2, 3, 8


def app_actions(events):
    return [ev for ev in events if ev["type"] == "app_action"]


def pcb_states(pcb):
    return [st["state"] for st in pcb["states"]]


def port_closed_at(c, events, t):
    closes = [ev for ev in events if ev["type"] == "app_close" and abs(ev["t_s"] - t) < e2e.EPS]
    if not c.check(len(closes) == 1, f"one app_close at the drop ({t} s): {closes}"):
        c.finish()
    return closes[0]["local_port"]


def run(c, lwipsim, scen_dir, work, name):
    out = os.path.join(work, name)
    rc = e2e.run_lwipsim(lwipsim, os.path.join(scen_dir, name + ".yaml"), out)
    if not c.check(rc == 0, f"lwipsim exit code 0 (got {rc})"):
        c.finish()
    res = os.path.join(out, "base")
    return res, e2e.load_summary(res), e2e.load_events(res)


def check_drop_event(c, events, t):
    acts = [a for a in app_actions(events) if a["do"] == "drop"]
    c.check(len(acts) == 1 and abs(acts[0]["t_s"] - t) < e2e.EPS and acts[0]["result"] == "done",
            f"events.jsonl: one app_action drop, done, at {t} s: {acts}")
    lost = [ev for ev in events if ev["type"] == "mqtt_disconnected"]
    c.check(any(ev["reason"] == "app-drop" and abs(ev["t_s"] - t) < e2e.EPS for ev in lost),
            f"mqtt_disconnected with reason app-drop at {t} s: {lost}")


def dropped(c, lwipsim, scen_dir, work, name, t_drop):
    """Runs a drop scenario; the dropped connection's port, the device's frames on it, and (tshark)
    the highest sequence number it sent and the highest the broker ACKed before the drop."""
    res, summary, events = run(c, lwipsim, scen_dir, work, name)
    check_drop_event(c, events, t_drop)
    port = port_closed_at(c, events, t_drop)
    dev = e2e.frames(os.path.join(res, "device.pcap"), f"tcp.port=={port}")
    up = [f for f in dev if f["src"] == e2e.DEVICE_IP]
    down = [f for f in dev if f["src"] == e2e.GATEWAY_IP]
    sent_top = max(f["nxtseq"] or f["seq"] for f in up if f["t"] < t_drop - e2e.EPS)
    acked_top = max(f["ack"] or 0 for f in down if f["t"] < t_drop - e2e.EPS)
    return res, summary, events, port, up, sent_top, acked_top


def drop_idle(c, lwipsim, scen_dir, work):
    t_drop = 20.0
    res, summary, events, port, up, sent_top, acked_top = dropped(c, lwipsim, scen_dir, work,
                                                                 "app_actions_drop_idle", t_drop)
    c.check(sent_top == acked_top,
            f"tshark: everything the device sent was ACKed before the drop (sent up to "
            f"{sent_top}, ACKed {acked_top})")
    at_drop = [f for f in up if abs(f["t"] - t_drop) < e2e.EPS]
    c.check(len([f for f in at_drop if f["flags"] & e2e.TCP_FIN]) == 1,
            f"device.pcap: a FIN from port {port} at the drop ({len(at_drop)} frames then)")
    rst_at_drop = [f for f in at_drop if f["flags"] & e2e.TCP_RST]
    c.check(not rst_at_drop, f"device.pcap: no RST from port {port} at the drop")
    pcb = e2e.pcb_for_port(summary, port, closed_at=t_drop)
    if not c.check(pcb is not None, f"summary.json: a PCB on port {port} closed at {t_drop}"):
        c.finish()
    states = pcb_states(pcb)
    print(f"  PCB {pcb}")
    after = states[states.index("FIN_WAIT_1"):] if "FIN_WAIT_1" in states else []
    c.check(after[:2] == ["FIN_WAIT_1", "FIN_WAIT_2"],
            f"the close goes FIN_WAIT_1 at the drop, FIN_WAIT_2 once the FIN is ACKed: {after}")
    # The broker (mosquitto over TLS) answers the FIN with its TLS close_notify (an alert
    # record, content type 21) before its own FIN. That is data after close for lwIP: tcp_input
    # in src/core/tcp_in.c, "if (pcb->flags & TF_RXCLOSED) { /* received data although already
    # closed -> abort (send RST) ... */ tcp_abort". So against this broker the PCB does not reach
    # TIME_WAIT: the device's RST answers the alert and the PCB is freed then.
    tls = e2e.tshark(os.path.join(res, "device.pcap"),
                     ["frame.time_epoch", "ip.src", "tls.record.content_type"],
                     f"tcp.port=={port} && tls.record", ["-d", f"tcp.port=={port},tls"])
    alerts = [float(r[0]) for r in tls if r[1] == e2e.GATEWAY_IP and r[2] == "21"
              and float(r[0]) > t_drop]
    if c.check(len(alerts) == 1, f"tshark: the broker's TLS alert after the FIN ({alerts})"):
        rst_after = [f["t"] for f in up if f["flags"] & e2e.TCP_RST]
        c.check(rst_after and abs(rst_after[0] - alerts[0]) < e2e.EPS,
                f"the device's first RST answers that alert ({rst_after})")
        c.check(pcb["free_reason"] == "aborted_data_after_close"
                and abs(pcb["freed_at_s"] - alerts[0]) < e2e.EPS,
                f"freed as data after close, at the alert ({pcb['free_reason']}, "
                f"{pcb['freed_at_s']})")
    # The normal reconnect follows: a new SYN reconnect_delay (5 s) after the drop.
    syns = e2e.frames(os.path.join(res, "device.pcap"), "tcp.flags.syn==1 && tcp.flags.ack==0")
    c.check(any(abs(f["t"] - (t_drop + 5.0)) < 0.001 for f in syns),
            f"a SYN reconnect_delay after the drop: {[f['t'] for f in syns]}")


def drop_unacked(c, lwipsim, scen_dir, work):
    t_drop = 20.0
    res, summary, events, port, up, sent_top, acked_top = dropped(c, lwipsim, scen_dir, work,
                                                                 "app_actions_drop_unacked", t_drop)
    c.check(sent_top > acked_top,
            f"tshark: data unacknowledged at the drop (sent up to {sent_top}, ACKed {acked_top})")
    at_drop = [f for f in up if abs(f["t"] - t_drop) < e2e.EPS]
    rst = [f for f in at_drop if f["flags"] & e2e.TCP_RST]
    c.check(len(rst) == 1, f"device.pcap: one RST from port {port} at the drop ({len(rst)})")
    c.check(not [f for f in at_drop if f["flags"] & e2e.TCP_FIN], "no FIN at the drop")
    pcb = e2e.pcb_for_port(summary, port, closed_at=t_drop)
    if not c.check(pcb is not None, f"summary.json: a PCB on port {port} closed at {t_drop}"):
        c.finish()
    print(f"  PCB {pcb}")
    c.check(pcb["free_reason"] == "aborted", f"free_reason aborted ({pcb['free_reason']})")
    c.check(pcb["freed_at_s"] is not None and abs(pcb["freed_at_s"] - t_drop) < e2e.EPS,
            f"freed at the drop ({pcb['freed_at_s']})")
    c.check("FIN_WAIT_1" not in pcb_states(pcb), f"never FIN_WAIT_1: {pcb_states(pcb)}")
    # pcbs.csv says the same as summary.json.
    with open(os.path.join(res, "pcbs.csv"), encoding="utf-8") as f:
        rows = [line.rstrip("\n").split(",") for line in f]
    header, rows = rows[0], rows[1:]
    row = next((r for r in rows if r[header.index("id")] == str(pcb["id"])), None)
    c.check(row is not None and row[header.index("free_reason")] == "aborted",
            f"pcbs.csv: free_reason aborted for PCB {pcb['id']} ({row})")


def mqtt_packets(res, port_filter="tcp"):
    """(time, source, msgtype, topic) of every MQTT packet tshark decrypts with tls-keys.log."""
    ports = sorted({f["sport"] for f in e2e.frames(os.path.join(res, "device.pcap"),
                                                    "tcp.flags.syn==1 && tcp.flags.ack==0")})
    opts = ["-o", f"tls.keylog_file:{os.path.join(res, 'tls-keys.log')}"]
    for p in ports:
        opts += ["-d", f"tcp.port=={p},tls", "-d", f"tls.port=={p},mqtt"]
    rows = e2e.tshark(os.path.join(res, "device.pcap"),
                      ["frame.time_epoch", "ip.src", "mqtt.msgtype", "mqtt.topic"], "mqtt", opts,
                      occurrence="a")
    out = []
    for r in rows:
        topics = r[3].split("|") if r[3] else []
        for mt in r[2].split("|"):
            topic = topics.pop(0) if int(mt) == PUBLISH and topics else ""
            out.append((float(r[0]), r[1], int(mt), topic))
    return out


def stop_start(c, lwipsim, scen_dir, work):
    t_burst, t_stop, t_poke, t_start = 5.0, 10.0, 15.0, 30.0
    res, summary, events = run(c, lwipsim, scen_dir, work, "app_actions_stop_start")
    e2e.need_tools("tshark")
    pkts = mqtt_packets(res)
    up = [p for p in pkts if p[1] == e2e.DEVICE_IP]
    burst = [p[0] for p in up if p[2] == PUBLISH and p[3] == "lwipsim/burst"]
    expected = [t_burst + 0.2 * i for i in range(7)]  # count 7, interval 200 ms
    c.check(len(burst) == 7, f"tshark: 7 PUBLISHes on lwipsim/burst ({len(burst)})")
    c.check(len(burst) == 7 and all(abs(a - b) < 0.001 for a, b in zip(burst, expected)),
            f"200 ms apart from 5 s: {burst}")
    disc = [p[0] for p in up if p[2] == DISCONNECT]
    c.check(len(disc) == 1 and abs(disc[0] - t_stop) < 0.001,
            f"tshark: one DISCONNECT from the device, at the stop ({disc})")
    connects = [p[0] for p in up if p[2] == CONNECT]
    c.check(len(connects) == 2 and connects[1] > t_start,
            f"two CONNECTs, the second after the start ({connects})")
    syns = [f["t"] for f in e2e.frames(os.path.join(res, "device.pcap"),
                                       "tcp.flags.syn==1 && tcp.flags.ack==0")]
    c.check(not [t for t in syns if t_stop < t < t_start],
            f"no SYN while stopped (10 s..30 s): {syns}")
    c.check(any(abs(t - t_start) < 0.001 for t in syns),
            f"`start` connects at once, not after reconnect_delay: {syns}")
    fins = e2e.frames(os.path.join(res, "device.pcap"),
                      f"ip.src=={e2e.DEVICE_IP} && tcp.flags.fin==1")
    c.check(any(t_stop <= f["t"] < t_stop + 0.1 for f in fins),
            f"the device closes right after its DISCONNECT: FINs at {[f['t'] for f in fins]}")
    acts = {a["action"]: a for a in app_actions(events)}
    c.check(acts.get("poke", {}).get("result") == "ignored",
            f"reconnect while stopped is ignored: {acts.get('poke')}")
    c.check(acts.get("halt", {}).get("result") == "done" and
            acts.get("resume", {}).get("result") == "done", f"stop and start done: {acts}")
    done = [ev for ev in events if ev["type"] == "app_action_done"]
    c.check(len(done) == 1 and done[0]["published"] == 7 and done[0]["skipped"] == 0,
            f"app_action_done: 7 published, none skipped ({done})")
    c.check(summary["app"]["connects"] == 2, f"summary: 2 connects ({summary['app']['connects']})")
    # trigger {event: mqtt_connected, count: 2, delay: 1s}: a SUBSCRIBE 1 s after the second
    # CONNACK (tshark's time of the broker's CONNACK frame).
    connacks = [p[0] for p in pkts if p[1] == e2e.GATEWAY_IP and p[2] == CONNACK]
    subs = [p[0] for p in up if p[2] == SUBSCRIBE]
    c.check(len(connacks) == 2 and len(subs) == 1 and abs(subs[0] - (connacks[1] + 1.0)) < 0.001,
            f"one SUBSCRIBE, 1 s after the second CONNACK ({subs}, CONNACKs {connacks})")


def validation(c, lwipsim, scen_dir, work):
    def validate(path):
        proc = subprocess.run([lwipsim, "validate", path], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=60)
        print(f"$ lwipsim validate {path}\n{proc.stderr}", flush=True)
        return proc.returncode, proc.stderr

    path = os.path.join(scen_dir, "app_actions_bad_do.yaml")
    rc, err = validate(path)
    c.check(rc == 2, f"exit 2 for do: dorp ({rc})")
    c.check("app_actions_bad_do.yaml:7:11" in err, "the error names file:7:11 (the value dorp)")
    c.check("did you mean 'drop'?" in err, "it suggests 'drop'")
    cases = {
        "  actions:\n    - {at: 10s, do: drop, count: 3}\n": ("count", "does not apply"),
        "  actions:\n    - {at: 10s, do: publish, topic: a/b, cout: 3}\n": ("did you mean 'count'?",
                                                                          "unknown key 'cout'"),
        "  actions:\n    - {do: stop}\n": ("needs a start", "'at: <time>'"),
        "  actions:\n    - {at: 2min, do: stop}\n": ("not before the scenario ends", "actions[0]"),
        "  actions:\n    - {at: 1s, do: publish, topic: a/+}\n": ("wildcards", "topic"),
    }
    tmp = tempfile.mkdtemp(prefix="lwipsim-actions-", dir=work)
    for i, (body, words) in enumerate(cases.items()):
        p = os.path.join(tmp, f"bad{i}.yaml")
        with open(p, "w", encoding="utf-8") as f:
            f.write("duration: 1min\napp:\n" + body)
        rc, err = validate(p)
        c.check(rc == 2 and f"bad{i}.yaml:" in err and all(w in err for w in words),
                f"bad{i}: exit 2, file:line:col and {words} ({rc})")


def main():
    lwipsim, scen_dir, work, case = sys.argv[1:5]
    e2e.need_tools("tshark")
    os.makedirs(work, exist_ok=True)
    c = e2e.Checks(f"app_actions[{case}]")
    {"drop_idle": drop_idle, "drop_unacked": drop_unacked, "stop_start": stop_start,
     "validation": validation}[case](c, lwipsim, scen_dir, work)
    c.finish()


if __name__ == "__main__":
    main()
