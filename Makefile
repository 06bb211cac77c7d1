# pathspider build. `make` builds everything for use from the source tree (bin/pathspider);
# `make test` runs the whole suite; `make demo` shows the product working; `make binary`
# builds the single executable dist/pathspider.
SHELL := /bin/bash
# No Deno update check: it resolves a public host name on every start.
export DENO_NO_UPDATE_CHECK := 1
DENO := .tools/bin/deno
LIB := capture-ffi/target/release/libpathspider_capture.so

PREFIX ?= /usr/local

.PHONY: all deno lib deps test install docs test-unit test-pcap test-e2e demo binary bench ok clean fmt

all: deno lib

deno:
	@./scripts/setup-deno.sh

lib:
	cd capture-ffi && cargo build --release --quiet

# Debian packages the tests and the demo need (servers, nftables, the original for golden tests).
deps:
	@./scripts/install-deps.sh

ok: all
	$(DENO) task ok
	cd capture-ffi && cargo clippy --release --quiet -- -D warnings && cargo test --release --quiet

test: deps all
	@./scripts/test-all.sh

demo: deps all
	@./scripts/demo.sh

binary: all
	@./scripts/build-binary.sh

# benches also compare with the original PATHspider (../shared/peer), installed here only
bench: all
	@./scripts/install-deps.sh --bench
	@./bench/run.sh

# PREFIX (default /usr/local) and DESTDIR as usual; see scripts/install.sh for what goes where
install: all
	@PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) ./scripts/install.sh

# the man page and shell completions, generated from the command definitions
docs: deno
	$(DENO) run -A scripts/gen-docs.ts

fmt:
	$(DENO) fmt
	cd capture-ffi && cargo fmt

clean:
	rm -rf dist capture-ffi/target
