# Vigie. `make run` and `make test` do all set-up on a fresh Debian/Ubuntu machine (as root).
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: all deps assets test-data build run test lint bench clean e2e

all: build

deps:
	@scripts/deps.sh

assets: deps
	@scripts/assets.sh

test-data: deps
	@scripts/test-data.sh

build: assets
	$(CARGO) build --release --locked

# The live service with its demo camera (real footage played in a loop, recorded and analysed); console and API
# on http://127.0.0.1:8080 (metrics at /metrics, health at /api/health). Ctrl-C stops it cleanly.
# The demo's intrusion rule runs only within an authorisation (issue 7): a demo one for 30 days is recorded when none
# is valid.
run: build test-data
	target/release/vigie authorisation list --config config/demo.toml | grep -q 'valid$$' || \
	  target/release/vigie authorisation add --authority "Demo" --reference "demo (not a real order)" \
	    --cameras walkway-demo --types intrusion --from "$$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
	    --to "$$(date -u -d '+30 days' +%Y-%m-%dT%H:%M:%SZ)" --config config/demo.toml
	target/release/vigie serve --config config/demo.toml

test: assets test-data
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	$(CARGO) test --workspace --locked
	VIGIE_BIN=target/debug/vigie scripts/e2e.sh

# The console's end-to-end tests in headless Chromium (scripts/e2e.sh; screenshots in e2e/out/).
e2e: build test-data
	VIGIE_BIN=target/release/vigie scripts/e2e.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

bench: build test-data
	@scripts/bench.sh

clean:
	$(CARGO) clean
	rm -rf vigie-out bench-out
