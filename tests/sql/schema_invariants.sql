-- schema invariants: attack cases the database itself must refuse.
--
-- run against a freshly migrated database (all of migrations/, in order).
-- this file is a catalogue for porting to rust integration tests, not a ci
-- script: each case is independent and states what must be refused and the
-- sqlstate (and constraint name, which our triggers also set, so
-- `DatabaseError::code()` and `DatabaseError::constraint()` can both be
-- asserted).
--
-- layout (markers are machine-readable, one per line):
--   -- @fixture          shared data, run once and committed before any case;
--                        it is also the "happy path": if it commits, the rules
--                        below do not refuse legitimate use.
--   -- @case <id> <name>
--   -- @expect <sqlstate> <constraint>
--   -- @setup            optional; extra rows for this case, committed.
--   -- @attack           must fail with the expected sqlstate. where the
--                        refusal happens at commit (deferred checks), the
--                        attack is a begin ... commit block and the error is
--                        raised by the commit.
--
-- every case was verified on postgresql 15 by loading fixture + setup into a
-- fresh copy of a migrated database and running the attack with
-- `psql -v ON_ERROR_STOP=1 -v VERBOSITY=verbose`, checking the reported
-- sqlstate and constraint name. the cases also pass when the whole file is
-- run top to bottom in one session (each attack fails, nothing it did stays).
--
-- sqlstates: 23505 unique_violation, 23514 check_violation, 23503
-- foreign_key_violation, PCnnn raised by our triggers (migrations/README.md).
--
-- ids used below:
--   chama UMOJA   10000000-0000-0000-0000-000000000001
--   chama TUMAINI 20000000-0000-0000-0000-000000000002
--   alice a...0a chairperson UMOJA   bob   b...0b treasurer UMOJA
--   carol c...0c secretary UMOJA     dan   d...0d member UMOJA
--   eve   e...0e chairperson TUMAINI (not in UMOJA)

-- @fixture
begin;
insert into users (id, phone, name, language) values
    ('a0000000-0000-0000-0000-00000000000a', '+254711000001', 'Alice Wanjiru', 'sw'),
    ('b0000000-0000-0000-0000-00000000000b', '+254711000002', 'Bob Otieno', 'en'),
    ('c0000000-0000-0000-0000-00000000000c', '+254711000003', 'Carol Akinyi', 'sw'),
    ('d0000000-0000-0000-0000-00000000000d', '+254711000004', 'Dan Kiprop', 'en'),
    ('e0000000-0000-0000-0000-00000000000e', '+254711000005', 'Eve Njeri', 'sw');
insert into chamas (id, code, name, contribution_amount, approval_quorum) values
    ('10000000-0000-0000-0000-000000000001', 'UMOJA', 'Umoja Women Group', 500, 2),
    ('20000000-0000-0000-0000-000000000002', 'TUMAINI', 'Tumaini Youth', 200, 2);
select seed_chart_of_accounts('10000000-0000-0000-0000-000000000001');
select seed_chart_of_accounts('20000000-0000-0000-0000-000000000002');
insert into chama_members (chama_id, user_id, role, member_no) values
    ('10000000-0000-0000-0000-000000000001', 'a0000000-0000-0000-0000-00000000000a', 'chairperson', 1),
    ('10000000-0000-0000-0000-000000000001', 'b0000000-0000-0000-0000-00000000000b', 'treasurer', 2),
    ('10000000-0000-0000-0000-000000000001', 'c0000000-0000-0000-0000-00000000000c', 'secretary', 3),
    ('10000000-0000-0000-0000-000000000001', 'd0000000-0000-0000-0000-00000000000d', 'member', 4),
    ('20000000-0000-0000-0000-000000000002', 'e0000000-0000-0000-0000-00000000000e', 'chairperson', 1);

-- an stk contribution by dan, booked once: entry + lines + receipt registry.
insert into mpesa_stk_requests (id, chama_id, user_id, amount, phone, account_reference,
                                checkout_request_id, merchant_request_id)
values ('5e000000-0000-0000-0000-000000000001', '10000000-0000-0000-0000-000000000001',
        'd0000000-0000-0000-0000-00000000000d', 500, '+254711000004', 'UMOJA4',
        'ws_CO_191220191020363925', '29115-34620561-1');
insert into journal_entries (id, chama_id, description, idempotency_key) values
    ('e1000000-0000-0000-0000-000000000001', '10000000-0000-0000-0000-000000000001',
     'Contribution via M-Pesa NLJ7RT61SV', 'stk:ws_CO_191220191020363925');
insert into journal_lines (entry_id, chama_id, account_id, member_user_id, amount) values
    ('e1000000-0000-0000-0000-000000000001', '10000000-0000-0000-0000-000000000001',
     (select id from ledger_accounts where chama_id = '10000000-0000-0000-0000-000000000001' and code = 1000),
     null, 500),
    ('e1000000-0000-0000-0000-000000000001', '10000000-0000-0000-0000-000000000001',
     (select id from ledger_accounts where chama_id = '10000000-0000-0000-0000-000000000001' and code = 2000),
     'd0000000-0000-0000-0000-00000000000d', -500);
insert into mpesa_receipts (receipt, source, chama_id, amount, journal_entry_id) values
    ('NLJ7RT61SV', 'stk', '10000000-0000-0000-0000-000000000001', 500,
     'e1000000-0000-0000-0000-000000000001');
