#!/usr/bin/env bash
# STK callback ingest: distinct success callbacks booked per second (entry,
# receipt registry, audit row, receipt SMS row, app event: one transaction
# each), and duplicates sent concurrently booking nothing more.
#
#   loadtest/mpesa/callbacks.sh                              # 50 senders, 10 s, distinct callbacks into 50 chamas
#   CHAMAS=1 loadtest/mpesa/callbacks.sh                     # every payment into one chama's books
#   COPIES=10 PER_THREAD=500 DURATION=5s loadtest/mpesa/callbacks.sh   # 10 copies of each of 1,000 callbacks
#
# Needs `cargo build --release`, wrk, psql, curl, python3, PostgreSQL on
# 127.0.0.1:5432 letting `postgres` in without a password and Redis on 6379.
# Run it from the project's root. One `pesachama serve` node against a fresh
# database `bench_mpesa`; `THREADS` wrk threads (each its own id range of
# `PER_THREAD` seeded pending requests) over `CONNS` connections.
set -euo pipefail
cd "$(dirname "$0")/../.."

CONNS=${CONNS:-50}
THREADS=${THREADS:-2}
DURATION=${DURATION:-10s}
COPIES=${COPIES:-1}
PER_THREAD=${PER_THREAD:-40000}
CHAMAS=${CHAMAS:-50}
bin=${PESACHAMA_BIN:-target/release/pesachama}
admin=postgres://postgres@127.0.0.1:5432
db=bench_mpesa
# shellcheck source=../lib.sh
source loadtest/lib.sh

[[ -x $bin ]] || { echo "build first: cargo build --release"; exit 1; }
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)"; exit 1; }

psql -q "$admin/postgres" -c "drop database if exists $db with (force)" -c "create database $db"
runtime_url="postgres://pc_bench_mpesa@127.0.0.1:5432/$db"
DATABASE_OWNER_URL="$admin/$db" DATABASE_URL="$runtime_url" "$bin" migrate >/dev/null 2>&1
# CHAMAS chamas of one member each; request k of a thread is for chama
# k mod CHAMAS, so CHAMAS=1 is every payment into one chama's books.
for c in $(seq 1 "$CHAMAS"); do
  DATABASE_URL="$runtime_url" "$bin" chama create --name "Bench Chama $c" --code "BENCH$c" >/dev/null
  DATABASE_URL="$runtime_url" "$bin" member add --chama "BENCH$c" \
    --phone "07110$(printf '%05d' "$c")" --name "Member $c" >/dev/null
done
psql -q "$admin/$db" -c "insert into mpesa_stk_requests
    (chama_id, user_id, amount, phone, account_reference, checkout_request_id, status, pushed_at)
  select m.chama_id, m.user_id, 100, u.phone, c.code, 'ws_CO_b_' || t || '_' || k, 'pending', now()
    from generate_series(1, $THREADS) t, generate_series(1, $PER_THREAD) k
    join chamas c on c.code = 'BENCH' || (k % $CHAMAS + 1)
    join chama_members m on m.chama_id = c.id
    join users u on u.id = m.user_id"

secret=$(openssl rand -hex 32)
http_port=$(port)
env DATABASE_URL="$runtime_url" REDIS_URL=redis://127.0.0.1:6379 PESACHAMA_REDIS_PREFIX="mpesabench:" \
  PESACHAMA_HTTP_ADDR="127.0.0.1:$http_port" PESACHAMA_ADMIN_ADDR="127.0.0.1:$(port)" \
  PESACHAMA_PIN_SECRET="$secret" \
  PESACHAMA_USSD_CALLBACK_TOKEN="ussd-$secret" PESACHAMA_SMS_CALLBACK_TOKEN="sms-$secret" \
  PESACHAMA_USSD_ALLOWED_SOURCES=127.0.0.1/32 PESACHAMA_SMS_ALLOWED_SOURCES=127.0.0.1/32 \
  MPESA_CALLBACK_ALLOWED_SOURCES=127.0.0.1/32 MPESA_QUERY_AFTER_SECS=3600 \
  MPESA_API_URL=https://daraja.invalid MPESA_CONSUMER_KEY=bench MPESA_CONSUMER_SECRET=bench \
  MPESA_SHORTCODE=174379 MPESA_PASSKEY=bench MPESA_CALLBACK_URL=https://gateway.invalid \
  MPESA_CALLBACK_TOKEN="mpesa-$secret" \
  AT_API_URL=https://at.invalid AT_USERNAME=sandbox AT_API_KEY=bench PESACHAMA_SMS_CLAIMERS=1 \
  "$bin" serve >"$work/node.log" 2>&1 &
node_pid=$!
pids+=("$node_pid")
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$http_port/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -sf "http://127.0.0.1:$http_port/readyz" >/dev/null || { echo "node not ready"; tail -20 "$work/node.log"; exit 1; }

pg_before=$(cpu_ticks $(postgres_pids))
node_before=$(cpu_ticks "$node_pid")
COPIES=$COPIES PER_THREAD=$PER_THREAD wrk -t "$THREADS" -c "$CONNS" -d "$DURATION" -s loadtest/mpesa/callbacks.lua \
  "http://127.0.0.1:$http_port/mpesa/stk/callback/mpesa-$secret" >"$work/wrk.txt"
pg_after=$(cpu_ticks $(postgres_pids))
node_after=$(cpu_ticks "$node_pid")

q() { psql -qtA "$admin/$db" -c "$1"; }
booked=$(q "select count(*) from mpesa_stk_requests where status = 'succeeded'")
secs=$(python3 -c "import re,sys; t=open('$work/wrk.txt').read(); m=re.search(r'requests in ([0-9.]+)(m?s)', t); v=float(m.group(1)); print(v/1000 if m.group(2)=='ms' else v)")
sent=$(python3 -c "import re; print(re.search(r'(\d+) requests in', open('$work/wrk.txt').read()).group(1))")
callbacks=$(q "select count(*) from mpesa_stk_callbacks")
non2xx=$(grep -o 'Non-2xx or 3xx responses: [0-9]*' "$work/wrk.txt" | grep -o '[0-9]*$' || echo 0)
echo "STK callbacks: senders=$CONNS copies=$COPIES callbacks=$callbacks (of $sent requests) in ${secs}s non2xx=$non2xx"
echo "booked: requests=$booked entries=$(q 'select count(*) from journal_entries') receipts=$(q 'select count(*) from mpesa_receipts') sms=$(q "select count(*) from sms_outbox where template like 'sms-receipt%'") events=$(q 'select count(*) from app_events')"
python3 -c "
b, s, tck = $booked, $secs, $(getconf CLK_TCK)
node, pg = $((node_after - node_before)), $((pg_after - pg_before))
print(f'rate: {b / s:,.0f} booked/s; CPU per booked callback: gateway {node / tck / max(b, 1) * 1e6:.0f} us, postgres {pg / tck / max(b, 1) * 1e6:.0f} us')
"
grep -E "Latency|Req/Sec" "$work/wrk.txt" || true
DATABASE_URL="$runtime_url" "$bin" ledger check
