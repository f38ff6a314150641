-- m-pesa (daraja): stk pushes, c2b paybill receipts, b2c payouts, and the
-- registry that makes an m-pesa receipt bookable once (protocols.md §3).
--
-- idempotency keys, one per daraja flow (chama-domain.md §2.5 item 4):
--   stk  CheckoutRequestID          -> mpesa_stk_requests.checkout_request_id
--   stk  MpesaReceiptNumber         -> mpesa_stk_requests.mpesa_receipt
--   c2b  (BusinessShortCode, TransID) -> mpesa_c2b_receipts
--   b2c  OriginatorConversationID / ConversationID / TransactionReceipt
--   any receipt booked in the ledger -> mpesa_receipts.receipt
-- safaricom retries (and drops) callbacks; a replay hits one of these unique
-- keys and changes nothing.

-- receipts look like 'NLJ7RT61SV' (10 upper-case alphanumerics); allow a
-- little slack in length rather than refuse a real payment.
create function is_mpesa_receipt(_r text)
returns boolean
language sql
immutable
parallel safe
as $$
    select _r ~ '^[A-Z0-9]{6,20}$';
$$;

-- every m-pesa receipt that has been booked into a ledger, whichever way it
-- arrived. why a table and not only per-table unique columns: one payment can
-- reach us twice by different roads (an stk push to our paybill can also show
-- up as a c2b confirmation, a lost stk callback is later found on the
-- statement and entered as c2b). unique(mpesa_receipt) on the stk table and
-- unique(shortcode, trans_id) on the c2b table can't see each other; a single
-- primary key both flows insert into can. insert it in the same transaction
-- as the journal entry; a 23505 on mpesa_receipts_pkey means "already
-- booked", roll back and treat the event as a duplicate.
create table mpesa_receipts (
    receipt          text primary key,
    -- which flow booked it first.
    source           text not null,
    chama_id         uuid not null references chamas (id),
    amount           bigint not null,
    journal_entry_id uuid not null,
    booked_at        timestamptz not null default now(),

    constraint mpesa_receipts_receipt_format check (is_mpesa_receipt(receipt)),
    constraint mpesa_receipts_source_known check (source in ('stk', 'c2b')),
    constraint mpesa_receipts_amount_positive check (amount > 0),
    -- deferred so the receipt can be claimed before or after writing the
    -- entry inside the booking transaction (the rust code may generate the
    -- entry id up front).
    constraint mpesa_receipts_journal_entry_fkey
        foreign key (chama_id, journal_entry_id) references journal_entries (chama_id, id)
        deferrable initially deferred
);
select make_append_only('mpesa_receipts');
comment on table mpesa_receipts is
    'append-only registry: an m-pesa receipt number is booked into the ledger at most once, across stk and c2b';

-- stk push (lipa na m-pesa online): a payment intent. nothing is posted to
-- the ledger until the success callback (or a successful query) settles it.
create table mpesa_stk_requests (
    id                  uuid primary key default gen_random_uuid(),
    chama_id            uuid not null references chamas (id),
    user_id             uuid not null,
    -- what the money is for; decides the credit side of the posting.
    purpose             text not null default 'contribution',
    amount              bigint not null,
    -- the phone that gets the pin prompt, e.164 (sent to daraja as 2547...).
    phone               text not null,
    -- daraja AccountReference: <= 12 alphanumerics (protocols.md §3.2).
    account_reference   text not null,
    -- null until daraja accepts the push; then the callback correlation key.
    checkout_request_id text null,
    merchant_request_id text null,
    status              text not null default 'pending',
    -- numeric in callbacks, but 'SFC_IC0003' exists too: keep as text.
    result_code         text null,
    result_desc         text null,
    -- null until success; a receipt pays one push.
    mpesa_receipt       text null,
    journal_entry_id    uuid null,
    -- reconciliation: lost callbacks are settled by querying daraja.
    query_attempts      int not null default 0,
    next_query_at       timestamptz null,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),

    constraint mpesa_stk_requests_chama_id_id_key unique (chama_id, id),
    -- a duplicate callback finds the same row and is a no-op.
    constraint mpesa_stk_requests_checkout_request_id_key unique (checkout_request_id),
    constraint mpesa_stk_requests_mpesa_receipt_key unique (mpesa_receipt),
    -- the payer is a member of the chama being paid.
    constraint mpesa_stk_requests_member_fkey
        foreign key (chama_id, user_id) references chama_members (chama_id, user_id),
    constraint mpesa_stk_requests_journal_entry_fkey
        foreign key (chama_id, journal_entry_id) references journal_entries (chama_id, id),
    -- a receipt on an stk request must be in the booking registry (same
    -- transaction; deferred so the order of the two writes doesn't matter).
    constraint mpesa_stk_requests_receipt_booked_fkey
        foreign key (mpesa_receipt) references mpesa_receipts (receipt)
        deferrable initially deferred,
    constraint mpesa_stk_requests_purpose_known check (purpose in
        ('contribution', 'loan_repayment', 'fine', 'welfare', 'merry_go_round', 'fee', 'other')),
    -- daraja refuses < 1 (result code 2).
    constraint mpesa_stk_requests_amount_positive check (amount > 0),
    constraint mpesa_stk_requests_phone_e164 check (is_e164(phone)),
    constraint mpesa_stk_requests_account_reference_format
        check (account_reference ~ '^[A-Za-z0-9]{1,12}$'),
    constraint mpesa_stk_requests_status_known check (status in
        ('pending', 'succeeded', 'failed', 'cancelled', 'timeout')),
    constraint mpesa_stk_requests_receipt_format
        check (mpesa_receipt is null or is_mpesa_receipt(mpesa_receipt)),
    -- only a successful push has a receipt or a posting.
    constraint mpesa_stk_requests_receipt_only_on_success
        check (mpesa_receipt is null or status = 'succeeded'),
    constraint mpesa_stk_requests_entry_only_on_success
        check (journal_entry_id is null or status = 'succeeded'),
    constraint mpesa_stk_requests_query_attempts_nonneg check (query_attempts >= 0)
);
select manage_updated_at('mpesa_stk_requests');
comment on table mpesa_stk_requests is
    'stk push payment intents; settled once by callback or query, keyed by CheckoutRequestID';

