#!/usr/bin/env bash
# Installs the pinned Deno from the npm package `deno` into .tools/ (never globally)
# and caches the project's npm dependencies. Idempotent.
set -euo pipefail
export DENO_NO_UPDATE_CHECK=1
DENO_VERSION=2.9.6
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOLS="$ROOT/.tools"
want="deno $DENO_VERSION"
if [ -x "$TOOLS/bin/deno" ] && "$TOOLS/bin/deno" --version 2>/dev/null | head -1 | grep -q "^$want "; then
  :
else
  command -v npm >/dev/null || { echo "setup-deno: npm is required to install Deno (apt-get install npm, or Node.js)" >&2; exit 1; }
  mkdir -p "$TOOLS/bin"
  echo "setup-deno: installing deno@$DENO_VERSION from npm into .tools/" >&2
  npm install --silent --no-audit --no-fund --prefix "$TOOLS" "deno@$DENO_VERSION" >&2
  # The npm package ships the real binary in a platform package; link it directly
  # so that no node shim sits between us and deno.
  real=$(find "$TOOLS/node_modules/@deno" -type f -name deno -perm -u+x | head -1)
  [ -n "$real" ] || real="$TOOLS/node_modules/.bin/deno"
  ln -sf "$real" "$TOOLS/bin/deno"
fi
cd "$ROOT"
"$TOOLS/bin/deno" install --quiet >/dev/null 2>&1 || "$TOOLS/bin/deno" install
