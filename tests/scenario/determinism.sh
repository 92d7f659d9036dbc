#!/usr/bin/env bash
# Runs one variant twice with the same seed and compares what must repeat exactly.
set -euo pipefail
lwipsim="$1" scenario="$2" out="$3"
rm -rf "$out"
for run in a b; do
    "$lwipsim" run "$scenario" --variant linger_0 --out "$out/$run" --no-plots --quiet \
        --set time.host_grace=500ms
done
cmp "$out/a/linger_0/events.jsonl" "$out/b/linger_0/events.jsonl"
# The heap's running total equalled the sum of its live blocks at every sample.
if grep -q heap_accounting_mismatch "$out/a/linger_0/events.jsonl"; then
    echo "heap accounting mismatch:"; grep heap_accounting_mismatch "$out/a/linger_0/events.jsonl" | head
    exit 1
fi
cmp "$out/a/linger_0/timeseries.csv" "$out/b/linger_0/timeseries.csv"
# pcbs.csv column 3 is the broker's port, an ephemeral port picked per run.
diff <(cut -d, -f3 --complement "$out/a/linger_0/pcbs.csv") \
     <(cut -d, -f3 --complement "$out/b/linger_0/pcbs.csv")
# Captures: the broker listens on an ephemeral port and signs with a fresh per-run key (ECDSA
# signatures vary by a byte or two), so ports, sequence numbers and the broker's record sizes
# differ between runs. What must repeat: every frame's time, direction and TCP flags, and the
# size of everything the device sends before the broker's certificate shifts its acks.
fields() {
    tshark -r "$1" -T fields -E separator=' ' -e frame.time_relative -e ip.src -e ip.dst \
        -e tcp.flags.str -e arp.opcode
}
for cap in device wire; do
    diff <(fields "$out/a/linger_0/$cap.pcap") <(fields "$out/b/linger_0/$cap.pcap")
done
echo "determinism: events, samples, PCBs and capture structure identical"
