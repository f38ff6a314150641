-- double-entry books, one set per chama (docs: shared/chama-domain.md §2).
--
-- money: integer whole kes in bigint. never float, never numeric with a
-- fraction; daraja amounts are whole shillings and so is every chama rule.
--
-- sign convention: journal_lines.amount is signed, positive = debit,
-- negative = credit, never zero. we picked one signed column over separate
-- debit/credit columns because "an entry balances" then is simply
-- sum(amount) = 0, an account balance is sum(amount) (flip the sign for
-- liability/equity/income accounts when showing it), and there is no
-- "both columns set" state to forbid.
--
-- what the database enforces (sqlstates in migrations/README.md):
--   * every entry has >= 2 lines and its lines sum to zero, checked at commit
--     (deferred constraint triggers) so lines can be inserted one by one;
--   * entries and lines are append-only: corrections are reversal entries;
--   * lines can only be written in the transaction that wrote their entry;
--   * a line's account, member and entry all belong to the same chama
--     (composite foreign keys through chama_id);
--   * an entry is reversed at most once, a reversal is never reversed, and a
--     reversal's lines exactly negate the original's;
--   * accounts that carry a member sub-ledger refuse lines without a member;
--   * every money event carries an idempotency key, unique per chama.

-- chart of accounts, per chama (seeded by seed_chart_of_accounts below).
create table ledger_accounts (
    id              uuid primary key default gen_random_uuid(),
    chama_id        uuid not null references chamas (id),
    code            int not null,
    name            text not null,
    type            text not null,
    -- accounts that are member sub-ledgers (savings, share capital, loans,
    -- overpayments, share-out payable): a line without a member there would
    -- make "sum of member balances = control account" impossible to prove.
    requires_member boolean not null default false,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),

    constraint ledger_accounts_code_key unique (chama_id, code),
    -- target of the composite foreign key from journal_lines: it is what makes
    -- "a line's account belongs to the line's chama" a foreign key, not a hope.
    constraint ledger_accounts_chama_id_id_key unique (chama_id, id),
    constraint ledger_accounts_type_known
        check (type in ('asset', 'liability', 'equity', 'income', 'expense')),
    -- the code's first digit is its type (1 asset ... 5 expense), as in
    -- chama-domain.md §2.3; reports group by it.
    constraint ledger_accounts_code_matches_type check (
        code between 1000 and 5999
        and left(code::text, 1) = case type
            when 'asset' then '1' when 'liability' then '2' when 'equity' then '3'
            when 'income' then '4' when 'expense' then '5' end),
    constraint ledger_accounts_name_length check (length(btrim(name)) between 1 and 100)
);
select manage_updated_at('ledger_accounts');
comment on table ledger_accounts is
    'per-chama chart of accounts; code 1xxx asset, 2xxx liability, 3xxx equity, 4xxx income, 5xxx expense';

-- an account's identity (chama, code, type, member dimension) can't change
-- once it exists: past lines were posted under that meaning. renaming is fine.
create trigger ledger_accounts_identity_immutable before update on ledger_accounts
    for each row execute function
    forbid_column_change('chama_id', 'code', 'type', 'requires_member');

-- one posting: a set of lines that sum to zero.
create table journal_entries (
    id              uuid primary key default gen_random_uuid(),
    chama_id        uuid not null references chamas (id),
    -- when the money moved (e.g. m-pesa TransactionDate); may be earlier than
    -- recorded_at for late callbacks and reconciliation.
    occurred_at     timestamptz not null default now(),
    recorded_at     timestamptz not null default now(),
    description     text not null,
    -- every money event is idempotent by a key derived from its source, e.g.
    -- 'stk:<CheckoutRequestID>', 'c2b:<shortcode>:<TransID>',
    -- 'b2c:<OriginatorConversationID>:sent'. a replayed callback hits this
    -- unique constraint instead of posting twice.
    idempotency_key text not null,
    -- corrections are new entries that negate an earlier one.
    reversal_of     uuid null,

    constraint journal_entries_idempotency_key_key unique (chama_id, idempotency_key),
    -- target of composite foreign keys from lines and payment tables.
    constraint journal_entries_chama_id_id_key unique (chama_id, id),
    -- an entry is reversed at most once.
    constraint journal_entries_reversal_of_key unique (reversal_of),
    -- a reversal lives in the same chama's books as what it reverses.
    constraint journal_entries_reversal_of_fkey
        foreign key (chama_id, reversal_of) references journal_entries (chama_id, id),
    constraint journal_entries_not_self_reversal check (reversal_of <> id),
    constraint journal_entries_description_length
        check (length(btrim(description)) between 1 and 500),
    constraint journal_entries_idempotency_key_length
        check (length(idempotency_key) between 1 and 200)
);
comment on table journal_entries is
    'append-only journal: one row per posting; lines in journal_lines sum to zero';

