#!/usr/bin/env bash
# A burst of 300 concurrent wrong sign-ins (from 300 clients behind a trusted proxy) against
# `woo-ingest serve`, with a connected plugin sending a heartbeat every 100 ms meanwhile: prints
# the server's peak RSS and the heartbeats' latency (issue 15: <= 256 MB, <= 1 s).
# Usage: scripts/signin-burst.sh [path/to/woo-ingest]   (default: target/release/woo-ingest)
set -euo pipefail
BIN=${1:-target/release/woo-ingest}
DIR=$(mktemp -d)
PORT=${PORT:-18917}
URL=http://127.0.0.1:$PORT
export WOO_INGEST_PASSWORD='correct horse battery'
"$BIN" --data-dir "$DIR/data" accounts add-user --email owner@example.com --company Acme --role owner >/dev/null
"$BIN" --data-dir "$DIR/data" serve --addr "127.0.0.1:$PORT" --trusted-proxy 127.0.0.1 >"$DIR/serve.log" 2>&1 &
SERVE=$!
trap 'kill $SERVE 2>/dev/null; rm -rf "$DIR"' EXIT
sleep 2
TOKEN=$("$BIN" loadgen --server "$URL" --email owner@example.com --requests 1 2>&1 |
    grep -o 'reuse it with --token [^ ]*' | awk '{print $5}')
BEAT='{"plugin_version":"1","wordpress_version":"6.7","woocommerce_version":"9.4"}'
for _ in $(seq 1 60); do
    curl -s -o /dev/null -w "%{time_total}\n" -H "Authorization: Bearer $TOKEN" \
        -H 'content-type: application/json' -d "$BEAT" "$URL/api/woocommerce/v1/heartbeat"
    sleep 0.1
done >"$DIR/beats.txt" &
BEATS=$!
sleep 0.5
seq 1 300 | xargs -P 300 -I{} curl -s -o /dev/null -w "%{http_code}\n" \
    -H "X-Forwarded-For: 198.51.100.{}" -H 'content-type: application/json' \
    -d '{"email":"user{}@example.com","password":"wrong password"}' \
    "$URL/api/admin/v1/auth/token" >"$DIR/burst.txt"
wait $BEATS
echo "sign-in answers: $(sort "$DIR/burst.txt" | uniq -c | tr -s ' \n' ' ')"
echo "server peak RSS: $(awk '/VmHWM/ {print $2, $3}' /proc/$SERVE/status)"
sort -n "$DIR/beats.txt" | awk '{a[NR]=$1} END {printf "heartbeat latency: p50 %.3f s, p95 %.3f s, max %.3f s (%d beats)\n", a[int(NR/2)], a[int(NR*0.95)], a[NR], NR}'
