-- the dispatcher writes each outbox row twice (claimed, then its outcome), a
-- thousand rows a statement when a bulk text goes out, and at bulk rates
-- postgresql's work per row is what bounds the dispatcher. two things it did
-- for nothing:
--
-- the row trigger that kept updated_at ran for every row of every update;
-- the statements that update sms_outbox set updated_at themselves instead
-- (the test of each checks that it moved).
drop trigger set_updated_at on sms_outbox;
grant update (updated_at) on sms_outbox to pesachama_runtime;

-- a unique constraint indexes nulls too, so every claimed row (no messageId
-- yet) added an entry to this index. a partial unique index keeps the same
-- rule for real ids, and delivery reports still find a row by it
-- (`provider_message_id = $1` implies not null).
alter table sms_outbox drop constraint sms_outbox_provider_message_id_key;
create unique index sms_outbox_provider_message_id_key on sms_outbox (provider_message_id)
    where provider_message_id is not null;
