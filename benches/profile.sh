#!/usr/bin/env bash
# Profile of our async handler at 4 producing tasks:
#
#     bash benches/profile.sh [row] [lines]
#
# Runs one child of benches/peers.rs (default row `ours_async_block`, scenario
# `tput4`, 2,000,000 lines) under `perf record` with the cpu-clock software
# event (this VM has no hardware counters) and DWARF call graphs, built with
# debug info, then prints, for the tokio worker/blocking threads (and
# `clh-writer` for the thread handler) only, so the harness's read-back of
# the files is left out, the flat profile (self time per symbol) and the
# inclusive view of the top entries. Output lands in target/profile/.
set -euo pipefail
cd "$(dirname "$0")/.."
row=${1:-ours_async_block}
lines=${2:-2000000}
out=target/profile
mkdir -p "$out"
export CARGO_PROFILE_BENCH_DEBUG=true
exe=$(cargo bench -p clh-benches --bench peers --no-run --message-format=json 2>/dev/null |
    python3 -c 'import sys, json
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "peers" and m.get("executable"):
        print(m["executable"])')
echo "profiling $row tput4 ($lines lines) with $exe" >&2
PEERS_LINES=$lines perf record -q -e cpu-clock -F 4999 --call-graph dwarf,16384 \
    -o "$out/perf.data" -- "$exe" --child "$row" tput4
perf report -i "$out/perf.data" --comms tokio-rt-worker,clh-writer --percentage relative --no-children --sort symbol --percent-limit 0.7 \
    --stdio -g none 2>/dev/null | grep -v '^$' | sed 's/ \{3,\}-  *- *$//' > "$out/flat.txt"
perf report -i "$out/perf.data" --comms tokio-rt-worker,clh-writer --percentage relative --children --sort symbol --percent-limit 0.2 \
    --stdio -g none 2>/dev/null | grep -v '^$' | sed 's/ \{3,\}-  *- *$//' > "$out/children.txt"
perf report -i "$out/perf.data" --no-children --sort comm --stdio -g none 2>/dev/null |
    grep -v '^$' > "$out/threads.txt"
echo "== time by thread" && grep -v '^#' "$out/threads.txt" | head -15
echo "== self time by symbol" && grep -v '^#' "$out/flat.txt" | head -45
echo "== inclusive time of the steps of a record (children, self)"
grep -E '(AsyncConcurrentHandler::emit|NonBlockingConcurrentHandler::emit|queue_full|write_in_caller|write_now|Record::new|__GI_getpid|clock_gettime|format_line|TextFormatter as|escape::escape|write_timestamp|with_field|try_send|Tx<T>::push|malloc \(|__libc_malloc|__GI___libc_free|BatchWriter::process|LockedFile::write_records|\] ksys_write|try_statx|__do_sys_flock|recv_many|Rx<T>::pop|try_recv|spawn_blocking|\] schedule$|futex_wake|futex_wait$|try_to_wake_up|\] vdso|fdatasync)' "$out/children.txt" |
    grep -v '{{closure}}' | head -40

# Syscalls and context switches per record on the paced hot path (500k/s, one
# producer): wake-ups and per-record syscalls show up here, not in the flat
# profile.
for r in ours_async_block ours_thread; do
    echo "== syscalls, $r cost_paced (220,000 records)"
    PEERS_COST_CALLS=200000 perf stat -x, -e 'syscalls:sys_enter_futex,syscalls:sys_enter_write,syscalls:sys_enter_getpid,syscalls:sys_enter_flock,syscalls:sys_enter_statx,context-switches' \
        "$exe" --child "$r" cost_paced 2>&1 >/dev/null | cut -d, -f1,3
done
