# SMS words, English: security alerts about a member's PIN. Only basic GSM-7
# characters, and each message fits one 160-character SMS (the unit tests in
# src/user/pin/alert.rs check both, with the longest variables).
# $until is a date and time in East Africa Time, e.g. 01/12 14:05.

sms-pin-set = PesaChama: your PIN has been set. Never tell anyone your PIN. If this was not you, tell your chama official at once.
sms-pin-change = PesaChama: your PIN was changed. If this was not you, tell your chama official at once.
sms-pin-lock = PesaChama: your PIN is locked until { $until } after 3 wrong attempts. If this was not you, someone may be guessing it: tell your chama official.
sms-pin-unlock = PesaChama: your PIN was unlocked by PesaChama support. If you did not ask for this, tell your chama official at once.
