-- every ussd hop rewrites its session row through the write-behind mirror
-- (thousands a second under load). make those rewrites cheap:
-- - no updated_at trigger (a plpgsql call per row); `expires_at` already says
--   when the row was last written (write time + ttl), so the column goes too.
-- - no index on expires_at: an indexed column that changes on every write
--   rules out heap-only-tuple (hot) updates, so every hop inserted new index
--   entries. the sweeper scans the table instead; it only ever holds the
--   sessions of the last few minutes.
-- - fillfactor 70 leaves room on each page for the hot copy of a row.

drop trigger set_updated_at on ussd_sessions;
alter table ussd_sessions drop column updated_at;
drop index ussd_sessions_expires_at;
alter table ussd_sessions set (fillfactor = 70);
