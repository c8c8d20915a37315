# ps — build, demo, test and benchmark. Run "make help" for the targets.
SHELL := /bin/bash
BIN   := $(CURDIR)/bin
TOOLS := ps-auth ps-list ps-filter ps-fetch ps-xmp ps-remove ps-check ps-watch
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/ps-photos/ps/internal/cli.Version=$(VERSION)

.PHONY: help build demo test test-deps bench bench-quick clean

help: ## show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

build: ## build the tools into ./bin
	@mkdir -p $(BIN)
	go build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

demo: build ## build, make a sample memory card, and run the pipeline on it
	@bash scripts/demo.sh

test-deps: ## install the system packages the tests need (samba, chromium, exiftool, …)
	@bash scripts/install-test-deps.sh

test: test-deps ## run every test, with the race detector, against real smbd, chromium and exiftool
	go vet ./...
	go test -race -count=1 -timeout 40m ./...

bench: build ## run the benchmark suite against rclone, aria2c, jq (see docs/performance.md)
	@bash bench/run.sh

bench-quick: build ## a short benchmark run (under 5 minutes)
	@bash bench/run.sh --quick

clean: ## remove build and demo output
	rm -rf $(BIN) demo-card demo-out
