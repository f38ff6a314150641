# SMS words, English: security alerts about a member's PIN. Only basic GSM-7
# characters, and each message fits one 160-character SMS (the unit tests in
# src/user/pin/alert.rs check both, with the longest variables).
# $until is a date and time in East Africa Time, e.g. 01/12 14:05.

sms-pin-set = PesaChama: your PIN has been set. Never tell anyone your PIN. If this was not you, tell your chama official at once.
sms-pin-change = PesaChama: your PIN was changed. If this was not you, tell your chama official at once.
sms-pin-lock = PesaChama: your PIN is locked until { $until } after 3 wrong attempts. If this was not you, someone may be guessing it: tell your chama official.
sms-pin-unlock = PesaChama: your PIN was unlocked by PesaChama support. If you did not ask for this, tell your chama official at once.

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
