-- once-only effects. every operation that changes something outside a ussd
-- session (a pin attempt, a pin change, later an stk push or an approval)
-- runs in one transaction that also inserts its idempotency key here. a copy
-- of the same hop or request that slips past the session lock (a lock lost to
-- a redis failover, a second node) finds the key taken, rolls its own effect
-- back and answers with the outcome stored by the first.

create table idempotency_keys (
    -- '<channel>:<keyed fingerprint of the request>:<operation>', e.g.
    -- 'ussd:3f9a…:verify_pin'. never a raw ussd text (it can hold a pin).
    key         text primary key,
    operation   text not null,
    -- the operation's typed outcome, replayed to a duplicate.
    outcome     jsonb not null,
    created_at  timestamptz not null default now(),

    constraint idempotency_keys_key_length check (length(key) between 1 and 300),
    constraint idempotency_keys_operation_format check (operation ~ '^[a-z][a-z0-9_]{0,63}$')
);
comment on table idempotency_keys is
    'one row per effect that happened; a duplicate request finds its key here and changes nothing';

-- the purge deletes keys older than any retry could be.
create index idempotency_keys_created_at on idempotency_keys (created_at);

-- the daemon records keys, replays their outcome and purges old ones; it
-- never rewrites one.
grant select, insert, delete on idempotency_keys to pesachama_runtime;
