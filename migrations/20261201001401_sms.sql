-- sms, end to end: what the dispatcher needs to send each outbox row once
-- (its template and kind, the request that carries it, what africa's talking
-- answered and later reported), the delivery reports as they came, the
-- messages members send us, and who opted out of reminders.

-- outbox states:
--   queued    waiting for a dispatcher (next_attempt_at says when)
--   sending   claimed by a dispatcher; back to queued (or parked) when it
--             stays here longer than the sending timeout (the node died)
--   sent      accepted by AT (messageId and cost kept)
--   delivered AT reported it on the handset (final)
--   failed    refused for good: at send time (invalid number, blacklisted,
--             insufficient balance...) or by a final delivery report
--   dead      retries ran out; an operator may requeue it after a fix
--   parked    the send may or may not have gone out, and this kind must not
--             risk a stale duplicate (an otp): an operator decides
alter table sms_outbox drop constraint sms_outbox_status_known;
alter table sms_outbox add constraint sms_outbox_status_known
    check (status in ('queued', 'sending', 'sent', 'delivered', 'failed', 'dead', 'parked'));

-- the fluent message id it was rendered from; rows older than this column
-- were pin alerts.
alter table sms_outbox add column template text not null default 'sms-pin-alert';
alter table sms_outbox alter column template drop default;
alter table sms_outbox add constraint sms_outbox_template_length
    check (length(template) between 1 and 64);

-- what the message is for, which decides opt-outs and the ambiguous retry:
-- receipt, alert (security), reminder, notice, reply (to an inbound sms), otp.
alter table sms_outbox add column kind text not null default 'alert';
alter table sms_outbox alter column kind drop default;
alter table sms_outbox add constraint sms_outbox_kind_known
    check (kind in ('receipt', 'alert', 'reminder', 'notice', 'reply', 'otp'));

-- sms parts the text costs (gsm-7 153 per part when concatenated, ucs-2 67).
alter table sms_outbox add column segments int not null default 1;
alter table sms_outbox add constraint sms_outbox_segments_range
    check (segments between 1 and 10);

-- the idempotency key of the request that carries this row, set when it is
-- claimed: a row whose node died mid-send is sent again under the same key,
-- so a provider that honours `Idempotency-Key` answers without sending twice.
alter table sms_outbox add column batch_key text null;
alter table sms_outbox add column claimed_at timestamptz null;
-- what at charged, as it writes it ("KES 0.8000").
alter table sms_outbox add column cost text null;
-- at's latest delivery status (Sent, Submitted, Buffered, Success, Failed,
-- Rejected, AbsentSubscriber, Expired) and its failureReason or ours.
alter table sms_outbox add column delivery_status text null;
alter table sms_outbox add column failure_reason text null;

-- rows a dead node left in `sending` are found by when they were claimed
-- (the old index was on updated_at, which every write moves).
drop index sms_outbox_sending;
create index sms_outbox_sending on sms_outbox (claimed_at) where status = 'sending';
-- operators list dead and parked letters; the partial index keeps the hot
-- queue's index small.
create index sms_outbox_attention on sms_outbox (status, updated_at)
    where status in ('dead', 'parked');

grant update (template, kind, segments, batch_key, claimed_at, cost, delivery_status,
    failure_reason) on sms_outbox to pesachama_runtime;

-- every delivery report as at posted it, for support ("did my sms arrive?")
-- and for counting; the outbox row keeps only the most final state.
create table sms_delivery_reports (
    id                  bigserial primary key,
    provider_message_id text not null,
    status              text not null,
    failure_reason      text null,
    network_code        text null,
    -- whether a row of ours had that messageId.
    matched             boolean not null,
    received_at         timestamptz not null default now(),
    constraint sms_delivery_reports_id_length check (length(provider_message_id) between 1 and 100),
    constraint sms_delivery_reports_status_length check (length(status) between 1 and 40),
    constraint sms_delivery_reports_reason_length check (length(failure_reason) <= 100)
);
create index sms_delivery_reports_message on sms_delivery_reports (provider_message_id);
select make_append_only('sms_delivery_reports');
grant select, insert on sms_delivery_reports to pesachama_runtime;
grant usage on sequence sms_delivery_reports_id_seq to pesachama_runtime;

-- messages members (and strangers) text us. at retries a callback it thinks
-- failed: the unique provider id makes the second one a no-op, and the reply
-- is queued in the same transaction as the row, so it goes out once.
create table sms_inbound (
    id           uuid primary key default gen_random_uuid(),
    -- at's `id` for the message.
    provider_id  text not null,
    phone        text not null,
    -- our shortcode or number it was sent to.
    to_code      text not null,
    text         text not null,
    link_id      text null,
    network_code text null,
    -- at's `date`, when it gave one we could read.
    sent_at      timestamptz null,
    -- the member it came from, when the phone is one.
    user_id      uuid null references users (id),
    -- what we understood: balance, help, stop, start, unknown.
    keyword      text not null,
    received_at  timestamptz not null default now(),
    -- when an official marked it read.
    read_at      timestamptz null,
    constraint sms_inbound_provider_id_key unique (provider_id),
    constraint sms_inbound_provider_id_length check (length(provider_id) between 1 and 100),
    constraint sms_inbound_phone_e164 check (is_e164(phone)),
    constraint sms_inbound_to_length check (length(to_code) between 1 and 20),
    constraint sms_inbound_text_length check (length(text) <= 1600),
    constraint sms_inbound_keyword_known
        check (keyword in ('balance', 'help', 'stop', 'start', 'unknown'))
);
create index sms_inbound_user on sms_inbound (user_id, received_at) where user_id is not null;
grant select, insert on sms_inbound to pesachama_runtime;
grant update (read_at) on sms_inbound to pesachama_runtime;

-- stop/acha: no reminders or marketing from then on (receipts and security
-- alerts still go: they are the member's record and alarm). start/anza
-- clears it.
alter table users add column sms_opt_out_at timestamptz null;
comment on column users.sms_opt_out_at is
    'when the member texted stop (acha); null: reminders are sent';
grant update (sms_opt_out_at) on users to pesachama_runtime;