-- what was asked of the payer can't change after the push was sent.
create trigger mpesa_stk_requests_terms_immutable before update on mpesa_stk_requests
    for each row execute function forbid_column_change(
        'chama_id', 'user_id', 'purpose', 'amount', 'phone', 'account_reference');

-- the reconciliation sweeper: pending pushes whose callback is overdue.
create index mpesa_stk_requests_pending
    on mpesa_stk_requests (coalesce(next_query_at, created_at)) where status = 'pending';
-- daraja result 17: no second push of the same amount to the same phone within
-- ~2 minutes; the rust code checks recent pushes by phone.
create index mpesa_stk_requests_phone_recent on mpesa_stk_requests (phone, created_at);

-- c2b confirmations (member paid the paybill from the phone menu). every
-- confirmation is stored, matched to a chama/member by BillRefNumber, and
-- booked once (journal_entry_id, plus the mpesa_receipts registry).
create table mpesa_c2b_receipts (
    id               uuid primary key default gen_random_uuid(),
    -- BusinessShortCode the payment went to.
    shortcode        text not null,
    -- TransID, the m-pesa receipt.
    trans_id         text not null,
    transaction_type text null,
    -- TransTime (eat), parsed.
    trans_time       timestamptz null,
    -- TransAmount in whole kes.
    amount           bigint not null,
    -- account number typed by the payer; how we find the chama/member.
    bill_ref_number  text null,
    -- c2b v2 sends '2547 ***** 126', v1 a sha-256 hash: never an identity.
    msisdn_masked    text null,
    -- null until matched (unknown bill ref: suspense, treasurer matches later).
    chama_id         uuid null references chamas (id),
    member_user_id   uuid null,
    -- the confirmation as received, for audit and re-processing.
    raw              jsonb not null,
    journal_entry_id uuid null,
    received_at      timestamptz not null default now(),
    matched_at       timestamptz null,
    updated_at       timestamptz not null default now(),

    -- TransID is unique per shortcode: the replayed confirmation is a no-op.
    constraint mpesa_c2b_receipts_trans_id_key unique (shortcode, trans_id),
    constraint mpesa_c2b_receipts_member_fkey
        foreign key (chama_id, member_user_id) references chama_members (chama_id, user_id),
    constraint mpesa_c2b_receipts_journal_entry_fkey
        foreign key (chama_id, journal_entry_id) references journal_entries (chama_id, id),
    -- composite keys are not checked while chama_id is null (match simple);
    -- these checks close that gap.
    constraint mpesa_c2b_receipts_member_needs_chama
        check (member_user_id is null or chama_id is not null),
    constraint mpesa_c2b_receipts_entry_needs_chama
        check (journal_entry_id is null or chama_id is not null),
    constraint mpesa_c2b_receipts_shortcode_format check (shortcode ~ '^[0-9]{4,10}$'),
    constraint mpesa_c2b_receipts_trans_id_format check (is_mpesa_receipt(trans_id)),
    constraint mpesa_c2b_receipts_amount_positive check (amount > 0),
    constraint mpesa_c2b_receipts_bill_ref_length
        check (bill_ref_number is null or length(bill_ref_number) <= 100)
);
select manage_updated_at('mpesa_c2b_receipts');
comment on table mpesa_c2b_receipts is
    'c2b paybill confirmations, unique per (shortcode, TransID); matched to a chama by BillRefNumber';

