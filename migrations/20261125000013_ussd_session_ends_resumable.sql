-- the first hop of every session asks, in the same query that finds the
-- caller, how long ago their last resumable session ended: only a recent one
-- is worth a look in the session store for a resume offer. this index keeps
-- that question a probe of the caller's own few rows.

create index ussd_session_ends_resumable on ussd_session_ends (user_id, received_at)
    where resumable;