-- statements and balances "as at" a date scan a chama's entries by time.
create index journal_entries_chama_occurred on journal_entries (chama_id, occurred_at);

create table journal_lines (
    id             bigint generated always as identity primary key,
    entry_id       uuid not null,
    chama_id       uuid not null,
    account_id     uuid not null,
    -- the member sub-ledger dimension (whose savings, whose loan).
    member_user_id uuid null,
    -- signed whole kes: positive = debit, negative = credit.
    amount         bigint not null,
    memo           text null,

    -- these three composite keys are the "one chama per entry" invariant: the
    -- entry, the account and the member must all carry this line's chama_id.
    constraint journal_lines_entry_fkey
        foreign key (chama_id, entry_id) references journal_entries (chama_id, id),
    constraint journal_lines_account_fkey
        foreign key (chama_id, account_id) references ledger_accounts (chama_id, id),
    constraint journal_lines_member_fkey
        foreign key (chama_id, member_user_id) references chama_members (chama_id, user_id),
    -- a zero line carries no information and hides mistakes.
    constraint journal_lines_amount_nonzero check (amount <> 0),
    constraint journal_lines_memo_length check (memo is null or length(memo) <= 500)
);
comment on table journal_lines is
    'append-only journal lines; amount > 0 debit, < 0 credit, whole kes';

-- the balance check at commit and every statement read lines by entry.
create index journal_lines_entry_id on journal_lines (entry_id);
-- account balances: sum(amount) per account.
create index journal_lines_account on journal_lines (chama_id, account_id);
-- member statements and member balances.
create index journal_lines_member on journal_lines (chama_id, member_user_id, account_id)
    where member_user_id is not null;

-- entries: remember, for this transaction, which entries it wrote (so lines
-- can be checked against that), and refuse reversing a reversal.
create function journal_entries_before_insert()
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
    -- a transaction-local list of the entries written in this transaction.
    -- it is rolled back with the transaction or savepoint that wrote it.
    perform set_config(
        'pesachama.entries_in_tx',
        coalesce(current_setting('pesachama.entries_in_tx', true), '') || new.id::text || ',',
        true);
    return new;
end;
$$;
create trigger journal_entries_before_insert before insert on journal_entries
    for each row execute function journal_entries_before_insert();

-- lines: only in the entry's own transaction (otherwise a balanced pair could
-- be added to last year's entry, which is an edit in disguise), and with a
-- member when the account is a member sub-ledger.
create function journal_lines_before_insert()
returns trigger
language plpgsql
as $$
begin
    if strpos(coalesce(current_setting('pesachama.entries_in_tx', true), ''),
              new.entry_id::text) = 0 then
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
create trigger journal_lines_before_insert before insert on journal_lines
    for each row execute function journal_lines_before_insert();

-- the balance rule, run at commit for every entry touched in the transaction.
create function check_journal_entry(_entry_id uuid)
returns void
language plpgsql
as $$
declare
    _lines  bigint;
    _total  numeric;  -- numeric so a runaway sum reports instead of overflowing
    _orig   uuid;
