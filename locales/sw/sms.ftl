# Maneno ya SMS, Kiswahili. Kila ujumbe ni kiolezo cha `pesachama sms check`:
# mstari wa maoni juu yake unataja aina yake, idadi ya juu ya sehemu za SMS
# na urefu wa juu wa kila kigezo (`@var jina=<herufi>`). Kiasi huandikwa na
# anayetuma (`KES 1,000`), tarehe kama 05/12/2026, saa kama 14:05 (EAT).

## Arifa za usalama kuhusu PIN ya mwanachama ($until: 01/12 14:05).

# @kind alert @segments 1
sms-pin-set = PesaChama: PIN yako imewekwa. Usimwambie mtu yeyote PIN yako. Kama si wewe, mjulishe kiongozi wa chama chako mara moja.
# @kind alert @segments 1
sms-pin-change = PesaChama: PIN yako imebadilishwa. Kama si wewe, mjulishe kiongozi wa chama chako mara moja.
# @kind alert @segments 1 @var until=11
sms-pin-lock = PesaChama: PIN yako imefungwa hadi { $until } baada ya majaribio 3 yasiyo sahihi. Kama si wewe, mtu anajaribu kuikisia: mjulishe kiongozi wa chama.
# @kind alert @segments 1
sms-pin-unlock = PesaChama: PIN yako imefunguliwa na huduma ya PesaChama. Kama hukuomba hivi, mjulishe kiongozi wa chama chako mara moja.

## Pesa. $receipt ni namba ya risiti ya M-Pesa; $reason ni sababu ya malipo
## kushindwa (insufficient, cancelled, unreachable, wrong-pin, other).

# @kind receipt @segments 1 @var chama=30 @var amount=15 @var receipt=10 @var balance=15
sms-receipt = PesaChama: { $chama } imepokea mchango wako wa { $amount }, risiti ya M-Pesa { $receipt }. Salio lako sasa ni { $balance }. Asante!
# @kind receipt @segments 1 @var chama=30 @var amount=15 @var balance=15
sms-receipt-unnumbered = PesaChama: { $chama } imepokea mchango wako wa { $amount }. Salio lako sasa ni { $balance }. Asante!
# @kind receipt @segments 1 @var amount=15 @var chama=30 @var reason=12
sms-payment-failed = PesaChama: malipo yako ya { $amount } kwa { $chama } hayakufaulu: { $reason ->
        [insufficient] huna pesa za kutosha kwenye M-Pesa
        [cancelled] ombi la M-Pesa lilighairiwa
        [unreachable] simu yako haikupatikana
        [wrong-pin] PIN ya M-Pesa haikuwa sahihi
        [refused] M-Pesa ilikataa ombi
        [busy] M-Pesa ilikuwa na shughuli nyingi
       *[other] M-Pesa haikuweza kuyakamilisha
    }. Tafadhali jaribu tena.
# @kind notice @segments 1 @var chama=20 @var name=20 @var amount=15 @var purpose=20 @var ussd=12
sms-approval-needed = PesaChama { $chama }: { $name } anaomba { $amount } kwa { $purpose }. Kuidhinisha au kukataa, piga { $ussd }, Maombi.
# @kind notice @segments 1 @var chama=20 @var amount=15 @var purpose=20 @var decision=8
sms-approval-decided = PesaChama { $chama }: ombi lako la { $amount } kwa { $purpose } { $decision ->
        [approved] limeidhinishwa. Pesa zinatumwa.
       *[rejected] limekataliwa na viongozi.
    }
# @kind receipt @segments 1 @var chama=30 @var amount=15 @var receipt=10
sms-payout-sent = PesaChama: { $chama } imekutumia { $amount } kwa M-Pesa. Risiti ya M-Pesa { $receipt }.
# @kind reminder @segments 1 @var chama=30 @var amount=15 @var date=10
sms-loan-due = PesaChama: marejesho ya mkopo wako wa { $chama } ya { $amount } yanadaiwa tarehe { $date }. Lipa kupitia menyu ya PesaChama.

## Ukumbusho.

# @kind reminder @segments 1 @var chama=30 @var amount=15 @var date=10
sms-reminder-contribution = Ukumbusho wa PesaChama: mchango wako wa { $chama } wa { $amount } unadaiwa tarehe { $date }. Jibu ACHA kusitisha ukumbusho.
# @kind reminder @segments 1 @var chama=25 @var date=10 @var time=5 @var place=7 @var location=30
sms-reminder-meeting = PesaChama: kikao cha { $chama } ni kesho { $date } saa { $time }{ $place ->
        [known] , mahali: { $location }.
       *[unknown] .
    } Jibu ACHA kusitisha ukumbusho.

# Majibu kwa ujumbe wanaotutumia wanachama (sms-reply-*). Hakuna PIN: kila
# jibu huenda tu kwa simu iliyosajiliwa iliyotuma ujumbe.

# SALIO: salio la mwanachama katika chama kimoja (ujumbe mmoja kwa kila chama).
# @kind reply @segments 1 @var chama=30 @var savings=16 @var shares=16 @var loan=16 @var fines=16
sms-reply-balance = PesaChama { $chama }: akiba { $savings }, hisa { $shares }, mkopo { $loan }, faini zilizolipwa { $fines }.
# MSAADA, na chochote tusichokielewa.
# @kind reply @segments 1
sms-reply-help = PesaChama: tuma SALIO kupata salio lako, ACHA kusimamisha vikumbusho, ANZA kuvirudisha, MSAADA kupata ujumbe huu.
# ACHA: vikumbusho vinakoma; risiti na arifa za usalama haziachi.
# @kind reply @segments 1
sms-reply-stop = PesaChama: hutapokea vikumbusho tena. Risiti na arifa za usalama zitaendelea kuja. Tuma ANZA kupata vikumbusho tena.
# ANZA: vikumbusho tena.
# @kind reply @segments 1
sms-reply-start = PesaChama: vikumbusho vimerudishwa. Tuma ACHA kuvisimamisha.
# Simu isiyo ya mwanachama wa chama chochote (mara moja kwa siku zaidi).
# @kind reply @segments 1
sms-reply-nonmember = PesaChama: nambari hii haijasajiliwa kwenye chama chochote. Muombe kiongozi wa chama chako akuongeze.
