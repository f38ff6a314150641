-- how each ussd session ended, from africa's talking's session-end event.
-- operators read it for drop-off and failure analysis; the member's raw input
-- is deliberately not stored (it can contain a pin): the last screen we showed
-- says where the member stopped.

create table ussd_session_ends (
    -- africa's talking sessionId; one event per session, a replayed event is
    -- ignored (primary key + `on conflict do nothing`).
    session_id   text primary key,
    service_code text not null,
    -- the caller when we knew them; no phone number in clear here.
    user_id      uuid null references users (id),
    -- success (reached an end screen), incomplete (dropped or timed out on a
    -- con screen), failed (africa's talking saw an error from us).
    status       text not null,
    duration_ms  bigint null,
    hops         int null,
    -- id of the last screen we showed, from our own session record.
    last_screen  text null,
    error_message text null,
    -- whether a redial within the resume window is offered to continue.
    resumable    boolean not null default false,
    received_at  timestamptz not null default now(),

    constraint ussd_session_ends_session_id_length check (length(session_id) between 1 and 128),
    constraint ussd_session_ends_status_known check (status in ('success', 'incomplete', 'failed')),
    constraint ussd_session_ends_duration_nonneg check (duration_ms is null or duration_ms >= 0),
    constraint ussd_session_ends_hops_nonneg check (hops is null or hops >= 0),
    constraint ussd_session_ends_error_length check (error_message is null or length(error_message) <= 500)
);
comment on table ussd_session_ends is
    'one row per finished ussd session: status, duration, hops, last screen';

-- drop-off reports group recent sessions by status and last screen.
create index ussd_session_ends_received_at on ussd_session_ends (received_at);
