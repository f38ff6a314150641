# Why a payment the member started did not go through: the `$reason` of
# `sms-payment-failed` (at most 40 characters), in the member's language.

payment-reason-refused = M-Pesa refused the request
payment-reason-busy = M-Pesa was busy, please try later
