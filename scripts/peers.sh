#!/usr/bin/env bash
# make peers: the load generators' CPU per request, side by side against the
# same mux server (pinned to core 0; each generator pinned to core 1), for
# the same time: wrk and muxlab h1 (6 connections), h2load and muxlab h2
# (1 connection, 100 streams), and hey (6 workers). They take turns, ROUNDS
# times; each figure is the median of its turns, and the ratios
# muxlab/wrk and muxlab/h2load are of the medians. Then the throughput
# scenario's req/s at GOMAXPROCS 1, 2 and all (server in process).
set -euo pipefail
DUR=${DUR:-4}
ROUNDS=${ROUNDS:-3}
BIN=${BIN:-bin/muxlab}
[ "$(nproc)" -ge 2 ] || { echo "peers: needs 2 cores (server on one, generator on the other)" >&2; exit 1; }
for t in wrk h2load python3 taskset; do command -v "$t" >/dev/null || { echo "peers: $t is missing (make deps installs it)" >&2; exit 1; }; done
go build -o "$BIN" ./cmd/muxlab
TMP=$(mktemp -d)
HEY=$TMP/hey; go build -o "$HEY" github.com/rakyll/hey
taskset -c 0 "$BIN" serve --h1 127.0.0.1:18180 --h2c 127.0.0.1:18181 >/dev/null &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$TMP"' EXIT
sleep 1
H1=http://127.0.0.1:18180/hello H2=http://127.0.0.1:18181/hello

# cpu OUT CMD...: runs CMD on core 1 with its output in OUT; prints its
# user+sys CPU seconds.
cpu() {
	local out=$1; shift
	/usr/bin/time -f "%U %S" -o "$TMP/time" taskset -c 1 "$@" >"$out"
	awk '{print $1+$2}' "$TMP/time"
}

# Each line of $TMP/figures: tool round requests cpu-seconds (an outside
# tool) or tool round ok µs-per-request (muxlab, from its own result: the
# CPU of the measured part, recording included).
mux_fig() { # contender, concurrency
	taskset -c 1 "$BIN" bench -q --json --scenario throughput --duration "${DUR}s" --rounds 1 --warmup 0 -c "$2" \
		--h1-url http://127.0.0.1:18180 --h2c-url http://127.0.0.1:18181 --no-server-counts --contenders "$1" --out - |
		python3 -c 'import json,sys; t=json.load(sys.stdin)["contenders"][0]["total"]; print(t["ok"], t["cpu_per_req_us"])'
}
for round in $(seq "$ROUNDS"); do
	c=$(cpu "$TMP/out" wrk -t1 -c6 -d"${DUR}s" "$H1")
	echo "wrk $round $(awk '/requests in/ {print $1}' "$TMP/out") $c" >>"$TMP/figures"
	echo "muxlab-h1 $round $(mux_fig h1 6)" >>"$TMP/figures"
	c=$(cpu "$TMP/out" h2load -c1 -m100 -D "$DUR" "$H2")
	echo "h2load $round $(awk '/^requests:/ {print $8}' "$TMP/out") $c" >>"$TMP/figures"
	echo "muxlab-h2 $round $(mux_fig h2 100)" >>"$TMP/figures"
	c=$(cpu "$TMP/out" "$HEY" -c 6 -z "${DUR}s" "$H1")
	echo "hey $round $(awk '/Requests\/sec/ {printf "%d", $2*'"$DUR"'}' "$TMP/out") $c" >>"$TMP/figures"
done

python3 - "$TMP/figures" "$DUR" "$ROUNDS" <<'EOF'
import statistics, sys
figs, dur, rounds = {}, float(sys.argv[2]), sys.argv[3]
for line in open(sys.argv[1]):
    tool, _, n, x = line.split()
    n, x = float(n), float(x)
    us = x if tool.startswith("muxlab") else x * 1e6 / max(n, 1)
    figs.setdefault(tool, []).append((us, n / dur))
label = {"wrk": "wrk -t1 -c6", "muxlab-h1": "muxlab h1 (6 connections)", "h2load": "h2load -c1 -m100",
         "muxlab-h2": "muxlab h2 (1 connection)", "hey": "hey -c 6"}
med = {t: statistics.median(u for u, _ in v) for t, v in figs.items()}
print(f"same mux server on core 0, each generator on core 1, GET /hello, {rounds} turns of {dur:g}s each (medians; every turn in brackets)")
for t in label:
    v = figs[t]
    turns = " ".join(f"{u:.1f}" for u, _ in v)
    print(f"{label[t]:<28} {statistics.median(r for _, r in v):>8.0f} req/s {med[t]:>6.1f} µs CPU per request  [{turns}]")
print(f"ratio muxlab h1 / wrk:    {med['muxlab-h1'] / med['wrk']:.2f} (target 1.5 or less)")
print(f"ratio muxlab h2 / h2load: {med['muxlab-h2'] / med['h2load']:.2f} (target 1.5 or less)")
EOF

# The throughput scenario (100 in flight, server in process) at each
# GOMAXPROCS: the harness's workers record on their own, so it uses every
# core it is given.
echo
echo "throughput scenario (server in process, ${DUR}s): req/s by GOMAXPROCS"
all=$(nproc)
procs="1 2"
[ "$all" -gt 2 ] && procs="1 2 $all"
for p in $procs; do
	GOMAXPROCS=$p "$BIN" bench -q --json --scenario throughput --duration "${DUR}s" --rounds 1 --warmup 100 --contenders h1,h2 --out - |
		python3 -c '
import json, sys
r, p, all = json.load(sys.stdin), sys.argv[1], sys.argv[2]
name = p + (" (all)" if p == all else "")
rates = "  ".join("%s %8.0f req/s" % (c["name"], c["total"]["throughput_rps"]) for c in r["contenders"])
print("GOMAXPROCS %-8s %s" % (name, rates))
' "$p" "$all"
done
