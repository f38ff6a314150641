-- ussd session fallback store. sessions live in redis; when redis errors or
-- is slow the circuit breaker moves session traffic here and back, and a
-- session that started in one store continues in the other. the rust code
-- depends on these exact columns.

create table ussd_sessions (
    -- africa's talking sessionId.
    session_id text primary key,
    -- the serialised session (screen, inputs, last hop and its answer).
    state      jsonb not null,
    -- compare-and-set: `update ... set version = version + 1 where
    -- session_id = $1 and version = $2`; 0 rows = a concurrent hop won.
    version    bigint not null default 0,
    -- mirrors the redis ttl; rows past it are dead and swept.
    expires_at timestamptz not null,
    updated_at timestamptz not null default now(),

    -- the id comes from outside: bound it so a hostile value can't bloat
    -- the primary key index.
    constraint ussd_sessions_session_id_length check (length(session_id) between 1 and 128),
    constraint ussd_sessions_version_nonneg check (version >= 0)
);
select manage_updated_at('ussd_sessions');
comment on table ussd_sessions is
    'fallback ussd session store used while redis is unavailable; rows expire like redis keys';

-- the sweeper deletes `where expires_at < now()`.
create index ussd_sessions_expires_at on ussd_sessions (expires_at);
