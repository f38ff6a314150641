-- running balances per account and member, kept by the database in the
-- transaction of every posting (as tigerbeetle keeps debits_posted and
-- credits_posted on each account).
--
-- a member's balance screen used to sum every journal line of the chama
-- (about 200 rows and 24 index scans per read). it now reads a handful of
-- these rows. they are a cache of the journal that nobody but the posting
-- trigger writes: the runtime role may only read them, and
-- `pesachama ledger check` proves at any time that each one equals the sum
-- of its lines and that no (account, member) with lines lacks one.

-- target of ledger_balances_account_fkey: ties the copied code to the
-- account's. (chama_id, id) is unique already, so this adds no rule.
alter table ledger_accounts
    add constraint ledger_accounts_chama_id_id_code_key unique (chama_id, id, code);

create table ledger_balances (
    chama_id        uuid not null,
    account_id      uuid not null,
    -- copied from the account (whose code never changes, see
    -- ledger_accounts_identity_immutable) so the balance read needs no join.
    account_code    int not null,
    -- the member sub-ledger dimension; null for the chama's own accounts.
    member_user_id  uuid null,
    -- whole kes, both never negative. balance = debits_posted -
    -- credits_posted in the journal's sign (positive = debit). two columns
    -- rather than one sum so the check can tell a lost debit from a lost
    -- credit, and a line's sign never has to be recovered from a net figure.
    debits_posted   bigint not null default 0,
    credits_posted  bigint not null default 0,
    updated_at      timestamptz not null default now(),

    -- one row per (chama, account, member-or-none): a null member is one
    -- value here, not a new row per posting.
    constraint ledger_balances_key
        unique nulls not distinct (chama_id, account_id, member_user_id),
    -- the same composite keys as journal_lines: the account and the member
    -- belong to this row's chama, and the copied code is the account's.
    constraint ledger_balances_account_fkey
        foreign key (chama_id, account_id, account_code)
        references ledger_accounts (chama_id, id, code),
    constraint ledger_balances_member_fkey
        foreign key (chama_id, member_user_id) references chama_members (chama_id, user_id),
    constraint ledger_balances_debits_nonnegative check (debits_posted >= 0),
    constraint ledger_balances_credits_nonnegative check (credits_posted >= 0)
);
comment on table ledger_balances is
    'running debits/credits per (chama, account, member), written only by the journal_lines trigger';

-- the balance screen: a member's rows by code, and the chama's cash codes.
create index ledger_balances_code on ledger_balances (chama_id, account_code, member_user_id);

-- adds the lines of one insert statement to their balances. statement level,
-- so a posting written as one insert (ledger::post_entry) touches each
-- balance row once. the rows are upserted in a fixed order (account, then
-- member) so two postings on the same accounts take their row locks in the
-- same order and queue instead of deadlocking.
--
-- security definer: the runtime role that inserts the lines may not write
-- this table itself. the function runs as its owner with a fixed search path
-- (public, then pg_temp last) so no object the caller creates can stand in
-- for the tables it names.
create function ledger_balances_add_lines()
returns trigger
language plpgsql
security definer
set search_path = public, pg_temp
as $$
begin
    insert into ledger_balances as b
        (chama_id, account_id, account_code, member_user_id, debits_posted, credits_posted)
    select l.chama_id, l.account_id, a.code, l.member_user_id,
           coalesce(sum(l.amount) filter (where l.amount > 0), 0),
           coalesce(-sum(l.amount) filter (where l.amount < 0), 0)
      from new_lines l
      join ledger_accounts a on a.chama_id = l.chama_id and a.id = l.account_id
     group by l.chama_id, l.account_id, a.code, l.member_user_id
     order by l.account_id, l.member_user_id
    on conflict on constraint ledger_balances_key do update
        set debits_posted  = b.debits_posted + excluded.debits_posted,
            credits_posted = b.credits_posted + excluded.credits_posted,
            updated_at     = now();
    return null;
end;
$$;
comment on function ledger_balances_add_lines() is
    'journal_lines after-insert statement trigger: adds the new lines to ledger_balances';
-- only ever run as a trigger, which needs no execute privilege.
revoke execute on function ledger_balances_add_lines() from public;

-- creating the trigger locks journal_lines against inserts (share row
-- exclusive) until this migration commits: postings in flight finish first,
-- later ones wait. so the backfill below sees every line written before, and
-- the trigger counts every line written after, none twice.
create trigger ledger_balances_add_lines
    after insert on journal_lines
    referencing new table as new_lines
    for each statement execute function ledger_balances_add_lines();

-- the lines posted before this migration.
insert into ledger_balances
    (chama_id, account_id, account_code, member_user_id, debits_posted, credits_posted)
select l.chama_id, l.account_id, a.code, l.member_user_id,
       coalesce(sum(l.amount) filter (where l.amount > 0), 0),
       coalesce(-sum(l.amount) filter (where l.amount < 0), 0)
  from journal_lines l
  join ledger_accounts a on a.chama_id = l.chama_id and a.id = l.account_id
 group by l.chama_id, l.account_id, a.code, l.member_user_id;

-- read only: a balance changes by posting lines, never by a write here.
grant select on ledger_balances to pesachama_runtime;
