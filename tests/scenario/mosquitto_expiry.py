"""When mosquitto 2.0.11 drops a silent client, from the capture and mosquitto's source (shared
by broker_keepalive_check.py and broker_will_check.py).

mosquitto drops a client when now_s - last_msg_in > keepalive * 3 / 2, checked only when
last_keepalive_check + 5 < now_s (src/keepalive.c), i.e. on virtual seconds 0, 6, 12, ... (its
monotonic clock under liblwipsim_vclock.so is 1000 s + virtual time). last_msg_in is when it
read the device's last MQTT packet: the last device segment with payload in wire.pcap (after
the faults, read with tshark) before the blackhole, plus the link latency."""
import math
import subprocess


def expected_expiry(wire_pcap, blackhole_at, latency, keepalive):
    """(last_in, check): when the broker last heard the device, and the second whose check
    drops it."""
    uplink = subprocess.run(
        ["tshark", "-r", str(wire_pcap), "-Y", "ip.src==10.0.2.15 && tcp.len>0",
         "-T", "fields", "-e", "frame.time_epoch"],
        check=True, capture_output=True, text=True).stdout.split()
    last_in = max(float(t) for t in uplink if float(t) < blackhole_at) + latency
    check = 0
    while check - math.floor(last_in) <= 1.5 * keepalive:
        check += 6
    return last_in, check
