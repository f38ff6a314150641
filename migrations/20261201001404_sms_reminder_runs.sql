-- one row per day the sms reminder job ran to completion, written in the
-- transaction that queued that day's reminders: a node that starts after the
-- configured hour sees whether today's run is done, and catches up if not.
-- the outbox's dedupe keys already make a second run queue nothing; this row
-- spares the scan.

create table sms_reminder_runs (
    run_on      date primary key,
    ran_at      timestamptz not null default now(),
    queued      int not null,
    constraint sms_reminder_runs_queued_nonneg check (queued >= 0)
);
comment on table sms_reminder_runs is
    'days (nairobi) the reminder job completed, with how many reminders it queued';

grant select, insert on sms_reminder_runs to pesachama_runtime;
