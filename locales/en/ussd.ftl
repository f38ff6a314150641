# USSD words, English. Only basic GSM-7 characters: one other character
# turns a whole screen into UCS-2 and cuts it from 182 to 80 characters.

## Used by the engine on every screen

nav-back = Back
nav-home = Home
nav-next = More
nav-prev = Prev
confirm-yes = Yes
confirm-no = No
invalid-choice = Invalid choice. Try again.
too-many-attempts = Too many wrong attempts. Please dial again later.
service-unavailable = Sorry, the service is unavailable right now. Please try again later.
list-empty = Nothing to show.

## Used by the USSD layer around the menus

rate-limited = Too many requests. Please wait a minute and dial again.
invalid-phone = Sorry, this phone number cannot use PesaChama.
session-other-phone = This session belongs to another phone. Please dial again.
resume-offer =
    Your last session was cut off.
    1 Continue where you left off
    2 Start again

## First dial

not-member = This phone is not registered with any chama on PesaChama. Ask an official of your chama to add you, then dial again.
choose-language = Select language / Chagua lugha
lang-en = English
lang-sw = Kiswahili
set-pin = Set a 4-digit PIN to protect your account:
confirm-pin = Enter the same PIN again to confirm:
pin-format = A PIN is 4 digits.
pin-mismatch = The PINs did not match. Start again.
choose-chama = Select chama:
pin-weak-repeated = A PIN of one digit is easy to guess. Choose another.
pin-weak-run = Digits in a row, like 1234, are easy to guess. Choose another PIN.
pin-weak-common = That PIN is one of the most common. Choose another.
pin-weak-phone = Do not use the end of your phone number. Choose another PIN.
pin-weak-same = The new PIN must differ from your current PIN.

## PIN checks

enter-pin = Enter your PIN:
change-pin-old = Enter your current PIN:
pin-wrong = Wrong PIN. Attempts left: { $attempts_left }.
pin-locked = Your PIN is locked after too many wrong attempts. Try again later or ask an official.

## Main menu

main-title = PesaChama
main-balance = Balance
main-contribute = Contribute
main-loans = Loans
main-statement = Mini-statement
main-account = My account
main-officials = Officials
balance =
    { $chama_name }
    Savings { $savings }
    Shares { $shares }
    Loan { $loan }
    Fines { $fines }
    Chama total { $chama_total }
coming-soon = This service is coming soon.
statement-title = Mini-statement:
statement-empty = No transactions yet.
statement-line = { $date } { $kind ->
        [savings] Savings
        [shares] Shares
        [loan] Loan
        [fine] Fine
       *[other] Other
    } { $amount }
officials = Officials' services (approvals, payouts, fines) are coming soon.

## My account

account-title = My account
account-change-pin = Change PIN
account-language = Language
account-switch-chama = Switch chama
account-help = Help
help = PesaChama: dial this code to see your balance and mini-statement. For help, ask your chama officials. Never tell anyone your PIN.