create trigger mpesa_c2b_receipts_payment_immutable before update on mpesa_c2b_receipts
    for each row execute function forbid_column_change('shortcode', 'trans_id', 'amount', 'raw');

-- the treasurer's "unmatched payments" queue.
create index mpesa_c2b_receipts_unbooked
    on mpesa_c2b_receipts (received_at) where journal_entry_id is null;

-- b2c payouts: exactly one per approved disbursement request.
create table mpesa_b2c_payouts (
    id                         uuid primary key default gen_random_uuid(),
    chama_id                   uuid not null references chamas (id),
    disbursement_id            uuid not null,
    -- our id sent to daraja; daraja refuses a reused one, so a retried
    -- request can never pay twice (protocols.md §3.6).
    originator_conversation_id text not null,
    -- daraja's id, known after the sync response.
    conversation_id            text null,
    amount                     bigint not null,
    phone                      text not null,
    -- queued (row written, not sent), submitted (daraja accepted), then
    -- succeeded | failed, or timeout (unknown: reconcile before anything else).
    status                     text not null default 'queued',
    result_code                text null,
    result_desc                text null,
    transaction_receipt        text null,
    -- posting when sent (dr 1030 in transit / cr 1000).
    journal_entry_id           uuid null,
    -- posting when the result arrives (e.g. dr 1100 loan / cr 1030).
    result_journal_entry_id    uuid null,
    created_at                 timestamptz not null default now(),
    updated_at                 timestamptz not null default now(),

    -- one payout per disbursement request: never twice.
    constraint mpesa_b2c_payouts_disbursement_id_key unique (disbursement_id),
    constraint mpesa_b2c_payouts_disbursement_fkey
        foreign key (chama_id, disbursement_id) references disbursement_requests (chama_id, id),
    constraint mpesa_b2c_payouts_originator_conversation_id_key unique (originator_conversation_id),
    constraint mpesa_b2c_payouts_conversation_id_key unique (conversation_id),
    constraint mpesa_b2c_payouts_transaction_receipt_key unique (transaction_receipt),
    constraint mpesa_b2c_payouts_journal_entry_fkey
        foreign key (chama_id, journal_entry_id) references journal_entries (chama_id, id),
    constraint mpesa_b2c_payouts_result_journal_entry_fkey
        foreign key (chama_id, result_journal_entry_id) references journal_entries (chama_id, id),
    constraint mpesa_b2c_payouts_amount_positive check (amount > 0),
    constraint mpesa_b2c_payouts_phone_e164 check (is_e164(phone)),
    constraint mpesa_b2c_payouts_status_known check (status in
        ('queued', 'submitted', 'succeeded', 'failed', 'timeout')),
    constraint mpesa_b2c_payouts_occ_id_length
        check (length(originator_conversation_id) between 1 and 128),
    constraint mpesa_b2c_payouts_receipt_format
        check (transaction_receipt is null or is_mpesa_receipt(transaction_receipt)),
    constraint mpesa_b2c_payouts_receipt_only_on_success
        check (transaction_receipt is null or status = 'succeeded')
);
select manage_updated_at('mpesa_b2c_payouts');
comment on table mpesa_b2c_payouts is
    'b2c payouts, one per approved disbursement request, keyed by OriginatorConversationID';

create trigger mpesa_b2c_payouts_terms_immutable before update on mpesa_b2c_payouts
    for each row execute function forbid_column_change(
        'chama_id', 'disbursement_id', 'originator_conversation_id', 'amount', 'phone');

-- money leaves only for an approved request, and exactly as approved.
create function mpesa_b2c_payouts_guard()
returns trigger
language plpgsql
as $$
declare
    _req disbursement_requests%rowtype;
begin
    -- callers lock the request first (`select ... for update`), as for
    -- approvals; the unique disbursement_id stops a concurrent second payout.
    select * into _req from disbursement_requests
     where id = new.disbursement_id and chama_id = new.chama_id;
    if not found then
        return new;  -- the foreign key reports it (23503)
    end if;
    if _req.status <> 'approved' then
        raise exception 'disbursement request % is %, not approved: no payout', _req.id, _req.status
            using errcode = 'PC017', constraint = 'mpesa_b2c_payouts_approved_request';
    end if;
    if new.amount <> _req.amount or new.phone <> _req.payee_phone then
        raise exception 'payout for disbursement request % differs from what was approved (amount %/% phone %/%)',
                _req.id, new.amount, _req.amount, new.phone, _req.payee_phone
            using errcode = 'PC017', constraint = 'mpesa_b2c_payouts_approved_request';
    end if;
    return new;
end;
$$;
create trigger mpesa_b2c_payouts_guard before insert on mpesa_b2c_payouts
    for each row execute function mpesa_b2c_payouts_guard();

-- the reconciliation sweeper: payouts without a final result.
create index mpesa_b2c_payouts_unsettled
    on mpesa_b2c_payouts (updated_at) where status in ('queued', 'submitted', 'timeout');
