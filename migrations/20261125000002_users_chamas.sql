-- people, groups and who belongs to which group.

-- one row per person, keyed by phone: on a feature phone the msisdn is the
-- only identity a member brings with them (the ussd/sms channel gives us
-- nothing else).
create table users (
    id                  uuid primary key default gen_random_uuid(),
    phone               text not null,
    name                text not null,
    language            text not null default 'en',
    -- pin: argon2/pbkdf2 output and its salt. both null (no pin set yet) or
    -- both set; a hash without its salt can never be verified.
    pin_hash            bytea null,
    pin_salt            bytea null,
    pin_failed_attempts int not null default 0,
    pin_locked_until    timestamptz null,
    -- how many times the pin has been locked; the lock period grows with it
    -- so guessing a 4-digit pin over many sessions stays impractical.
    pin_lock_count      int not null default 0,
    kyc_status          text not null default 'unverified',
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),

    -- one person per phone number; the ussd callback looks users up by phone.
    constraint users_phone_key unique (phone),
    constraint users_phone_e164 check (is_e164(phone)),
    -- names are shown on 182-character ussd screens and in sms receipts.
    constraint users_name_length check (length(btrim(name)) between 1 and 100),
    -- the two languages we ship (locales/en, locales/sw).
    constraint users_language_known check (language in ('en', 'sw')),
    constraint users_pin_hash_and_salt check ((pin_hash is null) = (pin_salt is null)),
    constraint users_pin_failed_attempts_nonneg check (pin_failed_attempts >= 0),
    constraint users_pin_lock_count_nonneg check (pin_lock_count >= 0),
    constraint users_kyc_status_known
        check (kyc_status in ('unverified', 'pending', 'verified', 'rejected'))
);
select manage_updated_at('users');
comment on table users is
    'one row per person (phone = identity); memberships live in chama_members';

-- a chama is its own set of books (see ledger_accounts): nothing about money
-- is shared between chamas.
create table chamas (
    id                    uuid primary key default gen_random_uuid(),
    -- short code members type into ussd and use as the m-pesa account
    -- reference; daraja allows at most 12 alphanumeric characters there.
    code                  text not null,
    name                  text not null,
    -- whole kes per period; 0 = not set yet.
    contribution_amount   bigint not null default 0,
    contribution_schedule text not null default 'monthly',
    -- how many distinct officers (chair/treasurer/secretary, never the
    -- initiator) must approve a disbursement. 3 is every officer.
    approval_quorum       int not null default 2,
    -- constitution knobs that don't deserve a column yet (fines, veto rule...).
    settings              jsonb not null default '{}',
    created_at            timestamptz not null default now(),
    updated_at            timestamptz not null default now(),

    constraint chamas_code_key unique (code),
    constraint chamas_code_format check (code ~ '^[A-Z0-9]{3,12}$'),
    constraint chamas_name_length check (length(btrim(name)) between 1 and 100),
    constraint chamas_contribution_amount_nonneg check (contribution_amount >= 0),
    constraint chamas_contribution_schedule_known
        check (contribution_schedule in ('weekly', 'fortnightly', 'monthly')),
    constraint chamas_approval_quorum_range check (approval_quorum between 1 and 3),
    -- settings is read as a map; an array or scalar would be a bug.
    constraint chamas_settings_object check (jsonb_typeof(settings) = 'object')
);
select manage_updated_at('chamas');
comment on table chamas is
    'a savings group; each chama keeps its own double-entry books';

-- membership: the link every member-scoped table points at through
-- (chama_id, user_id), so a row can never name a member of another chama.
create table chama_members (
    chama_id  uuid not null references chamas (id),
    user_id   uuid not null references users (id),
    role      text not null default 'member',
    -- exited members stay (their history and ledger lines refer to them).
    status    text not null default 'active',
    -- the number on the chama's register (cgra 2022 s.28); shown on ussd
    -- statements and used in paybill account references.
    member_no int not null,
    joined_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),

    -- one membership per person and chama; a re-joining member is
    -- reactivated, not duplicated.
    constraint chama_members_pkey primary key (chama_id, user_id),
    constraint chama_members_member_no_key unique (chama_id, member_no),
    constraint chama_members_member_no_positive check (member_no > 0),
    constraint chama_members_role_known
        check (role in ('member', 'chairperson', 'treasurer', 'secretary')),
    constraint chama_members_status_known check (status in ('active', 'suspended', 'exited'))
);
select manage_updated_at('chama_members');
comment on table chama_members is
    'membership of a user in a chama: role, status, register number';

-- at most one active chairperson, treasurer and secretary per chama: the
-- approval rule counts officers by role, and two active treasurers would let
-- one faction satisfy a quorum alone. to hand over an office, demote or exit
-- the old holder first (same transaction is fine).
create unique index chama_members_one_active_officer
    on chama_members (chama_id, role)
    where status = 'active' and role <> 'member';

-- "which chamas is this phone in" is the first query of every ussd session.
create index chama_members_user_id on chama_members (user_id);
