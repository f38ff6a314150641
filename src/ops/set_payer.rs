//! `set_payer`: a relative's M-Pesa pays. Kenyan mobiles in M-Pesa's ranges
//! only; the money is still booked to the member who started the payment.

use phonenumber::country::Id;

use crate::menu::{ActionOutcome, ActionSpec, SessionState};
use crate::mpesa::is_mpesa_number;
use crate::phone::Msisdn;

use super::{Access, MenuAction, OpContext, OpError, Operation, RequestEnv, vars};

pub struct SetPayer;

impl Operation for SetPayer {
    const NAME: &'static str = "set_payer";
    const ACCESS: Access = Access::None;
    type Input = Msisdn;
    /// The number in E.164 and as shown (masked).
    type Output = (String, String);

    async fn run(_: &mut OpContext<'_>, phone: Msisdn) -> Result<(String, String), OpError> {
        Ok((phone.as_e164().to_owned(), phone.masked_local()))
    }
}

/// The typed number, when M-Pesa can push to it.
fn mpesa_phone(typed: Option<&str>) -> Option<Msisdn> {
    typed
        .and_then(|t| Msisdn::parse(t).ok())
        .filter(|p| p.country() == Some(Id::KE) && is_mpesa_number(p.to_daraja()))
}

impl MenuAction for SetPayer {
    fn spec() -> ActionSpec {
        ActionSpec::new()
            .output(vars::PAYER, 10)
            .message("contribute-phone-format")
    }

    fn input(
        _: &RequestEnv<'_>,
        _: &SessionState,
        typed: Option<&str>,
    ) -> Result<Msisdn, ActionOutcome> {
        mpesa_phone(typed).ok_or_else(|| ActionOutcome::Invalid("contribute-phone-format".into()))
    }

    fn answer(
        _: &RequestEnv<'_>,
        state: &mut SessionState,
        (e164, shown): (String, String),
    ) -> ActionOutcome {
        vars::pay_from(state, &e164, shown);
        ActionOutcome::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::mpesa_phone;

    #[test]
    fn only_kenyan_mpesa_mobiles_may_pay() {
        for good in ["0712345678", "+254712345678", "254110123456", "0110123456"] {
            assert!(mpesa_phone(Some(good)).is_some(), "{good}");
        }
        for bad in [
            "+256772123456",
            "020 1234567",
            "12",
            "",
            "0712x45678",
            "+254",
        ] {
            assert!(mpesa_phone(Some(bad)).is_none(), "{bad}");
        }
        assert!(mpesa_phone(None).is_none());
    }
}
