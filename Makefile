# Vigie. `make run` and `make test` do all set-up on a fresh Debian/Ubuntu machine (as root).
SHELL := /bin/bash
CARGO ?= cargo
DEMO ?= .cache/vigie/testdata/vtest.avi

.PHONY: all deps assets test-data build run test lint bench clean

all: build

deps:
	@scripts/deps.sh

assets: deps
	@scripts/assets.sh

test-data: deps
	@scripts/test-data.sh

build: assets
	$(CARGO) build --release --locked

# Until the live service exists: analyse the demo clip (a real pedestrian walkway) and point at the report.
run: build test-data
	target/release/vigie analyze $(DEMO) --out vigie-out/demo

test: assets test-data
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	$(CARGO) test --workspace --locked

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

bench: build test-data
	@scripts/bench.sh

clean:
	$(CARGO) clean
	rm -rf vigie-out bench-out
