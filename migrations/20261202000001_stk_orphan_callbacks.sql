-- success callbacks that named no request of ours: the reconciliation
-- worker pairs them with pending requests whose push went out but whose
-- checkoutrequestid was never written (the node died waiting for daraja's
-- answer), by phone and amount. every pass looks at the recent ones only.
create index mpesa_stk_callbacks_unknown_paid
    on mpesa_stk_callbacks (received_at) where outcome = 'unknown' and result_code = '0';

