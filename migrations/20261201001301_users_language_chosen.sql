-- when the member chose their language on the ussd menus. `language` has a
-- default, so it cannot tell "chose english" from "never asked"; the first
-- dial asks until this is set. it is set when the choice is made, not with
-- the pin, so a member who hangs up during the pin setup is not asked again.
alter table users add column language_chosen_at timestamptz null;
comment on column users.language_chosen_at is
    'when the member chose their language on ussd; null: the first dial asks';

-- members with a pin went through the language choice before this column.
update users set language_chosen_at = updated_at where pin_hash is not null;

grant update (language_chosen_at) on users to pesachama_runtime;