update mpesa_stk_requests
   set status = 'succeeded', result_code = '0', mpesa_receipt = 'NLJ7RT61SV',
       journal_entry_id = 'e1000000-0000-0000-0000-000000000001'
 where id = '5e000000-0000-0000-0000-000000000001';

-- a fine of 50 paid, then reversed (posted to the wrong member's chama day).
insert into journal_entries (id, chama_id, description, idempotency_key) values
    ('e1000000-0000-0000-0000-000000000002', '10000000-0000-0000-0000-000000000001',
     'Fine: late contribution', 'cash:fine:1');
insert into journal_lines (entry_id, chama_id, account_id, member_user_id, amount) values
    ('e1000000-0000-0000-0000-000000000002', '10000000-0000-0000-0000-000000000001',
     (select id from ledger_accounts where chama_id = '10000000-0000-0000-0000-000000000001' and code = 1020),
     null, 50),
    ('e1000000-0000-0000-0000-000000000002', '10000000-0000-0000-0000-000000000001',
     (select id from ledger_accounts where chama_id = '10000000-0000-0000-0000-000000000001' and code = 4010),
     'd0000000-0000-0000-0000-00000000000d', -50);
insert into journal_entries (id, chama_id, description, idempotency_key, reversal_of) values
    ('e1000000-0000-0000-0000-000000000003', '10000000-0000-0000-0000-000000000001',
     'Reversal: fine recorded in error', 'reversal:e1000000-0000-0000-0000-000000000002',
     'e1000000-0000-0000-0000-000000000002');
insert into journal_lines (entry_id, chama_id, account_id, member_user_id, amount) values
    ('e1000000-0000-0000-0000-000000000003', '10000000-0000-0000-0000-000000000001',
     (select id from ledger_accounts where chama_id = '10000000-0000-0000-0000-000000000001' and code = 1020),
     null, -50),
    ('e1000000-0000-0000-0000-000000000003', '10000000-0000-0000-0000-000000000001',
     (select id from ledger_accounts where chama_id = '10000000-0000-0000-0000-000000000001' and code = 4010),
     'd0000000-0000-0000-0000-00000000000d', 50);

-- a plain third entry (not reversed) for the reversal cases.
insert into journal_entries (id, chama_id, description, idempotency_key) values
    ('e1000000-0000-0000-0000-000000000004', '10000000-0000-0000-0000-000000000001',
     'Cash contribution at meeting', 'cash:contribution:1');
insert into journal_lines (entry_id, chama_id, account_id, member_user_id, amount) values
    ('e1000000-0000-0000-0000-000000000004', '10000000-0000-0000-0000-000000000001',
     (select id from ledger_accounts where chama_id = '10000000-0000-0000-0000-000000000001' and code = 1020),
     null, 300),
    ('e1000000-0000-0000-0000-000000000004', '10000000-0000-0000-0000-000000000001',
     (select id from ledger_accounts where chama_id = '10000000-0000-0000-0000-000000000001' and code = 2000),
     'd0000000-0000-0000-0000-00000000000d', -300);

-- disbursement 1: a loan for dan initiated by bob (treasurer), still pending.
insert into disbursement_requests (id, chama_id, kind, amount, payee_user_id, payee_phone,
                                   reason, initiated_by, request_hash, expires_at)
values ('ab000000-0000-0000-0000-000000000001', '10000000-0000-0000-0000-000000000001',
        'loan', 1000, 'd0000000-0000-0000-0000-00000000000d', '+254711000004',
        'School fees loan', 'b0000000-0000-0000-0000-00000000000b',
        repeat('a1', 32), now() + interval '2 days');

-- disbursement 2: approved by alice and carol (quorum 2), payout queued.
insert into disbursement_requests (id, chama_id, kind, amount, payee_user_id, payee_phone,
                                   reason, initiated_by, request_hash, expires_at)
values ('ab000000-0000-0000-0000-000000000002', '10000000-0000-0000-0000-000000000001',
        'welfare', 2000, 'd0000000-0000-0000-0000-00000000000d', '+254711000004',
        'Hospital bill', 'b0000000-0000-0000-0000-00000000000b',
        repeat('a2', 32), now() + interval '2 days');
insert into disbursement_approvals (disbursement_id, chama_id, approver_user_id, decision, request_hash) values
    ('ab000000-0000-0000-0000-000000000002', '10000000-0000-0000-0000-000000000001',
     'a0000000-0000-0000-0000-00000000000a', 'approve', repeat('a2', 32)),
    ('ab000000-0000-0000-0000-000000000002', '10000000-0000-0000-0000-000000000001',
     'c0000000-0000-0000-0000-00000000000c', 'approve', repeat('a2', 32));
update disbursement_requests set status = 'approved', decided_at = now()
 where id = 'ab000000-0000-0000-0000-000000000002';
insert into mpesa_b2c_payouts (chama_id, disbursement_id, originator_conversation_id, amount, phone)
values ('10000000-0000-0000-0000-000000000001', 'ab000000-0000-0000-0000-000000000002',
        'b2c-ab000000-0000-0000-0000-000000000002', 2000, '+254711000004');

insert into mpesa_c2b_receipts (shortcode, trans_id, amount, bill_ref_number, msisdn_masked, raw)
values ('600966', 'RKL51ZDR4F', 5, 'UMOJA4', '2547 ***** 126', '{"TransID": "RKL51ZDR4F"}');
insert into sms_outbox (chama_id, user_id, phone, message, dedupe_key, template, kind) values
    ('10000000-0000-0000-0000-000000000001', 'd0000000-0000-0000-0000-00000000000d',
     '+254711000004', 'Umoja: received KES 500 from you (NLJ7RT61SV).', 'stk-receipt:NLJ7RT61SV',
     'sms-receipt', 'receipt');
insert into sms_delivery_reports (provider_message_id, status, matched)
values ('ATXid_fixture', 'Success', true);
insert into sms_inbound (provider_id, phone, to_code, text, keyword)
values ('at-inbound-1', '+254711000004', '21512', 'BAL', 'balance');
insert into audit_logs (actor, action, chama_id, subject, details) values
    ('cli', 'chama.create', '10000000-0000-0000-0000-000000000001', 'UMOJA', '{"by": "fixture"}');
commit;

-------------------------------------------------------------------------------
-- ledger
-------------------------------------------------------------------------------

-- @case L01 unbalanced journal entry
-- debits 500, credits 400: refused when the transaction commits.
-- @expect PC001 journal_entries_balanced
-- @attack
begin;
insert into journal_entries (id, chama_id, description, idempotency_key) values
    ('e1000000-0000-0000-0000-0000000000a1', '10000000-0000-0000-0000-000000000001', 'unbalanced', 'attack:l01');
insert into journal_lines (entry_id, chama_id, account_id, member_user_id, amount) values
    ('e1000000-0000-0000-0000-0000000000a1', '10000000-0000-0000-0000-000000000001',
     (select id from ledger_accounts where chama_id = '10000000-0000-0000-0000-000000000001' and code = 1000), null, 500),
    ('e1000000-0000-0000-0000-0000000000a1', '10000000-0000-0000-0000-000000000001',
     (select id from ledger_accounts where chama_id = '10000000-0000-0000-0000-000000000001' and code = 2000),
     'd0000000-0000-0000-0000-00000000000d', -400);
commit;

-- @case L02 entry with a single line
-- @expect PC002 journal_entries_min_two_lines
-- @attack
begin;
insert into journal_entries (id, chama_id, description, idempotency_key) values
    ('e1000000-0000-0000-0000-0000000000a2', '10000000-0000-0000-0000-000000000001', 'one line', 'attack:l02');
insert into journal_lines (entry_id, chama_id, account_id, amount) values
    ('e1000000-0000-0000-0000-0000000000a2', '10000000-0000-0000-0000-000000000001',
     (select id from ledger_accounts where chama_id = '10000000-0000-0000-0000-000000000001' and code = 1000), 500);
commit;

-- @case L03 entry with no lines at all
-- @expect PC002 journal_entries_min_two_lines
-- @attack
begin;
insert into journal_entries (id, chama_id, description, idempotency_key) values
    ('e1000000-0000-0000-0000-0000000000a3', '10000000-0000-0000-0000-000000000001', 'empty', 'attack:l03');
commit;

-- @case L04 update a journal line
-- @expect PC003 journal_lines_append_only
-- @attack
update journal_lines set amount = 5000 where entry_id = 'e1000000-0000-0000-0000-000000000001' and amount = 500;

-- @case L05 delete a journal entry
-- @expect PC003 journal_entries_append_only
-- @attack
delete from journal_entries where id = 'e1000000-0000-0000-0000-000000000004';

-- @case L06 update a journal entry (e.g. re-dating it)
-- @expect PC003 journal_entries_append_only
-- @attack
update journal_entries set occurred_at = now() - interval '1 year'
 where id = 'e1000000-0000-0000-0000-000000000004';

-- @case L07 truncate journal lines
-- @expect PC003 journal_lines_append_only
-- @attack
truncate journal_lines;

-- @case L08 line whose account belongs to another chama
-- entry in UMOJA, debit posted to TUMAINI's m-pesa account.
-- @expect 23503 journal_lines_account_fkey
-- @attack
begin;
insert into journal_entries (id, chama_id, description, idempotency_key) values
    ('e1000000-0000-0000-0000-0000000000a8', '10000000-0000-0000-0000-000000000001', 'cross-chama', 'attack:l08');
insert into journal_lines (entry_id, chama_id, account_id, member_user_id, amount) values
    ('e1000000-0000-0000-0000-0000000000a8', '10000000-0000-0000-0000-000000000001',
     (select id from ledger_accounts where chama_id = '20000000-0000-0000-0000-000000000002' and code = 1000), null, 100),
    ('e1000000-0000-0000-0000-0000000000a8', '10000000-0000-0000-0000-000000000001',
     (select id from ledger_accounts where chama_id = '10000000-0000-0000-0000-000000000001' and code = 2000),
     'd0000000-0000-0000-0000-00000000000d', -100);
commit;

-- @case L09 line whose member belongs to another chama
-- eve is not a member of UMOJA; her savings can't be credited in UMOJA's books.
-- @expect 23503 journal_lines_member_fkey
-- @attack
begin;
insert into journal_entries (id, chama_id, description, idempotency_key) values
    ('e1000000-0000-0000-0000-0000000000a9', '10000000-0000-0000-0000-000000000001', 'foreign member', 'attack:l09');
insert into journal_lines (entry_id, chama_id, account_id, member_user_id, amount) values
    ('e1000000-0000-0000-0000-0000000000a9', '10000000-0000-0000-0000-000000000001',
     (select id from ledger_accounts where chama_id = '10000000-0000-0000-0000-000000000001' and code = 1000), null, 100),
    ('e1000000-0000-0000-0000-0000000000a9', '10000000-0000-0000-0000-000000000001',
     (select id from ledger_accounts where chama_id = '10000000-0000-0000-0000-000000000001' and code = 2000),
     'e0000000-0000-0000-0000-00000000000e', -100);
commit;

-- @case L10 line whose entry belongs to another chama
-- line claims TUMAINI but the entry is UMOJA's.
-- @expect 23503 journal_lines_entry_fkey
-- @attack
begin;
insert into journal_entries (id, chama_id, description, idempotency_key) values
    ('e1000000-0000-0000-0000-0000000000b0', '10000000-0000-0000-0000-000000000001', 'mixed', 'attack:l10');
insert into journal_lines (entry_id, chama_id, account_id, amount) values
    ('e1000000-0000-0000-0000-0000000000b0', '20000000-0000-0000-0000-000000000002',
     (select id from ledger_accounts where chama_id = '20000000-0000-0000-0000-000000000002' and code = 1000), 100);
commit;

-- @case L11 balanced lines added later to an existing (committed) entry
-- the pair sums to zero, but it would still rewrite history.
-- @expect PC006 journal_lines_same_transaction
-- @attack
begin;
insert into journal_lines (entry_id, chama_id, account_id, member_user_id, amount) values
    ('e1000000-0000-0000-0000-000000000004', '10000000-0000-0000-0000-000000000001',
     (select id from ledger_accounts where chama_id = '10000000-0000-0000-0000-000000000001' and code = 1020), null, 1000),
    ('e1000000-0000-0000-0000-000000000004', '10000000-0000-0000-0000-000000000001',
     (select id from ledger_accounts where chama_id = '10000000-0000-0000-0000-000000000001' and code = 2000),
     'd0000000-0000-0000-0000-00000000000d', -1000);
commit;

-- @case L21 the same, after forging the setting the first version trusted
-- pesachama.entries_in_tx named the transaction's entries until migration
-- 20261130000101; any session can set it, so it must no longer count.
-- @expect PC006 journal_lines_same_transaction
-- @attack
begin;
select set_config('pesachama.entries_in_tx', 'e1000000-0000-0000-0000-000000000004,', true);
insert into journal_lines (entry_id, chama_id, account_id, member_user_id, amount) values
    ('e1000000-0000-0000-0000-000000000004', '10000000-0000-0000-0000-000000000001',
     (select id from ledger_accounts where chama_id = '10000000-0000-0000-0000-000000000001' and code = 1020), null, 1000),
    ('e1000000-0000-0000-0000-000000000004', '10000000-0000-0000-0000-000000000001',
     (select id from ledger_accounts where chama_id = '10000000-0000-0000-0000-000000000001' and code = 2000),
     'd0000000-0000-0000-0000-00000000000d', -1000);
commit;

-- @case L12 member sub-ledger line without a member
-- 2000 member savings requires member_user_id.
-- @expect PC007 journal_lines_member_required
-- @attack
begin;
insert into journal_entries (id, chama_id, description, idempotency_key) values
    ('e1000000-0000-0000-0000-0000000000b2', '10000000-0000-0000-0000-000000000001', 'anonymous savings', 'attack:l12');
insert into journal_lines (entry_id, chama_id, account_id, member_user_id, amount) values
    ('e1000000-0000-0000-0000-0000000000b2', '10000000-0000-0000-0000-000000000001',
     (select id from ledger_accounts where chama_id = '10000000-0000-0000-0000-000000000001' and code = 1000), null, 100),
    ('e1000000-0000-0000-0000-0000000000b2', '10000000-0000-0000-0000-000000000001',
     (select id from ledger_accounts where chama_id = '10000000-0000-0000-0000-000000000001' and code = 2000), null, -100);
commit;

-- @case L13 zero-amount line
-- @expect 23514 journal_lines_amount_nonzero
-- @attack
begin;
insert into journal_entries (id, chama_id, description, idempotency_key) values
    ('e1000000-0000-0000-0000-0000000000b3', '10000000-0000-0000-0000-000000000001', 'zero', 'attack:l13');
insert into journal_lines (entry_id, chama_id, account_id, amount) values
    ('e1000000-0000-0000-0000-0000000000b3', '10000000-0000-0000-0000-000000000001',
     (select id from ledger_accounts where chama_id = '10000000-0000-0000-0000-000000000001' and code = 1000), 0);
commit;

-- @case L14 same money event posted twice (replayed callback)
-- @expect 23505 journal_entries_idempotency_key_key
-- @attack
insert into journal_entries (chama_id, description, idempotency_key) values
    ('10000000-0000-0000-0000-000000000001', 'replay', 'stk:ws_CO_191220191020363925');

-- @case L15 reversal of a reversal
-- e...03 reverses e...02 (fixture); reversing e...03 is refused.
-- @expect PC004 journal_entries_no_reversal_of_reversal
-- @attack
insert into journal_entries (chama_id, description, idempotency_key, reversal_of) values
    ('10000000-0000-0000-0000-000000000001', 'reverse the reversal', 'attack:l15',
     'e1000000-0000-0000-0000-000000000003');

-- @case L16 second reversal of the same entry
-- @expect 23505 journal_entries_reversal_of_key
-- @attack
insert into journal_entries (chama_id, description, idempotency_key, reversal_of) values
    ('10000000-0000-0000-0000-000000000001', 'reverse again', 'attack:l16',
     'e1000000-0000-0000-0000-000000000002');

-- @case L17 reversal whose lines do not negate the original
-- e...04 was dr 1020 300 / cr 2000[dan] 300; "reversing" only 100 of it.
-- @expect PC005 journal_entries_reversal_negates
-- @attack
begin;
insert into journal_entries (id, chama_id, description, idempotency_key, reversal_of) values
    ('e1000000-0000-0000-0000-0000000000b7', '10000000-0000-0000-0000-000000000001', 'partial reversal',
     'attack:l17', 'e1000000-0000-0000-0000-000000000004');
insert into journal_lines (entry_id, chama_id, account_id, member_user_id, amount) values
    ('e1000000-0000-0000-0000-0000000000b7', '10000000-0000-0000-0000-000000000001',
     (select id from ledger_accounts where chama_id = '10000000-0000-0000-0000-000000000001' and code = 1020), null, -100),
    ('e1000000-0000-0000-0000-0000000000b7', '10000000-0000-0000-0000-000000000001',
     (select id from ledger_accounts where chama_id = '10000000-0000-0000-0000-000000000001' and code = 2000),
     'd0000000-0000-0000-0000-00000000000d', 100);
commit;

-- @case L18 reversal in another chama's books
-- @expect 23503 journal_entries_reversal_of_fkey
-- @attack
insert into journal_entries (chama_id, description, idempotency_key, reversal_of) values
    ('20000000-0000-0000-0000-000000000002', 'cross-chama reversal', 'attack:l18',
     'e1000000-0000-0000-0000-000000000004');

-- @case L19 changing a ledger account's code after postings
-- @expect PC009 ledger_accounts_code_immutable
-- @attack
update ledger_accounts set code = 1001
 where chama_id = '10000000-0000-0000-0000-000000000001' and code = 1000;

-- @case L20 account code that contradicts its type
-- @expect 23514 ledger_accounts_code_matches_type
-- @attack
insert into ledger_accounts (chama_id, code, name, type) values
    ('10000000-0000-0000-0000-000000000001', 4500, 'Savings hidden as income', 'liability');

-------------------------------------------------------------------------------
-- m-pesa
-------------------------------------------------------------------------------

-- @case M01 one m-pesa receipt booked twice, across stk and c2b
-- NLJ7RT61SV was booked via stk in the fixture; the same receipt arrives as a
-- c2b confirmation. storing the confirmation is fine; booking it is not.
-- @expect 23505 mpesa_receipts_pkey
-- @attack
begin;
insert into mpesa_c2b_receipts (shortcode, trans_id, amount, bill_ref_number, chama_id, raw)
values ('174379', 'NLJ7RT61SV', 500, 'UMOJA4', '10000000-0000-0000-0000-000000000001', '{}');
insert into journal_entries (id, chama_id, description, idempotency_key) values
    ('e1000000-0000-0000-0000-0000000000c1', '10000000-0000-0000-0000-000000000001', 'c2b NLJ7RT61SV',
     'c2b:174379:NLJ7RT61SV');
insert into journal_lines (entry_id, chama_id, account_id, member_user_id, amount) values
    ('e1000000-0000-0000-0000-0000000000c1', '10000000-0000-0000-0000-000000000001',
     (select id from ledger_accounts where chama_id = '10000000-0000-0000-0000-000000000001' and code = 1000), null, 500),
    ('e1000000-0000-0000-0000-0000000000c1', '10000000-0000-0000-0000-000000000001',
     (select id from ledger_accounts where chama_id = '10000000-0000-0000-0000-000000000001' and code = 2020), null, -500);
insert into mpesa_receipts (receipt, source, chama_id, amount, journal_entry_id) values
    ('NLJ7RT61SV', 'c2b', '10000000-0000-0000-0000-000000000001', 500,
     'e1000000-0000-0000-0000-0000000000c1');
commit;

-- @case M02 duplicate CheckoutRequestID
-- @expect 23505 mpesa_stk_requests_checkout_request_id_key
-- @attack
insert into mpesa_stk_requests (chama_id, user_id, amount, phone, account_reference, checkout_request_id)
values ('10000000-0000-0000-0000-000000000001', 'd0000000-0000-0000-0000-00000000000d', 500,
        '+254711000004', 'UMOJA4', 'ws_CO_191220191020363925');

-- @case M03 the same receipt on a second stk request
-- @expect 23505 mpesa_stk_requests_mpesa_receipt_key
-- @attack
insert into mpesa_stk_requests (chama_id, user_id, amount, phone, account_reference,
                                checkout_request_id, status, mpesa_receipt)
values ('10000000-0000-0000-0000-000000000001', 'd0000000-0000-0000-0000-00000000000d', 500,
        '+254711000004', 'UMOJA4', 'ws_CO_other', 'succeeded', 'NLJ7RT61SV');

-- @case M04 stk receipt recorded without booking it in the registry
-- refused at commit: the receipt must be in mpesa_receipts (same transaction).
-- @expect 23503 mpesa_stk_requests_receipt_booked_fkey
-- @attack
begin;
insert into mpesa_stk_requests (chama_id, user_id, amount, phone, account_reference,
                                checkout_request_id, status, mpesa_receipt)
values ('10000000-0000-0000-0000-000000000001', 'd0000000-0000-0000-0000-00000000000d', 500,
        '+254711000004', 'UMOJA4', 'ws_CO_m04', 'succeeded', 'QWE1RTY2UI');
commit;

-- @case M05 replayed c2b confirmation (same shortcode and TransID)
-- @expect 23505 mpesa_c2b_receipts_trans_id_key
-- @attack
insert into mpesa_c2b_receipts (shortcode, trans_id, amount, raw)
values ('600966', 'RKL51ZDR4F', 5, '{}');

-- @case M06 stk push of zero shillings
-- @expect 23514 mpesa_stk_requests_amount_positive
-- @attack
insert into mpesa_stk_requests (chama_id, user_id, amount, phone, account_reference)
values ('10000000-0000-0000-0000-000000000001', 'd0000000-0000-0000-0000-00000000000d', 0,
        '+254711000004', 'UMOJA4');

-- @case M07 stk push for a non-member of the chama
-- @expect 23503 mpesa_stk_requests_member_fkey
-- @attack
insert into mpesa_stk_requests (chama_id, user_id, amount, phone, account_reference)
values ('10000000-0000-0000-0000-000000000001', 'e0000000-0000-0000-0000-00000000000e', 100,
        '+254711000005', 'UMOJA');

-- @case M08 changing the amount of a push after it was sent
-- @expect PC009 mpesa_stk_requests_amount_immutable
-- @attack
update mpesa_stk_requests set amount = 5000 where id = '5e000000-0000-0000-0000-000000000001';

-- @case M09 deleting a booked receipt (to book it again)
-- @expect PC003 mpesa_receipts_append_only
-- @attack
delete from mpesa_receipts where receipt = 'NLJ7RT61SV';

-- @case M10 second b2c payout for the same disbursement
-- @expect 23505 mpesa_b2c_payouts_disbursement_id_key
-- @attack
insert into mpesa_b2c_payouts (chama_id, disbursement_id, originator_conversation_id, amount, phone)
values ('10000000-0000-0000-0000-000000000001', 'ab000000-0000-0000-0000-000000000002',
        'b2c-retry-2', 2000, '+254711000004');

-- @case M11 b2c payout for a request that is not approved
-- @expect PC017 mpesa_b2c_payouts_approved_request
-- @attack
insert into mpesa_b2c_payouts (chama_id, disbursement_id, originator_conversation_id, amount, phone)
values ('10000000-0000-0000-0000-000000000001', 'ab000000-0000-0000-0000-000000000001',
        'b2c-ab000000-0000-0000-0000-000000000001', 1000, '+254711000004');

-- @case M12 b2c payout to a different phone than approved
-- @expect PC017 mpesa_b2c_payouts_approved_request
-- @setup
insert into disbursement_requests (id, chama_id, kind, amount, payee_user_id, payee_phone,
                                   reason, initiated_by, request_hash, expires_at)
values ('ab000000-0000-0000-0000-000000000012', '10000000-0000-0000-0000-000000000001',
        'loan', 700, 'd0000000-0000-0000-0000-00000000000d', '+254711000004',
        'Stock loan', 'b0000000-0000-0000-0000-00000000000b', repeat('c2', 32), now() + interval '1 day');
insert into disbursement_approvals (disbursement_id, chama_id, approver_user_id, decision, request_hash) values
    ('ab000000-0000-0000-0000-000000000012', '10000000-0000-0000-0000-000000000001',
     'a0000000-0000-0000-0000-00000000000a', 'approve', repeat('c2', 32)),
    ('ab000000-0000-0000-0000-000000000012', '10000000-0000-0000-0000-000000000001',
     'c0000000-0000-0000-0000-00000000000c', 'approve', repeat('c2', 32));
update disbursement_requests set status = 'approved' where id = 'ab000000-0000-0000-0000-000000000012';
-- @attack
insert into mpesa_b2c_payouts (chama_id, disbursement_id, originator_conversation_id, amount, phone)
values ('10000000-0000-0000-0000-000000000001', 'ab000000-0000-0000-0000-000000000012',
        'b2c-ab000000-0000-0000-0000-000000000012', 700, '+254799999999');

-- @case M13 reused OriginatorConversationID
-- @expect 23505 mpesa_b2c_payouts_originator_conversation_id_key
-- @setup
insert into disbursement_requests (id, chama_id, kind, amount, payee_user_id, payee_phone,
                                   reason, initiated_by, request_hash, expires_at)
values ('ab000000-0000-0000-0000-000000000013', '10000000-0000-0000-0000-000000000001',
        'loan', 800, 'd0000000-0000-0000-0000-00000000000d', '+254711000004',
        'Stock loan 2', 'b0000000-0000-0000-0000-00000000000b', repeat('c3', 32), now() + interval '1 day');
insert into disbursement_approvals (disbursement_id, chama_id, approver_user_id, decision, request_hash) values
    ('ab000000-0000-0000-0000-000000000013', '10000000-0000-0000-0000-000000000001',
     'a0000000-0000-0000-0000-00000000000a', 'approve', repeat('c3', 32)),
    ('ab000000-0000-0000-0000-000000000013', '10000000-0000-0000-0000-000000000001',
     'c0000000-0000-0000-0000-00000000000c', 'approve', repeat('c3', 32));
update disbursement_requests set status = 'approved' where id = 'ab000000-0000-0000-0000-000000000013';
-- @attack
insert into mpesa_b2c_payouts (chama_id, disbursement_id, originator_conversation_id, amount, phone)
values ('10000000-0000-0000-0000-000000000001', 'ab000000-0000-0000-0000-000000000013',
        'b2c-ab000000-0000-0000-0000-000000000002', 800, '+254711000004');

-------------------------------------------------------------------------------
-- disbursements and approvals
-------------------------------------------------------------------------------

-- @case D01 second approval by the same officer
-- @expect 23505 disbursement_approvals_pkey
-- @setup
insert into disbursement_approvals (disbursement_id, chama_id, approver_user_id, decision, request_hash)
values ('ab000000-0000-0000-0000-000000000001', '10000000-0000-0000-0000-000000000001',
        'a0000000-0000-0000-0000-00000000000a', 'approve', repeat('a1', 32));
-- @attack
insert into disbursement_approvals (disbursement_id, chama_id, approver_user_id, decision, request_hash)
values ('ab000000-0000-0000-0000-000000000001', '10000000-0000-0000-0000-000000000001',
        'a0000000-0000-0000-0000-00000000000a', 'approve', repeat('a1', 32));

-- @case D02 initiator approving their own request
-- bob (treasurer) initiated request 1.
-- @expect PC010 disbursement_approvals_not_initiator
-- @attack
insert into disbursement_approvals (disbursement_id, chama_id, approver_user_id, decision, request_hash)
values ('ab000000-0000-0000-0000-000000000001', '10000000-0000-0000-0000-000000000001',
        'b0000000-0000-0000-0000-00000000000b', 'approve', repeat('a1', 32));

-- @case D03 approval by a member who is not an officer
-- @expect PC011 disbursement_approvals_officer
-- @attack
insert into disbursement_approvals (disbursement_id, chama_id, approver_user_id, decision, request_hash)
values ('ab000000-0000-0000-0000-000000000001', '10000000-0000-0000-0000-000000000001',
        'd0000000-0000-0000-0000-00000000000d', 'approve', repeat('a1', 32));

-- @case D04 approval by an officer of another chama
-- eve chairs TUMAINI and is not a member of UMOJA.
-- @expect 23503 disbursement_approvals_approver_fkey
-- @attack
insert into disbursement_approvals (disbursement_id, chama_id, approver_user_id, decision, request_hash)
values ('ab000000-0000-0000-0000-000000000001', '10000000-0000-0000-0000-000000000001',
        'e0000000-0000-0000-0000-00000000000e', 'approve', repeat('a1', 32));

-- @case D05 approval bound to different terms (hash mismatch)
-- @expect PC012 disbursement_approvals_request_hash
-- @attack
insert into disbursement_approvals (disbursement_id, chama_id, approver_user_id, decision, request_hash)
values ('ab000000-0000-0000-0000-000000000001', '10000000-0000-0000-0000-000000000001',
        'a0000000-0000-0000-0000-00000000000a', 'approve', repeat('ff', 32));

-- @case D06 approval of an expired request
-- @expect PC013 disbursement_requests_open
-- @setup
insert into disbursement_requests (id, chama_id, kind, amount, payee_user_id, payee_phone, reason,
                                   initiated_by, request_hash, expires_at, created_at)
values ('ab000000-0000-0000-0000-0000000000d7', '10000000-0000-0000-0000-000000000001',
        'loan', 300, 'd0000000-0000-0000-0000-00000000000d', '+254711000004', 'Old request',
        'b0000000-0000-0000-0000-00000000000b', repeat('d7', 32),
        now() - interval '1 day', now() - interval '3 days');
-- @attack
insert into disbursement_approvals (disbursement_id, chama_id, approver_user_id, decision, request_hash)
values ('ab000000-0000-0000-0000-0000000000d7', '10000000-0000-0000-0000-000000000001',
        'a0000000-0000-0000-0000-00000000000a', 'approve', repeat('d7', 32));

-- @case D07 marking a request approved without the quorum
-- one approval, chama quorum is 2.
-- @expect PC016 disbursement_requests_quorum
-- @setup
insert into disbursement_requests (id, chama_id, kind, amount, payee_user_id, payee_phone,
                                   reason, initiated_by, request_hash, expires_at)
values ('ab000000-0000-0000-0000-0000000000d8', '10000000-0000-0000-0000-000000000001',
        'merry_go_round', 5000, 'd0000000-0000-0000-0000-00000000000d', '+254711000004',
        'Round 3 payout', 'b0000000-0000-0000-0000-00000000000b', repeat('d8', 32), now() + interval '1 day');
insert into disbursement_approvals (disbursement_id, chama_id, approver_user_id, decision, request_hash)
values ('ab000000-0000-0000-0000-0000000000d8', '10000000-0000-0000-0000-000000000001',
        'c0000000-0000-0000-0000-00000000000c', 'approve', repeat('d8', 32));
-- @attack
update disbursement_requests set status = 'approved' where id = 'ab000000-0000-0000-0000-0000000000d8';

-- @case D08 creating a request that is already approved
-- @expect PC015 disbursement_requests_status_transition
-- @attack
insert into disbursement_requests (chama_id, kind, amount, payee_user_id, payee_phone, reason,
                                   initiated_by, request_hash, expires_at, status)
values ('10000000-0000-0000-0000-000000000001', 'loan', 100, 'd0000000-0000-0000-0000-00000000000d',
        '+254711000004', 'Born approved', 'b0000000-0000-0000-0000-00000000000b', repeat('d9', 32),
        now() + interval '1 day', 'approved');

-- @case D09 changing the amount of a request after approval
-- @expect PC009 disbursement_requests_amount_immutable
-- @attack
update disbursement_requests set amount = 200000 where id = 'ab000000-0000-0000-0000-000000000002';

-- @case D10 reopening a paid/approved request (approved -> pending)
-- @expect PC015 disbursement_requests_status_transition
-- @attack
update disbursement_requests set status = 'pending' where id = 'ab000000-0000-0000-0000-000000000002';

-- @case D11 deleting an approval (to re-approve differently)
-- @expect PC003 disbursement_approvals_append_only
-- @attack
delete from disbursement_approvals where disbursement_id = 'ab000000-0000-0000-0000-000000000002';

-- @case D12 approval by a suspended officer
-- (last in this section: it leaves carol suspended for the rest of a
-- top-to-bottom run.)
-- @expect PC011 disbursement_approvals_officer
-- @setup
update chama_members set status = 'suspended'
 where chama_id = '10000000-0000-0000-0000-000000000001' and user_id = 'c0000000-0000-0000-0000-00000000000c';
-- @attack
insert into disbursement_approvals (disbursement_id, chama_id, approver_user_id, decision, request_hash)
values ('ab000000-0000-0000-0000-000000000001', '10000000-0000-0000-0000-000000000001',
        'c0000000-0000-0000-0000-00000000000c', 'approve', repeat('a1', 32));

-------------------------------------------------------------------------------
-- members, users, chamas
-------------------------------------------------------------------------------

-- @case U01 second membership of the same user in one chama
-- @expect 23505 chama_members_pkey
-- @attack
insert into chama_members (chama_id, user_id, role, member_no) values
    ('10000000-0000-0000-0000-000000000001', 'd0000000-0000-0000-0000-00000000000d', 'member', 99);

-- @case U02 second active treasurer
-- eve joins UMOJA as treasurer while bob is active treasurer.
-- @expect 23505 chama_members_one_active_officer
-- @attack
insert into chama_members (chama_id, user_id, role, member_no) values
    ('10000000-0000-0000-0000-000000000001', 'e0000000-0000-0000-0000-00000000000e', 'treasurer', 5);

-- @case U03 member number reused within a chama
-- @expect 23505 chama_members_member_no_key
-- @attack
insert into chama_members (chama_id, user_id, role, member_no) values
    ('10000000-0000-0000-0000-000000000001', 'e0000000-0000-0000-0000-00000000000e', 'member', 4);

-- @case U04 phone not in e.164
-- @expect 23514 users_phone_e164
-- @attack
insert into users (phone, name) values ('0712345678', 'Local Format');

-- @case U05 the same phone twice
-- @expect 23505 users_phone_key
-- @attack
insert into users (phone, name) values ('+254711000001', 'Alice Again');

-- @case U06 pin hash without its salt
-- @expect 23514 users_pin_hash_and_salt
-- @attack
update users set pin_hash = '\xdeadbeef' where id = 'd0000000-0000-0000-0000-00000000000d';

-- @case U07 unknown language
-- @expect 23514 users_language_known
-- @attack
update users set language = 'fr' where id = 'd0000000-0000-0000-0000-00000000000d';

-- @case C01 negative contribution amount
-- @expect 23514 chamas_contribution_amount_nonneg
-- @attack
update chamas set contribution_amount = -100 where id = '10000000-0000-0000-0000-000000000001';

-- @case C02 chama code not upper-case alphanumeric (3-12)
-- @expect 23514 chamas_code_format
-- @attack
insert into chamas (code, name) values ('umoja-2', 'Lower case');

-- @case C03 approval quorum out of range
-- @expect 23514 chamas_approval_quorum_range
-- @attack
update chamas set approval_quorum = 0 where id = '10000000-0000-0000-0000-000000000001';

-------------------------------------------------------------------------------
-- audit log, outbox, sessions
-------------------------------------------------------------------------------

-- @case A01 update an audit row
-- @expect PC003 audit_logs_append_only
-- @attack
update audit_logs set actor = 'someone-else';

-- @case A02 delete an audit row
-- @expect PC003 audit_logs_append_only
-- @attack
delete from audit_logs;

-- @case A03 truncate the audit log
-- @expect PC003 audit_logs_append_only
-- @attack
truncate audit_logs;

-- @case S01 the same receipt sms queued twice
-- @expect 23505 sms_outbox_dedupe_key_key
-- @attack
insert into sms_outbox (phone, message, dedupe_key, template, kind)
values ('+254711000004', 'duplicate', 'stk-receipt:NLJ7RT61SV', 'sms-receipt', 'receipt');

-- @case S02 sms longer than 6 parts (918 characters)
-- @expect 23514 sms_outbox_message_length
-- @attack
insert into sms_outbox (phone, message, dedupe_key, template, kind)
values ('+254711000004', repeat('x', 919), 'attack:s02', 'sms-receipt', 'receipt');

-- @case S04 rewrite a delivery report
-- @expect PC003 sms_delivery_reports_append_only
-- @attack
update sms_delivery_reports set status = 'Failed';

-- @case S05 an outbox row of a kind nothing knows (would dodge opt-outs)
-- @expect 23514 sms_outbox_kind_known
-- @attack
insert into sms_outbox (phone, message, dedupe_key, template, kind)
values ('+254711000004', 'Buy now', 'attack:s05', 'sms-promo', 'marketing');

-- @case S06 the same inbound message stored twice (a second reply)
-- @expect 23505 sms_inbound_provider_id_key
-- @attack
insert into sms_inbound (provider_id, phone, to_code, text, keyword)
values ('at-inbound-1', '+254711000004', '21512', 'BAL', 'balance');

-- @case S03 ussd session id longer than 128 characters
-- @expect 23514 ussd_sessions_session_id_length
-- @attack
insert into ussd_sessions (session_id, state, expires_at)
values (repeat('A', 129), '{}', now() + interval '3 minutes');
