-- shared helpers used by every later migration.
--
-- nothing here owns data; these are the small building blocks that keep the
-- table migrations short and make the same rule look the same everywhere.
--
-- custom sqlstates: our triggers raise errors in class "PC" (pesachama) so the
-- rust code and the tests can tell "the database refused this on purpose" from
-- an ordinary bug. every raise also sets a constraint name, so
-- `sqlx::error::DatabaseError::constraint()` works for them exactly as for
-- unique/check/foreign-key violations. the full list is in migrations/README.md.

-- gen_random_uuid() is built into postgresql 13+, so no extension is needed.

-- keeps updated_at honest without every update statement having to remember it.
create or replace function set_updated_at()
returns trigger
language plpgsql
as $$
begin
    new.updated_at := now();
    return new;
end;
$$;

-- one-liner for table migrations: `select manage_updated_at('users');`
create or replace function manage_updated_at(_tbl regclass)
returns void
language plpgsql
as $$
begin
    execute format(
        'create trigger set_updated_at before update on %s
             for each row execute function set_updated_at()',
        _tbl);
end;
$$;

-- refuses update/delete (row trigger) and truncate (statement trigger) on
-- tables that are a record of what happened: the ledger, approvals, the audit
-- log. corrections are new rows (a reversal entry, a new audit row), never
-- edits. sqlstate PC003, constraint "<table>_append_only".
create or replace function forbid_mutation()
returns trigger
language plpgsql
as $$
begin
    raise exception '% is append-only: % refused', tg_table_name, lower(tg_op)
        using errcode = 'PC003',
              constraint = tg_table_name || '_append_only',
              hint = 'record a correction as a new row (for the ledger: a reversal entry)';
end;
$$;

-- installs the append-only guard on a table. the revoke is belt and braces:
-- it documents intent for roles created later, while the triggers also stop
-- the table owner (the role the daemon connects as).
create or replace function make_append_only(_tbl regclass)
returns void
language plpgsql
as $$
begin
    execute format(
        'create trigger forbid_update_delete before update or delete on %s
             for each row execute function forbid_mutation()', _tbl);
    execute format(
        'create trigger forbid_truncate before truncate on %s
             for each statement execute function forbid_mutation()', _tbl);
    execute format('revoke update, delete, truncate on %s from public', _tbl);
end;
$$;

-- e.164: '+', a country code not starting with 0, 8 to 15 digits in all.
-- every phone we store is normalised to this form by the rust code
-- (src/phone.rs); the database refuses anything else so a '07…' or '2547…'
-- that slipped through can never become a second identity for one person.
create or replace function is_e164(_phone text)
returns boolean
language sql
immutable
parallel safe
as $$
    select _phone ~ '^\+[1-9][0-9]{7,14}$';
$$;

-- refuses changes to the columns named as trigger arguments. used where a row
-- may progress (status, result fields) but what it is about may not change:
-- the amount and payee of a disbursement, the account code of a ledger
-- account, the amount of a payment. sqlstate PC009, constraint
-- "<table>_<column>_immutable".
--   create trigger ... before update on t for each row
--       execute function forbid_column_change('amount', 'phone');
create or replace function forbid_column_change()
returns trigger
language plpgsql
as $$
declare
    _col text;
    _old jsonb := to_jsonb(old);
    _new jsonb := to_jsonb(new);
begin
    foreach _col in array tg_argv loop
        if (_old -> _col) is distinct from (_new -> _col) then
            raise exception '%.% cannot change once written', tg_table_name, _col
                using errcode = 'PC009',
                      constraint = tg_table_name || '_' || _col || '_immutable';
        end if;
    end loop;
    return new;
end;
$$;
