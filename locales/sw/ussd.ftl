# Maneno ya USSD, Kiswahili. Herufi za GSM-7 pekee: herufi nyingine moja
# hugeuza skrini nzima kuwa UCS-2 na kuipunguza kutoka herufi 182 hadi 80.

## Used by the engine on every screen

nav-back = Rudi
nav-home = Menyu kuu
nav-next = Mbele
nav-prev = Nyuma
confirm-yes = Ndiyo
confirm-no = Hapana
invalid-choice = Chaguo si sahihi. Jaribu tena.
too-many-attempts = Umekosea mara nyingi mno. Tafadhali piga tena baadaye.
service-unavailable = Samahani, huduma haipatikani kwa sasa. Tafadhali jaribu tena baadaye.
list-empty = Hakuna cha kuonyesha.

## Used by the USSD layer around the menus

rate-limited = Maombi ni mengi mno. Tafadhali subiri dakika moja kisha upige tena.
invalid-phone = Samahani, nambari hii ya simu haiwezi kutumika kwenye PesaChama.
session-other-phone = Kipindi hiki ni cha simu nyingine. Tafadhali piga tena.
resume-offer =
    Huduma yako ya mwisho ilikatika.
    1 Endelea ulipoishia
    2 Anza upya

## First dial

# Lugha ya anayepiga haijulikani hapa: lugha zote mbili, skrini moja.
not-member =
    This phone is not in any chama. Ask your chama official to add you, then dial again.
    Simu hii haiko kwenye chama chochote. Wasiliana na kiongozi wa chama akuongeze.
choose-language = Select language / Chagua lugha
lang-en = English
lang-sw = Kiswahili
set-pin = Weka PIN ya tarakimu 4 kulinda akaunti yako:
confirm-pin = Weka PIN hiyo tena kuthibitisha:
pin-format = PIN lazima iwe tarakimu 4.
pin-mismatch = PIN hazilingani. Anza tena.
choose-chama = Chagua chama:
pin-weak-repeated = PIN ya tarakimu moja ni rahisi kukisia. Chagua nyingine.
pin-weak-run = Tarakimu zinazofuatana, kama 1234, ni rahisi kukisia. Chagua PIN nyingine.
pin-weak-common = PIN hiyo inatumiwa na watu wengi. Chagua nyingine.
pin-weak-phone = Usitumie tarakimu za mwisho za simu yako. Chagua PIN nyingine.
pin-weak-same = PIN mpya lazima iwe tofauti na PIN yako ya sasa.

## PIN checks

enter-pin = Weka PIN yako:
change-pin-old = Weka PIN yako ya sasa:
change-pin-new = Weka PIN mpya ya tarakimu 4:
pin-wrong = PIN si sahihi. Majaribio yaliyobaki: { $attempts_left }.
pin-locked = PIN yako imefungwa baada ya majaribio mengi yasiyo sahihi. Jaribu tena baada ya { $lock_unit ->
        [hour] saa
        [hours] saa
       *[minutes] dakika
    } { $lock_wait }, au wasiliana na kiongozi wa chama.

## Main menu

main-balance = Salio
main-contribute = Lipa mchango
main-loans = Mikopo
main-statement = Taarifa fupi
main-account = Akaunti yangu
main-officials = Viongozi
balance =
    { $chama_name }
    Akiba { $savings }
    Hisa { $shares }
    Mkopo { $loan }
    Faini { $fines }
    Jumla ya chama { $chama_total }
coming-soon = Huduma hii itapatikana hivi karibuni.
statement-title = Taarifa fupi (KES):
statement-empty = Bado hakuna miamala.
statement-line = { $date } { $kind ->
        [savings-in] Umeweka akiba
        [savings-out] Umetoa akiba
        [shares-in] Umenunua hisa
        [shares-out] Umelipwa hisa
        [loan-in] Umepokea mkopo
        [loan-out] Umelipa mkopo
        [fine-in] Umelipa faini
        [fine-out] Umerudishiwa faini
        [other-in] Mengine, umelipa
       *[other-out] Mengine, umelipwa
    } { $amount }{ $kind ->
        [loan-in] {" "}(deni)
       *[other] {""}
    }
officials = Huduma za viongozi (kuidhinisha maombi, malipo, faini) zitapatikana hivi karibuni.

## My account

account-title = Akaunti yangu
account-change-pin = Badilisha PIN
account-language = Lugha
account-switch-chama = Badilisha chama
account-help = Msaada
help = PesaChama: piga nambari hii kuona salio na taarifa fupi. Kwa msaada, wasiliana na viongozi wa chama chako. Usimwambie mtu yeyote PIN yako.

## Changa (menus/contribute.toml)

main-title = PesaChama{ $payment ->
        [pending]
            {""}
            Malipo yako ya { $payment_amount } yanashughulikiwa.
        [succeeded]
            {""}
            Malipo yako ya { $payment_amount } yamepokelewa.
        [failed]
            {""}
            Malipo yako ya { $payment_amount } hayakufaulu.
        [unknown]
            {""}
            Malipo yako ya { $payment_amount } yanakaguliwa.
       *[none] {""}
    }
contribute-for = Lipa kwa:
contribute-period = { $due ->
        [unset] Mchango wa kipindi (haujawekwa)
        [none] Mchango wa kipindi (umelipwa)
       *[other] Mchango wa kipindi ({ $due })
    }
contribute-savings = Kiasi kingine kwa akiba
contribute-fine = Faini
contribute-loan = Marejesho ya mkopo
contribute-nothing-due = Hakuna mchango unaodaiwa kipindi hiki.
contribute-enter-amount = Weka kiasi (KES):
contribute-amount-range = Weka kiasi kati ya 1 na 250,000.
contribute-no-loan = Huna mkopo wa kulipa.
contribute-over-loan = Kiasi hicho ni zaidi ya mkopo wako wa { $loan }.
contribute-pay-from = Lipa { $amount } kutoka:
contribute-own-phone = Simu hii
contribute-other-phone = Simu nyingine
contribute-enter-phone = Weka nambari ya M-Pesa itakayolipa:
contribute-phone-format = Weka nambari ya Safaricom, kama 0712345678.
contribute-confirm = Lipa { $amount } kwa { $chama_name } kwa { $purpose ->
        [period] mchango wa kipindi
        [savings] akiba
        [fine] faini
       *[loan] mkopo wako
    } kutoka { $payer ->
        [own] simu hii
       *[other] { $payer }
    }?
contribute-started = Utapokea ombi la M-Pesa la { $amount }. Weka PIN yako ya M-Pesa kukamilisha.
