#!/usr/bin/env bash
# `make bench`: every benchmark, results in bench/out/. Never part of `make test`. Needs root.
#   BENCH_RUNS (observe repetitions, 3), BENCH_TARGETS (measure/forge targets, 1000),
#   BENCH_MEMORY_JOBS (jobs of the memory run, 1,000,000), BENCH_CAMPAIGN_JOBS (10,000)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
DENO=.tools/bin/deno
mkdir -p bench/out
echo "=== observe: capture file ===" >&2
bash bench/observe.sh "${BENCH_RUNS:-3}"
echo "=== observe: live capture on a veth ===" >&2
bash bench/live.sh
PCAP=bench/out/udp-small.pcap bash bench/live.sh 100000 200000 300000 top
echo "=== capture-file read speed (FFI wrapper, no parsing) ===" >&2
"$DENO" run -A bench/capture_read.ts bench/out/mixed.pcap 5
echo "=== connection helpers: http connections/s in the testbed ===" >&2
"$DENO" run -A bench/connect_rate.ts http 1000 200
echo "=== measure ecn and dscp on an Internet-like testbed ===" >&2
"$DENO" run -A bench/measure.ts "${BENCH_TARGETS:-1000}"
echo "=== measure memory: a long input of refusing targets ===" >&2
"$DENO" run -A bench/measure_memory.ts "${BENCH_MEMORY_JOBS:-1000000}" "dscp --connect tcp" "ecn --connect tcp"
echo "=== forge: evilbit / udpzero and the raw send rate ===" >&2
bash bench/forge.sh "${BENCH_TARGETS:-1000}"
echo "=== campaign: one and three JetStream workers against measure ===" >&2
"$DENO" run -A bench/campaign.ts "${BENCH_CAMPAIGN_JOBS:-10000}" 100 3
echo "=== locate: 1,000 discrepant targets on the delayed network ===" >&2
"$DENO" run -A bench/locate.ts "${BENCH_TARGETS:-1000}"
