#!/usr/bin/env bash
# make fidelity: the same pages over the same emulated link, carried once by
# this machine's Linux TCP (network namespaces, needs root) and once by
# gVisor's userspace TCP, and each contender's userspace / kernel ratio.
# The README's fidelity table and docs/FIDELITY.md come from it.
#   - 100 objects of 10 KiB, no server delay, 40 ms, no rate limit, at 0, 1
#     and 3% loss each way;
#   - the default web page over 4g.
# MUXLAB (default bin/muxlab) is the binary, OUT (default
# muxlab-results/fidelity) where the sweeps are written.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${MUXLAB:-bin/muxlab}
out=${OUT:-muxlab-results/fidelity}
page=(--scenario page --objects 100 --size 10KiB --delay 0 --rtt 40ms --bandwidth unlimited --contenders h1,h2,h3)
for loss in 0 1% 3%; do
  echo "== 40 ms, loss $loss: kernel, then userspace"
  "$bin" sweep -q --over stack "${page[@]}" --loss "$loss" --label "fidelity, 40 ms, loss $loss" --out "$out"
  echo
done
echo "== the default web page over 4g: kernel, then userspace"
"$bin" sweep -q --over stack --scenario web --net 4g --contenders h1,h2,h3 --label "fidelity, web over 4g" --out "$out"
