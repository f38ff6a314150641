-- sms outbox: every sms is first a row here, written in the same transaction
-- as the event it reports (a payment, an approval request), then sent by the
-- dispatcher. a crash between "booked" and "sent" loses nothing.

create table sms_outbox (
    id                  uuid primary key default gen_random_uuid(),
    -- for per-chama reporting and later row-level security; null for
    -- messages about no chama (e.g. pin reset).
    chama_id            uuid null references chamas (id),
    user_id             uuid null references users (id),
    -- recipient, e.164 (africa's talking wants '+254...').
    phone               text not null,
    message             text not null,
    -- the event this message is for, e.g. 'stk-receipt:<CheckoutRequestID>'.
    -- unique, so a replayed callback can't queue the same receipt sms twice.
    dedupe_key          text not null,
    status              text not null default 'queued',
    attempts            int not null default 0,
    -- when the dispatcher may (re)try; pushed back on failure (backoff).
    next_attempt_at     timestamptz not null default now(),
    -- africa's talking messageId; delivery reports find the row by it.
    provider_message_id text null,
    last_error          text null,
    sent_at             timestamptz null,
    delivered_at        timestamptz null,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),

    constraint sms_outbox_dedupe_key_key unique (dedupe_key),
    constraint sms_outbox_provider_message_id_key unique (provider_message_id),
    constraint sms_outbox_phone_e164 check (is_e164(phone)),
    -- 918 = 6 concatenated gsm-7 parts of 153 characters; longer is a bug
    -- (and expensive).
    constraint sms_outbox_message_length check (length(message) between 1 and 918),
    constraint sms_outbox_dedupe_key_length check (length(dedupe_key) between 1 and 200),
    constraint sms_outbox_status_known
        check (status in ('queued', 'sending', 'sent', 'failed', 'delivered')),
    constraint sms_outbox_attempts_nonneg check (attempts >= 0)
);
select manage_updated_at('sms_outbox');
comment on table sms_outbox is
    'transactional sms outbox; claimed with for update skip locked by the dispatcher';

-- the dispatcher's claim: `select ... where status = 'queued' and
-- next_attempt_at <= now() order by next_attempt_at for update skip locked
-- limit n`. partial, so sent history doesn't slow the hot path.
create index sms_outbox_queued on sms_outbox (next_attempt_at) where status = 'queued';
-- rows stuck in 'sending' (a node died mid-send) are found by age and requeued.
create index sms_outbox_sending on sms_outbox (updated_at) where status = 'sending';
