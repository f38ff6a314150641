-- Daraja STK success callbacks, each for a pending request the script
-- seeded: thread t sends CheckoutRequestIDs ws_CO_b_<t>_<k>, k = 1, 2, ...,
-- each `COPIES` times in a row (duplicates, as Safaricom sends them), with a
-- receipt unique to the id. Past `PER_THREAD` ids a thread only asks
-- `/healthz`, so the seeded requests are all there is to book.
local threads = {}
local next_tid = 1

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end

function init(args)
  copies = tonumber(os.getenv("COPIES") or "1")
  per_thread = tonumber(os.getenv("PER_THREAD") or "40000")
  sent = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local k = math.floor(sent / copies) + 1
  if k > per_thread then
    return wrk.format("GET", "/healthz", {}, nil)
  end
  sent = sent + 1
  local body = string.format(
    '{"Body":{"stkCallback":{"MerchantRequestID":"29115-34620561-1",' ..
    '"CheckoutRequestID":"ws_CO_b_%d_%d","ResultCode":0,' ..
    '"ResultDesc":"The service request is processed successfully.",' ..
    '"CallbackMetadata":{"Item":[{"Name":"Amount","Value":100},' ..
    '{"Name":"MpesaReceiptNumber","Value":"R%d%09d"},{"Name":"Balance"},' ..
    '{"Name":"TransactionDate","Value":20261201102115},' ..
    '{"Name":"PhoneNumber","Value":254711000001}]}}}}',
    tid, k, tid, k)
  return wrk.format(nil, nil, nil, body)
end
