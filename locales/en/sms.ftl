# SMS texts, English. Every message is a template of `pesachama sms check`:
# the comment line right above it declares its kind, its maximum segments and
# the longest value of each variable (`@var name=<characters>`); the checker
# renders it at those lengths and refuses it over budget or outside GSM-7.
# Amounts are formatted by the caller (`KES 1,000`), dates as 05/12/2026,
# times as 14:05 (East Africa Time).

## Security alerts about a member's PIN ($until: 01/12 14:05).

# @kind alert @segments 1
sms-pin-set = PesaChama: your PIN has been set. Never tell anyone your PIN. If this was not you, tell your chama official at once.
# @kind alert @segments 1
sms-pin-change = PesaChama: your PIN was changed. If this was not you, tell your chama official at once.
# @kind alert @segments 1 @var until=11
sms-pin-lock = PesaChama: your PIN is locked until { $until } after 3 wrong attempts. If this was not you, someone may be guessing it: tell your chama official.
# @kind alert @segments 1
sms-pin-unlock = PesaChama: your PIN was unlocked by PesaChama support. If you did not ask for this, tell your chama official at once.

## Money. $receipt is the M-Pesa receipt code; $reason says why a payment
## failed (insufficient, cancelled, unreachable, wrong-pin, other: see
## src/mpesa/settle/reason.rs), worded here in the member's language.

# A contribution booked from M-Pesa.
# @kind receipt @segments 1 @var chama=30 @var amount=15 @var receipt=10 @var balance=15
sms-receipt = PesaChama: { $chama } received your contribution of { $amount }, M-Pesa { $receipt }. Your balance is now { $balance }. Thank you!
# A contribution booked on Daraja's word (a query) before its receipt
# number is known.
# @kind receipt @segments 1 @var chama=30 @var amount=15 @var balance=15
sms-receipt-unnumbered = PesaChama: { $chama } received your contribution of { $amount }. Your balance is now { $balance }. Thank you!
# A payment the member started that did not go through. A receipt, not a
# notice: it answers the member's own action, so STOP does not silence it.
# @kind receipt @segments 1 @var amount=15 @var chama=30 @var reason=12
sms-payment-failed = PesaChama: your payment of { $amount } to { $chama } did not go through: { $reason ->
        [insufficient] not enough money in your M-Pesa
        [cancelled] the M-Pesa prompt was cancelled
        [unreachable] your phone could not be reached
        [wrong-pin] the M-Pesa PIN was wrong
        [refused] M-Pesa refused the request
        [busy] M-Pesa was busy
       *[other] M-Pesa could not complete it
    }. Please try again.
# To each official whose approval a disbursement waits for; $ussd is the
# code to dial (*384*123#).
# @kind notice @segments 1 @var chama=20 @var name=20 @var amount=15 @var purpose=20 @var ussd=12
sms-approval-needed = PesaChama { $chama }: { $name } requests { $amount } for { $purpose }. To approve or reject, dial { $ussd }, Approvals.
# To the requester once the officials decided; $decision is approved or rejected.
# @kind notice @segments 1 @var chama=20 @var amount=15 @var purpose=20 @var decision=8
sms-approval-decided = PesaChama { $chama }: your request for { $amount } for { $purpose } was { $decision ->
        [approved] approved. The money is on its way.
       *[rejected] rejected by the officials.
    }
# A disbursement that M-Pesa confirmed.
# @kind receipt @segments 1 @var chama=30 @var amount=15 @var receipt=10
sms-payout-sent = PesaChama: { $chama } sent { $amount } to your M-Pesa. M-Pesa receipt { $receipt }.
# @kind reminder @segments 1 @var chama=30 @var amount=15 @var date=10
sms-loan-due = PesaChama: your { $chama } loan repayment of { $amount } is due on { $date }. Pay through the PesaChama menu.

## Reminders (src/sms/reminders).

# $amount is what is still unpaid for the period.
# @kind reminder @segments 1 @var chama=30 @var amount=15 @var date=10
sms-reminder-contribution = PesaChama reminder: your { $chama } contribution of { $amount } is due on { $date }. Reply STOP to stop reminders.
# A meeting tomorrow; $place is known or unknown (no location set).
# @kind reminder @segments 1 @var chama=25 @var date=10 @var time=5 @var place=7 @var location=30
sms-reminder-meeting = PesaChama reminder: { $chama } meets tomorrow { $date } at { $time }{ $place ->
        [known] , venue: { $location }.
       *[unknown] .
    } Reply STOP to stop reminders.

# Answers to what members text us (sms-reply-*), by the inbound keywords.
# No PIN is asked: each goes only to the registered phone that texted.

# BAL: a member's balances in one chama (one message per chama).
# @kind reply @segments 1 @var chama=30 @var savings=16 @var shares=16 @var loan=16 @var fines=16
sms-reply-balance = PesaChama { $chama }: savings { $savings }, shares { $shares }, loan { $loan }, fines paid { $fines }.
# HELP, and anything we did not understand.
# @kind reply @segments 1
sms-reply-help = PesaChama: text BAL for your balance, STOP to end reminders, START to get them again, HELP for this message.
# STOP: reminders end; receipts and security alerts do not.
# @kind reply @segments 1
sms-reply-stop = PesaChama: you will get no more reminders. Receipts and security alerts will still come. Text START to get reminders again.
# START: reminders again.
# @kind reply @segments 1
sms-reply-start = PesaChama: reminders are on again. Text STOP to end them.
# A phone that is no member of any chama (at most once a day).
# @kind reply @segments 1
sms-reply-nonmember = PesaChama: this number is not registered with any chama. Ask your chama official to add you.
