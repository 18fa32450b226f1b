# muxlab: the two commands a newcomer needs are `make run` and `make test`.
GO       ?= go
BIN      := bin/muxlab
FUZZTIME ?= 10s
# make test fuzzes by count, not time: with a duration, Go 1.26's fuzzing
# coordinator can report a bare "context deadline exceeded" at the end of
# the window on a loaded machine (go.dev/issue/75804, fixed in Go 1.27).
TESTFUZZTIME ?= 3000x

.PHONY: build run serve deps test bench fuzz lint clean report peers fidelity

build:
	$(GO) build -ldflags "-X main.commit=$$(git rev-parse --short=12 HEAD 2>/dev/null)" -o $(BIN) ./cmd/muxlab

# The main job: a typical page over an emulated 4G network, h1 vs h2 vs hey, against an embedded server.
run: build
	./$(BIN) bench

# The demo server on its default loopback ports (8080 HTTP/1.1, 8081 h2c).
serve: build
	./$(BIN) serve

# Debian's chromium (the browser tests), nghttp2-client (h2load), haproxy, and wrk,
# time and python3 (the peer tests, make peers). As root they are installed;
# otherwise the tests that need them are skipped (and fail when CI is set).
deps:
	@missing=""; \
	for p in /usr/bin/chromium:chromium /usr/bin/h2load:nghttp2-client /usr/sbin/haproxy:haproxy /usr/bin/wrk:wrk /usr/bin/time:time /usr/bin/python3:python3; do \
	  [ -x "$${p%%:*}" ] || missing="$$missing $${p#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's$$missing for the browser and peer tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing >/dev/null; \
	  else echo "note:$$missing missing (apt-get install$$missing); the tests that need them will be skipped"; fi; \
	fi

# Everything CI checks: vet; every test under the race detector (h2spec
# conformance, fault, abuse and browser tests included); the load tests, which
# hold more goroutines than the race detector allows, without it; and each
# fuzz target for a few seconds.
test: deps
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...
	$(GO) test -count=1 -run '^TestLoad' ./mux
	$(MAKE) --no-print-directory fuzz FUZZTIME=$(TESTFUZZTIME)

# Benchmarks: the clients beside bare transports, the harness's own cost, and
# page and throughput runs reporting p50-ms, p99-ms, conns and req/s.
bench:
	$(GO) test -p 1 -run '^$$' -bench . -benchmem ./...

# The load generators' CPU per request side by side: wrk, h2load, hey and
# muxlab against one mux server, server and generator pinned to a core each.
peers: deps
	bash scripts/peers.sh

# The same pages on the kernel's TCP and on gVisor's userspace TCP, over the
# same emulated link, with each contender's userspace / kernel ratio (needs
# root for the kernel stack; about 15 minutes): docs/FIDELITY.md.
fidelity: build
	bash scripts/fidelity.sh

# Each native fuzz target for FUZZTIME.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# A reference run and its HTML report, committed under docs/reference so
# that a newcomer can browse a real report before running anything.
report: build
	rm -rf docs/reference
	./$(BIN) bench -q --out docs/reference
	./$(BIN) sweep -q --over loss --values 0,1%,2%,3% --scenario page --objects 100 --size 10KiB --delay 0 \
	  --rtt 40ms --bandwidth 10Mbit/s --contenders h1,h2,h3 --pages 3 --rounds 2 --out docs/reference
	./$(BIN) report docs/reference/*.json -o docs/reference/report.html

clean:
	rm -rf bin
