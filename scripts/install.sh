#!/usr/bin/env bash
# `make install`: the launcher, the program with its pinned Deno, its npm packages and the Rust
# library, the man page and the shell completions, under PREFIX (default /usr/local; DESTDIR for
# staging):
#   PREFIX/bin/pathspider, PREFIX/bin/pspdr          launchers
#   PREFIX/lib/pathspider/                             program, deno, npm cache, libpathspider_capture.so
#   PREFIX/share/man/man1/pathspider.1, pspdr.1
#   PREFIX/share/bash-completion/completions/{pathspider,pspdr}
#   PREFIX/share/zsh/site-functions/_pathspider
#   PREFIX/share/fish/vendor_completions.d/{pathspider,pspdr}.fish
# The man page and completions are generated from the command definitions (scripts/gen-docs.ts);
# the committed copies are checked against them first.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PREFIX=${PREFIX:-/usr/local}
DEST="${DESTDIR:-}$PREFIX"
LIB="$DEST/lib/pathspider"
DENO="$ROOT/.tools/bin/deno"
SO=capture-ffi/target/release/libpathspider_capture.so
fail() {
  echo "install: $*" >&2
  exit 1
}
[ -x "$DENO" ] || fail "Deno is missing; run 'make' first"
[ -f "$SO" ] || fail "$SO is missing; run 'make lib' first"
DENO_NO_UPDATE_CHECK=1 "$DENO" run --quiet -A scripts/gen-docs.ts --check ||
  fail "the man page or completions are stale; run: .tools/bin/deno run -A scripts/gen-docs.ts"

rm -rf "$LIB"
mkdir -p "$LIB/bin" "$LIB/.tools/bin" "$LIB/$(dirname "$SO")" "$DEST/bin"
cp -r src deno.json deno.lock "$LIB/"
rm -f "$LIB/src/build_commit.txt"
cp bin/pathspider "$LIB/bin/pathspider"
cp -L "$DENO" "$LIB/.tools/bin/deno"
cp "$SO" "$LIB/$SO"
# the source commit, for measure --metadata (the installed tree is no git checkout)
if commit=$(git -C "$ROOT" rev-parse HEAD 2>/dev/null); then
  [ -z "$(git -C "$ROOT" status --porcelain --untracked-files=no)" ] || commit="$commit-dirty"
  echo "$commit" >"$LIB/src/build_commit.txt"
fi
# the npm packages of deno.lock, from this machine's Deno cache: the installed program never
# downloads anything (the launcher points DENO_DIR here)
deno_dir=$(DENO_NO_UPDATE_CHECK=1 "$DENO" info --json 2>/dev/null | sed -nE 's/.*"denoDir": *"([^"]*)".*/\1/p')
deno_dir=${DENO_DIR:-${deno_dir:-$HOME/.cache/deno}}
npm="$deno_dir/npm/registry.npmjs.org"
mkdir -p "$LIB/deno-dir/npm/registry.npmjs.org"
for pkg in $(python3 -c 'import json,sys; print("\n".join(sorted({k.rsplit("@",1)[0] for k in json.load(open("deno.lock")).get("npm",{})})))'); do
  [ -d "$npm/$pkg" ] || fail "npm package $pkg is not in $npm; run scripts/setup-deno.sh first"
  mkdir -p "$LIB/deno-dir/npm/registry.npmjs.org/$(dirname "$pkg")"
  cp -r "$npm/$pkg" "$LIB/deno-dir/npm/registry.npmjs.org/$pkg"
done
# the tree's node_modules (deno.json "nodeModulesDir": "auto"): the launcher runs with
# --cached-only, and a service user cannot create it in the installed tree
[ -d node_modules ] || DENO_NO_UPDATE_CHECK=1 "$DENO" install --quiet
cp -a node_modules "$LIB/"
# the launchers: bin/pathspider finds its tree from its own path (PREFIX/lib/pathspider/bin)
printf '#!/bin/sh\nexec "%s/bin/pathspider" "$@"\n' "$PREFIX/lib/pathspider" >"$DEST/bin/pathspider"
chmod 755 "$DEST/bin/pathspider" "$LIB/bin/pathspider" "$LIB/.tools/bin/deno"
ln -sf pathspider "$DEST/bin/pspdr"

install -D -m 644 docs/man/pathspider.1 "$DEST/share/man/man1/pathspider.1"
ln -sf pathspider.1 "$DEST/share/man/man1/pspdr.1"
install -D -m 644 completions/pathspider.bash "$DEST/share/bash-completion/completions/pathspider"
ln -sf pathspider "$DEST/share/bash-completion/completions/pspdr"
install -D -m 644 completions/_pathspider "$DEST/share/zsh/site-functions/_pathspider"
install -D -m 644 completions/pathspider.fish "$DEST/share/fish/vendor_completions.d/pathspider.fish"
ln -sf pathspider.fish "$DEST/share/fish/vendor_completions.d/pspdr.fish"
echo "install: pathspider in $DEST (run $PREFIX/bin/pathspider)"
