#!/usr/bin/env bash
# make peers: the load generators' CPU per request, side by side against the
# same mux server (pinned to core 0; each generator pinned to core 1), for
# the same time: wrk and muxlab h1 (6 connections), h2load and muxlab h2
# (1 connection, 100 streams), and hey (6 workers). Prints each figure and
# the ratios muxlab/wrk and muxlab/h2load.
set -euo pipefail
DUR=${DUR:-4}
BIN=${BIN:-bin/muxlab}
[ "$(nproc)" -ge 2 ] || { echo "peers: needs 2 cores (server on one, generator on the other)" >&2; exit 1; }
for t in wrk h2load; do command -v "$t" >/dev/null || { echo "peers: $t is missing (make deps installs it)" >&2; exit 1; }; done
go build -o "$BIN" ./cmd/muxlab
HEY=$(mktemp -d)/hey; go build -o "$HEY" github.com/rakyll/hey
taskset -c 0 "$BIN" serve --h1 127.0.0.1:18180 --h2c 127.0.0.1:18181 >/dev/null &
SERVER=$!
trap 'kill $SERVER 2>/dev/null' EXIT
sleep 1
H1=http://127.0.0.1:18180/hello H2=http://127.0.0.1:18181/hello

# cpu CMD...: runs CMD on core 1, prints "user+sys seconds" on fd 3 and CMD's output on stdout.
cpu() { /usr/bin/time -f "%U %S" -o /tmp/peers.time taskset -c 1 "$@"; awk '{print $1+$2}' /tmp/peers.time >&3; }

line() { printf "%-34s %10s req/s %8.1f µs CPU per request\n" "$1" "$2" "$3"; }

exec 3>/tmp/peers.cpu
wrk_out=$(cpu wrk -t1 -c6 -d${DUR}s "$H1"); wrk_cpu=$(tail -1 /tmp/peers.cpu)
wrk_req=$(echo "$wrk_out" | awk '/requests in/ {print $1}')
h2l_out=$(cpu h2load -c1 -m100 -D $DUR "$H2"); h2l_cpu=$(tail -1 /tmp/peers.cpu)
h2l_req=$(echo "$h2l_out" | awk '/^requests:/ {print $8}')
hey_out=$(cpu "$HEY" -c 6 -z ${DUR}s "$H1"); hey_cpu=$(tail -1 /tmp/peers.cpu)
hey_req=$(echo "$hey_out" | awk '/Requests\/sec/ {printf "%d", $2*'"$DUR"'}')
exec 3>&-

# muxlab's own figure: client CPU per request, from its result (another server: client only).
mux_fig() { # contender, concurrency
  taskset -c 1 "$BIN" bench -q --json --scenario throughput --duration ${DUR}s --rounds 1 --warmup 0 -c "$2" \
    --h1-url http://127.0.0.1:18180 --h2c-url http://127.0.0.1:18181 --no-server-counts --contenders "$1" --out - |
    python3 -c 'import json,sys; r=json.load(sys.stdin); t=r["contenders"][0]["total"]; print(t["ok"], t["cpu_per_req_us"], t["throughput_rps"])'
}
read m1_ok m1_us m1_rps < <(mux_fig h1 6)
read m2_ok m2_us m2_rps < <(mux_fig h2 100)

per() { python3 -c "print($1*1e6/max($2,1))"; }
rps() { python3 -c "print(int($1/$DUR))"; }
wrk_us=$(per "$wrk_cpu" "$wrk_req"); h2l_us=$(per "$h2l_cpu" "$h2l_req"); hey_us=$(per "$hey_cpu" "$hey_req")
echo "same mux server on core 0, each generator on core 1, ${DUR}s each, GET /hello"
line "wrk -t1 -c6"                 "$(rps "$wrk_req")" "$wrk_us"
line "muxlab h1 (6 connections)"   "${m1_rps%.*}"      "$m1_us"
line "h2load -c1 -m100"            "$(rps "$h2l_req")" "$h2l_us"
line "muxlab h2 (1 connection)"    "${m2_rps%.*}"      "$m2_us"
line "hey -c 6"                    "$(rps "$hey_req")" "$hey_us"
python3 -c "print(f'ratio muxlab h1 / wrk:    {$m1_us/$wrk_us:.2f} (target 1.5 or less)'); print(f'ratio muxlab h2 / h2load: {$m2_us/$h2l_us:.2f} (target 1.5 or less)')"
