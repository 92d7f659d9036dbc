#!/usr/bin/env bash
# Benchmark (prints figures, asserts nothing): the figures of docs/performance.md.
#   bash bench/perf_figures.sh BUILD_DIR [OUT_DIR]
# BUILD_DIR must have lwipsim, lwipsim-upstream-2.1.3, link_bench, backoff_bench and plot_bench built
# (release preset recommended). Prints the machine, then:
#   * field case A/B/C wall time including the broker, with --jobs 1 and --jobs 2;
#   * simulated/wall ratio per field-case variant (summary.json sim_time_s / wall_time_s) and
#     the share of wall time spent holding virtual time for the broker (time.host_wait_s);
#   * backoff_bench (one idle hour of blackhole backoff) and link_bench (frames/s);
#   * plot_bench (all plots of three variants of a 24 h run sampled every second);
#   * MQTT-over-TLS payload throughput: scenarios/throughput.yaml for 1 min of virtual time,
#     QoS 1 and QoS 0, payload bytes per virtual second and per wall second.
set -euo pipefail
build=${1:?usage: perf_figures.sh BUILD_DIR [OUT_DIR]}
out=${2:-$(mktemp -d /tmp/lwipsim-perf.XXXXXX)}
root=$(cd "$(dirname "$0")/.." && pwd)
lwipsim=$build/bin/lwipsim
mkdir -p "$out"

echo "== machine"
echo "nproc: $(nproc)"
grep -m1 'model name' /proc/cpuinfo | sed 's/^model name[[:space:]]*: /cpu: /'
echo "build type: $(grep -m1 '^CMAKE_BUILD_TYPE' "$build/CMakeCache.txt" | cut -d= -f2)"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

# Per-variant figures from a result folder.
variant_figures() {
    for s in "$1"/*/summary.json; do
        jq -r '"  \(.variant): sim \(.sim_time_s) s, wall \(.wall_time_s | .*100|round/100) s, ratio \(.sim_time_s / .wall_time_s | round)x, host_wait \(.time.host_wait_s | .*100|round/100) s (\(.time.host_wait_s / .wall_time_s * 100 | round) % of wall), jumps \(.time.jumps)"' "$s"
    done
}

echo "== field case, whole run including the broker"
for jobs in 1 2; do
    start=$(date +%s.%N)
    "$lwipsim" run "$root/scenarios/field_case.yaml" --no-plots --quiet --jobs "$jobs" \
        --out "$out/field_case_j$jobs" >/dev/null 2>&1 || echo "  (exit $? — see $out/field_case_j$jobs)"
    end=$(date +%s.%N)
    echo "--jobs $jobs: $(echo "$end - $start" | bc) s wall"
    variant_figures "$out/field_case_j$jobs"
done

echo "== backoff_bench (one idle hour of blackhole backoff)"
"$build/bench/backoff_bench"

echo "== link_bench"
"$build/bench/link_bench"

echo "== plot_bench (24 h at 1 s sampling, three variants)"
"$build/bench/plot_bench"

echo "== MQTT over TLS throughput, 1 min of virtual time"
for qos in 1 0; do
    dir="$out/throughput_qos$qos"
    "$lwipsim" run "$root/scenarios/throughput.yaml" --no-plots --quiet --jobs 1 \
        --set duration=1min --set app.publish.qos=$qos --out "$dir" >/dev/null 2>&1 || true
    for s in "$dir"/*/summary.json; do
        jq -r --arg qos "$qos" '(.scenario_resolved.app.publish.size) as $size
            | (.app.publishes_sent * $size) as $bytes
            | "  qos \($qos) \(.variant): \(.app.publishes_sent) publishes of \($size) B in \(.sim_time_s) s virtual, \(.wall_time_s | .*100|round/100) s wall: \($bytes / .sim_time_s | round) B/s virtual, \($bytes / .wall_time_s | round) B/s wall; host_wait \(.time.host_wait_s | .*100|round/100) s, jumps with host pending \(.time.jumps_with_host_pending)"' "$s"
    done
done
echo "results in $out"
