# Maneno ya SMS, Kiswahili: arifa za usalama kuhusu PIN ya mwanachama. Herufi
# za GSM-7 pekee, na kila ujumbe unatosha SMS moja ya herufi 160.
# $until ni tarehe na saa za Afrika Mashariki, mfano 01/12 14:05.

sms-pin-set = PesaChama: PIN yako imewekwa. Usimwambie mtu yeyote PIN yako. Kama si wewe, mjulishe kiongozi wa chama chako mara moja.
sms-pin-change = PesaChama: PIN yako imebadilishwa. Kama si wewe, mjulishe kiongozi wa chama chako mara moja.
sms-pin-lock = PesaChama: PIN yako imefungwa hadi { $until } baada ya majaribio 3 yasiyo sahihi. Kama si wewe, mtu anajaribu kuikisia: mjulishe kiongozi wa chama.
sms-pin-unlock = PesaChama: PIN yako imefunguliwa na huduma ya PesaChama. Kama hukuomba hivi, mjulishe kiongozi wa chama chako mara moja.
