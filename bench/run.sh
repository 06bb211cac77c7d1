#!/usr/bin/env bash
# `make bench`: every benchmark, results in bench/out/. Never part of `make test`.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
mkdir -p bench/out
echo "=== observe: capture file ===" >&2
bash bench/observe.sh "${BENCH_RUNS:-3}"
if [ -f bench/live.sh ]; then
  echo "=== observe: live capture on a veth ===" >&2
  bash bench/live.sh
fi
echo "=== measure ecn on an Internet-like testbed ===" >&2
.tools/bin/deno run -A bench/measure.ts "${BENCH_TARGETS:-1000}"
