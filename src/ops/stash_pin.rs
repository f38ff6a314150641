//! `stash_pin`: the first entry of a new PIN, kept only as a keyed hash
//! until the member confirms it on the next screen.

use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use sha2::Sha256;
use uuid::Uuid;

use crate::menu::{ActionOutcome, ActionSpec, SessionState};
use crate::state::AppState;
use crate::user::pin::Pin;

use super::{Access, MenuAction, OpContext, OpError, Operation, Refusal, RequestEnv, vars};

/// Keyed hash of a PIN draft, bound to the user so it is useless for anyone
/// else and, without the server secret, useless to whoever reads the store.
pub fn draft_hash(app: &AppState, user: Uuid, pin: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(app.settings.pin_secret.expose_secret().as_bytes())
            .expect("HMAC accepts keys of any length");
    mac.update(b"pin-draft\0");
    mac.update(user.as_bytes());
    mac.update(pin.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

pub struct StashPin;

pub struct Input {
    pub user: Uuid,
    pub pin: Pin,
}

impl Operation for StashPin {
    const NAME: &'static str = "stash_pin";
    const ACCESS: Access = Access::None;
    type Input = Input;
    type Output = String;

    async fn run(ctx: &mut OpContext<'_>, input: Input) -> Result<String, OpError> {
        Ok(draft_hash(ctx.app, input.user, input.pin.expose()))
    }
}

impl MenuAction for StashPin {
    const SENSITIVE: bool = true;

    fn spec() -> ActionSpec {
        ActionSpec::new().message("pin-format")
    }

    fn input(
        _: &RequestEnv<'_>,
        state: &SessionState,
        typed: Option<&str>,
    ) -> Result<Input, ActionOutcome> {
        let pin = typed
            .and_then(Pin::parse)
            .ok_or_else(|| ActionOutcome::Invalid("pin-format".into()))?;
        let user = vars::user(state).ok_or_else(|| super::default_refusal(Refusal::NotMember))?;
        Ok(Input { user, pin })
    }

    fn answer(_: &RequestEnv<'_>, state: &mut SessionState, hash: String) -> ActionOutcome {
        vars::set_pin_draft(state, hash);
        ActionOutcome::Continue
    }
}
