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

# The caller's language is unknown here: both languages, one screen.
not-member =
    This phone is not in any chama. Ask your chama official to add you, then dial again.
    Simu hii haiko kwenye chama chochote. Wasiliana na kiongozi wa chama akuongeze.
choose-language = Select language / Chagua lugha
lang-en = English
lang-sw = Kiswahili
set-pin = Set a 4-digit PIN to protect your account:
confirm-pin = Enter the same PIN again to confirm:
pin-format = A PIN must be 4 digits.
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
change-pin-new = Enter your new 4-digit PIN:
pin-wrong = Wrong PIN. Attempts left: { $attempts_left }.
pin-locked = Your PIN is locked after too many wrong attempts. Try again after { $lock_wait } { $lock_unit ->
        [minute] minute
        [hour] hour
        [hours] hours
       *[minutes] minutes
    }, or contact an official of your chama.

## Main menu

main-balance = Balance
main-contribute = Pay contribution
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
statement-title = Mini-statement (KES):
statement-empty = No transactions yet.
# One line from the member's side: money in, money out, money owed. No bare
# sign: a member reads "+" as money received, which a loan is not for long.
statement-line = { $date } { $kind ->
        [savings-in] Saved
        [savings-out] Withdrew
        [shares-in] Bought shares
        [shares-out] Shares paid out
        [loan-in] Loan received
        [loan-out] Loan repaid
        [fine-in] Fine paid
        [fine-out] Fine refunded
        [other-in] Other, paid in
       *[other-out] Other, paid out
    } { $amount }{ $kind ->
        [loan-in] {" "}(owed)
       *[other] {""}
    }
officials = Officials' services (approvals, payouts, fines) are coming soon.

## My account

account-title = My account
account-change-pin = Change PIN
account-language = Language
account-switch-chama = Switch chama
account-help = Help
help = PesaChama: dial this code to see your balance and mini-statement. For help, ask your chama officials. Never tell anyone your PIN.

## Contribute (menus/contribute.toml)

# Under the main menu's title while the member's last payment is under way,
# and once after it settled.
main-title = PesaChama{ $payment ->
        [pending]
            {""}
            Your payment of { $payment_amount } is being processed.
        [succeeded]
            {""}
            Your payment of { $payment_amount } was received.
        [failed]
            {""}
            Your payment of { $payment_amount } did not go through.
        [unknown]
            {""}
            Your payment of { $payment_amount } is being checked.
       *[none] {""}
    }
contribute-for = Pay for:
contribute-period = { $due ->
        [unset] This period (not set)
        [none] This period (paid)
       *[other] This period ({ $due })
    }
contribute-savings = Other amount to savings
contribute-fine = Fine
contribute-loan = Loan repayment
contribute-nothing-due = Nothing is due this period.
contribute-enter-amount = Enter amount (KES):
contribute-amount-range = Enter an amount from 1 to 250,000.
contribute-no-loan = You have no loan to repay.
contribute-over-loan = That is more than your loan of { $loan }.
contribute-pay-from = Pay { $amount } from:
contribute-own-phone = This phone
contribute-other-phone = Another phone
contribute-enter-phone = Enter the M-Pesa number that will pay:
contribute-phone-format = Enter a Safaricom number, like 0712345678.
contribute-confirm = Pay { $amount } to { $chama_name } for { $purpose ->
        [period] this period
        [savings] savings
        [fine] a fine
       *[loan] your loan
    } from { $payer ->
        [own] this phone
       *[other] { $payer }
    }?
contribute-started = You will receive an M-Pesa prompt for { $amount }. Enter your M-Pesa PIN to complete.
