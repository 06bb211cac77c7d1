#!/usr/bin/env bash
# Builds the single executable dist/pathspider with `deno compile`, embedding the cdylib.
#
# `deno compile` needs `denort`, the runtime-only Deno build that becomes the base of the
# executable. Deno downloads it on first use, which cannot work offline, so this script looks for
# it first and stops with one line when it is not there instead of letting the download hang:
#   - DENORT_BIN=/path/to/denort (Deno reads this variable itself), or
#   - a cached download in $DENO_DIR/dl/release/v<version>/denort-<target>.zip.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
DENO="$ROOT/.tools/bin/deno"
LIB=capture-ffi/target/release/libpathspider_capture.so
OUT=${OUT:-dist/pathspider}
fail() {
  echo "build-binary: $*" >&2
  exit 1
}

[ -x "$DENO" ] || fail "Deno is missing; run 'make' first"
version=$("$DENO" --version | sed -nE '1s/^deno ([0-9][^ ]*).*/\1/p')
target=x86_64-unknown-linux-gnu
[ "$(uname -m)" = aarch64 ] && target=aarch64-unknown-linux-gnu
deno_dir=$("$DENO" info --json 2>/dev/null | sed -nE 's/.*"denoDir": *"([^"]*)".*/\1/p')
deno_dir=${DENO_DIR:-${deno_dir:-$HOME/.cache/deno}}
cached="$deno_dir/dl/release/v$version/denort-$target.zip"

if [ -n "${DENORT_BIN:-}" ]; then
  [ -f "$DENORT_BIN" ] || fail "DENORT_BIN=$DENORT_BIN is not a file; point it to a denort $version binary (the 'denort' from denort-$target.zip of Deno $version)"
elif [ ! -f "$cached" ]; then
  fail "cannot build the binary offline: denort $version is missing; set DENORT_BIN=/path/to/denort (from denort-$target.zip of Deno $version) or place that zip at $cached"
fi

[ -f "$LIB" ] || fail "$LIB is missing; run 'make lib' first"
mkdir -p "$(dirname "$OUT")"
# --include embeds the cdylib; src/ffi/library.ts finds it at its source-relative path inside
# the executable's virtual file system. V8 flags are fixed at compile time, for every command:
# measure's small young generation (see bin/pathspider), since measure is the main job and its
# runs are long; observe then pays some tens of ms of scavenges per 200,000 packets.
# The source commit, baked in for `measure --metadata` (src/spider/metadata.ts reads it); a tree
# that is not a git checkout builds without one.
commit_file=src/build_commit.txt
trap 'rm -f "$ROOT/$commit_file"' EXIT
include_commit=()
if commit=$(git -C "$ROOT" rev-parse HEAD 2>/dev/null); then
  [ -z "$(git -C "$ROOT" status --porcelain --untracked-files=no)" ] || commit="$commit-dirty"
  echo "$commit" >"$commit_file"
  include_commit=(--include "$commit_file")
fi
timeout 600 "$DENO" compile --quiet --allow-all --no-prompt --config deno.json \
  --v8-flags=--max-semi-space-size=4 \
  --include "$LIB" "${include_commit[@]}" --output "$OUT" src/main.ts
# A full `deno` given as DENORT_BIN builds an executable that ignores the embedded program.
if ! "$OUT" --version 2>/dev/null | grep -q '^pathspider '; then
  rm -f "$OUT"
  fail "the built executable does not run pathspider (is DENORT_BIN a full deno instead of denort $version?)"
fi
echo "build-binary: wrote $OUT ($(du -h "$OUT" | cut -f1))"
