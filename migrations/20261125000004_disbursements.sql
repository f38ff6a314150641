-- money out: requests and officer approvals (chama-domain.md §2.5 item 9).
--
-- the rule the database holds: an outflow exists only for a request in state
-- 'approved'; a request becomes 'approved' only with enough 'approve'
-- decisions from distinct active officers, none of them the initiator, each
-- bound to the request's exact amount/payee/purpose through request_hash,
-- made before the request expired. the b2c payout table (next migration)
-- accepts a row only for an approved request, once.

create table disbursement_requests (
    id            uuid primary key default gen_random_uuid(),
    chama_id      uuid not null references chamas (id),
    kind          text not null,
    amount        bigint not null,
    -- the member being paid; null only for expenses paid to a non-member
    -- (a supplier, a venue).
    payee_user_id uuid null,
    -- where the money goes (b2c PartyB). stored even for members, because
    -- the approval is for this number, not "whatever the member's phone is
    -- at payout time".
    payee_phone   text not null,
    reason        text not null,
    initiated_by  uuid not null,
    status        text not null default 'pending',
    -- hex digest over (chama, kind, amount, payee, payee_phone, reason,
    -- expires_at) computed by the rust code. approvals copy it; an approval
    -- for other terms than the request's can't be recorded.
    request_hash  text not null,
    expires_at    timestamptz not null,
    -- when it left 'pending' (approved, rejected or expired).
    decided_at    timestamptz null,
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now(),

    -- target of composite keys from approvals and payouts.
    constraint disbursement_requests_chama_id_id_key unique (chama_id, id),
    constraint disbursement_requests_payee_fkey
        foreign key (chama_id, payee_user_id) references chama_members (chama_id, user_id),
    -- only a member of this chama can ask for its money.
    constraint disbursement_requests_initiator_fkey
        foreign key (chama_id, initiated_by) references chama_members (chama_id, user_id),
    constraint disbursement_requests_kind_known check (kind in
        ('loan', 'merry_go_round', 'expense', 'welfare', 'share_out', 'withdrawal')),
    constraint disbursement_requests_payee_member
        check (kind = 'expense' or payee_user_id is not null),
    constraint disbursement_requests_amount_positive check (amount > 0),
    constraint disbursement_requests_payee_phone_e164 check (is_e164(payee_phone)),
    constraint disbursement_requests_reason_length check (length(btrim(reason)) between 1 and 200),
    constraint disbursement_requests_status_known check (status in
        ('pending', 'approved', 'rejected', 'expired', 'paid', 'failed')),
    constraint disbursement_requests_request_hash_hex check (request_hash ~ '^[0-9a-f]{32,128}$'),
    constraint disbursement_requests_expiry_after_creation check (expires_at > created_at)
);
select manage_updated_at('disbursement_requests');
comment on table disbursement_requests is
    'a proposed outflow awaiting officer approval; amount, payee and purpose are fixed once created';

-- the officers' "awaiting my approval" screen and the expiry sweeper.
create index disbursement_requests_pending
    on disbursement_requests (chama_id, expires_at) where status = 'pending';

-- what was asked and approved can't change afterwards: change = new request.
create trigger disbursement_requests_terms_immutable before update on disbursement_requests
    for each row execute function forbid_column_change(
        'chama_id', 'kind', 'amount', 'payee_user_id', 'payee_phone', 'reason',
        'initiated_by', 'request_hash', 'expires_at', 'created_at');

-- status machine:
--   pending  -> approved | rejected | expired
--   approved -> paid | failed
-- a request is born 'pending'. 'approved' needs the quorum (see above).
create function disbursement_requests_status_guard()
returns trigger
language plpgsql
as $$
declare
    _quorum    int;
    _approvals int;
