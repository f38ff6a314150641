-- the failback window (rule 5 of `session`), shared by every node through
-- postgresql instead of assumed by each node at start.
--
-- a node used to start in the window for a full session ttl, because it could
-- not know what other nodes wrote to postgresql while redis was away, nor
-- whether redis had restarted from an older snapshot since. for that ttl every
-- hop also read and wrote postgresql: after each deploy, the costliest three
-- minutes of the gateway. one row now says both things:
--
--   * `failback_until`: the latest expiry of a session written to postgresql
--     but not to redis, by any node (a node records it before it relies on
--     such a write, with a few seconds of slack so an outage costs one update
--     every few seconds, not one per hop);
--   * `redis_run_id`: the redis server every node last saw. a node that sees
--     another one (redis restarted, possibly from an older snapshot) pushes
--     `failback_until` a full ttl ahead for every node.
--
-- a starting node reads the row and is in the window only while
-- `failback_until` lies ahead. null `redis_run_id`: no node has served
-- sessions on this database yet, so redis holds no copy to distrust.

create table ussd_failback (
    singleton      boolean primary key default true,
    redis_run_id   text null,
    failback_until timestamptz not null default '-infinity',
    updated_at     timestamptz not null default now(),

    constraint ussd_failback_one_row check (singleton),
    constraint ussd_failback_run_id_length
        check (redis_run_id is null or length(redis_run_id) between 1 and 64)
);
select manage_updated_at('ussd_failback');
comment on table ussd_failback is
    'one row: until when redis may hold stale sessions, and the redis run_id last seen';

insert into ussd_failback default values;

grant select, update on ussd_failback to pesachama_runtime;
