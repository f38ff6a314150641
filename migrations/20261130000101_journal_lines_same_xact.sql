-- "lines only in their entry's own transaction" (PC006), without trusting a
-- setting.
--
-- the first version remembered the entries of a transaction in the setting
-- pesachama.entries_in_tx. any session may set_config() it, so a role that can
-- insert lines could name last year's entry there and add a balanced pair to
-- it: an edit in disguise. now each entry stores the id of the transaction
-- that wrote it, and a line is accepted only when that id is the current
-- transaction's. the insert trigger writes the column, so a value the caller
-- supplies is ignored, and pg_current_xact_id() cannot be chosen by a session.
-- xid8, not xid: 64 bits with the epoch, so it never wraps around and an old
-- entry's id can never come back as a current one.

-- rows already written get this migration's transaction, which is over before
-- anything else can add a line.
alter table journal_entries
    add column written_in_xact xid8 not null default pg_current_xact_id();
comment on column journal_entries.written_in_xact is
    'top-level transaction that wrote the entry; lines are accepted only from it (PC006)';

create or replace function journal_entries_before_insert()
returns trigger
language plpgsql
as $$
begin
    if new.reversal_of is not null and exists (
        select 1 from journal_entries
        where id = new.reversal_of and reversal_of is not null
    ) then
        raise exception 'journal entry % is itself a reversal and cannot be reversed', new.reversal_of
            using errcode = 'PC004', constraint = 'journal_entries_no_reversal_of_reversal',
                  hint = 'post a new ordinary entry instead';
    end if;
    new.written_in_xact := pg_current_xact_id();
    return new;
end;
$$;

create or replace function journal_lines_before_insert()
returns trigger
language plpgsql
as $$
begin
    -- an entry missing altogether is refused here too; the foreign key would
    -- refuse it a moment later anyway.
    if not exists (
        select 1 from journal_entries
        where id = new.entry_id and written_in_xact = pg_current_xact_id()
    ) then
        raise exception 'journal entry % was not written in this transaction; lines can only be added with their entry', new.entry_id
            using errcode = 'PC006', constraint = 'journal_lines_same_transaction';
    end if;
    if new.member_user_id is null and exists (
        select 1 from ledger_accounts
        where id = new.account_id and chama_id = new.chama_id and requires_member
    ) then
        raise exception 'ledger account % is a member sub-ledger: line needs member_user_id', new.account_id
            using errcode = 'PC007', constraint = 'journal_lines_member_required';
    end if;
    return new;
end;
$$;
