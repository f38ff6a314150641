-- meetings and who attended: the minutes-and-attendance record that share-out
-- resolutions, fines for absence and bank mandates rest on.

create table meetings (
    id           uuid primary key default gen_random_uuid(),
    chama_id     uuid not null references chamas (id),
    scheduled_at timestamptz not null,
    location     text null,
    agenda       text null,
    status       text not null default 'scheduled',
    -- minutes as taken by the secretary; optional.
    minutes      text null,
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now(),

    -- target of the composite key from attendance.
    constraint meetings_chama_id_id_key unique (chama_id, id),
    constraint meetings_status_known check (status in ('scheduled', 'held', 'cancelled')),
    -- location and agenda go out in reminder sms (918-char cap).
    constraint meetings_location_length check (location is null or length(location) <= 200),
    constraint meetings_agenda_length check (agenda is null or length(agenda) <= 2000)
);
select manage_updated_at('meetings');
comment on table meetings is 'chama meetings (scheduled, held or cancelled)';

-- "next meeting" on ussd and the reminder job.
create index meetings_chama_scheduled on meetings (chama_id, scheduled_at);

create table meeting_attendance (
    meeting_id  uuid not null,
    chama_id    uuid not null,
    user_id     uuid not null,
    status      text not null,
    recorded_at timestamptz not null default now(),
    updated_at  timestamptz not null default now(),

    -- one attendance mark per member and meeting (corrections update it).
    constraint meeting_attendance_pkey primary key (meeting_id, user_id),
    -- the meeting and the member are in the same chama.
    constraint meeting_attendance_meeting_fkey
        foreign key (chama_id, meeting_id) references meetings (chama_id, id),
    constraint meeting_attendance_member_fkey
        foreign key (chama_id, user_id) references chama_members (chama_id, user_id),
    constraint meeting_attendance_status_known
        check (status in ('present', 'absent', 'apology', 'late'))
);
select manage_updated_at('meeting_attendance');
comment on table meeting_attendance is 'attendance per member and meeting; drives absence fines';

-- a member's attendance history (statements, fine computation).
create index meeting_attendance_member on meeting_attendance (chama_id, user_id);
