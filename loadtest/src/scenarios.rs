//! The goose scenarios: `balance` walks a whole member session per iteration,
//! `contribute` a whole M-Pesa contribution, `hold` opens sessions and keeps
//! them alive for the memory measurement.
//!
//! Every hop is one goose request named after its step (`dial`, `language`,
//! `balance-menu`, `balance-pin`, `back`, `home`, `contribute-menu`,
//! `contribute-for`, `contribute-amount`, `contribute-payer`,
//! `contribute-confirm`, `contribute-pin`, `hold-open`, `hold-refresh`); the
//! summary line adds them all up as hops.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use goose::metrics::GooseRequestMetric;
use goose::prelude::*;
use uuid::Uuid;

use crate::pace::Pacer;
use crate::screen::{self, Expect};
use crate::settings::Settings;

static SETTINGS: OnceLock<Settings> = OnceLock::new();
/// Sessions take the pool's phones in turn, so every phone is used equally.
static NEXT_PHONE: AtomicU64 = AtomicU64::new(0);
/// With `--scenarios balance,contribute`, how many balance users per
/// contributing one: a busy chama evening is mostly balance checks.
const CONTRIBUTE_ONE_IN: usize = 9;

/// Makes `settings` the ones every scenario uses; call before goose starts.
pub fn init(settings: Settings) {
    let _ = SETTINGS.set(settings);
}

fn settings() -> &'static Settings {
    SETTINGS.get().expect("scenarios::init runs before goose")
}

/// The scenarios, for `GooseAttack::register_scenario`.
pub fn all() -> Result<[Scenario; 3], GooseError> {
    let refresh = settings().hold_refresh;
    Ok([
        scenario!("balance")
            .register_transaction(
                transaction!(balance_session)
                    .set_name("balance session (dial, menu, PIN, balance)"),
            )
            .set_weight(CONTRIBUTE_ONE_IN)?,
        // Run beside `balance`, one user in CONTRIBUTE_ONE_IN + 1 pays: each
        // session queues an STK push, which the push worker sends and the
        // fake Daraja answers, so the run carries the money path too.
        scenario!("contribute").register_transaction(
            transaction!(contribute_session)
                .set_name("contribute session (dial, menu, savings, amount, PIN)"),
        ),
        // Goose's wait between transactions, unlike a sleep inside one, ends
        // as soon as the run does.
        scenario!("hold")
            .register_transaction(transaction!(hold_open).set_on_start().set_name("open"))
            .register_transaction(transaction!(hold_refresh).set_name("refresh"))
            .set_wait_time(refresh, refresh)?,
    ])
}

/// One simulated USSD session: Africa's Talking's id, the phone, and every
/// input typed so far.
#[derive(Debug, Clone)]
pub struct Session {
    id: String,
    phone: String,
    inputs: Vec<String>,
}

impl Session {
    /// A new session from the next phone of the pool.
    fn next() -> Session {
        let index = NEXT_PHONE.fetch_add(1, Ordering::Relaxed);
        Session::new(settings().pool.phone(index))
    }

    fn new(phone: String) -> Session {
        Session {
            id: format!("ATUid_{}", Uuid::new_v4().simple()),
            phone,
            inputs: Vec::new(),
        }
    }

    /// The cumulative `text`: every input so far joined with `*`.
    pub fn text(&self) -> String {
        self.inputs.join("*")
    }
}

/// Sends one hop with `input` appended (none for the dial), checks the answer
/// against `expect`, and returns the answer's body.
async fn hop(
    user: &mut GooseUser,
    session: &mut Session,
    input: Option<&str>,
    name: &str,
    expect: Option<Expect>,
) -> Result<String, Box<TransactionError>> {
    let s = settings();
    session.inputs.extend(input.map(str::to_owned));
    let text = session.text();
    let form = [
        ("sessionId", session.id.as_str()),
        ("serviceCode", s.service_code.as_str()),
        ("phoneNumber", session.phone.as_str()),
        ("networkCode", s.network_code.as_str()),
        ("text", text.as_str()),
    ];
    let builder = user
        .get_request_builder(&GooseMethod::Post, &s.path)?
        .form(&form);
    let request = GooseRequest::builder()
        .method(GooseMethod::Post)
        .path(s.path.as_str())
        .name(name)
        .set_request_builder(builder)
        .build();
    let mut goose = user.request(request).await?;
    let body = match goose.response {
        Ok(response) if response.status() == 200 => response.text().await.ok(),
        Ok(_) => return Err(fail(user, "status is not 200", &mut goose.request, None)),
        Err(_) => return Err(fail(user, "no response", &mut goose.request, None)),
    };
    let Some(body) = body else {
        return Err(fail(user, "unreadable body", &mut goose.request, None));
    };
    let checked = screen::parse(&body).and_then(|reply| match expect {
        Some(expect) => expect.check(&reply),
        // The dial: the main menu, or the language choice of a first dial.
        None if screen::is_language_choice(&reply) => Ok(()),
        None => Expect::MainMenu.check(&reply),
    });
    if let Err(tag) = checked {
        return Err(fail(user, tag, &mut goose.request, Some(&body)));
    }
    Ok(body)
}

/// Marks the request failed under `tag` (goose's error summary groups by it).
fn fail(
    user: &mut GooseUser,
    tag: &str,
    request: &mut GooseRequestMetric,
    body: Option<&str>,
) -> Box<TransactionError> {
    match user.set_failure(tag, request, None, body) {
        Err(error) => error,
        Ok(()) => Box::new(TransactionError::Custom(tag.to_owned())),
    }
}

