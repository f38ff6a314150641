-- the daemon's privileges, as a group role the runtime login role joins.
--
-- migrations run as the owner role (DATABASE_OWNER_URL), which owns every
-- table. the daemon connects as a runtime login role (DATABASE_URL) that owns
-- nothing and only holds what is granted here through pesachama_runtime. an
-- owner can disable a trigger, drop a table or truncate the journal; the
-- runtime role can do none of that, so the append-only triggers and the ledger
-- rules hold against the daemon's own credentials, not only against bugs.
--
-- `pesachama migrate` creates the login role named by DATABASE_URL and makes
-- it a member of pesachama_runtime (src/db/roles.rs). every later migration
-- that adds a table, column, sequence or function the daemon uses grants it to
-- pesachama_runtime itself (migrations/README.md).

-- roles are cluster-wide while migrations are per database: the same cluster
-- migrates many databases (every test template, a staging copy), so create the
-- role only when missing. a concurrent migration of another database may
-- create it between the check and the create; that is fine too. an owner
-- without createrole can still migrate once an administrator made the role.
do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'pesachama_runtime') then
        create role pesachama_runtime nologin;
        comment on role pesachama_runtime is
            'privileges of the pesachama daemon; login roles join it, it owns nothing';
    end if;
exception
    when duplicate_object or unique_violation then null;
end;
$$;

-- nobody but the owner creates objects in the schema. postgresql 15 already
-- defaults to this; older clusters let every role create tables in public.
revoke create on schema public from public;
grant usage on schema public to pesachama_runtime;

-- the record of what happened: read and append, never change.
-- (the append-only triggers refuse update/delete/truncate even to the owner;
-- without the privilege the runtime role is refused before they run.)
grant select, insert on journal_entries, journal_lines, audit_logs,
    mpesa_receipts, disbursement_approvals to pesachama_runtime;

-- people and chamas: created by the admin commands (which run as the runtime
-- role too), then only the columns that legitimately change. `for update`
-- locks on these tables need an update privilege on some column.
grant select, insert on users, chamas, chama_members, ledger_accounts to pesachama_runtime;
-- phone: `insert ... on conflict (phone) do update set phone = excluded.phone`
-- is how member add finds an existing person (a no-op update).
grant update (phone, language, pin_hash, pin_salt, pin_failed_attempts,
    pin_locked_until, pin_lock_count) on users to pesachama_runtime;
grant update (name, contribution_amount, contribution_schedule, approval_quorum, settings)
    on chamas to pesachama_runtime;
grant update (role, status) on chama_members to pesachama_runtime;
-- accounts are renamed, never re-coded (and the immutability trigger agrees).
grant update (name) on ledger_accounts to pesachama_runtime;

-- work that progresses: a status and its results change, the terms do not.
grant select, insert on disbursement_requests, mpesa_stk_requests, mpesa_c2b_receipts,
    mpesa_b2c_payouts, meetings, meeting_attendance, sms_outbox to pesachama_runtime;
grant update (status, decided_at) on disbursement_requests to pesachama_runtime;
grant update (checkout_request_id, merchant_request_id, status, result_code, result_desc,
    mpesa_receipt, journal_entry_id, query_attempts, next_query_at)
    on mpesa_stk_requests to pesachama_runtime;
grant update (chama_id, member_user_id, journal_entry_id, matched_at)
    on mpesa_c2b_receipts to pesachama_runtime;
grant update (conversation_id, status, result_code, result_desc, transaction_receipt,
    journal_entry_id, result_journal_entry_id)
    on mpesa_b2c_payouts to pesachama_runtime;
grant update (scheduled_at, location, agenda, status, minutes) on meetings to pesachama_runtime;
grant update (status, recorded_at) on meeting_attendance to pesachama_runtime;
grant update (status, attempts, next_attempt_at, provider_message_id, last_error,
    sent_at, delivered_at) on sms_outbox to pesachama_runtime;

-- ussd sessions are a cache (the redis fallback): rewritten every hop and
-- swept when expired. how a session ended is a record: appended once.
grant select, insert, update, delete on ussd_sessions to pesachama_runtime;
grant select, insert on ussd_session_ends to pesachama_runtime;

-- sequences behind the tables the daemon inserts into.
grant usage on sequence audit_logs_id_seq, journal_lines_id_seq to pesachama_runtime;

-- functions the daemon calls directly; trigger functions need no grant.
grant execute on function seed_chart_of_accounts(uuid), is_e164(text), is_mpesa_receipt(text)
    to pesachama_runtime;
-- these two issue ddl for migrations; nobody else has a use for them.
revoke execute on function manage_updated_at(regclass), make_append_only(regclass) from public;

-- `serve` checks that the schema is current by reading sqlx's ledger of
-- applied migrations. the table exists whenever sqlx runs this file; a plain
-- `psql -f` (scripts/sqlx-prepare) has none, and nothing to grant.
do $$
begin
    if to_regclass('_sqlx_migrations') is not null then
        grant select on _sqlx_migrations to pesachama_runtime;
    end if;
end;
$$;
