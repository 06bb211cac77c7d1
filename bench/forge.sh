#!/usr/bin/env bash
# Forge benchmark (see bench/forge.ts): measure evilbit and udpzero, ours vs the original on the
# same targets in one run, and the raw send rate in packets/s. Needs root.
#   bench/forge.sh [TARGETS]     (default 1000); results in bench/out/forge.{txt,json}
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
mkdir -p bench/out
exec .tools/bin/deno run -A bench/forge.ts "${1:-1000}"
