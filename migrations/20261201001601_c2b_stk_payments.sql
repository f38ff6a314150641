-- paybill confirmations of stk payments. safaricom may confirm an stk
-- payment to the paybill's confirmation url too, and a push whose callback
-- was lost has no receipt to find it by (daraja's query names none).
--
-- a confirmation of a push that a query booked without its receipt takes
-- that push's entry: its receipt is registered with it and nothing is
-- booked; the confirmation row says so with match_method 'stk_query'.
alter table mpesa_c2b_receipts drop constraint mpesa_c2b_receipts_match_method_known;
alter table mpesa_c2b_receipts add constraint mpesa_c2b_receipts_match_method_known
    check (match_method is null or match_method in
        ('member_number', 'phone', 'chama_only', 'allocated', 'none', 'stk_query'));

-- a confirmation booked while such a push is still pending names it: a
-- query that then says the push was paid books nothing, and closes the
-- push as paid by this receipt.
alter table mpesa_c2b_receipts add column stk_request_id uuid null
    references mpesa_stk_requests (id);
create index mpesa_c2b_receipts_stk_request
    on mpesa_c2b_receipts (stk_request_id) where stk_request_id is not null;
grant update (stk_request_id) on mpesa_c2b_receipts to pesachama_runtime;

-- what a confirmation looks through: pushes pending or booked without a
-- receipt, by chama and amount.
create index mpesa_stk_requests_payment_awaited
    on mpesa_stk_requests (chama_id, amount)
    where status = 'pending' or (status = 'succeeded' and mpesa_receipt is null);
