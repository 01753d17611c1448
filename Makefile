# smartdns build, test, fuzz and benchmark entry points (GNU make).
#
#   make build    bin/smartdns, version stamped from git describe
#   make run      build, then serve examples/smartdns.yaml
#   make deps     install the system tools the tests need (dig, promtool,
#                 chromium, python3, curl), if missing
#   make test     go vet, gofmt check, go test -race (unit + e2e)
#   make fuzz     run every Fuzz* target for FUZZTIME each (default 30s)
#   make bench    Go micro-benchmarks, then bench/run.sh (server vs peers)
#   make clean    remove build outputs

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

# Go may live outside PATH on a fresh machine (e.g. /usr/local/go/bin).
export PATH := $(PATH):/usr/local/go/bin
GO    ?= go
GOFMT ?= gofmt

VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
BIN      := bin/smartdns
CONFIG   ?= examples/smartdns.yaml
FUZZTIME ?= 30s
TESTTIMEOUT ?= 9m

# command:debian-package pairs that the tests need on PATH.
DEPS := dig:bind9-dnsutils promtool:prometheus chromium:chromium python3:python3 curl:curl

# root runs apt-get directly; anyone else goes through sudo when it exists.
SUDO := $(shell [ "$$(id -u)" = 0 ] || command -v sudo 2>/dev/null)
APT_ENV := DEBIAN_FRONTEND=noninteractive

.PHONY: build run deps test vet fmtcheck fuzz bench clean

build:
	@mkdir -p bin
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/smartdns

run: build
	./$(BIN) serve --config $(CONFIG)

# Installs only what is missing; prints nothing when everything is present.
# apt-get update runs only when a plain install fails (stale or empty lists).
deps:
	@missing=""; \
	for pair in $(DEPS); do \
	  cmd=$${pair%%:*}; pkg=$${pair#*:}; \
	  command -v "$$cmd" >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing$$missing"; \
	  if ! command -v apt-get >/dev/null 2>&1; then \
	    echo "deps: apt-get not found; install$$missing by hand" >&2; exit 1; \
	  fi; \
	  if ! $(SUDO) env $(APT_ENV) apt-get install -y -qq --no-install-recommends $$missing >/dev/null 2>&1; then \
	    echo "deps: install failed, running apt-get update and retrying"; \
	    $(SUDO) env $(APT_ENV) apt-get update -qq >/dev/null; \
	    $(SUDO) env $(APT_ENV) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  fi; \
	  for pair in $(DEPS); do \
	    cmd=$${pair%%:*}; \
	    command -v "$$cmd" >/dev/null 2>&1 || { echo "deps: $$cmd still missing" >&2; exit 1; }; \
	  done; \
	fi

# Sequential on purpose (also under make -j): deps, vet, gofmt, then tests.
test: deps
	$(GO) vet ./...
	@$(MAKE) --no-print-directory fmtcheck
	$(GO) test -race -count=1 -timeout $(TESTTIMEOUT) ./...

vet:
	$(GO) vet ./...

# gofmt -l exits 0 even when it lists files, so the listing itself is the verdict.
fmtcheck:
	@files=$$(find . -name '*.go' -not -path './.git/*' | sort); \
	[ -n "$$files" ] || exit 0; \
	out=$$($(GOFMT) -l $$files); \
	if [ -n "$$out" ]; then \
	  echo "gofmt: these files are not formatted (run gofmt -w):" >&2; \
	  echo "$$out" >&2; \
	  exit 1; \
	fi

# Every Fuzz* target of every package with tests, one after another.
fuzz:
	@pkgs=$$($(GO) list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' ./...); \
	n=0; \
	for pkg in $$pkgs; do \
	  list=$$($(GO) test -list '^Fuzz' "$$pkg") || { echo "fuzz: go test -list failed for $$pkg" >&2; exit 1; }; \
	  targets=$$(printf '%s\n' "$$list" | grep '^Fuzz' || true); \
	  for t in $$targets; do \
	    n=$$((n+1)); \
	    echo "==> fuzz $$pkg $$t for $(FUZZTIME)"; \
	    $(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) "$$pkg"; \
	  done; \
	done; \
	echo "fuzz: ran $$n target(s)"

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
	bash bench/run.sh

clean:
	rm -rf bin
	rm -f examples/*.db