begin
    if tg_op = 'INSERT' then
        if new.status <> 'pending' then
            raise exception 'a disbursement request starts as pending, not %', new.status
                using errcode = 'PC015', constraint = 'disbursement_requests_status_transition';
        end if;
        return new;
    end if;

    if new.status = old.status then
        return new;
    end if;
    if not ((old.status = 'pending'  and new.status in ('approved', 'rejected', 'expired'))
         or (old.status = 'approved' and new.status in ('paid', 'failed'))) then
        raise exception 'disbursement request %: % -> % is not allowed', old.id, old.status, new.status
            using errcode = 'PC015', constraint = 'disbursement_requests_status_transition';
    end if;

    if new.status = 'approved' then
        if old.expires_at <= now() then
            raise exception 'disbursement request % expired at %', old.id, old.expires_at
                using errcode = 'PC013', constraint = 'disbursement_requests_open';
        end if;
        select approval_quorum into _quorum from chamas where id = old.chama_id;
        -- distinct officers by the approvals primary key; the initiator and
        -- non-officers can't have rows (approval trigger below).
        select count(*) into _approvals
          from disbursement_approvals a
         where a.disbursement_id = old.id
           and a.decision = 'approve'
           and a.request_hash = old.request_hash;
        if _approvals < _quorum then
            raise exception 'disbursement request % has % approval(s); the chama requires %', old.id, _approvals, _quorum
                using errcode = 'PC016', constraint = 'disbursement_requests_quorum';
        end if;
    end if;
    return new;
end;
$$;

-- one approve/reject decision per officer per request; append-only.
create table disbursement_approvals (
    disbursement_id  uuid not null,
    chama_id         uuid not null,
    approver_user_id uuid not null,
    decision         text not null,
    -- copy of the request's hash as shown to the approver; must match.
    request_hash     text not null,
    decided_at       timestamptz not null default now(),

    -- distinct officers: an officer decides once per request.
    constraint disbursement_approvals_pkey primary key (disbursement_id, approver_user_id),
    constraint disbursement_approvals_request_fkey
        foreign key (chama_id, disbursement_id) references disbursement_requests (chama_id, id),
    -- the approver is a member of the request's chama (officer role checked
    -- by trigger, because a role can change and a foreign key can't say so).
    constraint disbursement_approvals_approver_fkey
        foreign key (chama_id, approver_user_id) references chama_members (chama_id, user_id),
    constraint disbursement_approvals_decision_known check (decision in ('approve', 'reject'))
);
comment on table disbursement_approvals is
    'append-only officer decisions on disbursement requests';

create function disbursement_approvals_guard()
returns trigger
language plpgsql
as $$
declare
    _req  disbursement_requests%rowtype;
    _role text;
    _mstatus text;
begin
    -- no row lock here on purpose: two officers approving at once would each
    -- hold a share lock and deadlock when one then marks the request
    -- approved. callers serialise with `select ... from disbursement_requests
    -- where id = $1 for update` before deciding; without that, a race can
    -- only make the quorum check see fewer approvals (the safe direction).
    select * into _req from disbursement_requests
     where id = new.disbursement_id and chama_id = new.chama_id;
    if not found then
        return new;  -- the foreign key reports it (23503)
    end if;

    if new.approver_user_id = _req.initiated_by then
        raise exception 'the initiator of disbursement request % cannot decide on it', _req.id
            using errcode = 'PC010', constraint = 'disbursement_approvals_not_initiator';
    end if;

    select role, status into _role, _mstatus from chama_members
     where chama_id = new.chama_id and user_id = new.approver_user_id;
    if found and (_role not in ('chairperson', 'treasurer', 'secretary') or _mstatus <> 'active') then
        raise exception 'user % is not an active officer of chama %', new.approver_user_id, new.chama_id
            using errcode = 'PC011', constraint = 'disbursement_approvals_officer';
    end if;

    if _req.status <> 'pending' or _req.expires_at <= now() then
        raise exception 'disbursement request % is no longer open (status %, expires %)', _req.id, _req.status, _req.expires_at
            using errcode = 'PC013', constraint = 'disbursement_requests_open';
    end if;

    if new.request_hash <> _req.request_hash then
        raise exception 'approval for disbursement request % names different terms (hash mismatch)', _req.id
            using errcode = 'PC012', constraint = 'disbursement_approvals_request_hash';
    end if;
    return new;
end;
$$;
create trigger disbursement_approvals_guard before insert on disbursement_approvals
    for each row execute function disbursement_approvals_guard();
select make_append_only('disbursement_approvals');

-- created after disbursement_approvals because the function reads it.
create trigger disbursement_requests_status_guard
    before insert or update on disbursement_requests
    for each row execute function disbursement_requests_status_guard();
