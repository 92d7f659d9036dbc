#!/usr/bin/env bash
# Benchmark (prints figures, asserts nothing): the managed broker on virtual time
# (time.broker_clock: virtual, the default) side by side with the wall-clock grace mode, for the
# whole `lwipsim run` command, broker start included (issue 13), for both device ABIs:
# `abi: host` (the 64-bit worker: the broker-clock mechanism itself) and `abi: ilp32` (the
# esp-idf-v4.4 default: what a user gets, under qemu-i386 where the kernel cannot run 32-bit
# programs; summary.json's device.emulator says which).
#   bash bench/broker_clock.sh BUILD_DIR [OUT_DIR]
# Rows: telemetry every 1 s for 10 min at QoS 0 and QoS 1 (bench/scenarios/telemetry.yaml),
# one session then a 1 h blackhole (bench/scenarios/idle_hour.yaml). The grace mode uses the
# default host_grace (20 ms). Figures: simulated / wall of the whole command, its CPU time
# (user + system of lwipsim and mosquitto: less sensitive to the machine's load than the wall
# time), and summary.json's time.host_wait_s, time.broker_deadlines (round trips to the broker
# at its own deadline), jumps_with_host_pending.
# Each row runs with the default `--cpu-pinning auto` (the worker and its broker on one CPU of
# their own, docs/performance.md "One CPU per worker"); the `abi: host` virtual rows are run
# once more with `--cpu-pinning off` (pinning column: off) to show what the pin is worth.
# REPEAT=N (default 3) runs each row N times and prints the run of median wall time (its CPU
# time beside it), so one unlucky run on a shared machine does not make the row; the columns
# from summary.json are the last run's (on virtual time they are the same every run).
# Goals (issue 13): >= 1,000x for both telemetry rows, >= 20,000x for the idle hour.
set -euo pipefail
build=${1:?usage: broker_clock.sh BUILD_DIR [OUT_DIR]}
out=${2:-$(mktemp -d /tmp/lwipsim-broker-clock.XXXXXX)}
here=$(cd "$(dirname "$0")" && pwd)
lwipsim=$build/bin/lwipsim
repeat=${REPEAT:-3}
mkdir -p "$out"
echo "runs per row: $repeat (the median wall time is shown)"
echo "nproc $(nproc), load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-16s %-6s %-9s %-8s %-7s %10s %9s %10s %7s %12s %10s %8s\n' row abi emulator clock \
    pinning simulated wall ratio cpu host_wait_s deadlines pending

row() { # name scenario abi clock pinning [--set ...]
    local name=$1 scenario=$2 abi=$3 clock=$4 pinning=$5
    shift 5
    local dir="$out/$name-$abi-$clock-$pinning"
    local times="$out/$name-$abi-$clock-$pinning.time"
    # bash's time: wall, and user + system CPU of the command and every child it waited for.
    local TIMEFORMAT='%R %U %S'
    : >"$times"
    for ((i = 0; i < repeat; i++)); do
        { time "$lwipsim" --cpu-pinning "$pinning" run "$here/scenarios/$scenario" --no-plots \
            --quiet --jobs 1 --out "$dir" --set abi=$abi --set time.broker_clock=$clock "$@" \
            >/dev/null 2>&1 ||
            echo "  ($name $abi $clock $pinning: exit $? — see $dir)" >&2; } 2>>"$times"
    done
    read -r wall user sys < <(sort -n "$times" | sed -n "$(((repeat + 1) / 2))p")
    jq -r --arg name "$name" --arg abi "$abi" --arg clock "$clock" --arg pinning "$pinning" \
        --arg wall "$wall" \
        --arg cpu "$(echo "$user + $sys" | bc)" \
        '[$name, $abi, (.device.emulator // "none"), $clock, $pinning, .sim_time_s, ($wall|tonumber), (.sim_time_s / ($wall|tonumber) | round),
          ($cpu|tonumber), (.time.host_wait_s*1000|round/1000), .time.broker_deadlines,
          .time.jumps_with_host_pending] | @tsv' "$dir/base/summary.json" |
        awk -F'\t' '{printf "%-16s %-6s %-9s %-8s %-7s %9.0fs %8.2fs %9dx %6.2fs %12s %10s %8s\n",
                      $1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12}'
}

rows() { # abi clock pinning
    row telemetry_qos0 telemetry.yaml "$@" --set app.publish.qos=0
    row telemetry_qos1 telemetry.yaml "$@" --set app.publish.qos=1
    row idle_hour idle_hour.yaml "$@"
}
for abi in host ilp32; do
    for clock in virtual wall; do
        rows "$abi" "$clock" auto
    done
done
rows host virtual off
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg); results in $out"
