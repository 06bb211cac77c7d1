#!/usr/bin/env bash
# The whole test suite (run by `make test`, which first installs Debian packages, the pinned Deno
# and builds the cdylib). Runs every step even when one fails, then prints one closing line
# `N passed, N failed` (tests counted from Deno's and cargo's summaries; a failing check step such
# as fmt or lint counts as one failure) and exits non-zero on any failure.
#   scripts/test-all.sh            everything
#   scripts/test-all.sh --no-e2e   everything but the network-namespace tests (no root needed)
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
DENO="$ROOT/.tools/bin/deno"
export NO_COLOR=1
export PATHSPIDER_CAPTURE_LIB="${PATHSPIDER_CAPTURE_LIB:-$ROOT/capture-ffi/target/release/libpathspider_capture.so}"
e2e=1
[ "${1:-}" = "--no-e2e" ] && e2e=0

passed=0
failed=0
failed_steps=()
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

banner() {
  printf '\n=== %s ===\n' "$*"
  step_start=$SECONDS
}
took() { echo "$((SECONDS - step_start)) s"; }

# check NAME CMD...: a step that passes or fails as a whole
check() {
  local name=$1
  shift
  banner "$name"
  if "$@"; then
    echo "--- $name: ok ($(took))"
  else
    echo "--- $name: FAILED ($(took))"
    failed=$((failed + 1))
    failed_steps+=("$name")
  fi
}

# Sums `ok | N passed | M failed` (Deno) and `test result: ... N passed; M failed` (cargo) lines.
count_tests() {
  local out=$1 p f
  while read -r p f; do
    passed=$((passed + p))
    failed=$((failed + f))
  done < <(sed -nE \
    -e 's/^(ok|FAILED) \| ([0-9]+) passed( \([0-9]+ steps?\))? \| ([0-9]+) failed.*/\2 \4/p' \
    -e 's/^test result: [a-zA-Z]+\. ([0-9]+) passed; ([0-9]+) failed.*/\1 \2/p' "$out")
}

# tests NAME CMD...: a test runner whose counts are summed; a non-zero exit with no failing
# test counted (a crash, a compile error) is one failure
tests() {
  local name=$1 out="$log/$RANDOM.out" rc before=$failed
  shift
  banner "$name"
  "$@" 2>&1 | tee "$out"
  rc=${PIPESTATUS[0]}
  count_tests "$out"
  if [ "$rc" != 0 ]; then
    [ "$failed" = "$before" ] && failed=$((failed + 1))
    failed_steps+=("$name")
    echo "--- $name: FAILED (exit $rc, $(took))"
  else
    echo "--- $name: ok ($(took))"
  fi
}

# Deno refuses to run when none of the given paths holds a test: keep only those that do.
test_dirs() {
  local d
  for d in "$@"; do
    if [ -n "$(find "$d" -name '*_test.ts' -print -quit 2>/dev/null)" ]; then echo "$d"; fi
  done
}

# Namespaces need root and `ip netns`; say so plainly instead of failing obscurely.
netns_ok() {
  local probe="pstest-probe-$$"
  [ "$(id -u)" = 0 ] || { echo "e2e tests need root (network namespaces, nftables, capture)"; return 1; }
  ip netns add "$probe" 2>/dev/null || { echo "e2e tests need 'ip netns' support (ip netns add failed)"; return 1; }
  ip netns del "$probe"
}

[ -x "$DENO" ] || { echo "test-all: Deno missing; run 'make' first" >&2; exit 2; }

check "deno fmt --check" "$DENO" fmt --check
check "deno lint" "$DENO" lint
check "deno check src/main.ts" "$DENO" check src/main.ts
check "cargo clippy" bash -c 'cd capture-ffi && cargo clippy --release --quiet -- -D warnings'
tests "cargo test" bash -c 'cd capture-ffi && cargo test --release 2>&1'

# the examples in JSDoc (each asserts what it shows)
tests "deno test --doc src" "$DENO" test -A --doc src

mapfile -t dirs < <(test_dirs tests/unit tests/ffi tests/pcap)
if [ ${#dirs[@]} -gt 0 ]; then
  tests "deno test ${dirs[*]}" "$DENO" test -A "${dirs[@]}"
fi

if [ $e2e = 1 ]; then
  mapfile -t dirs < <(test_dirs tests/e2e)
  if [ ${#dirs[@]} -gt 0 ]; then
    if msg=$(netns_ok); then
      tests "deno test tests/e2e" "$DENO" test -A tests/e2e
    else
      banner "deno test tests/e2e"
      echo "--- e2e: FAILED: $msg"
      failed=$((failed + 1))
      failed_steps+=("e2e ($msg)")
    fi
  fi
fi

echo
if [ ${#failed_steps[@]} -gt 0 ]; then
  echo "failed steps: ${failed_steps[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ ${#failed_steps[@]} = 0 ]
