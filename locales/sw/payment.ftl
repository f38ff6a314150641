# Sababu ya malipo yasiyofaulu: `$reason` ya `sms-payment-failed` (herufi
# 40 au chache), kwa lugha ya mwanachama.

payment-reason-refused = M-Pesa ilikataa ombi
payment-reason-busy = M-Pesa ilikuwa na shughuli nyingi