begin
    select count(*), coalesce(sum(amount::numeric), 0)
      into _lines, _total
      from journal_lines where entry_id = _entry_id;
    if _lines < 2 then
        raise exception 'journal entry % has % line(s); a posting needs at least 2', _entry_id, _lines
            using errcode = 'PC002', constraint = 'journal_entries_min_two_lines';
    end if;
    if _total <> 0 then
        raise exception 'journal entry % does not balance: debits - credits = %', _entry_id, _total
            using errcode = 'PC001', constraint = 'journal_entries_balanced';
    end if;

    select reversal_of into _orig from journal_entries where id = _entry_id;
    if _orig is not null and exists (
        (select account_id, member_user_id, sum(amount) from journal_lines
          where entry_id = _entry_id group by 1, 2
         except
         select account_id, member_user_id, -sum(amount) from journal_lines
          where entry_id = _orig group by 1, 2)
        union all
        (select account_id, member_user_id, -sum(amount) from journal_lines
          where entry_id = _orig group by 1, 2
         except
         select account_id, member_user_id, sum(amount) from journal_lines
          where entry_id = _entry_id group by 1, 2)
    ) then
        raise exception 'journal entry % does not exactly negate the entry it reverses (%)', _entry_id, _orig
            using errcode = 'PC005', constraint = 'journal_entries_reversal_negates';
    end if;
end;
$$;

create function journal_entries_check_deferred()
returns trigger
language plpgsql
as $$
begin
    perform check_journal_entry(new.id);
    return null;
end;
$$;

create function journal_lines_check_deferred()
returns trigger
language plpgsql
as $$
begin
    perform check_journal_entry(new.entry_id);
    return null;
end;
$$;

-- deferred to commit so an entry and its lines can be inserted in separate
-- statements. the trigger on journal_entries makes an entry with no lines at
-- all fail too. do not `set constraints all immediate` half-way through
-- writing an entry: the check would then run before the last line exists.
create constraint trigger journal_entries_balanced
    after insert on journal_entries
    deferrable initially deferred
    for each row execute function journal_entries_check_deferred();

create constraint trigger journal_lines_balanced
    after insert on journal_lines
    deferrable initially deferred
    for each row execute function journal_lines_check_deferred();

select make_append_only('journal_entries');
select make_append_only('journal_lines');

-- the standard chart from chama-domain.md §2.3, called by the rust code when a
-- chama is created. idempotent: re-running adds only missing accounts.
-- returns the number of accounts inserted.
create function seed_chart_of_accounts(p_chama_id uuid)
returns integer
language sql
as $$
    with inserted as (
        insert into ledger_accounts (chama_id, code, name, type, requires_member)
        select p_chama_id, v.code, v.name, v.type, v.requires_member
        from (values
            (1000, 'M-Pesa collection',                'asset',     false),
            (1010, 'Bank account',                     'asset',     false),
            (1020, 'Cash with treasurer',              'asset',     false),
            (1030, 'M-Pesa in transit',                'asset',     false),
            (1100, 'Loans receivable - principal',     'asset',     true),
            (1110, 'Interest and fines receivable',    'asset',     false),
            (1200, 'Investments',                      'asset',     false),
            (2000, 'Member savings',                   'liability', true),
            (2010, 'Merry-go-round pot payable',       'liability', false),
            (2020, 'Unallocated receipts (suspense)',  'liability', false),
            (2030, 'Member prepayments/overpayments',  'liability', true),
            (2040, 'Dividends / share-out payable',    'liability', true),
            (2050, 'External borrowings',              'liability', false),
            (3000, 'Member share capital',             'equity',    true),
            (3100, 'Welfare / social fund',            'equity',    false),
            (3200, 'Retained surplus (current cycle)', 'equity',    false),
            (3900, 'Opening balances contra',          'equity',    false),
            (4000, 'Loan interest income',             'income',    false),
            (4010, 'Fines and penalties income',       'income',    false),
            (4020, 'Fees income',                      'income',    false),
            (4030, 'Investment income',                'income',    false),
            (5000, 'M-Pesa and bank charges',          'expense',   false),
            (5010, 'SMS and platform subscription',    'expense',   false),
            (5020, 'Loan losses written off',          'expense',   false),
            (5030, 'Meeting and admin expenses',       'expense',   false)
        ) as v (code, name, type, requires_member)
        on conflict (chama_id, code) do nothing
        returning 1
    )
    select count(*)::integer from inserted;
$$;
