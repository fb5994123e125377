#!/usr/bin/env bash
# Process figures of DESIGN §8: RSS under load and time back to serving after kill -9.
# Release build, loopback only, a throwaway data directory in /tmp/woo-process. Needs curl,
# sqlite3 and bc (Debian packages). Run: cargo build --release --bins && scripts/process-figures.sh
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/target/release/woo-ingest
STRESS=$ROOT/target/release/eventlog-stress
D=/tmp/woo-process; rm -rf $D; mkdir -p $D/data; cd $D
# 1. a log of some size: the stress writer for 20 s
$STRESS $D/data/events.db 64 > /dev/null & S=$!; sleep 20; kill -9 $S; wait $S 2>/dev/null
echo "seeded: $(sqlite3 $D/data/events.db 'select count(*) from events' 2>/dev/null || echo '?') events"
WOO_INGEST_PASSWORD='correct horse battery' $BIN accounts add-user --email o@example.com --company Acme --role owner --data-dir $D/data >/dev/null
# 2. serve; time until /healthz answers 200
wait_healthy() { local t0=$(date +%s.%N); until curl -sf -o /dev/null http://127.0.0.1:18080/healthz; do sleep 0.005; done; echo "$(date +%s.%N) - $t0" | bc; }
$BIN serve --addr 127.0.0.1:18080 --data-dir $D/data > $D/serve.out 2> $D/serve.err & P=$!
echo "first start: healthy after $(wait_healthy) s"
# 3. pair a simulated store, approve it with curl, and drive live events
$BIN simulate --server http://127.0.0.1:18080 --rate 5000 --duration 40 --products 500 --customers 300 --guests 100 --orders 2000 > $D/sim.out 2>&1 & SIM=$!
until grep -q "Open this link" $D/sim.out; do sleep 0.1; done
LINK=$(grep "Open this link" $D/sim.out | awk '{print $NF}')
J=$D/jar; CSRF=$(curl -s -c $J -b $J http://127.0.0.1:18080/login | grep -o 'name="csrf" value="[^"]*"' | head -1 | sed 's/.*value="//;s/"//')
curl -s -c $J -b $J -o /dev/null -d "email=o@example.com&password=correct+horse+battery&csrf=$CSRF&next=/" http://127.0.0.1:18080/login
PAGE=$(curl -s -c $J -b $J "$LINK")
CSRF=$(echo "$PAGE" | grep -o 'name="csrf" value="[^"]*"' | head -1 | sed 's/.*value="//;s/"//')
CO=$(echo "$PAGE" | grep -o '<option value="[^"]*"' | head -1 | sed 's/.*value="//;s/"//')
ACT=$(echo "$PAGE" | grep -o 'action="/setup/woocommerce/[^"]*/approve"' | sed 's/action="//;s/"//')
curl -s -c $J -b $J -o /dev/null -d "csrf=$CSRF&company_id=$CO" "http://127.0.0.1:18080$ACT"
MAX=0; for i in $(seq 1 45); do R=$(ps -o rss= -p $P); [ "$R" -gt "$MAX" ] && MAX=$R; sleep 1; done
wait $SIM; tail -2 $D/sim.out
echo "serve RSS: peak $((MAX/1024)) MiB during the run, $(( $(ps -o rss= -p $P) / 1024 )) MiB after"
curl -s http://127.0.0.1:18080/healthz | head -c 300; echo
# 4. kill -9 and time back to serving, three times
for n in 1 2 3; do
    kill -9 $P; wait $P 2>/dev/null
    $BIN serve --addr 127.0.0.1:18080 --data-dir $D/data >> $D/serve.out 2>> $D/serve.err & P=$!
    echo "after kill -9 #$n: healthy after $(wait_healthy) s"
done
echo "integrity: $(sqlite3 $D/data/events.db 'pragma integrity_check')"
kill $P
