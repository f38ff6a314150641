-- audit trail: who did what, when. written in the same transaction as the
-- change it describes. append-only, enforced by the database (triggers for
-- update/delete/truncate, plus a revoke), so not even a buggy admin command
-- running as the table owner can rewrite history.

create table audit_logs (
    id          bigserial primary key,
    occurred_at timestamptz not null default now(),
    -- 'cli', 'ussd', 'sms', 'api', 'system', 'mpesa', or a user id.
    actor       text not null,
    -- dotted verb, e.g. 'chama.create', 'member.add', 'disbursement.approve'.
    action      text not null,
    chama_id    uuid null references chamas (id),
    -- what was acted on (a user id, a request id, a phone masked as 0712***678).
    subject     text null,
    details     jsonb not null default '{}',

    constraint audit_logs_actor_length check (length(actor) between 1 and 100),
    constraint audit_logs_action_format check (action ~ '^[a-z][a-z0-9_.-]{0,99}$'),
    constraint audit_logs_subject_length check (subject is null or length(subject) <= 200),
    constraint audit_logs_details_object check (jsonb_typeof(details) = 'object')
);
select make_append_only('audit_logs');
comment on table audit_logs is
    'append-only audit trail (update/delete/truncate refused by triggers)';

-- a chama's audit history, newest first (cgra 2022: records on request).
create index audit_logs_chama_occurred on audit_logs (chama_id, occurred_at desc)
    where chama_id is not null;
-- platform-wide time range queries.
create index audit_logs_occurred_at on audit_logs (occurred_at);
