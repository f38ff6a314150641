#!/usr/bin/env bash
# The SMS dispatcher from committed outbox row to accepted by Africa's
# Talking, measured against the project's fake AT run as its own process
# (loopback HTTP), with PostgreSQL local and every state change durable.
#
#   MODE=personal MESSAGES=30000 loadtest/sms/dispatch.sh       # one recipient per request
#   MODE=bulk MESSAGES=100000 loadtest/sms/dispatch.sh          # one text, many recipients
#   NODES=3 KILL=1 MESSAGES=50000 loadtest/sms/dispatch.sh      # three gateways, one SIGKILLed half-way
#
# Needs `cargo build --release` (target/release/pesachama), PostgreSQL on
# 127.0.0.1:5432 letting `postgres` in without a password, Redis on 6379,
# psql, curl and python3. Run it from the project's root.
#
# The gateways start with an empty outbox; then one transaction commits every
# row, and the clock runs from that commit until the fake has accepted the
# last message. It prints the rate, then checks that every row is `sent`
# exactly once at the fake (no duplicate, none lost) and prints the CPU each
# process kind spent per message.
set -euo pipefail
cd "$(dirname "$0")/../.."

MODE=${MODE:-personal}
MESSAGES=${MESSAGES:-30000}
NODES=${NODES:-1}
KILL=${KILL:-0}
RATE=${RATE:-100000}
BATCH=${BATCH:-1000}
CONCURRENCY=${CONCURRENCY:-32}
CLAIMERS=${CLAIMERS:-2}
bin=${PESACHAMA_BIN:-target/release/pesachama}
admin=postgres://postgres@127.0.0.1:5432
db=bench_sms
# shellcheck source=../lib.sh
source loadtest/lib.sh

[[ -x $bin ]] || { echo "build first: cargo build --release"; exit 1; }

psql -q "$admin/postgres" -c "drop database if exists $db with (force)" -c "create database $db"
runtime_url="postgres://pc_bench_sms@127.0.0.1:5432/$db"
DATABASE_OWNER_URL="$admin/$db" DATABASE_URL="$runtime_url" "$bin" migrate >/dev/null 2>&1

at_key=bench-at-key-$RANDOM$RANDOM
at_port=$(port)
"$bin" fake-at --port "$at_port" --api-key "$at_key" --quiet >"$work/fake-at.log" 2>&1 &
fake_pid=$!
pids+=("$fake_pid")

secret=$(openssl rand -hex 32)
node_pids=()
for i in $(seq 1 "$NODES"); do
  http_port=$(port)
  admin_port=$(port)
  env DATABASE_URL="$runtime_url" REDIS_URL=redis://127.0.0.1:6379 \
    PESACHAMA_REDIS_PREFIX="smsbench$i:" \
    PESACHAMA_HTTP_ADDR="127.0.0.1:$http_port" PESACHAMA_ADMIN_ADDR="127.0.0.1:$admin_port" \
    PESACHAMA_PIN_SECRET="$secret" \
    PESACHAMA_USSD_CALLBACK_TOKEN="ussd-$secret" PESACHAMA_SMS_CALLBACK_TOKEN="sms-$secret" \
    PESACHAMA_USSD_ALLOWED_SOURCES=127.0.0.1/32 PESACHAMA_SMS_ALLOWED_SOURCES=127.0.0.1/32 \
    PESACHAMA_SMS_RATE_PER_SEC="$RATE" PESACHAMA_SMS_BATCH_SIZE="$BATCH" \
    PESACHAMA_SMS_CONCURRENCY="$CONCURRENCY" PESACHAMA_SMS_CLAIMERS="$CLAIMERS" PESACHAMA_SMS_SENDING_TIMEOUT_SECS=5 \
    MPESA_API_URL=https://daraja.invalid MPESA_CONSUMER_KEY=bench MPESA_CONSUMER_SECRET=bench \
    MPESA_SHORTCODE=174379 MPESA_PASSKEY=bench MPESA_CALLBACK_URL=https://gateway.invalid \
    MPESA_CALLBACK_TOKEN="mpesa-$secret" \
    AT_API_URL="http://127.0.0.1:$at_port" AT_USERNAME=sandbox AT_API_KEY="$at_key" \
    "$bin" serve >"$work/node$i.log" 2>&1 &
  node_pids+=($!)
  pids+=($!)
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$http_port/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -sf "http://127.0.0.1:$http_port/readyz" >/dev/null || { echo "node $i not ready"; tail -20 "$work/node$i.log"; exit 1; }
done

stats() { curl -sf "http://127.0.0.1:$at_port/fake/stats"; }
accepted() { stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["accepted"])'; }

if [[ $MODE == bulk ]]; then
  text="'PesaChama: Umoja Group meets on Saturday 6 Dec at 2pm at the church hall. Bring your passbook.'"
else
  text="'PesaChama: Umoja Group received KES ' || (100 + g % 9000) || ' from you, receipt TST' || g || '. Your savings are KES ' || (g * 7 % 100000) || '.'"
fi
start=$(date +%s.%N)
psql -q "$admin/$db" -c "insert into sms_outbox (phone, message, dedupe_key, template, kind, segments)
  select '+2547' || lpad(g::text, 8, '0'), $text, 'bench:' || g, 'sms-bench', 'notice', 1
  from generate_series(1, $MESSAGES) g"
committed=$(date +%s.%N)
# CPU from the commit on: the insert is the events' cost, not the dispatcher's.
pg_before=$(cpu_ticks $(postgres_pids))
nodes_before=$(cpu_ticks "${node_pids[@]}")
fake_before=$(cpu_ticks "$fake_pid")

killed=
while :; do
  n=$(accepted)
  if [[ $KILL == 1 && -z $killed && $n -ge $((MESSAGES / 2)) ]]; then
    kill -9 "${node_pids[0]}"
    killed=$n
    echo "SIGKILL node 1 at $n accepted"
  fi
  [[ $n -ge $MESSAGES ]] && break
  sleep 0.05
done
done_at=$(date +%s.%N)
pg_after=$(cpu_ticks $(postgres_pids))
nodes_after=$(cpu_ticks "${node_pids[@]}")
fake_after=$(cpu_ticks "$fake_pid")

sleep 1
python3 - "$MESSAGES" "$start" "$committed" "$done_at" "$(stats)" \
  "$((nodes_after - nodes_before))" "$((pg_after - pg_before))" "$((fake_after - fake_before))" \
  "$(getconf CLK_TCK)" "$MODE" "$NODES" <<'PY'
import json, sys
n, start, committed, done = int(sys.argv[1]), *map(float, sys.argv[2:5])
stats = json.loads(sys.argv[5])
nodes, pg, fake, tck = (int(x) for x in sys.argv[6:10])
mode, nodes_count = sys.argv[10], sys.argv[11]
secs = done - committed
per = lambda ticks: ticks / tck / n * 1e6
print(f"SMS mode={mode} nodes={nodes_count} messages={n} insert={committed - start:.2f}s "
      f"dispatch={secs:.2f}s rate={n / secs:,.0f}/s requests={stats.get('requests')}")
print(f"CPU per message: gateway(s) {per(nodes):.1f} us, postgres {per(pg):.1f} us, fake AT {per(fake):.1f} us")
print(f"fake AT: accepted={stats['accepted']} distinct={stats['distinct']} duplicates={stats['duplicates']}")
PY
psql -qAt "$admin/$db" -c "select 'outbox: ' || string_agg(status || '=' || c, ' ') from (select status, count(*) c from sms_outbox group by status order by status) s"
