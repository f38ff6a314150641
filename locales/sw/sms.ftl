# Maneno ya SMS, Kiswahili: arifa za usalama kuhusu PIN ya mwanachama. Herufi
# za GSM-7 pekee, na kila ujumbe unatosha SMS moja ya herufi 160.
# $until ni tarehe na saa za Afrika Mashariki, mfano 01/12 14:05.

sms-pin-set = PesaChama: PIN yako imewekwa. Usimwambie mtu yeyote PIN yako. Kama si wewe, mjulishe kiongozi wa chama chako mara moja.
sms-pin-change = PesaChama: PIN yako imebadilishwa. Kama si wewe, mjulishe kiongozi wa chama chako mara moja.
sms-pin-lock = PesaChama: PIN yako imefungwa hadi { $until } baada ya majaribio 3 yasiyo sahihi. Kama si wewe, mtu anajaribu kuikisia: mjulishe kiongozi wa chama.
sms-pin-unlock = PesaChama: PIN yako imefunguliwa na huduma ya PesaChama. Kama hukuomba hivi, mjulishe kiongozi wa chama chako mara moja.

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
