-- the hop lock while sessions are on postgresql: one hop of a session at a
-- time, from load to save, so a repeated hop that arrives while the first is
-- still running waits and then gets the stored answer instead of running the
-- actions again.
--
-- a lease on the session row (owner token + expiry), not a row lock or an
-- advisory lock held in an open transaction: those keep a pooled connection
-- checked out across the hop's actions, which need a connection of their own,
-- so n concurrent hops could hold every connection and wait for a second one.
-- the lease is taken and read in one statement and released by the save, so
-- nothing is held between the two, and a crashed node's lease frees itself at
-- `locked_until`, as the redis lock key expires.
--
-- a lock on a session that does not exist yet (a dial) is a *reservation*:
-- a row with version 0 and state `null`, expiring with the lease. version 0
-- is never a session (saves write 1 and up), so loads skip it and saves
-- replace it.

alter table ussd_sessions
    add column lock_token uuid,
    add column locked_until timestamptz,
    -- both or neither: a token without an expiry would never free itself.
    add constraint ussd_sessions_lock_complete
        check ((lock_token is null) = (locked_until is null));

comment on column ussd_sessions.lock_token is
    'owner of the hop lock while sessions are on postgresql; null = free';
comment on column ussd_sessions.locked_until is
    'the hop lock frees itself after this, even if its owner died';
