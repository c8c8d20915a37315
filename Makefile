# ps — build, demo, test and benchmark. Run "make help" for the targets.
SHELL := /bin/bash
BIN   := $(CURDIR)/bin
TOOLS := ps-auth ps-list ps-filter ps-fetch ps-xmp ps-remove ps-check ps-watch
PREFIX  ?= /usr/local
# The version: a v* tag when there is one, else a Go-style pseudo-version of the
# commit (v0.0.0-YYYYMMDDhhmmss-hash). Without git, the binaries fall back to
# the module's build information (see internal/cli/version.go).
VERSION ?= $(shell git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null || \
	TZ=UTC git log -1 --abbrev=12 --date=format-local:%Y%m%d%H%M%S --format=v0.0.0-%cd-%h 2>/dev/null)
COMMIT  ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)$(shell git rev-parse -q HEAD >/dev/null 2>&1 && \
	{ git diff --quiet HEAD 2>/dev/null || echo -dirty; })
CLI     := github.com/ps-photos/ps/internal/cli
LDFLAGS := -X $(CLI).Version=$(VERSION) -X $(CLI).Commit=$(COMMIT)
# Where make install puts things, below $(DESTDIR)$(PREFIX).
MAN1DIR := $(PREFIX)/share/man/man1
BASHDIR := $(PREFIX)/share/bash-completion/completions
ZSHDIR  := $(PREFIX)/share/zsh/site-functions
FISHDIR := $(PREFIX)/share/fish/vendor_completions.d

.PHONY: help build install uninstall cross demo test test-deps bench bench-quick clean

help: ## show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

build: ## build the tools into ./bin
	@mkdir -p $(BIN)
	go build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

install: build ## install the tools, their man pages and bash/zsh/fish completions under PREFIX (/usr/local; DESTDIR honoured)
	install -d '$(DESTDIR)$(PREFIX)/bin' '$(DESTDIR)$(MAN1DIR)' '$(DESTDIR)$(BASHDIR)' '$(DESTDIR)$(ZSHDIR)' '$(DESTDIR)$(FISHDIR)'
	@set -e; for t in $(TOOLS); do \
		install -m 0755 '$(BIN)'/$$t '$(DESTDIR)$(PREFIX)/bin/'$$t; \
		'$(BIN)'/$$t --man > '$(DESTDIR)$(MAN1DIR)'/$$t.1; \
		'$(BIN)'/$$t --completion bash > '$(DESTDIR)$(BASHDIR)'/$$t; \
		'$(BIN)'/$$t --completion zsh > '$(DESTDIR)$(ZSHDIR)'/_$$t; \
		'$(BIN)'/$$t --completion fish > '$(DESTDIR)$(FISHDIR)'/$$t.fish; \
		echo "installed $$t"; \
	done

uninstall: ## remove what make install put under PREFIX
	@for t in $(TOOLS); do \
		rm -f '$(DESTDIR)$(PREFIX)/bin'/$$t '$(DESTDIR)$(MAN1DIR)'/$$t.1 '$(DESTDIR)$(BASHDIR)'/$$t \
			'$(DESTDIR)$(ZSHDIR)'/_$$t '$(DESTDIR)$(FISHDIR)'/$$t.fish; \
	done

cross: ## build and vet for Linux, macOS and Windows (what CI checks before the tests)
	@set -e; for os in linux darwin windows; do \
		echo "GOOS=$$os go build ./... && go vet ./..."; \
		GOOS=$$os GOARCH=amd64 go build ./...; \
		GOOS=$$os GOARCH=amd64 go vet ./...; \
	done
	GOOS=darwin GOARCH=arm64 go build ./...

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
