#!/usr/bin/env bash
# Runs one variant twice with the same seed and compares what must repeat exactly.
set -euo pipefail
lwipsim="$1" scenario="$2" out="$3"
rm -rf "$out"
for run in a b; do
    "$lwipsim" run "$scenario" --variant linger_0 --out "$out/$run" --no-plots --quiet
done
cmp "$out/a/linger_0/events.jsonl" "$out/b/linger_0/events.jsonl"
cmp "$out/a/linger_0/timeseries.csv" "$out/b/linger_0/timeseries.csv"
cmp "$out/a/linger_0/pcbs.csv" "$out/b/linger_0/pcbs.csv"
# The broker's TLS randoms differ run to run, so capture bytes differ inside TLS records;
# timing, sizes and TCP headers must not. tshark reads both captures.
fields() {
    tshark -r "$1" -T fields -e frame.time_relative -e frame.len -e tcp.srcport -e tcp.dstport \
        -e tcp.seq_raw -e tcp.ack_raw -e tcp.flags
}
for cap in device wire; do
    diff <(fields "$out/a/linger_0/$cap.pcap") <(fields "$out/b/linger_0/$cap.pcap")
done
echo "determinism: events, samples, PCBs and capture structure identical"
