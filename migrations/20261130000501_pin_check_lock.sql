-- the pin check's serialisation point without a row lock. a row lock
-- (`select … for update`) writes wal and gives the transaction an id, so
-- every pin check, even a correct pin that changes nothing, paid a flushed
-- commit. an advisory transaction lock per user does neither: guesses for one
-- user still queue behind each other (on any node: they share the database),
-- and a correct pin on a clean account commits nothing.
--
-- one call takes the lock and then reads the counters. a volatile plpgsql
-- function runs each statement with a fresh snapshot, so the read sees what
-- the previous guess committed before it let go. call it inside the caller's
-- transaction: the lock is held until that commits.

create function pin_state_for_check(p_user uuid)
returns table (
    pin_hash            bytea,
    pin_salt            bytea,
    pin_failed_attempts int,
    pin_locked_until    timestamptz,
    pin_lock_count      int,
    phone               text,
    language            text,
    checked_at          timestamptz
)
language plpgsql volatile
as $$
begin
    -- 724101: the pin check's lock namespace; a hash collision only makes
    -- two users' checks wait for each other.
    perform pg_advisory_xact_lock(724101, hashtext(p_user::text));
    return query
        select u.pin_hash, u.pin_salt, u.pin_failed_attempts, u.pin_locked_until,
               u.pin_lock_count, u.phone, u.language, now()
          from users u
         where u.id = p_user;
end
$$;
comment on function pin_state_for_check(uuid) is
    'takes the user''s pin-check lock (until commit) and reads the pin counters';

grant execute on function pin_state_for_check(uuid) to pesachama_runtime;
