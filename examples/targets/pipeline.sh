#!/usr/bin/env bash
# The whole way from a ranked domain list to a report, as a scheduled job runs it:
#   dnsresolv -> filter -> measure -> report
#
#   examples/targets/pipeline.sh                       # top.csv, eth0, dscp 46, ./out
#   IFACE=ens3 PLUGIN="ecn" VANTAGE=fra-1 LIST=my.csv OUT=/var/lib/pathspider examples/targets/pipeline.sh
#
# Variables: LIST (rank,domain CSV), IFACE, PLUGIN (with its options), VANTAGE (a label for the
# metadata), OUT (directory), RESOLVER (--resolver of dnsresolv; default the system's), RATE
# (jobs per second), FILTER_OPTS (extra filter options), PATHSPIDER (the command).
# Exits with measure's status: 0 measured and trusted, 4 measured but not trusted (see
# `pathspider measure --help`), anything else a failure.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PATHSPIDER=${PATHSPIDER:-pathspider}
LIST=${LIST:-$HERE/top.csv}
IFACE=${IFACE:-eth0}
PLUGIN=${PLUGIN:-dscp --codepoint 46}
VANTAGE=${VANTAGE:-$(hostname)}
OUT=${OUT:-./out}
RATE=${RATE:-200}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
run="$OUT/$stamp"

# 1. one job per A and AAAA address of each domain (port added by filter)
$PATHSPIDER measure --csv-input --input "$LIST" --output "$run.resolved.ndjson" \
  dnsresolv ${RESOLVER:+--resolver "$RESOLVER"}
# 2. duplicates and special-purpose addresses out, the port in
# shellcheck disable=SC2086
$PATHSPIDER filter --dp 80 ${FILTER_OPTS:-} --input "$run.resolved.ndjson" --output "$run.jobs.ndjson"
# 3. the measurement, with its provenance beside the results (report reads X.metadata.json)
status=0
# shellcheck disable=SC2086
$PATHSPIDER measure -i "$IFACE" --rate "$RATE" --vantage "$VANTAGE" \
  --input "$run.jobs.ndjson" --output "$run.ndjson" --metadata "$run.metadata.json" \
  $PLUGIN || status=$?
# 4. what was found (also for a run whose data is not trusted: the report says why)
if [ -s "$run.ndjson" ]; then
  $PATHSPIDER report --metadata "$run.metadata.json" "$run.ndjson" >"$run.report.txt"
  cat "$run.report.txt"
fi
exit "$status"
