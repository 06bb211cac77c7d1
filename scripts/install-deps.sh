#!/usr/bin/env bash
# Installs the Debian packages that the tests, the demo and the benchmarks need. Idempotent and
# fast when everything is present (apt is not touched at all then).
#   scripts/install-deps.sh          packages for build, tests and demo
#   scripts/install-deps.sh --bench  also the original PATHspider (../shared/peer), for `make bench`
# Services that packages would start (nginx, nsd, h2o, nats-server) are blocked with a temporary
# policy-rc.d and stopped/disabled afterwards: every server we use is started by its test.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PKGS=(
  nftables iproute2 iputils-ping procps   # namespaces, middlebox rules, sysctls
  iptables                                # xt_bpf middlebox rule (UDP options drop, forge e2e)
  tcpdump wireshark-common tshark         # reference captures, editcap
  nginx-light                             # http/https target server
  nsd                                     # authoritative DNS server (UDP+TCP, v4+v6) for the testbed
  h2o                                     # HTTP/2 (h2c upgrade) target server
  openssl curl bind9-dnsutils             # certificates, traffic and checks
  python3 time                            # /usr/bin/time -v in benches
  pathspider                              # the sample captures of tests/pcap (golden comparison)
  # what ../shared/peer/pspdr-peer (the original, run by the tests that compare with it) imports
  # beyond Debian's Depends of pathspider: without them those tests would fail on a fresh machine
  python3-libtrace python3-scapy python3-pycurl python3-pyroute2 python3-stem
  python3-straight.plugin python3-dnslib
  gcc libc6-dev                           # cargo links the cdylib with cc
  nats-server                             # JetStream (2.9+) for the campaign tests and bench
  chromium fonts-dejavu-core              # headless test of report --html (renders, no console error)
  coturn                                  # a real STUN server for measure --stun (e2e)
  zsh fish man-db                         # the generated completions and man page (install test)
  systemd python3-yaml                    # systemd-analyze verify and YAML of examples/ci
)
# npm installs the pinned Deno (scripts/setup-deno.sh); Node.js may already provide it
command -v npm >/dev/null || PKGS+=(npm)
bench=0
[ "${1:-}" = "--bench" ] && bench=1

if [ "$(id -u)" != 0 ]; then
  sudo=sudo
  command -v sudo >/dev/null || { echo "install-deps: run as root (apt-get needs it)" >&2; exit 1; }
else
  sudo=
fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # policy-rc.d exit 101 = "action forbidden": postinst scripts then start no service
  created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod +x /usr/sbin/policy-rc.d
    created_policy=1
  fi
  trap 'if [ $created_policy = 1 ]; then $sudo rm -f /usr/sbin/policy-rc.d; fi' EXIT
  # another apt run (a parallel job) may hold the lock for a while: wait instead of failing
  lock=(-o DPkg::Lock::Timeout=600)
  $sudo apt-get "${lock[@]}" update -qq
  $sudo apt-get "${lock[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Nothing of ours may listen in the root namespace: stop and disable the packaged services
# in case an earlier install (without policy-rc.d) started them.
# (the campaign tests start their own nats-server on 127.0.0.1: only the packaged unit goes)
if command -v systemctl >/dev/null && systemctl is-enabled nats-server >/dev/null 2>&1; then
  $sudo systemctl disable --now nats-server >/dev/null 2>&1 || true
fi
for svc in nginx nsd h2o coturn; do
  if command -v systemctl >/dev/null && systemctl is-enabled "$svc" >/dev/null 2>&1; then
    $sudo systemctl disable --now "$svc" >/dev/null 2>&1 || true
  fi
  if pgrep -x "$svc" >/dev/null 2>&1 && [ "$(ip netns identify $$ 2>/dev/null)" = "" ]; then
    # only processes in the root network namespace (the testbed's own servers live elsewhere)
    for pid in $(pgrep -x "$svc"); do
      if [ "$(readlink /proc/$pid/ns/net)" = "$(readlink /proc/1/ns/net)" ]; then
        if command -v service >/dev/null; then $sudo service "$svc" stop >/dev/null 2>&1 || true; fi
        [ -d /proc/$pid ] && $sudo kill "$pid" 2>/dev/null || true
      fi
    done
  fi
done

if [ $bench = 1 ]; then
  # tcpreplay drives the live-capture benchmark
  if ! command -v tcpreplay >/dev/null; then
    $sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
    $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends tcpreplay >/dev/null
  fi
  peer="$ROOT/../shared/peer/install.sh"
  if [ -x "$ROOT/../shared/peer/pspdr-peer" ] && dpkg-query -W -f='${Status}' pathspider 2>/dev/null | grep -q "install ok installed"; then
    :
  elif [ -f "$peer" ]; then
    $sudo bash "$peer" >&2
  else
    echo "install-deps: the original PATHspider installer ($peer) is missing; benches comparing with it will be skipped" >&2
  fi
fi
