# muxlab: the two commands a newcomer needs are `make run` and `make test`.
GO       ?= go
BIN      := bin/muxlab
FUZZTIME ?= 10s

.PHONY: build run serve test bench fuzz lint clean

build:
	$(GO) build -o $(BIN) ./cmd/muxlab

# The main job: a comparison against an embedded server on loopback.
run: build
	./$(BIN) bench

# The demo server on its default loopback ports (8080 HTTP/1.1, 8081 h2c).
serve: build
	./$(BIN) serve

test:
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

# Benchmarks: the clients beside bare transports, the harness's own cost, and
# page and throughput runs reporting p50-ms, p99-ms, conns and req/s.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

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

clean:
	rm -rf bin