/// Waits for this user's next slot when pacing (`LOADTEST_PACE_MS`).
async fn pace(user: &mut GooseUser) {
    let Some(every) = settings().pace else {
        return;
    };
    if user.get_session_data::<Pacer>().is_none() {
        user.set_session_data(Pacer::new(every));
    }
    if let Some(due) = user.get_session_data_mut::<Pacer>().map(Pacer::next_slot) {
        tokio::time::sleep_until(due).await;
    }
}

/// The configured pause between two hops of a session: the pacing slot, or
/// the think time (none by default).
async fn think(user: &mut GooseUser) {
    let pause = settings().think;
    if !pause.is_zero() {
        tokio::time::sleep(pause).await;
    }
    pace(user).await;
}

/// After the configured pause, types `input` and checks the answer.
async fn step(
    user: &mut GooseUser,
    session: &mut Session,
    input: &str,
    name: &str,
    expect: Expect,
) -> Result<String, Box<TransactionError>> {
    think(user).await;
    hop(user, session, Some(input), name, Some(expect)).await
}

/// A member checks their balance: dial, (language), Balance, PIN, back (and
/// home, when back did not reach the main menu).
async fn balance_session(user: &mut GooseUser) -> TransactionResult {
    let s = settings();
    let mut session = Session::next();
    pace(user).await;
    let first = hop(user, &mut session, None, "dial", None).await?;
    if screen::parse(&first).is_ok_and(|r| screen::is_language_choice(&r)) {
        step(user, &mut session, "1", "language", Expect::MainMenu).await?;
    }
    step(user, &mut session, "1", "balance-menu", Expect::PinPrompt).await?;
    let balance = step(user, &mut session, &s.pin, "balance-pin", Expect::Balance).await?;
    if balance.starts_with("END ") {
        return Ok(());
    }
    let back = step(user, &mut session, "0", "back", Expect::Continue).await?;
    if screen::parse(&back).is_ok_and(|r| Expect::MainMenu.check(&r).is_ok()) {
        // Back from the balance reached the main menu, where `00` is no key.
        return Ok(());
    }
    step(user, &mut session, "00", "home", Expect::MainMenu).await?;
    Ok(())
}

/// A member pays KES `LOADTEST_CONTRIBUTE_AMOUNT` to savings from their own
/// phone: dial, (language), Contribute, another amount to savings, the
/// amount, this phone, yes, PIN. The last answer is the `END` that promises
/// the M-Pesa prompt: the push itself is sent after the hop.
async fn contribute_session(user: &mut GooseUser) -> TransactionResult {
    let s = settings();
    let mut session = Session::next();
    pace(user).await;
    let first = hop(user, &mut session, None, "dial", None).await?;
    if screen::parse(&first).is_ok_and(|r| screen::is_language_choice(&r)) {
        step(user, &mut session, "1", "language", Expect::MainMenu).await?;
    }
    let steps = [
        ("2", "contribute-menu", Expect::Continue),
        ("2", "contribute-for", Expect::Continue),
        (
            s.contribute_amount.as_str(),
            "contribute-amount",
            Expect::Continue,
        ),
        ("1", "contribute-payer", Expect::Continue),
        ("1", "contribute-confirm", Expect::PinPrompt),
        (s.pin.as_str(), "contribute-pin", Expect::PaymentStarted),
    ];
    for (input, name, expect) in steps {
        step(user, &mut session, input, name, expect).await?;
    }
    Ok(())
}

/// The sessions one `hold` user keeps alive.
#[derive(Debug, Clone, Default)]
struct Held(Vec<Session>);

/// Opens this user's sessions: the dial, then one hop into the hold key's menu.
async fn hold_open(user: &mut GooseUser) -> TransactionResult {
    let s = settings();
    let mut held = Vec::with_capacity(s.hold_sessions_per_user);
    for _ in 0..s.hold_sessions_per_user {
        let mut session = Session::next();
        hop(user, &mut session, None, "hold-dial", None).await?;
        hop(
            user,
            &mut session,
            Some(&s.hold_key),
            "hold-open",
            Some(Expect::Continue),
        )
        .await?;
        held.push(session);
    }
    user.set_session_data(Held(held));
    Ok(())
}

/// Hops every held session (`0` back out of the hold key's menu, or the key
/// again) so its TTL starts over; goose waits the refresh interval between
/// two calls. A session that fails is dropped and reported.
async fn hold_refresh(user: &mut GooseUser) -> TransactionResult {
    let s = settings();
    let sessions = match user.get_session_data_mut::<Held>() {
        Some(held) => std::mem::take(&mut held.0),
        None => Vec::new(),
    };
    let mut kept = Vec::with_capacity(sessions.len());
    let mut first_error = None;
    for mut session in sessions {
        let input = match session.inputs.last() {
            Some(last) if *last == s.hold_key => "0",
            _ => s.hold_key.as_str(),
        };
        match hop(
            user,
            &mut session,
            Some(input),
            "hold-refresh",
            Some(Expect::Continue),
        )
        .await
        {
            Ok(_) => kept.push(session),
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    user.set_session_data(Held(kept));
    first_error.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_has_an_at_style_id_and_cumulative_text() {
        let mut session = Session::new("+254720000001".into());
        assert!(session.id.starts_with("ATUid_"));
        assert_eq!(session.id.len(), "ATUid_".len() + 32);
        assert_eq!(session.text(), "");
        session.inputs.push("1".into());
        assert_eq!(session.text(), "1");
        session.inputs.push("1234".into());
        session.inputs.push("0".into());
        assert_eq!(session.text(), "1*1234*0");
    }

    #[test]
    fn two_sessions_never_share_an_id() {
        let a = Session::new("+254720000001".into());
        let b = Session::new("+254720000001".into());
        assert_ne!(a.id, b.id);
    }
}
