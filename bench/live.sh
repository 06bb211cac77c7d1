#!/usr/bin/env bash
# Live-capture benchmark: tcpreplay sends the mixed capture (bench/out/mixed.pcap) from one
# namespace over a veth pair at increasing packet rates; `pathspider observe` captures on the
# other end. For each rate: the rate tcpreplay achieved, packets sent, packets the flow records
# account for (sum of pkt_fwd + pkt_rev), and observe's own summary line (kernel drops).
# Results in bench/out/live-<capture name>.txt. Needs root.
#   bench/live.sh [RATES...]   (packets/s; "top" = as fast as tcpreplay can; default 50000 100000
#                              200000 400000 top)
#   PCAP=bench/out/udp-small.pcap bench/live.sh ...   (64-byte UDP frames, bench/make-udp-pcap.ts)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
OUT=bench/out
PCAP=${PCAP:-$OUT/mixed.pcap}
NAME=$(basename "$PCAP" .pcap)
RATES=("$@")
[ ${#RATES[@]} -gt 0 ] || RATES=(50000 100000 200000 400000 top)
[ "$(id -u)" = 0 ] || { echo "live bench: needs root (network namespaces)" >&2; exit 1; }
command -v tcpreplay >/dev/null || { echo "live bench: tcpreplay missing (scripts/install-deps.sh --bench)" >&2; exit 1; }
if [ ! -f "$PCAP" ]; then
  case "$NAME" in
    udp-small) .tools/bin/deno run -A bench/make-udp-pcap.ts "$PCAP" ;;
    *) .tools/bin/deno run -A bench/make-mixed-pcap.ts "$PCAP" ;;
  esac
fi

P="psbl$$"
A="$P-a" B="$P-b"
obs_pid=""
cleanup() {
  [ -n "$obs_pid" ] && kill -9 "$obs_pid" 2>/dev/null || true
  for ns in "$A" "$B"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
}
trap cleanup EXIT
ip netns add "$A"
ip netns add "$B"
# no IPv6 on the link itself: its neighbour discovery would add packets to the count
for ns in "$A" "$B"; do
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip -n "$A" link add veth-a type veth peer name veth-b netns "$B"
ip -n "$A" link set veth-a up
ip -n "$B" link set veth-b up
ip -n "$A" link set lo up
ip -n "$B" link set lo up

sum_packets() { # total pkt_fwd + pkt_rev over the flow records
  python3 -c 'import json,sys
n=0
for l in open(sys.argv[1]):
    l=l.strip()
    if l:
        r=json.loads(l); n+=int(r.get("pkt_fwd") or 0)+int(r.get("pkt_rev") or 0)
print(n)' "$1"
}

echo "live capture of $PCAP ($(tcpdump -nr "$PCAP" 2>/dev/null | wc -l) packets) replayed over a veth" | tee "$OUT/live-$NAME.txt"
printf '%-10s %12s %10s %10s %8s  %s\n' "target" "achieved/s" "sent" "in flows" "lost" "observe summary" | tee -a "$OUT/live-$NAME.txt"
for rate in "${RATES[@]}"; do
  rec="$OUT/live-$NAME-$rate.ndjson" err="$OUT/live-$NAME-$rate.err"
  rm -f "$rec"
  ip netns exec "$B" bin/pathspider observe -i veth-b --output "$rec" basic tcp ecn dscp 2>"$err" &
  obs_pid=$!
  sleep 3 # start-up (the observer has no readiness signal)
  if [ "$rate" = top ]; then speed=(--topspeed); else speed=(--pps="$rate"); fi
  rep=$(ip netns exec "$A" tcpreplay -q -i veth-a "${speed[@]}" "$PCAP" 2>&1 || true)
  sleep 2
  kill -INT "$obs_pid" 2>/dev/null || true
  wait "$obs_pid" || true
  obs_pid=""
  sent=$(sed -nE 's/.*Actual: ([0-9]+) packets.*/\1/p' <<<"$rep" | head -1)
  achieved=$(sed -nE 's/.*Rated: [0-9.]+ Bps, [0-9.]+ Mbps, ([0-9.]+) pps.*/\1/p' <<<"$rep" | head -1)
  seen=0
  [ -s "$rec" ] && seen=$(sum_packets "$rec")
  summary=$(grep -v '^\s*$' "$err" | tail -1)
  printf '%-10s %12.0f %10s %10s %8s  %s\n' "$rate" "${achieved:-0}" "${sent:-?}" "$seen" \
    "$(( ${sent:-0} - seen ))" "$summary" | tee -a "$OUT/live-$NAME.txt"
done
