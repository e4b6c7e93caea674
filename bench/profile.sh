#!/usr/bin/env bash
# Profile of our async handler at 4 producing tasks (issue 8):
#
#     bash bench/profile.sh [row] [lines]
#
# Runs one child of benches/peers.rs (default row `ours_async_block`, scenario
# `tput4`, 2,000,000 lines) under `perf record` with the cpu-clock software
# event (this VM has no hardware counters) and DWARF call graphs, built with
# debug info, then prints the flat profile (self time per symbol) and the
# inclusive view of the top entries. Output lands in target/profile/.
set -euo pipefail
cd "$(dirname "$0")/.."
row=${1:-ours_async_block}
lines=${2:-2000000}
out=target/profile
mkdir -p "$out"
export CARGO_PROFILE_BENCH_DEBUG=true
exe=$(cargo bench --bench peers --no-run --message-format=json 2>/dev/null |
    python3 -c 'import sys, json
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "peers" and m.get("executable"):
        print(m["executable"])')
echo "profiling $row tput4 ($lines lines) with $exe" >&2
PEERS_LINES=$lines perf record -q -e cpu-clock -F 4999 --call-graph dwarf,16384 \
    -o "$out/perf.data" -- "$exe" --child "$row" tput4
perf report -i "$out/perf.data" --no-children --sort symbol --percent-limit 0.7 \
    --stdio -g none 2>/dev/null | grep -v '^$' > "$out/flat.txt"
perf report -i "$out/perf.data" --children --sort symbol --percent-limit 3 \
    --stdio -g none 2>/dev/null | grep -v '^$' > "$out/children.txt"
perf report -i "$out/perf.data" --no-children --sort comm --stdio -g none 2>/dev/null |
    grep -v '^$' > "$out/threads.txt"
echo "== time by thread" && grep -v '^#' "$out/threads.txt" | head -15
echo "== self time by symbol" && grep -v '^#' "$out/flat.txt" | head -45
echo "== inclusive time by symbol" && grep -v '^#' "$out/children.txt" | head -45
