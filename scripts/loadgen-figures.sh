#!/usr/bin/env bash
# HTTP ingestion figures of DESIGN §8 (issue 9): a release `serve` on a throwaway data directory,
# `woo-ingest loadgen` single-event and bulk runs against it (with its lag sampling and drain),
# and the RSS peak of `serve`. The bulk run is made twice: as the service runs by default, bulk
# paced by the projections' lag (500 ms), then with `serve --bulk-pace-lag-ms 0` (unpaced). Last,
# with `serve` stopped, the raw log's figures of the same minutes, the baseline each figure is read
# beside (`BENCH_SCALE=0.2 cargo bench -p woo-eventlog --bench eventlog`; BASELINE=0 skips it).
# Run: cargo build --release -p woo-ingest && scripts/loadgen-figures.sh [SECONDS] [mixed]
# With `mixed`, a third part restarts `serve` with a 1 s projection-lag bound and runs a full-speed
# sync (`loadgen --mode sync`) beside paced live cart and checkout events: the sync meets 429
# `projections_behind` once the lag passes the bound, the live events are all taken (issue 9 item 4).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${WOO_INGEST_BIN:-$ROOT/target/release/woo-ingest}
SECS=${1:-15}
MIXED=${2:-}
D=$(mktemp -d /tmp/woo-loadgen.XXXXXX)
PORT=${PORT:-$((20000 + RANDOM % 20000))}
export WOO_INGEST_PASSWORD='correct horse battery'
$BIN accounts add-user --email o@example.com --company Acme --role owner --data-dir $D/data > /dev/null
$BIN serve --addr 127.0.0.1:$PORT --data-dir $D/data > $D/serve.out 2> $D/serve.err & P=$!
trap 'kill $P 2>/dev/null; sleep 0.2; rm -rf $D' EXIT
# Waits until serve answers; says why and stops if it exited instead (a flag it does not know).
up() { until curl -sf -o /dev/null http://127.0.0.1:$PORT/healthz; do kill -0 $P 2>/dev/null || { echo "serve stopped:"; tail -3 $D/serve.err; exit 1; }; sleep 0.05; done; }
up
# CPU ticks (user + system) of serve as a whole, and of its threads whose name starts with $1: the
# HTTP workers (`actix-server worker N`, cut to 15 characters) and the log's writer. The fields
# are counted after the name, which may hold spaces. A thread that ended (the blocking pool's
# end after idling) counts only in the whole, so the rest is the whole less these.
ticks() { sed 's/.*) //' /proc/$P/stat | awk '{print $12 + $13}'; }
thread_ticks() {
  local t sum=0
  for t in /proc/$P/task/*; do
    case "$(cat $t/comm 2>/dev/null)" in "$1"*) sum=$((sum + $(sed 's/.*) //' $t/stat 2>/dev/null | awk '{print $12 + $13}'))) ;; esac
  done
  echo $sum
}
snapshot() { echo "$(ticks) $(thread_ticks 'actix-server w') $(thread_ticks eventlog-writer)"; }
# CPU of `serve` per accepted event during a run: wall-clock figures move with whatever else the
# two cores run, CPU time much less.
# Where serve's CPU went per accepted event during a run, from two snapshots: the HTTP workers,
# the log's writer, and the rest (the projections, reading the log, everything else).
cpu_per_event() {
  local events hz; events=$(grep -o '[0-9]* accepted' "$3" | tail -1 | awk '{print $1}'); hz=$(getconf CLK_TCK)
  read -r all0 http0 log0 <<< "$1"; read -r all1 http1 log1 <<< "$2"
  per() { echo $(( $1 * 1000000 / hz / (events > 0 ? events : 1) )); }
  echo "serve CPU: $(per $((all1 - all0))) us per accepted event ($(( (all1 - all0) / hz )) s for $events): HTTP workers $(per $((http1 - http0))) us, the log's writer $(per $((log1 - log0))) us, projections and the rest $(per $((all1 - all0 - http1 + http0 - log1 + log0))) us"
}
peak() { local max=0 r; while kill -0 "$1" 2>/dev/null; do r=$(ps -o rss= -p $P || echo 0); [ "$r" -gt "$max" ] && max=$r; sleep 0.5; done; echo "serve RSS peak: $((max / 1024)) MiB"; }
echo "== single events, 16 connections, ${SECS} s"
T0=$(snapshot)
$BIN loadgen --server http://127.0.0.1:$PORT --email o@example.com --concurrency 16 --duration "$SECS" > $D/single.out 2>&1 & L=$!
peak $L; wait $L || true; cpu_per_event "$T0" "$(snapshot)" $D/single.out; grep -v '^\s*$' $D/single.out | tail -12
TOKEN=$(grep -o -- '--token [^ ]*' $D/single.out | head -1 | awk '{print $2}')
bulk() {
  T0=$(snapshot)
  $BIN loadgen --server http://127.0.0.1:$PORT --token "$TOKEN" --mode bulk --batch 500 --concurrency 8 --duration "$SECS" > $D/bulk.out 2>&1 & L=$!
  peak $L; wait $L || true; cpu_per_event "$T0" "$(snapshot)" $D/bulk.out; grep -v '^\s*$' $D/bulk.out | tail -12
}
echo "== bulk, 500 events a request, 8 connections, ${SECS} s, paced (the default)"
bulk
echo "== bulk, 500 events a request, 8 connections, ${SECS} s, unpaced (serve --bulk-pace-lag-ms 0)"
kill $P; wait $P 2>/dev/null || true
$BIN serve --addr 127.0.0.1:$PORT --data-dir $D/data --bulk-pace-lag-ms 0 > $D/serve.out 2> $D/serve.err & P=$!
up
bulk
# The raw log's figures in the same minutes, with `serve` stopped so that it takes no CPU from them.
baseline() {
  kill $P 2>/dev/null; wait $P 2>/dev/null || true
  [ "${BASELINE:-1}" = 0 ] && return
  echo "== the raw log in the same minutes (BENCH_SCALE=0.2 cargo bench -p woo-eventlog --bench eventlog)"
  (cd "$ROOT" && BENCH_SCALE=0.2 cargo bench -q -p woo-eventlog --bench eventlog 2>&1 | grep -E "^(single-event appends|batches of 500)") \
    || echo "the raw log's bench did not run: it needs cargo and this checkout's sources"
}
[ "$MIXED" = mixed ] || { baseline; exit 0; }
echo "== mixed: sync batches of 1000 at 16 connections beside live cart/checkout events at 200/s over 16 connections, --max-projection-lag-s 1, ${SECS} s"
kill $P; wait $P 2>/dev/null || true
$BIN serve --addr 127.0.0.1:$PORT --data-dir $D/data --max-projection-lag-s 1 > $D/serve.out 2> $D/serve.err & P=$!
up
$BIN loadgen --server http://127.0.0.1:$PORT --email o@example.com --mode sync --batch 1000 --concurrency 16 --duration "$SECS" > $D/sync.out 2>&1 & S=$!
$BIN loadgen --server http://127.0.0.1:$PORT --token "$TOKEN" --mix cart=80,checkout=20 --rate 200 --concurrency 16 --duration "$SECS" > $D/live.out 2>&1 & L=$!
wait $S || true; wait $L || true
echo "-- sync run"; grep -v '^\s*$' $D/sync.out | tail -10
echo "-- live run"; grep -v '^\s*$' $D/live.out | tail -8
echo "-- why (serve's log: $(grep -c "deferring sync batches" $D/serve.err) deferral episodes; the first)"; grep -m2 -E "deferring sync batches|caught up" $D/serve.err || true
baseline
