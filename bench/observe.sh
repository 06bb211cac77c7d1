#!/usr/bin/env bash
# Observe benchmark: reads one mixed capture (bench/make-mixed-pcap.ts, >200k packets, ~17k flows)
# with our `observe basic tcp ecn dscp`, the original PATHspider's, and `tcpdump -r -w /dev/null`
# (the floor: read and write packets, nothing else). For each: wall time, packets/s, CPU seconds
# (user+sys) and peak RSS from /usr/bin/time; plus start-up time on an empty capture. Writes
# bench/out/observe.{txt,json} and prints the table.
#   bench/observe.sh [RUNS]   (RUNS rounds, default 3, in which the tools take turns; each tool's
#   best round counts. The original runs in ORIG_RUNS of them, default 3: it takes seconds a run.
#   This VM's timings vary by up to 30% from minute to minute.)
#   FLOWS=80000 bench/observe.sh  (a larger capture, bench/out/mixed-80000.pcap: start-up and JIT
#   warm-up weigh less on a capture of a million packets, as on most real ones)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
OUT=bench/out
RUNS=${1:-3}
ORIG_RUNS=${ORIG_RUNS:-3}
FLOWS=${FLOWS:-17000}
PCAP=$OUT/mixed.pcap
SUFFIX=""
[ "$FLOWS" = 17000 ] || { PCAP=$OUT/mixed-$FLOWS.pcap; SUFFIX=-$FLOWS; }
EMPTY=$OUT/empty.pcap
PEER=${PEER:-$ROOT/../shared/peer/pspdr-peer}
mkdir -p "$OUT"
[ -f "$PCAP" ] || .tools/bin/deno run -A bench/make-mixed-pcap.ts "$PCAP" "$FLOWS"
# a classic pcap header with no packets
printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00\x01\x00\x00\x00' >"$EMPTY"
packets=$(tcpdump -r "$PCAP" -qn 2>/dev/null | wc -l)

# measure CMD...: one run; prints "wall cpu rss_kib". The wall time comes from bash's
# EPOCHREALTIME (µs) rather than /usr/bin/time's %e, whose 10 ms steps are 14% of tcpdump's run.
measure() {
  local tf t0 t1
  tf=$(mktemp)
  t0=$EPOCHREALTIME
  /usr/bin/time -f '%U %S %M' -o "$tf" "$@" || { echo "bench: $* failed" >&2; rm -f "$tf"; return 1; }
  t1=$EPOCHREALTIME
  awk -v a="$t0" -v b="$t1" '{ printf "%.4f %.3f %d\n", b - a, $1 + $2, $3 }' "$tf"
  rm -f "$tf"
}


ours=(bin/pathspider observe -i "$PCAP" basic tcp ecn dscp)
echo "bench: $packets packets in $PCAP" >&2
echo "bench: ours: ${ours[*]}" >&2
echo "bench: tcpdump -r $PCAP -w /dev/null" >&2
have_peer=0
if [ -x "$PEER" ]; then
  have_peer=1
  echo "bench: original: $PEER observe -i $PCAP basic tcp ecn dscp ($ORIG_RUNS of the $RUNS rounds; slow)" >&2
else
  echo "bench: the original ($PEER) is not installed; run scripts/install-deps.sh --bench" >&2
fi

# better A B: the run with the lower wall time ("" counts as none)
better() {
  if [ -z "$1" ] || awk -v a="$2" -v b="$1" 'BEGIN { split(a, x, " "); split(b, y, " "); exit !(x[1] < y[1]) }'; then
    echo "$2"
  else
    echo "$1"
  fi
}

# The tools take turns, round after round, so that each meets the same moments of a host whose
# speed changes from minute to minute (on this VM by up to 30%); each keeps its best round. The
# original's ORIG_RUNS runs (seconds each) are spread evenly over the rounds.
# Each run writes a new file: the previous run's output is removed first, outside the timing
# (truncating the 13 MB left by the last run cost 3-9 ms here, none of it the tool's work).
o="" o0="" t="" t0="" p="" p0=""
for ((r = 0; r < RUNS; r++)); do
  rm -f "$OUT/observe-ours.ndjson"
  o=$(better "$o" "$(measure bash -c '"$@" > '"$OUT"'/observe-ours.ndjson' _ "${ours[@]}")")
  t=$(better "$t" "$(measure bash -c 'tcpdump -r "$1" -w /dev/null 2>/dev/null' _ "$PCAP")")
  o0=$(better "$o0" "$(measure bash -c '"$@" > /dev/null' _ bin/pathspider observe -i "$EMPTY" basic tcp ecn dscp)")
  t0=$(better "$t0" "$(measure bash -c 'tcpdump -r "$1" -w /dev/null 2>/dev/null' _ "$EMPTY")")
  if [ "$have_peer" = 1 ] && [ $(((r + 1) * ORIG_RUNS / RUNS)) -gt $((r * ORIG_RUNS / RUNS)) ]; then
    rm -f "$OUT/observe-original.ndjson"
    p=$(better "$p" "$(measure "$PEER" observe -i "$PCAP" --output "$OUT/observe-original.ndjson" basic tcp ecn dscp)")
    [ -n "$p0" ] || p0=$(measure "$PEER" observe -i "$EMPTY" --output /dev/null basic tcp ecn dscp)
  fi
done
o_flows=$(wc -l <"$OUT/observe-ours.ndjson")
p_flows=""
[ "$have_peer" = 0 ] || p_flows=$(wc -l <"$OUT/observe-original.ndjson")

awk -v n="$packets" -v o="$o" -v t="$t" -v p="$p" -v o0="$o0" -v t0="$t0" -v p0="$p0" \
  -v of="$o_flows" -v pf="$p_flows" -v json="$OUT/observe$SUFFIX.json" '
function row(name, m, s, flows,   a, b) {
  if (m == "") { printf "%-22s %10s\n", name, "(not run)"; return }
  split(m, a, " "); split(s, b, " ")
  net = a[1] - b[1]; if (net <= 0) net = a[1]
  printf "%-22s %9.3fs %12.0f %9.2fs %9.1f %8.3fs %12.0f %8s\n", name, a[1], n / a[1], a[2], a[3] / 1024, b[1], n / net, flows
  printf "%s  \"%s\": {\"wall_s\": %s, \"pkts_per_s\": %.0f, \"cpu_s\": %s, \"peak_rss_mib\": %.1f, \"startup_s\": %s, \"pkts_per_s_after_startup\": %.0f, \"flows\": %s}", (nj++ ? ",\n" : "{\n  \"packets\": " n ",\n"), name, a[1], n / a[1], a[2], a[3] / 1024, b[1], n / net, (flows == "" ? "null" : flows) > json
}
BEGIN {
  printf "%-22s %10s %12s %10s %9s %9s %12s %8s\n", "tool", "wall", "packets/s", "cpu", "rss MiB", "startup", "pkts/s-net", "flows"
  row("pathspider (ours)", o, o0, of)
  row("original 2.0.1", p, p0, pf)
  row("tcpdump -r -w null", t, t0, "")
  print "\n}" > json
  split(o, a, " "); split(t, b, " "); split(p, c, " ")
  split(p0, d, " "); split(o0, e, " ")
  if (o == "") exit
  if (p != "") printf "ours/original packet rate: %.1fx (target >= 20x); without start-up: %.1fx\n", c[1] / a[1], (c[1] - d[1]) / (a[1] - e[1])
  printf "tcpdump/ours packet rate:  %.2fx (target <= 3x)\n", a[1] / b[1]
}' | tee "$OUT/observe$SUFFIX.txt"
