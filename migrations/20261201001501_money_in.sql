-- money in: an stk push is an intent recorded by the member's confirm hop,
-- pushed later by a worker, settled once by daraja's callback or by a query,
-- and booked in the same transaction as its receipt, audit row, sms and app
-- event. every callback is kept as it came, matched or not. paybill (c2b)
-- receipts that name no member wait in suspense until an official allocates
-- them.

-- stk request states:
--   queued     recorded by the confirm hop; no push sent yet (a worker claims
--              it with for update skip locked; next_push_at says when)
--   pending    daraja accepted the push (checkout_request_id known), or the
--              push got no answer and may have gone out; waiting for the
--              callback, or for the reconciliation query (next_query_at)
--   succeeded  paid and booked once (mpesa_receipt, journal_entry_id)
--   failed     refused by daraja before a prompt, or the payer did not pay
--              (result_code/result_desc say why: 1032 cancelled, 1037 no
--              answer from the phone, 2001 wrong pin, 1 insufficient funds)
--   cancelled, timeout: kept for rows written before this migration
--   unknown    neither callback nor query settled it by the deadline; listed
--              for an official, who checks the m-pesa statement
alter table mpesa_stk_requests drop constraint mpesa_stk_requests_status_known;
alter table mpesa_stk_requests add constraint mpesa_stk_requests_status_known check (status in
    ('queued', 'pending', 'succeeded', 'failed', 'cancelled', 'timeout', 'unknown'));

-- the confirm hop's idempotency key: a repeated, concurrent or replayed
-- confirm finds it taken and records no second intent.
alter table mpesa_stk_requests add column idempotency_key text null;
alter table mpesa_stk_requests add constraint mpesa_stk_requests_idempotency_key_key
    unique (idempotency_key);
alter table mpesa_stk_requests add constraint mpesa_stk_requests_idempotency_key_length
    check (length(idempotency_key) between 1 and 300);

-- the push worker's bookkeeping: when the row may be claimed, by which
-- claim, how many pushes were tried (a push with no answer is never repeated
-- blindly: the row goes to pending and is queried).
alter table mpesa_stk_requests add column next_push_at timestamptz null;
alter table mpesa_stk_requests add column claimed_at timestamptz null;
alter table mpesa_stk_requests add column push_attempts int not null default 0;
alter table mpesa_stk_requests add constraint mpesa_stk_requests_push_attempts_nonneg
    check (push_attempts >= 0);
alter table mpesa_stk_requests add column pushed_at timestamptz null;

-- how it ended: when, and whether the callback or a query said so.
alter table mpesa_stk_requests add column settled_at timestamptz null;
alter table mpesa_stk_requests add column settled_by text null;
alter table mpesa_stk_requests add constraint mpesa_stk_requests_settled_by_known
    check (settled_by is null or settled_by in ('callback', 'query', 'deadline', 'push'));

-- a callback whose amount or phone differs from the request is booked as
-- received and flagged here for an official ('amount 900 != 1000'); never
-- silently trusted or dropped.
alter table mpesa_stk_requests add column flag text null;
alter table mpesa_stk_requests add constraint mpesa_stk_requests_flag_length
    check (length(flag) between 1 and 200);
-- what daraja said it received, when that differs from what was asked.
alter table mpesa_stk_requests add column paid_amount bigint null;
alter table mpesa_stk_requests add column paid_phone text null;
alter table mpesa_stk_requests add constraint mpesa_stk_requests_paid_amount_positive
    check (paid_amount is null or paid_amount > 0);

-- the member saw the outcome on a later ussd session (shown once).
alter table mpesa_stk_requests add column outcome_seen_at timestamptz null;

grant update (status, idempotency_key, next_push_at, claimed_at, push_attempts, pushed_at,
    settled_at, settled_by, flag, paid_amount, paid_phone, outcome_seen_at)
    on mpesa_stk_requests to pesachama_runtime;

-- the push worker's claim.
create index mpesa_stk_requests_queued
    on mpesa_stk_requests (next_push_at) where status = 'queued';
-- the main menu's "your payment is being processed" and "your payment of
-- ... succeeded" (once): a member's recent requests.
create index mpesa_stk_requests_member_recent
    on mpesa_stk_requests (user_id, created_at desc);
-- officials' list of requests to look at.
create index mpesa_stk_requests_attention
    on mpesa_stk_requests (chama_id, updated_at) where status = 'unknown' or flag is not null;

-- every stk callback as daraja posted it, matched to a request or not, for
-- inspection and support. append-only.
create table mpesa_stk_callbacks (
    id                  bigserial primary key,
    checkout_request_id text null,
    result_code         text null,
    -- whether a request of ours had that CheckoutRequestID.
    matched             boolean not null,
    -- what the gateway did with it: booked, failed, duplicate, unknown, malformed.
    outcome             text not null,
    raw                 jsonb not null,
    received_at         timestamptz not null default now(),
    constraint mpesa_stk_callbacks_checkout_length
        check (length(checkout_request_id) between 1 and 100),
    constraint mpesa_stk_callbacks_result_code_length check (length(result_code) <= 20),
    constraint mpesa_stk_callbacks_outcome_known
        check (outcome in ('booked', 'failed', 'duplicate', 'unknown', 'malformed'))
);
select make_append_only('mpesa_stk_callbacks');
create index mpesa_stk_callbacks_checkout on mpesa_stk_callbacks (checkout_request_id);
grant select, insert on mpesa_stk_callbacks to pesachama_runtime;
grant usage on sequence mpesa_stk_callbacks_id_seq to pesachama_runtime;

-- the app's event stream: rows written in the transaction of the change they
-- report, published by a worker (claimed with for update skip locked), once
-- per dedupe key.
create table app_events (
    id           bigserial primary key,
    chama_id     uuid not null references chamas (id),
    -- the member the event is for; null for chama-wide events.
    user_id      uuid null,
    -- 'contribution.received', 'payment.failed', ...
    kind         text not null,
    payload      jsonb not null,
    -- the event it reports, e.g. 'stk:<CheckoutRequestID>'.
    dedupe_key   text not null,
    created_at   timestamptz not null default now(),
    published_at timestamptz null,
    constraint app_events_dedupe_key_key unique (dedupe_key),
    constraint app_events_kind_format check (kind ~ '^[a-z][a-z_.]{0,63}$'),
    constraint app_events_dedupe_key_length check (length(dedupe_key) between 1 and 200),
    constraint app_events_member_fkey
        foreign key (chama_id, user_id) references chama_members (chama_id, user_id)
);
create index app_events_unpublished on app_events (id) where published_at is null;
create index app_events_member on app_events (chama_id, user_id, id);
grant select, insert on app_events to pesachama_runtime;
grant update (published_at) on app_events to pesachama_runtime;
grant usage on sequence app_events_id_seq to pesachama_runtime;

-- paybill: what the payer typed, how the receipt was matched, and who
-- allocated it from suspense (audited as well).
alter table mpesa_c2b_receipts add column match_method text null;
alter table mpesa_c2b_receipts add constraint mpesa_c2b_receipts_match_method_known
    check (match_method is null or match_method in
        ('member_number', 'phone', 'chama_only', 'allocated', 'none'));
alter table mpesa_c2b_receipts add column allocated_by uuid null references users (id);
grant update (match_method, allocated_by) on mpesa_c2b_receipts to pesachama_runtime;
