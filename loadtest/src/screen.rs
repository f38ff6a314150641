//! Reading the gateway's answers: `CON …` / `END …`, and whether a screen is
//! the one a step of the flow expects. Checks use words that survive menu
//! edits (`KES`, `PIN`, the Balance entry), in English and Swahili.

/// An answer split into its prefix and screen text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply<'a> {
    /// `CON`: the screen waits for input; `END`: the session is over.
    pub more: bool,
    pub text: &'a str,
}

/// Splits a body into `CON`/`END` and text; anything else is an error tag.
pub fn parse(body: &str) -> Result<Reply<'_>, &'static str> {
    if let Some(text) = body.strip_prefix("CON ") {
        Ok(Reply { more: true, text })
    } else if let Some(text) = body.strip_prefix("END ") {
        Ok(Reply { more: false, text })
    } else {
        Err("body is neither CON nor END")
    }
}

/// The first-dial language choice (`1 English 2 Kiswahili`).
pub fn is_language_choice(reply: &Reply<'_>) -> bool {
    reply.more && reply.text.contains("English") && reply.text.contains("Kiswahili")
}

/// What a step of the flow must get back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// The main menu: it offers Balance (Salio).
    MainMenu,
    /// The balance flow asks for the PIN.
    PinPrompt,
    /// Figures in shillings; the session may go on or end here.
    Balance,
    /// Any screen that waits for input.
    Continue,
    /// The contribution's last answer: an `END` promising the M-Pesa prompt.
    PaymentStarted,
}

impl Expect {
    /// The error tag goose records when `reply` is not the expected screen.
    pub fn check(self, reply: &Reply<'_>) -> Result<(), &'static str> {
        let text = reply.text;
        let (ok, tag) = match self {
            Expect::MainMenu => (
                reply.more && (text.contains("Balance") || text.contains("Salio")),
                "expected the main menu",
            ),
            Expect::PinPrompt => (reply.more && text.contains("PIN"), "expected a PIN prompt"),
            Expect::Balance => (text.contains("KES"), "expected the balance (KES)"),
            Expect::Continue => (reply.more, "expected a CON screen"),
            Expect::PaymentStarted => (
                !reply.more && text.contains("M-Pesa"),
                "expected the M-Pesa prompt notice",
            ),
        };
        if ok { Ok(()) } else { Err(tag) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn con_and_end_are_split_from_their_text() {
        assert_eq!(
            parse("CON Main menu\n1 Balance").unwrap(),
            Reply {
                more: true,
                text: "Main menu\n1 Balance"
            }
        );
        assert_eq!(
            parse("END Bye").unwrap(),
            Reply {
                more: false,
                text: "Bye"
            }
        );
        for bad in ["", "CON", "con 1 Balance", "OK", "<html>", " END x"] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn each_step_recognises_its_screen() {
        let menu = parse("CON Umoja\n1 Balance\n2 Contribute").unwrap();
        let salio = parse("CON Umoja\n1 Salio\n2 Changa").unwrap();
        let pin = parse("CON Enter your PIN").unwrap();
        let balance = parse("CON Savings KES 1,250\nLoan KES 0\n0 Back").unwrap();
        let end_balance = parse("END Savings KES 1,250").unwrap();
        let sorry = parse("END Sorry, try again later").unwrap();
        assert!(Expect::MainMenu.check(&menu).is_ok());
        assert!(Expect::MainMenu.check(&salio).is_ok());
        assert!(Expect::MainMenu.check(&pin).is_err());
        assert!(Expect::PinPrompt.check(&pin).is_ok());
        assert!(Expect::PinPrompt.check(&menu).is_err());
        assert!(Expect::Balance.check(&balance).is_ok());
        assert!(Expect::Balance.check(&end_balance).is_ok());
        assert!(Expect::Balance.check(&pin).is_err());
        assert!(Expect::Continue.check(&balance).is_ok());
        assert!(Expect::Continue.check(&sorry).is_err());
        let started = parse("END You will receive an M-Pesa prompt for KES 100.").unwrap();
        let ombi = parse("END Utapokea ombi la M-Pesa la KES 100.").unwrap();
        assert!(Expect::PaymentStarted.check(&started).is_ok());
        assert!(Expect::PaymentStarted.check(&ombi).is_ok());
        assert!(Expect::PaymentStarted.check(&sorry).is_err());
        assert!(Expect::PaymentStarted.check(&pin).is_err());
    }

    #[test]
    fn the_language_choice_is_recognised() {
        let choice = parse("CON Select language / Chagua lugha\n1 English\n2 Kiswahili").unwrap();
        assert!(is_language_choice(&choice));
        assert!(!is_language_choice(
            &parse("CON Main menu\n1 Balance").unwrap()
        ));
    }
}
